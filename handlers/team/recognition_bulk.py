"""Many at once: a .csv or .xlsx of recognitions sent with the caption /recognise (every bad row is reported with its
row number and nothing is recorded), and /uploaded (/dacapnhat) for one or many recognised initiatives."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from forms.errors import N_, FormError
from forms.recognition import DATE_WORD, decision_date, initiative_number, parse_rows, table_rows
from forms.render import pack
from forms.text import normalize
from handlers.delivery import Outbox
from handlers.team.recognition import COMMANDS, may_upload, problem_with
from handlers.worker.formview import error_text, today
from storage.db import Database
from storage.models import Member
from storage.recognition import Decision, by_numbers, mark_uploaded, recognise

MAX_BYTES = 5 * 1024 * 1024


async def import_file(message: Message, db: Database, member: Member | None, bot: Bot, tz: ZoneInfo,
                      outbox: Outbox) -> None:  # fmt: skip
    doc = message.document
    assert doc is not None
    name = doc.file_name or ""
    if not name.lower().endswith((".csv", ".xlsx")) or (doc.file_size or 0) > MAX_BYTES:
        await message.reply(_("Send a .csv or .xlsx file (at most 5 MB) with the columns: number, decision no., "
                              "date, issuing body."))  # fmt: skip
        return
    data = await bot.download(doc)
    try:
        rows = table_rows(data.read() if data else b"", name)
    except FormError as err:
        await message.reply(error_text(err))
        return
    good, bad = parse_rows(rows, today(tz))
    found = await by_numbers(db, [r.number for _n, r in good])
    for n, row in good:
        if problem := await problem_with(db, member, found.get(row.number), row.number):
            bad.append((n, problem))
    if bad or not good:
        lines = [escape(_("Nothing was recorded. Correct these rows and send the file again:"))] if bad else [
            escape(_("The file has no rows of recognitions."))]  # fmt: skip
        lines += [escape(_("Row {row}:").format(row=n)) + " " + error_text(err) for n, err in sorted(bad)]
        for chunk in pack(lines):
            await message.reply(chunk)
        return
    decisions = {found[r.number].id or 0: Decision(r.decision_no, r.on, r.body) for _n, r in good}
    if member is None or not await recognise(db, member.id or 0, decisions):
        await message.reply(_("Nothing was recorded: some of these initiatives changed meanwhile. Send the file "
                              "again."))  # fmt: skip
        return
    await outbox.flush()
    await message.reply(_("Recorded {count} recognitions. The authors are told.").format(count=len(decisions)))


async def uploaded(message: Message, command: CommandObject, db: Database, member: Member | None, tz: ZoneInfo,
                   outbox: Outbox) -> None:  # fmt: skip
    numbers, on, problems = [], today(tz), []
    for word in normalize(command.args or "").replace(",", " ").split():
        if number := initiative_number(word):
            numbers.append(number)
        elif DATE_WORD.match(word):
            try:
                on = decision_date(word, today(tz))
            except FormError as err:
                problems.append(err)
        else:
            problems.append(FormError(N_("“{value}” is neither an initiative number nor a date."), value=word))
    if not numbers:
        await message.reply(_("Send /uploaded, the numbers uploaded to the TLĐ system and, if not today, the date, "
                              "e.g. /uploaded SK-000123 SK-000124 20/03/2022."))  # fmt: skip
        return
    found = await by_numbers(db, numbers)
    for number in dict.fromkeys(numbers):
        problems += [p for p in [await may_upload(db, member, found.get(number), number)] if p]
    if problems:
        lines = [escape(_("Nothing was recorded:"))] + [error_text(p) for p in problems]
        for chunk in pack(lines):
            await message.reply(chunk)
        return
    ids = [found[n].id or 0 for n in dict.fromkeys(numbers)]
    if member is None or not await mark_uploaded(db, member.id or 0, ids, on):
        await message.reply(_("Nothing was recorded: some of these initiatives changed meanwhile. Try again."))
        return
    await outbox.flush()
    await message.reply(_("Recorded: {count} uploaded to the TLĐ system on {on}.").format(
        count=len(ids), on=on.strftime("%d/%m/%Y")))  # fmt: skip


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(import_file, Command(*COMMANDS), F.document)
    router.message.register(uploaded, Command("uploaded", "dacapnhat"))
    return router
