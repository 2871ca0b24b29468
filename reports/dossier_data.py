"""What the application asks beyond the short form, kept in the initiative's answers under "dossier":

    {"addressee": str, "place": str, "investor": str, "appliers": str,
     "helpers": [{"name", "workplace", "task"}], "people": {"<name, case-folded>": {"name", "birth", "workplace",
     "title", "qualification"}}}

An item that is absent is not known yet (asked, or left blank to write by hand); "" or [] is an optional item the
author skipped. People are keyed by name, so a co-author's details follow them to the author's next initiative."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from forms.text import fold, has_words, normalize

PERSON = ("birth", "workplace", "title", "qualification")
OPTIONAL = ("investor", "appliers", "helpers")
REUSED = ("addressee", "place")  # the same for every initiative of an author; the rest belongs to one initiative
MAX_HELPERS = 20
_BIRTH = re.compile(r"^(?:(\d{1,2})\s*[/.\-]\s*)?(?:(\d{1,2})\s*[/.\-]\s*)?(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_PARTS = re.compile(r"\s+[–—-]\s+|\s*[–—:;]\s*")
_UNION = re.compile(r"^(công đoàn cơ sở|công đoàn|cđcs)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    item: str  # addressee, one of PERSON, investor, appliers, helpers, place
    person: int = -1  # the author's position in the author table, for the PERSON items

    @property
    def key(self) -> str:
        return f"{self.item}:{self.person}" if self.person >= 0 else self.item

    @property
    def optional(self) -> bool:
        return self.item in OPTIONAL


def person_key(name: str) -> str:
    return normalize(name).casefold()


def questions(names: list[str]) -> list[Question]:
    """Every question, in the order of the form."""
    people = [Question(item, n) for n in range(len(names)) for item in PERSON]
    return [Question("addressee"), *people, *(Question(item) for item in OPTIONAL), Question("place")]


def value(data: dict[str, Any], q: Question, names: list[str]) -> Any:
    if q.person >= 0:
        return data.get("people", {}).get(person_key(names[q.person]), {}).get(q.item)
    return data.get(q.item)


def open_questions(data: dict[str, Any], names: list[str]) -> list[Question]:
    return [q for q in questions(names) if value(data, q, names) is None]


def with_answer(data: dict[str, Any], q: Question, names: list[str], answer: Any) -> dict[str, Any]:
    """A copy of ``data`` with the answer in its place."""
    if q.person < 0:
        return {**data, q.item: answer}
    name = names[q.person]
    people = dict(data.get("people", {}))
    people[person_key(name)] = {**people.get(person_key(name), {}), "name": name, q.item: answer}
    return {**data, "people": people}


def merge(earlier: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """The author's earlier dossiers under this one: their people and the addressee and place they used."""
    people = {key: dict(person) for key, person in earlier.get("people", {}).items()}
    for key, person in own.get("people", {}).items():
        people[key] = {**people.get(key, {}), **person}
    reused = {item: earlier[item] for item in REUSED if item in earlier}
    return {**reused, **own, "people": people} if people else {**reused, **own}


def with_earlier(own: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, Any]:
    """This dossier over the author's earlier ones (given newest first; the newest wins): only their people and
    the items in REUSED carry over."""
    data: dict[str, Any] = {}
    for older in reversed(earlier):
        data = merge(data, {k: v for k, v in older.items() if k in ("people", *REUSED)})
    return merge(data, own)


def parse_birth(text: str, today: date) -> str | None:
    """A date of birth as typed ("12/03/1985", "12-3-1985", "1985-03-12", "3/1985", "1985"), stored as
    "1985-03-12", "1985-03" or "1985"; None when it is not the birth date of someone 14 to 100 years old."""
    raw = fold(text).strip(" .")
    iso = _ISO.match(raw)
    found = _BIRTH.match(raw)
    if iso:
        parts: tuple[str | None, ...] = (iso[3], iso[2], iso[1])
    elif found:
        parts = (found[1], found[2], found[3]) if found[2] else (None, found[1], found[3])
    else:
        return None
    day, month, year = (int(p) if p else None for p in parts)
    assert year is not None
    if not today.year - 100 <= year <= today.year - 14:
        return None
    try:
        date(year, month or 1, day or 1)
    except ValueError:
        return None
    return f"{year:04d}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if day else "")


def birth_text(stored: str | None) -> str:
    """As the table shows it: 12/03/1985, 03/1985, 1985."""
    return "/".join(reversed((stored or "").split("-")))


def parse_helpers(text: str) -> list[dict[str, str]] | None:
    """One person a line: "name", "name – task" or "name – workplace – task"; None when a line has no name."""
    rows = [line for line in normalize(text, multiline=True).split("\n") if line.strip()]
    if not rows or len(rows) > MAX_HELPERS:
        return None
    helpers = []
    for row in rows:
        parts = [p.strip() for p in _PARTS.split(row.strip(" -–•+*")) if p.strip()]
        if not parts or not has_words(parts[0]) or any(ch.isdigit() for ch in parts[0]) or len(parts[0]) > 100:
            return None
        workplace = parts[1] if len(parts) > 2 else ""
        task = " – ".join(parts[2:] if len(parts) > 2 else parts[1:])
        helpers.append({"name": parts[0], "workplace": workplace, "task": task})
    return helpers


def workplace_of(unit_name: str) -> str:
    """The workplace a grassroots union is named after: "Công đoàn cơ sở Công ty CP X" → "Công ty CP X"."""
    return _UNION.sub("", unit_name).strip()


def suggestions(data: dict[str, Any], q: Question, names: list[str], unit_name: str) -> list[str]:
    """Answers offered as buttons: the unit's name, or what the other authors answered."""
    offered: list[str] = []
    if q.item == "addressee":
        offered = [unit_name, workplace_of(unit_name)]
    elif q.item in ("workplace", "title", "qualification"):
        others = [value(data, Question(q.item, n), names) for n in range(len(names)) if n != q.person]
        offered = ([workplace_of(unit_name)] if q.item == "workplace" else []) + [o for o in others if o]
    return [s for s in dict.fromkeys(offered) if s][:3]
