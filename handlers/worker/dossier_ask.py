"""The dossier's questions and the file: what each question says, its buttons, reading an answer, sending the .docx.
The router is ``handlers.worker.dossier``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from forms.errors import N_, FormError
from forms.text import clean_answer
from handlers.ui.callbacks import Id, Small
from handlers.ui.keyboards import button, markup
from handlers.worker.profile import phone_text
from reports import dossier_data as dd
from reports.dossier import TITLE, render
from reports.dossier_build import Profile, build, names_of
from storage.dossier import Subject

QUESTIONS = {
    "addressee": N_("To whom is the application addressed (the “Kính gửi” line)? Usually the director or the "
                    "initiative council of your workplace. Press a suggestion or type it."),
    "birth": N_("Date of birth of {name}? E.g. 12/03/1985, or the year alone."),
    "workplace": N_("Where does {name} work (department, workshop, company)?"),
    "title": N_("Job title of {name}? E.g. pump operator, engineer, head of department."),
    "qualification": N_("Qualification of {name}? E.g. electrical engineer, college, skilled worker grade 5/7."),
    "investor": N_("Who paid for creating the initiative, if not the authors (e.g. the company)? "
                   "Press Skip if the authors did."),
    "appliers": N_("How does the unit or person who first applied it judge its benefit? "
                   "Press Skip if they have given no opinion."),
    "helpers": N_("Who took part in applying it the first time, or in the trial? One person a line: name – their "
                  "work, or name – workplace – their work. Press Skip if nobody did."),
    "place": N_("Where is the application signed? The place written before the date, e.g. Lạng Sơn."),
}  # fmt: skip
LIMITS = {"addressee": 300, "investor": 300, "appliers": 3000, "place": 100}


class DossierFlow(StatesGroup):
    asking = State()  # FSM data: {"dossier": initiative id, "q": the question's key, "redo": every question again}


class DossierAction(StrEnum):
    OPEN = "o"
    PICK = "p"
    SKIP = "s"
    KEEP = "k"
    NOW = "n"
    REDO = "r"


class DossierCb(CallbackData, prefix="v1hs"):
    action: DossierAction
    initiative: Id
    step: Small = 0  # the question's place among all of them: a button of an earlier question does nothing
    value: Small = 0


@dataclass(frozen=True)
class Env:
    """What making the file needs besides the initiative."""

    bot: Bot
    form: Form
    i18n: I18n
    tz: ZoneInfo

    @property
    def today(self) -> date:
        return datetime.now(self.tz).date()


def _shown(q: dd.Question, value: Any) -> str:
    if q.item == "helpers":
        return "\n".join(" – ".join(p for p in (h["name"], h["workplace"], h["task"]) if p) for h in value)
    return dd.birth_text(value) if q.item == "birth" else str(value)


async def ask(message: Message, item: Subject, data: dict[str, Any], q: dd.Question, left: int | None, *,
              redo: bool, note: str = "") -> None:  # fmt: skip
    names = names_of(item.answers, item.author.full_name)
    name = escape(names[q.person]) if q.person >= 0 else ""
    lines = [note] if note else []
    lines.append("📄 " + escape(_(QUESTIONS[q.item])).replace("{name}", f"<b>{name}</b>"))
    if left:
        lines.append("<i>" + ngettext("{left} question left", "{left} questions left", left).format(left=left) + "</i>")
    current = dd.value(data, q, names)
    if redo and current:
        lines.append(escape(_("Current answer:")) + "\n" + escape(_shown(q, current)))
    step = dd.questions(names).index(q)

    def cb(action: DossierAction, value: int = 0) -> DossierCb:
        return DossierCb(action=action, initiative=item.id, step=step, value=value)

    offered = dd.suggestions(data, q, names, item.unit.name if item.unit else "")
    rows = [[button(text[:60], cb(DossierAction.PICK, i))] for i, text in enumerate(offered)]
    rows.append([button(_("Skip"), cb(DossierAction.SKIP))] if q.optional else [])
    rows.append([button(_("Keep current answer"), cb(DossierAction.KEEP))] if redo and current is not None else [])
    rows.append([button(_("📄 Send it as it is"), cb(DossierAction.NOW))])
    await message.answer("\n".join(lines), reply_markup=markup(rows))


def parse(q: dd.Question, text: str, today: date) -> tuple[Any, str]:
    """The answer as stored, or None and what is wrong with it."""
    if q.item == "birth":
        birth = dd.parse_birth(text, today)
        return birth, "" if birth else "⚠️ " + _(
            "I could not read this date of birth. Type it like 12/03/1985, or the year alone."
        )
    if q.item == "helpers":
        helpers = dd.parse_helpers(text)
        problem = _("Each line needs a person's name, e.g. “Hoàng Văn Nam – fitted the sensor”; at most {max} "
                    "people.").format(max=dd.MAX_HELPERS)  # fmt: skip
        return helpers, "" if helpers else "⚠️ " + escape(problem)
    try:
        return clean_answer(text, multiline=q.item == "appliers", max_len=LIMITS.get(q.item, 200), min_len=2), ""
    except FormError as err:
        return None, "⚠️ " + escape(_(err.msgid).format(**err.params))


def skipped(q: dd.Question) -> Any:
    return [] if q.item == "helpers" else ""


def _vietnamese(form: Form, key: str, value: Any, i18n: I18n) -> str | None:
    """A choice's label as the form writes it in Vietnamese, whatever the reader's language."""
    choice = next((c for c in form[key].choices if c.key == value), None)
    if choice is None:
        return None if value is None else str(value)
    return i18n.gettext(choice.label, locale="vi") if choice.translate else choice.label


async def send_dossier(env: Env, chat_id: int, item: Subject, data: dict[str, Any], *, author: bool) -> None:
    answers, number = item.answers, item.initiative.number
    profile = Profile(item.author.full_name, phone_text(item.author.phone) if item.author.phone else "")
    content = build(answers, data, profile, field=_vietnamese(env.form, "field", answers.get("field"), env.i18n),
                    solution_type=_vietnamese(env.form, "solution_type", answers.get("solution_type"), env.i18n),
                    today=env.today)  # fmt: skip
    caption = f"<b>{TITLE}</b> · {escape(number or _('draft'))}\n" + escape(
        _("Print it, check it and sign it, then hand it in with the initiative's documents.")
    )
    if dd.open_questions(data, names_of(answers, item.author.full_name)):
        caption += "\n" + escape(_("What is not known yet is left blank, to write by hand."))
    again = None
    if author:  # one message on both channels: on Zalo the file is a link, the button a numbered choice under it
        wrong = _("Something wrong or missing in it? Change the details and I will make the file again.")
        caption += "\n" + escape(wrong)
        again = markup([[button(_("✏️ Change the details"), DossierCb(action=DossierAction.REDO, initiative=item.id))]])
    name = f"don-sang-kien-{number or f'ban-nhap-{item.id}'}.docx"
    document = BufferedInputFile(render(content), filename=name)
    await env.bot.send_document(chat_id, document, caption=caption, reply_markup=again)
