"""Reading the field-of-work templates (``forms.field_templates``) from a folder of TOML files, checked at start.

The first problem stops the start with one line that names the file, the line and what to change, e.g.
``forms/fields/finance.toml, line 12: [benefit_money] example_en is not an amount the bot can read (…)``.
An example must be an answer the bot accepts at its step (a date, an amount, an author list), and the example
of the solution as long as the preview asks for."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from forms.authors import parse_authors
from forms.dates import parse_date_answer
from forms.eligibility import MIN_SOLUTION_WORDS, word_count
from forms.errors import FormError
from forms.field_templates import LANGUAGES, PARTS, FieldTemplate, later_steps
from forms.money import parse_money
from forms.template import Field, Kind
from forms.text import fold, normalize

FILE_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")
LIMITS = {"help": 300, "example": 1000}
_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"-]+?)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"-]+?)\s*=")
_TOML_AT = re.compile(r"\s*\(at line (\d+), column \d+\)")


class TemplateError(ValueError):
    """A template file that cannot be used; the message is one line."""


def fail(path: Path, line: int, problem: str) -> TemplateError:
    return TemplateError(f"{path}, line {line}: {problem}")


def line_of(lines: Sequence[str], table: str | None, key: str | None = None) -> int:
    """The line of ``key`` in ``[table]`` (or of the header itself), skipping multi-line strings; 1 if not found."""
    current, header, quoted = None, 0, False
    for number, line in enumerate(lines, start=1):
        if not quoted and (m := _HEADER.match(line)):
            current = m[1].strip('"')
            header = number if current == table else header
        elif not quoted and (m := _KEY.match(line)) and key is not None:
            name = m[1].strip('"')
            if (current == table and name == key) or (current is None and name == f"{table}.{key}"):
                return number
        quoted ^= (line.count('"""') + line.count("'''")) % 2 == 1
    return header or 1


def load_templates(folder: Path, fields: Sequence[Field], today: date | None = None) -> dict[str, FieldTemplate]:
    """Every ``*.toml`` of the folder, by key (the file name); raises TemplateError at the first problem."""
    if not folder.is_dir():
        raise TemplateError(f"{folder}: there is no such folder of field templates (FIELD_TEMPLATES_DIR)")
    templates: dict[str, FieldTemplate] = {}
    owners: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        template, lines = read_template(path, fields, today or date.today())
        for name in template.names:
            if fold(name) in owners:
                raise fail(path, line_of(lines, None, "names"), f"the name “{name}” is already in {owners[fold(name)]}")
            owners[fold(name)] = path.name
        templates[template.key] = template
    return templates


def read_template(path: Path, fields: Sequence[Field], today: date) -> tuple[FieldTemplate, list[str]]:
    raw = path.read_bytes()
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(path, raw[: exc.start].count(b"\n") + 1, "the file is not UTF-8 text; save it as UTF-8") from None
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_AT.search(str(exc))
        reason = _TOML_AT.sub("", str(exc))
        raise fail(path, int(found[1]) if found else 1, f"this is not valid TOML: {reason}") from None
    lines = source.splitlines()
    if not FILE_NAME.match(path.stem):
        raise fail(path, 1, "the file name must be the field's key: lower-case letters, digits, - or _ (finance.toml)")
    names = data.pop("names", None)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise fail(path, line_of(lines, None, "names"), 'names must list the names of the field, e.g. names = '
                   '["Tài chính, kế toán", "Finance and accounting"]')  # fmt: skip
    steps = {f.key: f for f in later_steps(fields)}
    texts = {}
    for step, table in data.items():
        at = partial(line_of, lines, step)
        if step not in steps:
            before = [f.key for f in fields if f.key not in steps]
            why = "keeps the general help" if step in before else "is not a step of the form"
            raise fail(path, at(None), f"[{step}] {why}; the steps a field changes are: {', '.join(steps)}")
        if not isinstance(table, dict):
            raise fail(path, line_of(lines, None, step), f"{step} must be a table: [{step}] on a line of its own")
        texts[step] = read_step(path, at, steps[step], table, today)
    return FieldTemplate(path.stem, tuple(n.strip() for n in names), texts, str(path)), lines


def read_step(path: Path, at: Callable[[str | None], int], f: Field, table: dict[str, Any],
              today: date) -> dict[str, dict[str, str]]:  # fmt: skip
    texts: dict[str, dict[str, str]] = {}
    for key, value in table.items():
        part, _, language = key.rpartition("_")
        if part not in PARTS or language not in LANGUAGES:
            known = "help_vi, help_en, example_vi, example_en"
            raise fail(path, at(key), f"[{f.key}] has an unknown key {key}; use {known}")
        text = normalize(value, multiline=True) if isinstance(value, str) else ""
        if not text:
            raise fail(path, at(key), f"[{f.key}] {key} must be a text in quotes, not empty")
        if len(text) > LIMITS[part]:
            raise fail(path, at(key), f"[{f.key}] {key} has {len(text)} characters; at most {LIMITS[part]}")
        if part == "example" and (problem := example_problem(f, text, today)):
            raise fail(path, at(key), f"[{f.key}] {key} {problem}")
        texts.setdefault(part, {})[language] = text
    if not texts:
        raise fail(path, at(None), f"[{f.key}] is empty; give help_vi, help_en, example_vi and example_en")
    for part, given in texts.items():
        for language in LANGUAGES:
            if language not in given:
                have = next(iter(given))
                raise fail(path, at(f"{part}_{have}"), f"[{f.key}] has {part}_{have} but no {part}_{language}")
    return texts


def example_problem(f: Field, text: str, today: date) -> str | None:
    """Why an example would not be accepted as an answer at its step (None when it would be)."""
    readers: dict[Kind, Callable[[str], object]] = {
        Kind.DATE: lambda t: parse_date_answer(t, today),
        Kind.MONEY: parse_money,
        Kind.AUTHORS: parse_authors,
    }
    try:
        if f.kind in readers:
            readers[f.kind](text)
    except FormError as err:
        return f"is not an answer the bot accepts at this step ({err.msgid.format(**err.params)})"
    if f.key == "solution" and word_count(text) < MIN_SOLUTION_WORDS:
        return f"has {word_count(text)} words; the preview asks for at least {MIN_SOLUTION_WORDS}, so give as many"
    return None
