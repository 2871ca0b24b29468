"""Delivering the outbox: what each kind of item sends. The sender (``bot.outbox``) claims an item, calls
``deliver`` and marks it done; Telegram's refusals are handled here where they mean something (a group that
removed the bot), and anything else is left to the sender to retry or close."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.utils.i18n import I18n

from forms.engine import Form
from handlers.team.cards import card_keyboard, card_text, notify_author, send_private, submitted_text, tell_officers
from handlers.team.proxy_notices import KINDS as PROXY_KINDS
from handlers.team.proxy_notices import deliver_proxy
from storage.db import Database
from storage.groups import group_of_chat, mark_unreachable, route
from storage.members import get_member, set_reachable
from storage.models import ReviewGroup
from storage.review import OPEN, Review, card_stmt, cards, load
from storage.roles import nearest_team

log = logging.getLogger(__name__)


class Outbox(Protocol):
    """What handlers see of the sender: deliver what they just committed to send."""

    async def flush(self) -> int: ...

    def wake(self) -> None: ...


@dataclass(frozen=True)
class Delivery:
    bot: Bot
    db: Database
    i18n: I18n
    form: Form
    tz: ZoneInfo


async def deliver(ctx: Delivery, kind: str, payload: dict[str, Any]) -> None:
    with ctx.i18n.context():  # the sender's loop runs outside any update
        await _deliver(ctx, kind, payload)


async def _deliver(ctx: Delivery, kind: str, payload: dict[str, Any]) -> None:
    if kind in PROXY_KINDS:  # the team writes for a member: about a draft, which has no review yet
        await deliver_proxy(ctx, kind, payload)
        return
    review = await load(ctx.db, int(payload["iid"]))
    if review is None:
        log.info("outbox %s for initiative %s: it no longer exists; nothing sent", kind, payload["iid"])
        return
    if kind == "card.post":
        await post_card(ctx, review, int(payload["round"]), notify=bool(payload.get("notify")))
    elif kind == "card.refresh":
        await refresh_cards(ctx, review)
    elif kind == "author.notice":
        await notify_author(ctx.bot, ctx.i18n, review, str(payload["status"]), payload.get("reason"), ctx.db,
                            amount=payload.get("amount"))  # fmt: skip
    else:
        raise ValueError(f"unknown outbox item kind {kind!r}")


async def post_card(ctx: Delivery, review: Review, round_: int, *, notify: bool) -> None:
    """Post the round's card to the nearest support group (once), then tell the author the number."""
    item = review.initiative
    iid, number = item.id or 0, item.number or ""
    existing = await cards(ctx.db, iid, round_)
    in_group = any(card.chat_id < 0 for card in existing)  # private cards (a team without a group) are > 0
    posted = bool(existing)
    if not in_group and item.status in OPEN and item.review_round == round_:
        group = await route(ctx.db, item.unit_id)
        if group is not None and group.reachable:  # also when the team had it privately until a group was bound
            posted = await _send_card(ctx, review, group) or posted
        if not posted:  # no group that can be reached: the nearest team gets the card privately
            posted = await _send_private_cards(ctx, review)
        if not posted:  # nobody to review it here: the officers hear of it
            await tell_officers(ctx.bot, ctx.db, ctx.i18n, number, item.unit_id, group)
    if notify:
        with ctx.i18n.use_locale(review.author.language):
            text = submitted_text(number, posted)
        await send_private(ctx.bot, review.author, text, db=ctx.db)


async def _send_card(ctx: Delivery, review: Review, group: ReviewGroup) -> bool:
    item = review.initiative
    with ctx.i18n.use_locale(group.language):
        text = card_text(review, ctx.form, group.language, ctx.tz)
        keyboard = card_keyboard(item.id or 0, item.review_round, True)
    try:
        sent = await ctx.bot.send_message(group.chat_id, text, reply_markup=keyboard)
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        log.warning("support group %s of unit %s cannot be reached: %s", group.chat_id, group.unit_id, exc)
        await mark_unreachable(ctx.db, group.chat_id)
        return False
    await ctx.db.write_unmarked(card_stmt(initiative_id=item.id or 0, chat_id=group.chat_id,
                                          message_id=sent.message_id, round_=item.review_round))  # fmt: skip
    return True


async def _send_private_cards(ctx: Delivery, review: Review) -> bool:
    """The card, privately, to each member of the nearest support team (a team without a group, e.g. on a
    platform that does not bring group messages to bots): they decide on it there the same way."""
    item, sent_any = review.initiative, False
    for member in await nearest_team(ctx.db, item.unit_id or 0):
        with ctx.i18n.use_locale(member.language):
            text = card_text(review, ctx.form, member.language, ctx.tz)
            keyboard = card_keyboard(item.id or 0, item.review_round, True)
        if not member.reachable:
            continue
        try:
            sent = await ctx.bot.send_message(member.tg_user_id, text, reply_markup=keyboard)
        except TelegramForbiddenError:
            await set_reachable(ctx.db, member, False)
            continue
        except TelegramBadRequest as exc:
            log.info("team member %s cannot get the card of %s privately: %s", member.id, item.number, exc)
            continue
        await ctx.db.write_unmarked(card_stmt(initiative_id=item.id or 0, chat_id=member.tg_user_id,
                                              message_id=sent.message_id, round_=item.review_round))  # fmt: skip
        sent_any = True
    return sent_any


async def _card_language(ctx: Delivery, chat_id: int) -> str:
    if chat_id > 0:  # a card sent privately: its reader's language
        member = await get_member(ctx.db, chat_id)
        return member.language if member else ctx.i18n.default_locale
    group = await group_of_chat(ctx.db, chat_id)
    return group.language if group else ctx.i18n.default_locale


async def refresh_cards(ctx: Delivery, review: Review) -> None:
    """Show the round's cards as they now stand: who took it, or the outcome without decision buttons."""
    item = review.initiative
    for card in await cards(ctx.db, item.id or 0, item.review_round):
        language = await _card_language(ctx, card.chat_id)
        with ctx.i18n.use_locale(language):
            text = card_text(review, ctx.form, language, ctx.tz)
            keyboard = card_keyboard(item.id or 0, card.round, item.status in OPEN)
        try:
            await ctx.bot.edit_message_text(text=text, chat_id=card.chat_id, message_id=card.message_id,
                                            reply_markup=keyboard)  # fmt: skip
        except TelegramBadRequest as exc:
            if "message is not modified" not in str(exc):  # e.g. deleted by someone in the group
                log.info("card %s of %s not updated: %s", card.message_id, item.number, exc)
        except TelegramForbiddenError as exc:
            log.warning("support group %s cannot be reached: %s", card.chat_id, exc)
            await mark_unreachable(ctx.db, card.chat_id)
