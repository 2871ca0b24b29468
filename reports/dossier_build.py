"""The application's content from an initiative's answers, its dossier data and its author's profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from forms.formats import format_date_answer
from forms.money import Money
from reports.dossier import Dossier, Person
from reports.dossier_data import birth_text, person_key
from reports.vietnamese import money_line


@dataclass(frozen=True)
class Profile:
    """What the bot knows of the author: the name (the author table when the form lists nobody), the phone."""

    name: str
    phone: str = ""


def authors_of(answers: dict[str, Any], author_name: str) -> list[dict[str, Any]]:
    """The author table as the form holds it; a lone author when the co-authors step was skipped."""
    return list(answers.get("authors") or [{"name": author_name, "share": 100}])


def names_of(answers: dict[str, Any], author_name: str) -> list[str]:
    return [str(a["name"]) for a in authors_of(answers, author_name)]


def _person(row: dict[str, Any], people: dict[str, Any]) -> Person:
    known = people.get(person_key(str(row["name"])), {})
    return Person(
        name=str(row["name"]),
        birth=birth_text(known.get("birth")),
        workplace=known.get("workplace") or "",
        title=known.get("title") or "",
        qualification=known.get("qualification") or "",
        share=int(row["share"]),
    )


def _helpers(rows: list[dict[str, str]] | None) -> list[Person] | None:
    if rows is None:
        return None
    return [Person(name=r["name"], workplace=r.get("workplace", ""), task=r.get("task", "")) for r in rows]


def build(answers: dict[str, Any], data: dict[str, Any], profile: Profile, *, field: str | None,
          solution_type: str | None, today: date) -> Dossier:  # fmt: skip
    """``field`` and ``solution_type`` are the chosen labels, already in Vietnamese."""
    people = data.get("people", {})
    money = Money.from_json(answers["benefit_money"]) if "benefit_money" in answers else None
    applied = answers.get("applied_since")
    return Dossier(
        addressee=data.get("addressee"),
        authors=[_person(row, people) for row in authors_of(answers, profile.name)],
        name=answers.get("title"),
        field=field,
        first_applied=format_date_answer(applied, "vi") if applied else None,
        solution_type=solution_type,
        before=answers.get("before"),
        solution=answers.get("solution"),
        applied_where=answers.get("applied_where"),
        money=money_line(money) if money else "",
        social=answers.get("benefit_social") or "",
        confidential=answers.get("confidential") or "",
        conditions=answers.get("conditions") or "",
        investor=data.get("investor"),
        appliers=data.get("appliers"),
        helpers=_helpers(data.get("helpers")),
        place=data.get("place"),
        signed_on=today,
        phone=profile.phone,
    )
