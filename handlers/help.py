"""/help and /cancel."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from handlers.officer import guide as unit_guide
from handlers.worker.states import Drafting
from storage.db import Database
from storage.guides import guide_for
from storage.models import Member
from storage.roles import OFFICER, roles_held


async def help_(message: Message, form: Form, db: Database, member: Member | None, admins: frozenset[int]) -> None:
    steps = "\n".join(f"{i}. {_(f.label)}" for i, f in enumerate(form.fields, start=1))
    found = await guide_for(db, member.unit_id if member else None)
    guide = "\n\n<b>" + _("Your unit's guide") + "</b>\n" + unit_guide.guide_line(found) if found else ""
    by_field = _("From step {k} on, the help and the examples follow the field of application you picked.")
    await message.answer(
        "<b>"
        + _("What I can do")
        + "</b>\n"
        + _(
            "/new — write up a new initiative, step by step\n"
            "/drafts — continue or delete your drafts\n"
            "/my — your submitted initiatives and their status\n"
            "/profile — your name, unit, phone and language\n"
            "/cancel — leave the form; the draft is kept\n"
            "/help — this message"
        )
        + "\n"
        + _("/dossier SK-000123 — the application for recognition (Word file); /dossier alone lists yours")
        + "\n\n"
        + "<b>"
        + _("The steps of an initiative")
        + "</b>\n"
        + steps
        + "\n\n"
        + _(
            "Every answer is saved as soon as I reply, so nothing is lost if the connection drops. "
            "A long pasted answer that arrives in several pieces is joined; to add to an answer, press "
            "➕ Add to the previous answer. "
            "Amounts can be typed as people say them: 14 triệu, 1,2 tỷ, 350 nghìn/tháng."
        )
        + "\n"
        + by_field.format(k=form.index("field") + 2)
        + guide
        + await team_part(db, member, admins)
    )


async def team_part(db: Database, member: Member | None, admins: frozenset[int]) -> str:
    """What the support team and officers can do, for those who hold such a role (or administer the bot)."""
    held = await roles_held(db, member.id if member else None)
    admin = member is not None and member.tg_user_id in admins
    if not held and not admin:
        return ""
    lines = ["", "", "<b>" + _("For the support team") + "</b>",
             _("/for NAME — write an initiative for a member (a registered member, or a new person)"),
             _("/recognise SK-000123 DECISION-NO 15/03/2022 — record the workplace's recognition decision; a .csv "
               "or .xlsx file with the caption /recognise records many"),
             _("/uploaded SK-000123 — mark as uploaded to the TLĐ system (several numbers at once too)"),
             _("/value SK-000123 12 million/year; note — the money benefit as the support team checked it"),
             _("/dossier SK-000123 — the application for recognition, for any initiative you look after"),
             _("/history SK-000123 — who did what, and when")]  # fmt: skip
    if OFFICER in held or admin:
        lines += ["", "<b>" + _("For officers") + "</b>",
                  _("/progress, /chart, /top, /export, /export tld — progress, rankings and spreadsheets of a unit"),
                  _("/invite — an invite link and QR code for a unit · /digest — a weekly digest on or off"),
                  _("/unrecognise SK-000123 reason — take a recognition or an upload back")]  # fmt: skip
    return "\n".join(escape_lines(lines))


def escape_lines(lines: list[str]) -> list[str]:
    return [line if line.startswith("<b>") else escape(line) for line in lines]


async def cancel(message: Message, state: FSMContext, member: Member | None) -> None:
    current = await state.get_state()
    if current is not None and member is None:  # registration: start over, in the language already chosen
        lang = (await state.get_data()).get("lang")
        await state.set_state(None)
        await state.set_data({"lang": lang} if lang else {})
        await message.answer(
            _("Registration stopped; nothing was saved. Send /start to begin again."),
            reply_markup=ReplyKeyboardRemove(),
        )
    elif current == Drafting.filling.state:
        await state.clear()
        await message.answer(
            _("You left the form. Your draft is saved: send /drafts to continue it."),
            reply_markup=ReplyKeyboardRemove(),
        )
    elif current is not None:
        await state.set_state(None)
        await message.answer(_("Stopped: nothing was changed."), reply_markup=ReplyKeyboardRemove())
    else:
        await message.answer(_("There is nothing to cancel."), reply_markup=ReplyKeyboardRemove())


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(help_, Command("help"))
    router.message.register(cancel, Command("cancel"))
    router.include_router(unit_guide.create_router())  # /guide: what /help shows, set by officers
    return router
