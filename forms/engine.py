"""A generic form engine: one set of plain functions drives every field of the template."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from forms.authors import parse_authors
from forms.dates import parse_date
from forms.errors import N_, FormError
from forms.money import Money, parse_money
from forms.template import Field, Kind
from forms.text import clean_answer

PREVIEW = "preview"
MAX_FILES = 20


@dataclass(frozen=True)
class FormState:
    """Where a draft stands: the answers so far, the current step, parts typed but not yet joined."""

    answers: dict[str, Any] = field(default_factory=dict)
    step: str = ""
    pending: tuple[str, ...] = ()
    editing: bool = False


class Form:
    def __init__(self, fields: tuple[Field, ...]) -> None:
        self.fields = fields
        self._index = {f.key: i for i, f in enumerate(fields)}

    def __getitem__(self, key: str) -> Field:
        return self.fields[self._index[key]]

    def index(self, key: str) -> int:
        return self._index[key]

    def position(self, key: str) -> tuple[int, int]:
        return self._index[key] + 1, len(self.fields)

    def start(self) -> FormState:
        return FormState(step=self.fields[0].key)

    def is_required(self, f: Field, answers: dict[str, Any]) -> bool:
        if f.key == "benefit_social" and "benefit_money" in answers:
            return Money.from_json(answers["benefit_money"]).is_none
        return f.required

    def missing(self, answers: dict[str, Any]) -> list[Field]:
        return [f for f in self.fields if self.is_required(f, answers) and f.key not in answers]

    # -- moves -------------------------------------------------------------------------------------------
    def _after(self, state: FormState, answers: dict[str, Any]) -> FormState:
        if state.editing:
            missing = self.missing(answers)
            step = missing[0].key if missing else PREVIEW
        else:
            i = self._index[state.step] + 1
            step = self.fields[i].key if i < len(self.fields) else PREVIEW
        return replace(state, answers=answers, step=step, pending=(), editing=state.editing and step != PREVIEW)

    def set_answer(self, state: FormState, value: Any) -> FormState:
        return self._after(state, {**state.answers, state.step: value})

    def keep(self, state: FormState) -> FormState:
        """Move on, keeping the current answer (or, for an optional field, leaving it empty)."""
        f = self[state.step]
        if f.key not in state.answers and self.is_required(f, state.answers):
            raise FormError(N_("This field is required and cannot be skipped."))
        return self._after(state, dict(state.answers))

    def clear(self, state: FormState) -> FormState:
        f = self[state.step]
        if self.is_required(f, state.answers):
            raise FormError(N_("This field is required and cannot be skipped."))
        answers = {k: v for k, v in state.answers.items() if k != f.key}
        return self._after(state, answers)

    def back(self, state: FormState) -> FormState:
        if state.step == PREVIEW:
            return replace(state, step=self.fields[-1].key, editing=False)
        if state.editing:
            return replace(state, step=PREVIEW, editing=False)
        i = max(self._index[state.step] - 1, 0)
        return replace(state, step=self.fields[i].key)

    def edit(self, state: FormState, key: str) -> FormState:
        return replace(state, step=key, editing=True, pending=())

    def add_part(self, state: FormState, part: str) -> FormState:
        """One more piece of a long answer; refused (the pieces already received stay) past the field's limit."""
        pending = (*state.pending, part)
        length = len(self.join_parts(replace(state, pending=pending)))
        if length > self[state.step].max_len:
            raise FormError(
                N_(
                    "This part was not added: with it the answer would have {length} characters, and at most {max} "
                    "are allowed. Nothing was lost: the {parts} part(s) received before are kept. Press Done to "
                    "save them, or send a shorter last part."
                ),
                length=length,
                max=self[state.step].max_len,
                parts=len(state.pending),
            )
        return replace(state, pending=pending)

    # -- parsing -----------------------------------------------------------------------------------------
    def parse(self, f: Field, text: str, today: date) -> Any:
        """Turn typed text into the stored (JSON) value of a field; raises FormError."""
        if f.kind is Kind.TEXT or f.kind is Kind.LONGTEXT:
            return clean_answer(text, multiline=f.kind is Kind.LONGTEXT, max_len=f.max_len, min_len=f.min_len)
        if f.kind is Kind.DATE:
            return parse_date(clean_answer(text, multiline=False, max_len=60), today).isoformat()
        if f.kind is Kind.MONEY:
            return parse_money(clean_answer(text, multiline=False, max_len=100)).to_json()
        if f.kind is Kind.AUTHORS:
            text = clean_answer(text, multiline=True, max_len=f.max_len)
            return [a.to_json() for a in parse_authors(text)]
        if f.kind is Kind.CHOICE:
            raise FormError(N_("Please pick one of the buttons."))
        raise FormError(N_("Please send photos or documents here, then press Done."))

    def join_parts(self, state: FormState) -> str:
        return "\n".join(state.pending)

    def choose(self, f: Field, index: int) -> str:
        if f.kind is not Kind.CHOICE or not 0 <= index < len(f.choices):
            raise FormError(N_("This button is out of date."))
        return f.choices[index].key

    def add_file(self, state: FormState, file: dict[str, Any]) -> FormState:
        files = list(state.answers.get("files", []))
        if len(files) >= MAX_FILES:
            raise FormError(N_("At most {max} files can be attached."), max=MAX_FILES)
        return replace(state, answers={**state.answers, "files": [*files, file]})
