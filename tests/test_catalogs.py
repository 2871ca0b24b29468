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
    strings = lambda m: m.string if isinstance(m.string, tuple) else (m.string,)  # noqa: E731  (plurals: a tuple)
    missing = [m.id for m in catalog if m.id and (not all(strings(m)) or m.fuzzy)]
    assert missing == []


def test_catalogs_match_the_code() -> None:
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "__": None}
    in_code = {
        message if isinstance(message, str) else message[0]
        for folder in ("bot", "channels", "handlers", "forms", "storage")
        for _, _, message, _, _ in extract_from_dir(ROOT / folder, method_map=[("**.py", "python")], keywords=keywords)
    }
    in_catalog = {
        m.id if isinstance(m.id, str) else m.id[0]  # a plural entry is named by its singular, as in the code
        for m in read_po((ROOT / "locales/vi/LC_MESSAGES/messages.po").open("rb"))
        if m.id
    }
    assert in_code - in_catalog == set(), "run `make catalogs` and translate the new messages"
    assert in_catalog - in_code == set(), "run `make catalogs` to drop messages the code no longer uses"


def test_placeholders_match_in_translations() -> None:
    catalog = read_po((ROOT / "locales/vi/LC_MESSAGES/messages.po").open("rb"))
    for m in catalog:
        ids = (m.id,) if isinstance(m.id, str) else m.id
        strings = (m.string,) if isinstance(m.string, str) else m.string
        for text in strings if m.id else ():
            assert {p for i in ids for p in re.findall(r"{\w+}", i)} == set(re.findall(r"{\w+}", text)), m.id
