"""The preview's eligibility concerns (``forms.eligibility``) as Telegram HTML: each says what is wrong and how to
fix it; the keyboard under the preview has a ⚠️ button to the step of each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from forms.eligibility import Concern
from forms.formats import format_date_answer

Gettext = Callable[..., str]


def concern_text(concern: Concern, _: Gettext, locale: str) -> str:
    """The concern in the reader's language, dates as they write them (15/03/2022, tháng 3/2022); not escaped."""
    dates = {key: format_date_answer(value, locale) for key, value in concern.dates.items()}
    return str(_(concern.msgid)).format(**concern.params, **dates)


def concern_blocks(concerns: Sequence[Concern], _: Gettext, locale: str, *, complete: bool = True) -> list[str]:
    """The lines the preview ends with when something would make the initiative ineligible or weak. Only a
    ``complete`` draft (Submit offered) is told it may be submitted as it is."""
    if not concerns:
        return []
    head = "\n⚠️ <b>" + escape(_("Before you submit, check:")) + "</b>"
    items = ["• " + escape(concern_text(c, _, locale)) for c in concerns]
    how = (_("You can still submit it as it is, or first correct it with the ⚠️ buttons below.") if complete
           else _("Correct it with the ⚠️ buttons below."))  # fmt: skip
    return [head, *items, "<i>" + escape(how) + "</i>"]
