"""Progress against quotas, from tallies that every status change keeps up to date for the unit's whole path to
the root, in the same transaction as the change itself. Reading progress is a few rows, never a recount."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, text

from storage.db import Database
from storage.writer import Stmt

COUNTED = ("submitted", "in_review", "changes_requested", "confirmed", "rejected", "duplicate")
TALLIED_AS = {"duplicate": "rejected"}  # a duplicate counts as a rejection
_IN_COUNTED = "('submitted', 'in_review', 'changes_requested', 'confirmed', 'rejected', 'duplicate')"

# What counts toward the quota (the COUNT_TOWARD_QUOTA setting): the tally rows (stages) it adds up. A checked
# initiative (status "confirmed") is tallied as "confirmed", "recognised" or "uploaded" by how far it has gone.
STAGES = ("confirmed", "recognised", "uploaded")
BASIS_STAGES = {"checked": STAGES, "recognised": STAGES[1:], "uploaded": STAGES[2:]}


def stage(status: str, decision_no: str | None, uploaded_on: object) -> str:
    """The tally row an initiative is counted in (the same rule as ``_tallied``, in Python)."""
    if status == "confirmed":
        return "uploaded" if uploaded_on is not None else "recognised" if decision_no is not None else "confirmed"
    return TALLIED_AS.get(status, status)


def counted_sql(basis: str, alias: str = "i") -> str:
    """A condition true for the initiatives that count toward the quota under ``basis``."""
    return {"checked": f"{alias}.status = 'confirmed'",
            "recognised": f"({alias}.status = 'confirmed' AND {alias}.decision_no IS NOT NULL)",
            "uploaded": f"({alias}.status = 'confirmed' AND {alias}.uploaded_on IS NOT NULL)"}[basis]  # fmt: skip


def _tallied(prefix: str = "") -> str:
    """The tally row an initiative is counted in, in SQL (``prefix`` is the table's alias and a dot, or empty)."""
    p = prefix
    return (
        f"CASE WHEN {p}status = 'duplicate' THEN 'rejected' "
        f"WHEN {p}status = 'confirmed' AND {p}uploaded_on IS NOT NULL THEN 'uploaded' "
        f"WHEN {p}status = 'confirmed' AND {p}decision_no IS NOT NULL THEN 'recognised' ELSE {p}status END"
    )


def benefit(prefix: str = "") -> str:
    """The money benefit a year an initiative adds to totals: the support team's checked figure where it has one,
    else the author's."""
    return f"coalesce({prefix}checked_benefit, {prefix}benefit_per_year, 0)"


def by_team(prefix: str = "") -> str:
    """1 when the totals take the initiative's benefit from the support team's figure, else 0."""
    return f"CASE WHEN {prefix}checked_benefit IS NULL THEN 0 ELSE 1 END"


BENEFIT, BY_TEAM = benefit(), by_team()

_PATH = (
    "WITH RECURSIVE up(id, parent_id, depth) AS ("
    " SELECT id, parent_id, 0 FROM unit WHERE id = (SELECT unit_id FROM initiative WHERE id = :iid)"
    " UNION ALL SELECT u.id, u.parent_id, up.depth + 1 FROM unit u JOIN up ON u.id = up.parent_id WHERE up.depth < 64) "
)


def untally(initiative_id: int) -> Stmt:
    """Take the initiative out of the tallies it is counted in now (before its row changes)."""
    return Stmt(
        _PATH + "UPDATE tally SET count = count - 1, "
        f"benefit = benefit - (SELECT {BENEFIT} FROM initiative WHERE id = :iid), "
        "social = social - (SELECT CASE WHEN has_social_benefit THEN 1 ELSE 0 END FROM initiative WHERE id = :iid), "
        f"benefit_checked = benefit_checked - (SELECT {BY_TEAM} FROM initiative WHERE id = :iid) "
        f"WHERE status = (SELECT {_tallied()} FROM initiative WHERE id = :iid) "
        "AND phase_id = (SELECT coalesce(phase_id, 0) FROM initiative WHERE id = :iid) "
        "AND unit_id IN (SELECT id FROM up)",
        {"iid": initiative_id},
    )


def retally(initiative_id: int) -> Stmt:
    """Count the initiative again as its row now stands (after the change)."""
    return Stmt(
        _PATH + "INSERT INTO tally (unit_id, phase_id, status, count, benefit, social, benefit_checked) "
        f"SELECT up.id, coalesce(i.phase_id, 0), {_tallied('i.')}, 1, {benefit('i.')}, "
        f"CASE WHEN i.has_social_benefit THEN 1 ELSE 0 END, {by_team('i.')} FROM up JOIN initiative i ON i.id = :iid "
        f"WHERE i.status IN {_IN_COUNTED} "
        "ON CONFLICT (unit_id, phase_id, status) DO UPDATE SET count = tally.count + excluded.count, "
        "benefit = tally.benefit + excluded.benefit, social = tally.social + excluded.social, "
        "benefit_checked = tally.benefit_checked + excluded.benefit_checked",
        {"iid": initiative_id},
    )


def counted_change(initiative_id: int, change: Stmt) -> list[Stmt]:
    """A guarded status change wrapped so the tallies follow it (or nothing happens at all). It first locks the
    initiative's row: on PostgreSQL a statement that waited for another writer's lock still reads the snapshot it
    started with, so without the lock two changes of one initiative at once (a decision and /giatri from two
    workers) could take it out of the tallies as it stood before the other's change."""
    return [lock_row(initiative_id), untally(initiative_id), change, retally(initiative_id)]


def lock_row(initiative_id: int) -> Stmt:
    """Lock the initiative's row for the rest of the transaction (see ``counted_change``)."""
    return Stmt("UPDATE initiative SET updated_at = updated_at WHERE id = :iid", {"iid": initiative_id})


async def recount(db: Database) -> None:
    """Rebuild every tally from the initiatives (after the unit tree changed shape)."""
    await db.write(
        Stmt("DELETE FROM tally"),
        Stmt(
            "WITH RECURSIVE closure(ancestor, unit) AS (SELECT id, id FROM unit UNION ALL "
            "SELECT u.parent_id, c.unit FROM closure c JOIN unit u ON u.id = c.ancestor "
            "WHERE u.parent_id IS NOT NULL) "
            "INSERT INTO tally (unit_id, phase_id, status, count, benefit, social, benefit_checked) "
            f"SELECT c.ancestor, coalesce(i.phase_id, 0), {_tallied('i.')}, count(*), "
            f"sum({benefit('i.')}), sum(CASE WHEN i.has_social_benefit THEN 1 ELSE 0 END), sum({by_team('i.')}) "
            "FROM initiative i JOIN closure c ON c.unit = i.unit_id "
            f"WHERE i.status IN {_IN_COUNTED} GROUP BY c.ancestor, coalesce(i.phase_id, 0), {_tallied('i.')}"
        ),
    )


@dataclass
class Counts:
    by_status: dict[str, int] = field(default_factory=dict)  # tally rows: statuses, a checked one by its stage
    benefit: int = 0  # money benefit per year of the counted initiatives
    social: int = 0  # counted initiatives with a social benefit
    benefit_checked: int = 0  # counted initiatives whose benefit in ``benefit`` is the support team's figure
    basis: str = "recognised"  # what counts toward the quota (COUNT_TOWARD_QUOTA)

    @property
    def confirmed(self) -> int:
        """The initiatives that count toward the quota under ``basis``."""
        return sum(self.by_status.get(s, 0) for s in BASIS_STAGES[self.basis])

    @property
    def checked(self) -> int:
        """Every initiative the team checked, recognised or not."""
        return sum(self.by_status.get(s, 0) for s in STAGES)


async def tallies(db: Database, unit_ids: list[int], phase_id: int | None) -> dict[int, Counts]:
    """The subtree counts of each unit, for one phase or (None) the whole programme, counted under the database's
    ``count_basis`` (set from COUNT_TOWARD_QUOTA when the dispatcher is built)."""
    if not unit_ids:
        return {}
    sql = ("SELECT unit_id, status, sum(count), sum(benefit), sum(social), sum(benefit_checked) FROM tally "
           "WHERE unit_id IN :ids")  # fmt: skip
    params: dict[str, object] = {"ids": tuple(unit_ids)}
    if phase_id is not None:
        sql += " AND phase_id = :phase"
        params["phase"] = phase_id
    stmt = text(sql + " GROUP BY unit_id, status").bindparams(bindparam("ids", expanding=True))
    basis = db.count_basis
    result: dict[int, Counts] = {uid: Counts(basis=basis) for uid in unit_ids}
    async with db.read_engine.connect() as conn:
        for unit_id, status, count, money, social, by_team_ in await conn.execute(stmt, params):
            counts = result[unit_id]
            counts.by_status[status] = int(count)
            if status in BASIS_STAGES[basis]:
                counts.benefit, counts.social = counts.benefit + int(money), counts.social + int(social)
                counts.benefit_checked += int(by_team_)
    return result


def current_phase_id(phases: list[tuple[int, date, date]], today: date) -> int | None:
    return next((pid for pid, start, end in phases if start <= today <= end), None)


@dataclass
class Line:
    """One unit against its quota."""

    unit_id: int
    code: str
    name: str
    counts: Counts
    quota: int | None

    @property
    def percent(self) -> float | None:
        return 100 * self.counts.confirmed / self.quota if self.quota else None


@dataclass
class Report:
    unit: Line
    phase: tuple[int, str, date, date] | None  # (id, name, start, end) of the phase today falls in
    in_phase: Line | None
    children: list[Line]
    rank: int | None
    out_of: int
    by_bloc: bool
    weekly_pace: int | None
    participants: tuple[int, int] = (0, 0)  # registered members, distinct authors (the whole subtree)


async def _lines(db: Database, units: list[tuple[int, str, str]], phase_id: int | None) -> list[Line]:
    ids = [u[0] for u in units]
    counts = await tallies(db, ids, phase_id)
    sql = "SELECT unit_id, amount FROM quota WHERE unit_id IN :ids AND " + (
        "phase_id IS NULL" if phase_id is None else "phase_id = :phase"
    )
    params: dict[str, object] = {"ids": tuple(ids) or (0,)}
    if phase_id is not None:
        params["phase"] = phase_id
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(text(sql).bindparams(bindparam("ids", expanding=True)), params)
        quotas = {unit_id: amount for unit_id, amount in rows}
    return [Line(uid, code, name, counts[uid], quotas.get(uid)) for uid, code, name in units]


async def progress_for(db: Database, unit_id: int, today: date) -> Report | None:
    async with db.read_engine.connect() as conn:
        unit = (await conn.execute(text("SELECT id, code, name, parent_id, bloc FROM unit WHERE id = :id"),
                                   {"id": unit_id})).first()  # fmt: skip
        if unit is None:
            return None
        children = (await conn.execute(text("SELECT id, code, name FROM unit WHERE parent_id = :id"),
                                       {"id": unit_id})).all()  # fmt: skip
        if unit.bloc:
            peers_sql, peer_params = "SELECT id, code, name FROM unit WHERE bloc = :bloc", {"bloc": unit.bloc}
        else:
            peers_sql = "SELECT id, code, name FROM unit WHERE parent_id IS NOT DISTINCT FROM :parent"
            peer_params = {"parent": unit.parent_id}
        peers = (await conn.execute(text(peers_sql), peer_params)).all()
        phases = [(r[0], r[1], _date(r[2]), _date(r[3])) for r in await conn.execute(
            text("SELECT id, name, starts_on, ends_on FROM phase ORDER BY starts_on"))]  # fmt: skip
    own = (unit.id, unit.code, unit.name)
    [line] = await _lines(db, [own], None)
    phase = next((p for p in phases if p[2] <= today <= p[3]), None)
    in_phase = (await _lines(db, [own], phase[0]))[0] if phase else None
    kids = sorted(await _lines(db, [tuple(c) for c in children], None),
                  key=lambda x: (x.percent is None, -(x.percent or 0), x.name))  # fmt: skip
    peer_lines = await _lines(db, [tuple(p) for p in peers], None)
    rank = None
    if line.percent is not None:
        rank = 1 + sum(1 for p in peer_lines if p.percent is not None and p.percent > line.percent)
    target = in_phase if in_phase and in_phase.quota else line
    end = phase[3] if phase else (phases[-1][3] if phases else None)
    pace = None
    if target.quota and end and end >= today:
        weeks = max(1, -(-((end - today).days + 1) // 7))
        pace = max(0, -(-(target.quota - target.counts.confirmed) // weeks))
    people = (await participants(db, [unit.id]))[unit.id]
    return Report(line, phase, in_phase, kids, rank, len(peer_lines), bool(unit.bloc), pace, people)


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


_DOWN = (
    "WITH RECURSIVE down(id, depth) AS (SELECT id, 0 FROM unit WHERE id = :unit "
    "UNION ALL SELECT u.id, down.depth + 1 FROM unit u JOIN down ON u.parent_id = down.id WHERE down.depth < 64) "
)


async def subtree_lines(db: Database, unit_id: int) -> list[tuple[int, Line]]:
    """Every unit of the subtree (with its depth below ``unit_id``) against its programme quota."""
    async with db.read_engine.connect() as conn:
        rows = (await conn.execute(text(_DOWN + "SELECT u.id, u.code, u.name, down.depth FROM down "
                                        "JOIN unit u ON u.id = down.id ORDER BY down.depth, u.name"),
                                   {"unit": unit_id})).all()  # fmt: skip
    lines = await _lines(db, [(r[0], r[1], r[2]) for r in rows], None)
    return [(r[3], line) for r, line in zip(rows, lines, strict=True)]


async def subtree_initiatives(db: Database, unit_id: int) -> list[dict[str, object]]:
    """The counted initiatives of the subtree with their authors, oldest first."""
    async with db.read_engine.connect() as conn:
        rows = (await conn.execute(text(
            _DOWN + "SELECT i.id, i.number, i.title, u.name, i.solution_type, i.field_of_work, i.status, "
            "i.submitted_at, i.decided_at, i.benefit_per_year, i.answers, o.number AS duplicate_of, i.differs_note, "
            "i.decision_no, i.decision_on, i.decision_body, i.uploaded_on, i.checked_benefit, i.checked_benefit_note, "
            f"{benefit('i.')} AS benefit "
            "FROM initiative i "
            "JOIN down ON i.unit_id = down.id JOIN unit u ON u.id = i.unit_id "
            f"LEFT JOIN initiative o ON o.id = i.duplicate_of_id WHERE i.status IN {_IN_COUNTED} "
            "ORDER BY i.id"), {"unit": unit_id})).mappings().all()  # fmt: skip
        authors: dict[int, list[str]] = {}
        for iid, name, share in await conn.execute(text(
            _DOWN + "SELECT a.initiative_id, a.full_name, a.share FROM author a JOIN initiative i "
            "ON i.id = a.initiative_id JOIN down ON i.unit_id = down.id ORDER BY a.initiative_id, a.position"),
            {"unit": unit_id}):  # fmt: skip
            authors.setdefault(iid, []).append(f"{name} ({share}%)")
    return [{**row, "authors": "; ".join(authors.get(row["id"], []))} for row in rows]


async def top_authors(
    db: Database, unit_id: int, phase_code: str | None, limit: int = 10
) -> list[tuple[str, int, int]]:
    """Authors of counted initiatives in the subtree: (name, initiatives, money benefit a year, the team's figure
    where there is one), best first."""
    sql = (
        _DOWN + f"SELECT a.full_name, count(*), sum({benefit('i.')}) FROM author a "
        "JOIN initiative i ON i.id = a.initiative_id JOIN down ON i.unit_id = down.id "
        f"WHERE {counted_sql(db.count_basis)} "
        + ("AND i.phase_id = (SELECT id FROM phase WHERE code = :phase) " if phase_code else "")
        + f"GROUP BY a.full_name ORDER BY count(*) DESC, sum({benefit('i.')}) DESC, a.full_name "
        "LIMIT :limit"
    )
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(text(sql), {"unit": unit_id, "phase": phase_code, "limit": limit})
        return [(name, int(count), int(benefit)) for name, count, benefit in rows]


async def child_lines(db: Database, unit_id: int, phase_code: str | None) -> list[Line]:
    """The unit's children with their counts for the programme or one phase."""
    async with db.read_engine.connect() as conn:
        children = (await conn.execute(text("SELECT id, code, name FROM unit WHERE parent_id = :id"),
                                       {"id": unit_id})).all()  # fmt: skip
        phase_id = None
        if phase_code:
            phase_id = (await conn.execute(text("SELECT id FROM phase WHERE code = :c"), {"c": phase_code})).scalar()
    return await _lines(db, [(c[0], c[1], c[2]) for c in children], phase_id)


# The day an initiative began to count under each COUNT_TOWARD_QUOTA setting: the team's check, the recognition
# decision's date, the upload's date.
COUNTED_ON = {"checked": "i.decided_at", "recognised": "i.decision_on", "uploaded": "i.uploaded_on"}


async def confirmed_per_week(db: Database, unit_id: int) -> list[tuple[date, int]]:
    """Counted initiatives of the subtree by the week (Monday) they began to count in: the week of the team's check,
    of the recognition decision or of the upload, by COUNT_TOWARD_QUOTA."""
    from datetime import datetime, timedelta

    on = COUNTED_ON[db.count_basis]
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(text(
            _DOWN + f"SELECT {on} FROM initiative i JOIN down ON i.unit_id = down.id "
            f"WHERE {counted_sql(db.count_basis)} AND {on} IS NOT NULL"), {"unit": unit_id})  # fmt: skip
        weeks: dict[date, int] = {}
        for (moment,) in rows:
            if isinstance(moment, str):
                moment = datetime.fromisoformat(moment) if len(moment) > 10 else date.fromisoformat(moment)
            day = moment.date() if isinstance(moment, datetime) else moment
            monday = day - timedelta(days=day.weekday())
            weeks[monday] = weeks.get(monday, 0) + 1
    return sorted(weeks.items())


async def participants(db: Database, unit_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per unit, for its whole subtree: registered members, and distinct authors of the initiatives sent for review
    (a registered author by their member record, a co-author by name). Two grouped queries, not tallies."""
    closure = (
        "WITH RECURSIVE closure(ancestor, unit, depth) AS (SELECT id, id, 0 FROM unit WHERE id IN :ids "
        "UNION ALL SELECT c.ancestor, u.id, c.depth + 1 FROM closure c JOIN unit u ON u.parent_id = c.unit "
        "WHERE c.depth < 64) "
    )
    members_sql = (
        closure
        + "SELECT c.ancestor, count(m.id) FROM closure c JOIN member m ON m.unit_id = c.unit GROUP BY c.ancestor"
    )
    authors_sql = closure + (
        "SELECT c.ancestor, count(DISTINCT CASE WHEN a.member_id IS NOT NULL THEN 'm' || CAST(a.member_id AS TEXT) "
        "ELSE 'n' || a.full_name END) FROM closure c JOIN initiative i ON i.unit_id = c.unit "
        f"JOIN author a ON a.initiative_id = i.id WHERE i.status IN {_IN_COUNTED} GROUP BY c.ancestor"
    )
    result = {uid: (0, 0) for uid in unit_ids}
    if not unit_ids:
        return result
    async with db.read_engine.connect() as conn:
        params = {"ids": tuple(unit_ids)}
        for uid, count in await conn.execute(text(members_sql).bindparams(bindparam("ids", expanding=True)), params):
            result[uid] = (int(count), 0)
        for uid, count in await conn.execute(text(authors_sql).bindparams(bindparam("ids", expanding=True)), params):
            result[uid] = (result[uid][0], int(count))
    return result
