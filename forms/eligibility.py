"""What would make an initiative ineligible or weak under Decree 13/2012, checked at the preview without blocking
the submission. Pure rules: the caller gathers the facts (the programme's phases, the author's other titles).

Each concern names the step that fixes it; its text is an English msgid with parameters (dates as stored answers,
``2022-03-15`` or ``2022-03``, formatted by the renderer in the reader's language)."""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from forms.errors import N_
from forms.money import Money
from forms.text import fold

MIN_SOLUTION_WORDS = 40

REPEATED_TITLE = N_(
    "The name repeats your initiative {number} “{title}”. If it is the same initiative, do not send it again; "
    "if it is a new one, give it a name that says what is new."
)
SHORT_SOLUTION = N_(
    "The description of the solution is too short to show the essence of the initiative ({words} of at least "
    "{min} words). Add what is new, how it works and the steps to apply it."
)
NO_DATE = N_(
    "There is no date of first application. An initiative is recognised only once it has been applied or "
    "trialled: give the day it was first used, even as a trial."
)
OUTSIDE_PROGRAMME = N_(
    "It was first applied on {date}, outside the programme ({start}–{end}), so it may not be counted. Check the "
    "date; if it was applied again within the programme, give that date."
)
BEFORE_PHASE = N_(
    "It was first applied on {date}, before {phase} ({start}–{end}), the phase it would be counted in. Check the "
    "date with the support team: it may count only if it was applied during this phase."
)
NO_BENEFIT = N_(
    "There is no benefit of any kind: no money and no social benefit. Describe what it brings: safety, working "
    "conditions, environment, time saved."
)
SHARES = N_("The authors' shares add up to {total}%, not 100%. Correct the shares so that they add up to 100%.")


@dataclass(frozen=True)
class Span:
    """A phase of the programme (table ``phase``)."""

    name: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Facts:
    today: date
    phases: Sequence[Span] = ()
    own_titles: Sequence[tuple[str, str]] = ()  # (number, title) of the author's other initiatives


@dataclass(frozen=True)
class Concern:
    step: str  # the form's field that fixes it
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)  # stored date answers, formatted when shown


Answers = Mapping[str, Any]


def word_count(text: str) -> int:
    """Words as people count them (a Vietnamese syllable is one): runs between spaces holding a letter or digit."""
    return sum(1 for word in text.split() if any(unicodedata.category(ch)[0] in "LN" for ch in word))


def title_key(title: str) -> str:
    """A title as compared for repeats: folded (case, diacritics, đ/d), punctuation dropped, spaces collapsed."""
    return " ".join(re.sub(r"[^\w\s]|_", " ", fold(title)).split())


def applied_days(answer: str) -> tuple[date, date]:
    """The first and last day an answer may mean: a month alone spans the whole month."""
    if len(answer) == 7:
        year, month = map(int, answer.split("-"))
        return date(year, month, 1), date(year, month, monthrange(year, month)[1])
    day = date.fromisoformat(answer)
    return day, day


def repeated_title(answers: Answers, facts: Facts) -> Concern | None:
    key = title_key(str(answers.get("title", "")))
    for number, title in facts.own_titles if key else ():
        if title_key(title) == key:
            return Concern("title", REPEATED_TITLE, {"number": number, "title": title})
    return None


def short_solution(answers: Answers, facts: Facts) -> Concern | None:
    words = word_count(str(answers.get("solution", "")))
    if "solution" not in answers or words >= MIN_SOLUTION_WORDS:
        return None
    return Concern("solution", SHORT_SOLUTION, {"words": words, "min": MIN_SOLUTION_WORDS})


def first_application(answers: Answers, facts: Facts) -> Concern | None:
    answer = answers.get("applied_since")
    if not answer:
        return Concern("applied_since", NO_DATE)
    if not facts.phases:
        return None
    first, last = applied_days(str(answer))
    start, end = min(p.starts_on for p in facts.phases), max(p.ends_on for p in facts.phases)
    dates = {"date": str(answer), "start": start.isoformat(), "end": end.isoformat()}
    if last < start or first > end:
        return Concern("applied_since", OUTSIDE_PROGRAMME, dates=dates)
    now = next((p for p in facts.phases if p.starts_on <= facts.today <= p.ends_on), None)
    if now is not None and last < now.starts_on:
        dates |= {"start": now.starts_on.isoformat(), "end": now.ends_on.isoformat()}
        return Concern("applied_since", BEFORE_PHASE, {"phase": now.name}, dates)
    return None


def no_benefit(answers: Answers, facts: Facts) -> Concern | None:
    money = answers.get("benefit_money")
    if money is None or not Money.from_json(money).is_none or answers.get("benefit_social"):
        return None
    return Concern("benefit_social", NO_BENEFIT)


def author_shares(answers: Answers, facts: Facts) -> Concern | None:
    authors = answers.get("authors") or []
    total = sum(int(a.get("share", 0)) for a in authors)
    if not authors or total == 100:
        return None
    return Concern("authors", SHARES, {"total": total})


RULES: tuple[Callable[[Answers, Facts], Concern | None], ...] = (
    repeated_title,
    short_solution,
    first_application,
    no_benefit,
    author_shares,
)


def concerns(answers: Answers, facts: Facts) -> list[Concern]:
    """Every concern about these answers, in the order of the form's steps."""
    return [found for rule in RULES if (found := rule(answers, facts)) is not None]
