"""Callback data: ids and enums only, within Telegram's 64 bytes, and the fast packer matches aiogram's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.ui.callbacks import DraftAction, DraftCb, FormCb, Nav, ReviewAction, ReviewCb, form_data


@given(st.sampled_from(list(Nav)), st.integers(0, 2**31 - 1), st.integers(-1, 99), st.integers(0, 99))
def test_fast_packing_equals_aiogram_packing(action: Nav, draft: int, step: int, value: int) -> None:
    packed = form_data(action, draft, step, value)
    assert packed == FormCb(action=action, draft=draft, step=step, value=value).pack()
    assert FormCb.unpack(packed) == FormCb(action=action, draft=draft, step=step, value=value)
    assert len(packed.encode()) <= 64


def test_largest_ids_fit_in_64_bytes() -> None:
    assert len(DraftCb(action=DraftAction.CONFIRM, draft=2**31 - 1).pack().encode()) <= 64
    card = ReviewCb(action=ReviewAction.CONFIRM, initiative=2**31 - 1, round=9_999)
    assert len(card.pack().encode()) <= 64


@pytest.mark.parametrize("data", ["v1f:t:99999999999999999999999:0:0", "v1f:t:1:-7:0", "v1d:d:-1", "v2r:c:1:1:9",
                                  "v2r:c:" + "9" * 50 + ":1", "v2r:z:1:1", "v1u:1e9", "v1l:fr"])  # fmt: skip
def test_forged_numbers_and_values_do_not_unpack(data: str) -> None:
    """A forged button fails its filter (and is answered as out of date) instead of reaching the database."""
    prefix = data.split(":")[0]
    cls = {c.__prefix__: c for c in (FormCb, DraftCb, ReviewCb, *_others())}[prefix]
    with pytest.raises((ValueError, TypeError)):
        cls.unpack(data)


def _others() -> tuple[type, ...]:
    from handlers.ui.callbacks import LangCb, UnitCb

    return (LangCb, UnitCb)
