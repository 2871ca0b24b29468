"""A generic form engine: one set of plain functions drives every field of the template."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from forms.authors import parse_authors
from forms.dates import parse_date_answer
from forms.errors import N_, FormError
from forms.field_templates import FieldTemplate, guidance, later_steps
from forms.money import Money, parse_money
from forms.template import Field, Kind
from forms.text import clean_answer

PREVIEW = "preview"
MAX_FILES = 20
# Telegram splits a long pasted text into messages of 4,096 characters. A message this long is most likely one
# of those pieces, so the answer waits for the rest; a shorter message is the answer (or its last piece).
PASTE_PIECE = 3_500


@dataclass(frozen=True)
class FormState:
    """Where a draft stands: the answers so far, the current step, parts typed but not yet joined."""

    answers: dict[str, Any] = field(default_factory=dict)
    step: str = ""
    pending: tuple[str, ...] = ()
    editing: bool = False


class Form:
    """The walk asks the required fields in order (consecutive choice fields together, on one keyboard) and
    ends at the preview; optional fields are reached from there ("Add details"), and any field by "Edit"."""

    def __init__(self, fields: tuple[Field, ...], templates: Mapping[str, FieldTemplate] | None = None) -> None:
        self.fields = fields
        self.templates = dict(templates or {})  # by the key of a choice of the field step
        self._later = {f.key for f in later_steps(fields)}
        self._index = {f.key: i for i, f in enumerate(fields)}
        self._screens: dict[str, tuple[Field, ...]] = {}
        run: list[Field] = []
        for f in (*fields, None):
            if f is not None and f.kind is Kind.CHOICE:
                run.append(f)
                continue
            for member in run:
                self._screens[member.key] = tuple(run)
            run = []
            if f is not None:
                self._screens[f.key] = (f,)

    def __getitem__(self, key: str) -> Field:
        return self.fields[self._index[key]]

    def index(self, key: str) -> int:
        return self._index[key]

    def position(self, key: str) -> tuple[int, int]:
        return self._index[key] + 1, len(self.fields)

    def screen(self, key: str) -> tuple[Field, ...]:
        """The fields asked together with ``key``: a run of consecutive choice fields shares one keyboard."""
        return self._screens[key]

    def screen_indices(self, key: str) -> set[int]:
        return {self._index[f.key] for f in self.screen(key)}

    def guidance(self, key: str, answers: dict[str, Any], locale: str) -> tuple[str | None, str | None]:
        """The help line and example of the picked field of work for step ``key`` (None: the general one)."""
        return guidance(self.templates, self._later, key, answers, locale)

    def start(self) -> FormState:
        return FormState(step=self.fields[0].key)

    def is_required(self, f: Field, answers: dict[str, Any]) -> bool:
        if f.key == "benefit_social" and "benefit_money" in answers:
            return Money.from_json(answers["benefit_money"]).is_none
        return f.required

    def missing(self, answers: dict[str, Any]) -> list[Field]:
        return [f for f in self.fields if self.is_required(f, answers) and f.key not in answers]

    def details(self, answers: dict[str, Any]) -> list[Field]:
        """The optional fields still empty: what "Add details" offers."""
        return [f for f in self.fields if not self.is_required(f, answers) and f.key not in answers]

    def walked_before(self, state: FormState) -> Field | None:
        """The field the walk asked before the current step (Back, and "add to the previous answer")."""
        i = self._index[self.screen(state.step)[0].key] - 1
        while i >= 0 and not self.is_required(self.fields[i], state.answers):
            i -= 1
        return self.screen(self.fields[i].key)[0] if i >= 0 else None

    def previous_long(self, state: FormState) -> Field | None:
        """The long answer given just before this step of the walk, which the worker may re-open to add to it."""
        if state.step == PREVIEW or state.editing or state.pending:
            return None
        before = self.walked_before(state)
        if before is None or before.kind is not Kind.LONGTEXT or before.key not in state.answers:
            return None
        return before

    # -- moves -------------------------------------------------------------------------------------------
    def _after(self, state: FormState, answers: dict[str, Any]) -> FormState:
        unanswered = [f for f in self.screen(state.step) if f.key not in answers and self.is_required(f, answers)]
        if unanswered:  # the other choice of the same keyboard is still to pick
            step = unanswered[0].key
        elif state.editing:
            missing = self.missing(answers)
            step = missing[0].key if missing else PREVIEW
        else:  # the next required field; the optional ones wait for "Add details" at the preview
            i = self._index[self.screen(state.step)[-1].key] + 1
            while i < len(self.fields) and not self.is_required(self.fields[i], answers):
                i += 1
            step = self.fields[i].key if i < len(self.fields) else PREVIEW
        return replace(state, answers=answers, step=step, pending=(), editing=state.editing and step != PREVIEW)

    def set_answer(self, state: FormState, value: Any, key: str | None = None) -> FormState:
        """Store the answer of the current step (or of ``key``, another field of the same keyboard), move on."""
        key = key or state.step
        if key not in {f.key for f in self.screen(state.step)}:
            raise FormError(N_("This button is out of date."))
        return self._after(state, {**state.answers, key: value})

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
        """The previous step of the walk (from an edit: the preview). Pieces of a long answer already received
        are kept as its answer first, so Back never drops typed text."""
        if state.pending:
            f = self[state.step]
            state = replace(state, answers={**state.answers, f.key: self.join_parts(state)}, pending=())
        if state.step == PREVIEW:
            required = [f for f in self.fields if self.is_required(f, state.answers)]
            return replace(state, step=self.screen(required[-1].key)[0].key, editing=False)
        if state.editing:
            return replace(state, step=PREVIEW, editing=False)
        before = self.walked_before(state)
        return replace(state, step=(before or self.fields[0]).key)

    def edit(self, state: FormState, key: str) -> FormState:
        return replace(state, step=key, editing=True, pending=())

    def reopen_previous(self, state: FormState) -> FormState:
        """Go back to the previous long answer with its text as the first piece: what is sent next is added."""
        before = self.previous_long(state)
        if before is None:
            raise FormError(N_("This button is out of date."))
        return replace(state, step=before.key, pending=(str(state.answers[before.key]),))

    def appending(self, state: FormState) -> bool:
        """The pieces start with the saved answer: the worker is adding to it."""
        return bool(state.pending) and state.pending[0] == state.answers.get(state.step)

    def add_part(self, state: FormState, part: str) -> FormState:
        """One more piece of a long answer; refused (the pieces already received stay) past the field's limit."""
        pending = (*state.pending, part)
        length = len(self.join_parts(replace(state, pending=pending)))
        if length > self[state.step].max_len:
            raise FormError(
                N_(
                    "This part was not added: with it the answer would have {length} characters, and at most {max} "
                    "are allowed. Nothing was lost: the parts received before (so far: {parts}) are kept. Press Done "
                    "to save them, or send a shorter last part."
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
            return parse_date_answer(clean_answer(text, multiline=False, max_len=60), today)
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
