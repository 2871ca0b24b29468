"""Every message is translated in both catalogs, and the catalogs match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_catalog_is_complete(lang: str) -> None:
    catalog = read_po((ROOT / f"locales/{lang}/LC_MESSAGES/messages.po").open("rb"))
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert missing == []


def test_catalogs_match_the_code() -> None:
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "__": None}
    in_code = {
        message if isinstance(message, str) else message[0]
        for folder in ("bot", "handlers", "forms", "storage")
        for _, _, message, _, _ in extract_from_dir(ROOT / folder, method_map=[("**.py", "python")], keywords=keywords)
    }
    in_catalog = {m.id for m in read_po((ROOT / "locales/vi/LC_MESSAGES/messages.po").open("rb")) if m.id}
    assert in_code - in_catalog == set(), "run `make catalogs` and translate the new messages"
    assert in_catalog - in_code == set(), "run `make catalogs` to drop messages the code no longer uses"


def test_placeholders_match_in_translations() -> None:
    catalog = read_po((ROOT / "locales/vi/LC_MESSAGES/messages.po").open("rb"))
    for m in catalog:
        if m.id:
            assert set(re.findall(r"{\w+}", m.id)) == set(re.findall(r"{\w+}", m.string)), m.id
