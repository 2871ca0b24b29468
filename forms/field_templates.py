"""Help lines and worked examples per field of work: data a union edits, one TOML file per field.

``forms/fields/finance.toml`` serves the field of work whose key is ``finance`` (the built-in list), or, with
FIELDS_OF_WORK configured, the field whose name matches one of its ``names`` (ignoring case, diacritics and đ/d).
For each step after the field it gives a help line (shown under the step's question) and an example (shown
instead of the general one), in Vietnamese and English::

    names = ["Tài chính, kế toán", "Finance and accounting", "Kế toán"]

    [before]
    help_vi = "…"
    help_en = "…"
    example_vi = "…"
    example_en = "…"

Reading and checking the files is ``forms.template_files``; this module is what the form uses at run time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from forms.template import Choice, Field
from forms.text import fold

LANGUAGES = ("vi", "en")
PARTS = ("help", "example")
FIELDS_DIR = Path(__file__).resolve().parent / "fields"  # the defaults shipped with the bot


@dataclass(frozen=True)
class FieldTemplate:
    """One field of work's texts: ``texts[step][part][language]``, e.g. ``texts["before"]["help"]["vi"]``."""

    key: str
    names: tuple[str, ...]
    texts: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    source: str = ""

    def text(self, step: str, part: str, locale: str) -> str | None:
        return self.texts.get(step, {}).get(part, {}).get(locale)


def later_steps(fields: Sequence[Field]) -> tuple[Field, ...]:
    """The steps a field of work changes: those after the field itself (the ones before keep the general text)."""
    keys = [f.key for f in fields]
    return tuple(fields[keys.index("field") + 1 :]) if "field" in keys else ()


def match_templates(fields: Sequence[Field], templates: Mapping[str, FieldTemplate]) -> dict[str, FieldTemplate]:
    """The template of each choice of the form's field step, by choice key: a built-in field by its key, a
    configured one (FIELDS_OF_WORK, shown as written) by its name. A field without a template gets none."""
    by_name = {fold(name): t for t in templates.values() for name in t.names}
    choices: Sequence[Choice] = next((f.choices for f in fields if f.key == "field"), ())
    matched: dict[str, FieldTemplate] = {}
    for choice in choices:
        found = templates.get(choice.key) if choice.translate else by_name.get(fold(choice.label))
        if found is not None:
            matched[choice.key] = found
    return matched


def guidance(templates: Mapping[str, FieldTemplate], later: set[str], step: str, answers: Mapping[str, object],
             locale: str) -> tuple[str | None, str | None]:  # fmt: skip
    """The picked field's help line and example for ``step`` in ``locale`` (None: the general one applies)."""
    picked = answers.get("field")
    template = templates.get(picked) if isinstance(picked, str) and step in later else None
    if template is None:
        return None, None
    return template.text(step, "help", locale), template.text(step, "example", locale)
