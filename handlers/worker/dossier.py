"""/dossier [SK-…]: the application for recognition (Circular 18/2013, Appendix I) as a Word file, for the author,
the support team and officers of the unit or above (in a group it is sent privately). What the short form does
not ask is asked of the author then, once: answers are reused for their next initiatives, and each is stored
before the next question. Anyone else gets what is known, with blanks to fill by hand."""

from __future__ import annotations

import json
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from handlers.ui.keyboards import button, markup
from handlers.worker.dossier_ask import DossierAction, DossierCb, DossierFlow, Env, ask, parse, send_dossier, skipped
from handlers.worker.states import Reg
from reports import dossier_data as dd
from reports.dossier_build import names_of
from storage.db import Database
from storage.dossier import Subject, earlier, initiatives_of, may_have, save, subject, subject_by_number
from storage.models import Member


async def known(db: Database, item: Subject) -> dict[str, Any]:
    """This initiative's dossier data over what the author answered for earlier ones."""
    return dd.with_earlier(item.data, await earlier(db, item))


async def start(message: Message, state: FSMContext, db: Database, member: Member, item: Subject, env: Env, *,
                redo: bool = False) -> None:  # fmt: skip
    """The author's follow-up: the first open question (with ``redo``, the first of all), or the file at once."""
    data = await known(db, item)
    if data != item.data:  # what is reused is copied in, so the dossier stays as it was filed
        await save(db, item.id, data, actor_id=member.id, item="reused")
    names = names_of(item.answers, item.author.full_name)
    todo = dd.questions(names) if redo else dd.open_questions(data, names)
    if not todo:
        await state.clear()
        await send_dossier(env, message.chat.id, item, data, author=True)
        return
    await state.set_state(DossierFlow.asking)
    await state.set_data({"dossier": item.id, "q": todo[0].key, "redo": redo})
    title = escape(item.initiative.number or item.answers.get("title") or _("draft"))
    intro = (
        _("Change what is wrong; “Keep current answer” leaves an item as it is.")
        if redo
        else _("For the application of {title} I need a few details the short form does not ask. Each answer is "
               "saved at once; “Send it as it is” leaves what is missing blank.").format(title=title)
    )  # fmt: skip
    await message.answer(intro)
    await ask(message, item, data, todo[0], len(todo), redo=redo)


async def open_dossier(message: Message, state: FSMContext, db: Database, member: Member | None, item: Subject,
                       user_id: int, env: Env, admin: bool) -> None:  # fmt: skip
    """The author in a private chat gets the follow-up; the team and officers the file as it is, privately."""
    if not await may_have(db, item, member, admin=admin):
        await message.answer(_("You can get the application for your own initiatives, or for your unit's if you "
                               "are in its support team or an officer."))  # fmt: skip
        return
    author = member is not None and member.id == item.initiative.author_id
    if author and member is not None and message.chat.type == "private":
        await start(message, state, db, member, item, env)
        return
    try:
        await send_dossier(env, user_id, item, await known(db, item), author=author)
    except (TelegramForbiddenError, TelegramBadRequest):
        await message.answer(_("Please start a private chat with me first, then send the command again."))
        return
    if message.chat.type != "private":
        await message.reply(_("Sent to you privately."))


async def command(message: Message, command: CommandObject, state: FSMContext, db: Database, member: Member | None,
                  bot: Bot, form: Form, i18n: I18n, tz: ZoneInfo, admins: frozenset[int]) -> None:  # fmt: skip
    if not command.args:
        await listing(message, db, member)
        return
    item = await subject_by_number(db, command.args)
    if item is None:
        await message.answer(_("There is no initiative {number}. Send /dossier followed by a number, e.g. "
                               "/dossier SK-000123.").format(number=escape(command.args[:20])))  # fmt: skip
        return
    user_id = message.from_user.id if message.from_user else message.chat.id
    await open_dossier(message, state, db, member, item, user_id, Env(bot, form, i18n, tz), user_id in admins)


async def listing(message: Message, db: Database, member: Member | None) -> None:
    items = await initiatives_of(db, member) if member is not None and message.chat.type == "private" else []
    if not items:
        await message.answer(_("Send /dossier followed by a number, e.g. /dossier SK-000123."))
        return
    rows = []
    for it in items:
        label = (it.number or "✏️") + " · " + (it.title or json.loads(it.answers).get("title") or _("(no name yet)"))
        rows.append([button(label[:60], DossierCb(action=DossierAction.OPEN, initiative=it.id or 0))])
    await message.answer(_("Which initiative is the application for?"), reply_markup=markup(rows))


async def answered(message: Message, state: FSMContext, db: Database, member: Member | None, bot: Bot, form: Form,
                   i18n: I18n, tz: ZoneInfo) -> None:  # fmt: skip
    flow, env = await state.get_data(), Env(bot, form, i18n, tz)
    item = await subject(db, int(flow.get("dossier", 0)))
    if item is None or member is None or member.id != item.initiative.author_id:
        await state.clear()
        await message.answer(_("This initiative is no longer available."))
        return
    names = names_of(item.answers, item.author.full_name)
    q = next((q for q in dd.questions(names) if q.key == flow.get("q")), None)
    if q is None:  # the author table changed meanwhile: ask what is open now
        await start(message, state, db, member, item, env)
        return
    data = await known(db, item)
    value, problem = parse(q, message.text or "", env.today)
    if problem:
        await ask(message, item, data, q, None, redo=bool(flow.get("redo")), note=problem)
        return
    await advance(message, state, db, member, item, q, data, value, env)


async def advance(message: Message, state: FSMContext, db: Database, member: Member, item: Subject, q: dd.Question,
                  data: dict[str, Any], value: Any, env: Env) -> None:  # fmt: skip
    """Store the answer (None: keep the current one), then ask the next question or send the file."""
    names = names_of(item.answers, item.author.full_name)
    if value is not None:
        data = dd.with_answer(data, q, names, value)
        if not await save(db, item.id, data, actor_id=member.id, item=q.item):
            await state.clear()
            await message.answer(_("This initiative is no longer available."))
            return
    redo = bool((await state.get_data()).get("redo"))
    everything = dd.questions(names)
    later = everything[everything.index(q) + 1 :] if redo else dd.open_questions(data, names)
    if not later:
        await state.clear()
        await send_dossier(env, message.chat.id, item, data, author=True)
        return
    await state.update_data(q=later[0].key)
    await ask(message, item, data, later[0], len(later), redo=redo)


async def pressed(query: CallbackQuery, callback_data: DossierCb, state: FSMContext, db: Database,
                  member: Member | None, bot: Bot, form: Form, i18n: I18n, tz: ZoneInfo,
                  admins: frozenset[int]) -> None:  # fmt: skip
    message, env = query.message, Env(bot, form, i18n, tz)
    item = await subject(db, callback_data.initiative)
    author = item is not None and member is not None and member.id == item.initiative.author_id
    if not isinstance(message, Message) or item is None or (callback_data.action != DossierAction.OPEN and not author):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    if callback_data.action in (DossierAction.OPEN, DossierAction.REDO):
        await query.answer()
        if callback_data.action == DossierAction.OPEN:
            admin = query.from_user.id in admins
            await open_dossier(message, state, db, member, item, query.from_user.id, env, admin)
        elif member is not None:
            await start(message, state, db, member, item, env, redo=True)
        return
    assert member is not None
    await by_button(query, message, callback_data, state, db, member, item, env)


async def by_button(query: CallbackQuery, message: Message, cb: DossierCb, state: FSMContext, db: Database,
                    member: Member, item: Subject, env: Env) -> None:  # fmt: skip
    """A suggestion, Skip, Keep or “Send it as it is”: only for the question being asked."""
    flow, data = await state.get_data(), await known(db, item)
    names = names_of(item.answers, item.author.full_name)
    everything = dd.questions(names)
    q = everything[cb.step] if 0 <= cb.step < len(everything) else None
    if q is None or flow.get("dossier") != item.id or flow.get("q") != q.key:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    offered = dd.suggestions(data, q, names, item.unit.name if item.unit else "")
    values = {
        DossierAction.PICK: offered[cb.value] if 0 <= cb.value < len(offered) else None,
        DossierAction.SKIP: skipped(q) if q.optional else None,
        DossierAction.KEEP: dd.value(data, q, names) if flow.get("redo") else None,
    }
    if cb.action != DossierAction.NOW and values.get(cb.action) is None:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    if cb.action == DossierAction.NOW:
        await state.clear()
        await send_dossier(env, message.chat.id, item, data, author=True)
        return
    await advance(message, state, db, member, item, q, data, values[cb.action], env)


async def not_text(message: Message) -> None:
    await message.answer(_("Please type your answer as text."))


async def cancel(message: Message, state: FSMContext, db: Database) -> None:
    """/cancel in the follow-up: it ends; what was answered is already stored and is not asked again."""
    item = await subject(db, int((await state.get_data()).get("dossier", 0)))
    await state.clear()
    again = f"/dossier {item.initiative.number}" if item is not None and item.initiative.number else "/dossier"
    await message.answer(_("Stopped. What you have answered is saved and will not be asked again: send {command} to "
                           "continue, or to get the file.").format(command=again))  # fmt: skip


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(command, Command("dossier"), ~StateFilter(Reg))  # mid-registration: start's answer
    router.callback_query.register(pressed, DossierCb.filter())
    private = F.chat.type == "private"
    router.message.register(cancel, DossierFlow.asking, private, Command("cancel"))
    router.message.register(answered, DossierFlow.asking, private, F.text, ~F.text.startswith("/"))
    router.message.register(not_text, DossierFlow.asking, private, ~F.text)
    return router
