"""/export [unit code]: the XLSX for the report to the level above (a summary by unit, every initiative)."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from forms.errors import N_
from forms.formats import format_count
from handlers.officer.progress import COUNTED_HEADER, officer_unit
from handlers.worker.drafts import STATUS
from reports.xlsx import workbook
from storage.db import Database
from storage.models import Member
from storage.progress import participants, subtree_initiatives, subtree_lines
from storage.units import get_unit

DUPLICATE = N_("duplicate")  # the one status /my and the export name that STATUS does not list


def _label(form: Form, key: str, value: object) -> str:
    choice = next((c for c in form[key].choices if c.key == value), None)
    return "" if choice is None else (_(choice.label) if choice.translate else choice.label)


def _local(moment: object, tz: ZoneInfo) -> object:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if isinstance(moment, datetime):
        return moment.astimezone(tz).replace(tzinfo=None) if moment.tzinfo else moment
    return moment


async def export(message: Message, command: CommandObject, db: Database, member: Member | None, admins: frozenset[int],
                 form: Form, tz: ZoneInfo) -> None:  # fmt: skip
    unit_id = await officer_unit(
        message, db, member, admins, command.args, _("Send /export followed by a unit code, e.g. /export LS.")
    )
    if unit_id is None:
        return
    unit = await get_unit(db, unit_id)
    assert unit is not None
    lines = await subtree_lines(db, unit_id)
    people = await participants(db, [line.unit_id for _depth, line in lines])
    summary = [
        ("  " * depth + line.name, line.code, line.counts.confirmed, line.quota,
         round(line.percent, 1) if line.percent is not None else None,
         line.counts.by_status.get("submitted", 0) + line.counts.by_status.get("in_review", 0),
         line.counts.by_status.get("changes_requested", 0), line.counts.benefit, line.counts.benefit_checked,
         line.counts.social, *people.get(line.unit_id, (0, 0)))
        for depth, line in lines
    ]  # fmt: skip
    items = [
        (row["number"], row["title"], row["authors"], row["name"], _label(form, "solution_type", row["solution_type"]),
         _label(form, "field", row["field_of_work"]), _(STATUS.get(str(row["status"]), DUPLICATE)),
         row["duplicate_of"] or "", row["differs_note"] or "",
         _local(row["submitted_at"], tz), _local(row["decided_at"], tz), row["benefit"], row["benefit_per_year"],
         row["checked_benefit"], row["checked_benefit_note"] or "",
         json.loads(str(row["answers"])).get("benefit_social", ""))
        for row in await subtree_initiatives(db, unit_id)
    ]  # fmt: skip
    data = workbook(
        [_("Unit"), _("Code"), _(COUNTED_HEADER[db.count_basis]), _("Quota"), _("% of quota"), _("Waiting"),
         _("Returned"),
         _("Money benefit (đồng/year)"), _("Of them, with the support team's figure"), _("With a social benefit"),
         _("Registered members"), _("Authors")], summary,
        [_("Number"), _("Initiative name"), _("Authors"), _("Unit"), _("Type of solution"), _("Field of application"),
         _("Status"), _("Duplicate of"), _("How it differs (author)"), _("Submitted"), _("Decided"),
         _("Money benefit (đồng/year)"), _("As the author wrote it"), _("As the support team checked it"),
         _("Support team's note"), _("Social benefit")], items,
        (_("Summary"), _("Initiatives")),
    )  # fmt: skip
    name = f"sang-kien-{unit.code}-{datetime.now(tz):%Y%m%d}.xlsx"
    caption = ngettext("{unit}: {count} initiative.", "{unit}: {count} initiatives.", len(items)).format(
        unit=escape(unit.name), count=format_count(len(items), get_i18n().current_locale)
    )
    await message.answer_document(BufferedInputFile(data, filename=name), caption=caption)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(export, Command("export"))
    return router
