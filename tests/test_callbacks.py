"""Callback data: ids and enums only, within Telegram's 64 bytes, and the fast packer matches aiogram's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.callbacks import DraftAction, DraftCb, FormCb, Nav, form_data


@given(st.sampled_from(list(Nav)), st.integers(0, 2**63 - 1), st.integers(-1, 99), st.integers(0, 99))
def test_fast_packing_equals_aiogram_packing(action: Nav, draft: int, step: int, value: int) -> None:
    packed = form_data(action, draft, step, value)
    assert packed == FormCb(action=action, draft=draft, step=step, value=value).pack()
    assert FormCb.unpack(packed) == FormCb(action=action, draft=draft, step=step, value=value)
    assert len(packed.encode()) <= 64


def test_largest_ids_fit_in_64_bytes() -> None:
    assert len(DraftCb(action=DraftAction.CONFIRM, draft=2**63 - 1).pack().encode()) <= 64
