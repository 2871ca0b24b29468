"""/export tld [unit code]: one row per recognised initiative of the subtree, with the columns an upload to the TLĐ
system asks for, so the people who upload do not retype anything."""

from __future__ import annotations

import json
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from forms.formats import format_count
from handlers.officer.export import _label
from handlers.officer.progress import officer_unit
from reports.xlsx import one_sheet
from storage.db import Database
from storage.models import Member
from storage.progress import subtree_initiatives
from storage.units import get_unit


def _day(value: object) -> object:
    return date.fromisoformat(value) if isinstance(value, str) else value


async def export_tld(message: Message, command: CommandObject, db: Database, member: Member | None,
                     admins: frozenset[int], form: Form, tz: ZoneInfo) -> None:  # fmt: skip
    code = (command.args or "").split()[1:2]
    usage = _("Send /export tld followed by a unit code, e.g. /export tld LS.")
    unit_id = await officer_unit(message, db, member, admins, code[0] if code else None, usage)
    unit = await get_unit(db, unit_id) if unit_id is not None else None
    if unit is None or unit_id is None:
        return
    rows = [r for r in await subtree_initiatives(db, unit_id) if r["status"] == "confirmed" and r["decision_no"]]
    items = [
        (n, row["number"], row["title"], row["authors"], row["name"],
         _label(form, "solution_type", row["solution_type"]), _label(form, "field", row["field_of_work"]),
         row["decision_no"], _day(row["decision_on"]), row["decision_body"] or "", row["benefit"],
         json.loads(str(row["answers"])).get("benefit_social", ""), _day(row["uploaded_on"]))
        for n, row in enumerate(rows, 1)
    ]  # fmt: skip
    data = one_sheet(
        [_("No."), _("Number"), _("Initiative name"), _("Authors"), _("Unit"), _("Type of solution"),
         _("Field of application"), _("Decision no."), _("Decision date"), _("Issuing body"),
         _("Money benefit (đồng/year)"), _("Social benefit"), _("Uploaded to the TLĐ system on")], items,
        _("Recognised initiatives"),
    )  # fmt: skip
    name = f"tld-{unit.code}-{datetime.now(tz):%Y%m%d}.xlsx"
    caption = ngettext("{unit}: {count} recognised initiative, for the TLĐ system.",
                       "{unit}: {count} recognised initiatives, for the TLĐ system.", len(items)).format(
        unit=escape(unit.name), count=format_count(len(items), get_i18n().current_locale))  # fmt: skip
    await message.answer_document(BufferedInputFile(data, filename=name), caption=caption)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(export_tld, Command("export", magic=F.args.regexp(r"(?i)^tld(\s|$)")))
    return router
