"""Progress: maintained tallies equal a recount on any tree; /progress for officers; units, quotas and phases
through files."""

from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from storage.db import Database
from storage.models import utcnow
from storage.progress import COUNTED, TALLIED_AS, counted_change, progress_for, recount, tallies
from storage.recognition import CHECKABLE
from storage.roles import OFFICER
from storage.unit_files import read_phases, read_units
from storage.units import export_units, import_phases, import_units
from storage.writer import Stmt
from tests.conftest import App, register
from tests.test_review import give

NEXT = {
    "draft": ["submitted"],
    "submitted": ["in_review", "confirmed", "changes_requested", "rejected", "duplicate"],
    "in_review": ["confirmed", "changes_requested", "rejected", "duplicate"],
    "changes_requested": ["submitted"],
    "confirmed": ["recognised"],  # checked by the team; then recognised by the workplace, then uploaded to the TLĐ
    "recognised": ["uploaded", "confirmed"],  # … or the recognition taken back
    "uploaded": ["recognised"],  # the upload taken back
    "rejected": [],
    "duplicate": [],  # counted as a rejection
}
STAGE_SQL = {  # how each step of the recognition changes the row (its status stays "confirmed")
    ("confirmed", "recognised"): "decision_no = '12/QĐ', decision_on = '2022-03-15'",
    ("recognised", "confirmed"): "decision_no = NULL, decision_on = NULL",
    ("recognised", "uploaded"): "uploaded_on = '2022-03-20'",
    ("uploaded", "recognised"): "uploaded_on = NULL",
}

# What counts toward the quota under each COUNT_TOWARD_QUOTA, written out here rather than taken from the code
QUOTA_BASES = {"checked": ("confirmed", "recognised", "uploaded"), "recognised": ("recognised", "uploaded"),
               "uploaded": ("uploaded",)}  # fmt: skip
LEAVE, CLEAR = -1, -2  # the support team's figure for the money benefit: left as it is, or taken away
trees = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=20)
histories = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 5_000_000), st.booleans(),
              st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 9_000_000),
                                 st.one_of(st.just(LEAVE), st.just(CLEAR), st.integers(0, 9_000_000))), max_size=6)),
    max_size=25,
)  # fmt: skip


async def build(db: Database, parents: list[int], story: list) -> list[int | None]:  # type: ignore[type-arg]
    """Units 1..n (unit k's parent is a random earlier unit or none); initiatives walked through random histories."""
    now = utcnow()
    parent_of: list[int | None] = []
    for k, pick in enumerate(parents):
        parent = None if k == 0 or pick % 4 == 0 else 10_000 + pick % k
        parent_of.append(parent)
        await db.write(Stmt("INSERT INTO unit (id, code, name, name_folded, parent_id, created_at, updated_at) "
                            "VALUES (:id, :code, :code, :code, :parent, :now, :now)",
                            {"id": 10_000 + k, "code": f"P{k}", "parent": parent, "now": now}))  # fmt: skip
    await db.write(Stmt("INSERT INTO member (id, tg_user_id, full_name, language, created_at, updated_at) "
                        "VALUES (9999, 9999, 'x', 'vi', :now, :now)", {"now": now}))  # fmt: skip
    for i, (unit_pick, benefit, social, steps) in enumerate(story):
        iid = 50_000 + i
        await db.write(Stmt("INSERT INTO initiative (id, author_id, unit_id, status, answers, step, pending, editing, "
                            "has_social_benefit, benefit_per_year, review_round, created_at, updated_at) VALUES "
                            "(:iid, 9999, :unit, 'draft', '{}', '', '[]', :no, :social, :benefit, 0, :now, :now)",
                            {"iid": iid, "unit": 10_000 + unit_pick % len(parents), "no": False, "social": social,
                             "benefit": benefit, "now": now}))  # fmt: skip
        status = "draft"
        for choice, unit_pick2, benefit2, team_figure in [(*s,) for s in steps]:
            if not NEXT[status]:
                break
            new = NEXT[status][choice % len(NEXT[status])]
            params = {"new": new, "old": status, "iid": iid, "unit": 10_000 + unit_pick2 % len(parents),
                      "benefit": benefit2, "phase": choice % 2}  # fmt: skip
            if (status, new) in STAGE_SQL:
                change = Stmt(f"UPDATE initiative SET {STAGE_SQL[status, new]}, benefit_per_year = :benefit "
                              "WHERE id = :iid AND status = 'confirmed'", params, guard=True)  # fmt: skip
            else:
                change = Stmt("UPDATE initiative SET status = :new, unit_id = :unit, benefit_per_year = :benefit, "
                              "phase_id = :phase WHERE id = :iid AND status = :old", params, guard=True)  # fmt: skip
            assert (await db.write_all(counted_change(iid, change))).applied
            status = new
            if team_figure != LEAVE:  # as /giatri does it: only while submitted or later, and not rejected
                figure = None if team_figure == CLEAR else team_figure
                change = Stmt(f"UPDATE initiative SET checked_benefit = :v WHERE id = :iid AND status IN {CHECKABLE!r}",
                              {"v": figure, "iid": iid})  # fmt: skip
                await db.write_all(counted_change(iid, change))
    return parent_of


async def brute_force(db: Database, parent_of: list[int | None]) -> dict[int, dict[str, tuple[int, int, int, int]]]:
    """Count every initiative into its unit and each ancestor, the slow way: (initiatives, money benefit with the
    team's figure where there is one, with a social benefit, with the team's figure)."""
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT unit_id, status, benefit_per_year, has_social_benefit, decision_no, uploaded_on, checked_benefit "
            "FROM initiative WHERE id >= 50000"))).all()  # fmt: skip
    totals: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for unit, status, authors, social, decision_no, uploaded_on, teams in rows:
        benefit = teams if teams is not None else authors or 0
        if status not in COUNTED:
            continue
        status = TALLIED_AS.get(status, status)
        if status == "confirmed" and uploaded_on is not None:
            status = "uploaded"
        elif status == "confirmed" and decision_no is not None:
            status = "recognised"
        node: int | None = unit
        while node is not None:
            entry = totals[node][status]
            entry[0], entry[1], entry[2] = entry[0] + 1, entry[1] + benefit, entry[2] + bool(social)
            entry[3] += teams is not None
            node = parent_of[node - 10_000]
    return {u: {s: tuple(v) for s, v in by.items()} for u, by in totals.items()}  # type: ignore[misc]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parents=trees, story=histories)
def test_maintained_tallies_equal_a_brute_force_count(template_db: Path, tmp_path: Path, parents, story) -> None:  # type: ignore[no-untyped-def]
    async def check() -> None:
        path = tmp_path / f"p{id(story)}.db"
        shutil.copy(template_db, path)
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.start()
        parent_of = await build(db, parents, story)
        expected = await brute_force(db, parent_of)
        ids = [10_000 + k for k in range(len(parents))]
        for label in ("maintained", "recounted"):
            for basis, counted in QUOTA_BASES.items():
                db.count_basis = basis
                got = await tallies(db, ids, None)
                for uid in ids:
                    counts = got[uid]
                    seen = {s: c for s, c in counts.by_status.items() if c}
                    want = expected.get(uid, {})
                    assert seen == {s: v[0] for s, v in want.items() if v[0]}, (label, uid)
                    quota = [sum(want.get(s, (0, 0, 0, 0))[k] for s in counted) for k in range(4)]
                    got_ = (counts.confirmed, counts.benefit, counts.social, counts.benefit_checked)
                    assert got_ == tuple(quota), (label, basis, uid)
            await recount(db)
        await db.close()
        path.unlink()

    asyncio.run(check())


UNITS = """code,name,parent_code,kind,bloc,quota,quota_GD1
LS,Liên đoàn Lao động tỉnh Lạng Sơn,,province,LĐLĐ tỉnh,4100,1500
LS-TD,Liên đoàn Lao động huyện Tràng Định,LS,district,,265,100
LS-NUOC,Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn,LS,grassroots,,10,4
LS-DIEN,Công đoàn Điện lực Lạng Sơn,LS,grassroots,,20,
"""
PHASES = "code,name,start,end\nGD1,Giai đoạn 1,08/01/2022,31/05/2022\nGD2,Giai đoạn 2,2022-06-01,2023-09-01\n"


async def load_tree(app: App, tmp_path: Path) -> None:
    (tmp_path / "phases.csv").write_text(PHASES, encoding="utf-8")
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    await import_phases(app.db, read_phases(tmp_path / "phases.csv"))
    await import_units(app.db, read_units(tmp_path / "units.csv"))


async def confirm_some(app: App, unit_code: str, confirmed: int, waiting: int = 0, *, recognised: bool = True) -> None:
    """``confirmed`` initiatives checked by the team (and, unless told otherwise, recognised), ``waiting`` more."""
    async with app.db.engine.connect() as conn:
        unit_id = (await conn.execute(text("SELECT id FROM unit WHERE code = :c"), {"c": unit_code})).scalar()
    now = utcnow()
    await app.db.write(Stmt("INSERT INTO member (tg_user_id, full_name, language, created_at, updated_at) "
                            "VALUES (:tg, 'x', 'vi', :now, :now) ON CONFLICT (tg_user_id) DO NOTHING",
                            {"tg": 1, "now": now}))  # fmt: skip
    for k in range(confirmed + waiting):
        result = await app.db.write(Stmt(
            "INSERT INTO initiative (author_id, unit_id, status, answers, step, pending, editing, has_social_benefit, "
            "benefit_per_year, review_round, created_at, updated_at) SELECT id, :unit, 'draft', '{}', '', '[]', :no, "
            ":no, 14000000, 1, :now, :now FROM member WHERE tg_user_id = 1 RETURNING id",
            {"unit": unit_id, "no": False, "now": now}, returning=True))  # fmt: skip
        iid = result.rows[0][0]
        target = "confirmed" if k < confirmed else "submitted"
        decision = "1/QĐ" if recognised and target == "confirmed" else None
        change = Stmt("UPDATE initiative SET status = :s, phase_id = (SELECT id FROM phase WHERE code = 'GD1'), "
                      "decision_no = :no WHERE id = :iid AND status = 'draft'",
                      {"s": target, "iid": iid, "no": decision}, guard=True)  # fmt: skip
        await app.db.write_all(counted_change(iid, change))


async def test_progress_for_an_officer(app: App, tmp_path: Path) -> None:
    await load_tree(app, tmp_path)
    await confirm_some(app, "LS-TD", 570)
    await confirm_some(app, "LS-NUOC", 3, waiting=2)
    officer = app.user(first_name="Hoa", last_name="Lê Thị")
    await register(officer, unit_query="tỉnh lạng sơn")
    replies = await officer.send("/progress LS")
    assert "chỉ xem được số liệu" in replies[-1].text  # not an officer yet
    await give(app, officer, OFFICER, "LS")
    text = (await officer.send("/progress"))[-1].text  # defaults to the unit they are an officer of
    assert "Tiến độ của Liên đoàn Lao động tỉnh Lạng Sơn" in text
    assert "Đạt: 573 / chỉ tiêu 4.100 (14%)" in text
    assert "Chờ duyệt: 2" in text
    children = text.split("% chỉ tiêu")[1]
    assert children.index("Tràng Định") < children.index("Cấp nước") < children.index("Điện lực")
    assert "🟢 Liên đoàn Lao động huyện Tràng Định: 570/265 (215%)" in text
    assert "🔴 Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn: 3/10 (30%)" in text
    assert "⚪ Công đoàn Điện lực Lạng Sơn: 0/20 (0%)" in text
    assert "2 đơn vị dưới 50% chỉ tiêu. 1 đơn vị chưa có sáng kiến nào được tính" in text
    outsider = app.user(first_name="BSR")
    await register(outsider, unit_query="bsr")
    await give(app, outsider, OFFICER, "DK-BSR")
    replies = await outsider.send("/progress LS")
    assert "chỉ xem được số liệu" in replies[-1].text  # another unit's officer sees nothing of Lạng Sơn


async def test_rank_and_weekly_pace(app: App, tmp_path: Path) -> None:
    await load_tree(app, tmp_path)
    await confirm_some(app, "LS-NUOC", 5)
    await confirm_some(app, "LS-DIEN", 4)
    async with app.db.engine.connect() as conn:
        nuoc = (await conn.execute(text("SELECT id FROM unit WHERE code = 'LS-NUOC'"))).scalar()
    report = await progress_for(app.db, nuoc, date(2022, 5, 17))
    assert report is not None and report.phase is not None and report.phase[1] == "Giai đoạn 1"
    assert (report.rank, report.out_of) == (1, 3)  # 50% beats 20% and 0% among the siblings
    assert report.in_phase is not None and report.in_phase.counts.confirmed == 5
    assert report.weekly_pace == 0  # the phase quota (4) is already reached


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_units_export_and_import_round_trip(app: App, tmp_path: Path, suffix: str) -> None:
    await load_tree(app, tmp_path)
    path = tmp_path / f"export{suffix}"
    count = await export_units(app.db, path)
    rows = {row.code: row for row in read_units(path)}
    assert len(rows) == count
    assert rows["LS"].quotas == {None: 4100, "GD1": 1500} and rows["LS"].bloc == "LĐLĐ tỉnh"
    assert rows["LS-TD"].parent_code == "LS" and rows["LS-TD"].kind == "district"
    assert await import_units(app.db, list(rows.values())) == (0, count)  # re-import updates in place


async def test_export_sends_a_spreadsheet_of_the_subtree(app: App, tmp_path: Path) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    await load_tree(app, tmp_path)
    await confirm_some(app, "LS-NUOC", 3, waiting=1)
    officer = app.user(first_name="Hoa", last_name="Lê Thị")
    await register(officer, unit_query="tỉnh lạng sơn")
    await give(app, officer, OFFICER, "LS")
    sent = (await officer.send("/export"))[-1]
    assert sent.kind == "document" and sent.document is not None
    assert sent.document["file_name"].startswith("sang-kien-LS-") and "4 sáng kiến" in sent.text
    upload = next(p for m, p in reversed(app.fake.log) if m == "sendDocument")
    book = load_workbook(BytesIO(upload["document"]["content"]))
    summary, items = book["Tổng hợp"], book["Danh sách sáng kiến"]
    rows = list(summary.iter_rows(values_only=True))
    assert rows[0][:4] == ("Đơn vị", "Mã", "Đã công nhận", "Chỉ tiêu")
    assert rows[1][:5] == ("Liên đoàn Lao động tỉnh Lạng Sơn", "LS", 3, 4100, 0.1)
    assert rows[0][-2:] == ("Người đăng ký tham gia", "Tác giả") and rows[1][-2:] == (1, 0)  # the officer; no author
    statuses = sorted(r[6] for r in list(items.iter_rows(values_only=True))[1:])
    assert statuses == ["chờ duyệt", "đã xác nhận", "đã xác nhận", "đã xác nhận"]
    outsider = app.user()
    await register(outsider)
    assert "chỉ xem được số liệu" in (await outsider.send("/export LS"))[-1].text


async def test_top_authors_and_units_for_awards(app: App, tmp_path: Path) -> None:
    await load_tree(app, tmp_path)
    await confirm_some(app, "LS-TD", 4)
    await confirm_some(app, "LS-NUOC", 2, waiting=3)
    await app.db.write(Stmt("INSERT INTO author (initiative_id, position, full_name, share) "
                            "SELECT id, 1, CASE WHEN id % 2 = 0 THEN 'Nguyễn Văn An' ELSE 'Trần Thị Bình' END, 100 "
                            "FROM initiative"))  # fmt: skip
    officer = app.user(first_name="Hoa", last_name="Lê Thị")
    await register(officer, unit_query="tỉnh lạng sơn")
    await give(app, officer, OFFICER, "LS")
    text = (await officer.send("/top LS GD1"))[-1].text
    assert "Tác giả, đơn vị tiêu biểu – Liên đoàn Lao động tỉnh Lạng Sơn (Giai đoạn 1)" in text
    assert "🥇 Nguyễn Văn An: 3 sáng kiến" in text and "🥈 Trần Thị Bình: 3 sáng kiến" in text
    assert "🥇 Liên đoàn Lao động huyện Tràng Định: 4 sáng kiến" in text
    assert "🥈 Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn: 2 sáng kiến" in text


async def test_chart_is_a_png_of_the_units_below(app: App, tmp_path: Path) -> None:
    await load_tree(app, tmp_path)
    await confirm_some(app, "LS-TD", 300)
    await app.db.write(Stmt("UPDATE initiative SET decided_at = :at", {"at": utcnow()}))
    officer = app.user(first_name="Hoa", last_name="Lê Thị")
    await register(officer, unit_query="tỉnh lạng sơn")
    await give(app, officer, OFFICER, "LS")
    sent = (await officer.send("/chart"))[-1]
    assert sent.kind == "photo"
    upload = next(p for m, p in reversed(app.fake.log) if m == "sendPhoto")
    png = upload["photo"]["content"]
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    (tmp_path / "chart.png").write_bytes(png)


async def test_demo_dataset_shows_the_published_figures(fake, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    from storage.demo import DemoAlreadyLoaded, load_demo
    from tests.conftest import build_app, close_app, make_settings

    admin_id = 777
    app = await build_app(fake, make_settings(f"sqlite+aiosqlite:///{db_path}", fake, admin_ids=[admin_id]))
    try:
        assert await load_demo(app.db) > 28_000
        with pytest.raises(DemoAlreadyLoaded):
            await load_demo(app.db)
        admin = app.user(admin_id)
        await register(admin, unit_query="tỉnh lạng sơn")
        text_dk = (await admin.send("/progress DK"))[-1].text
        assert "Đạt: 7.085 / chỉ tiêu 5.400 (131%)" in text_dk
        assert "⚪ Công đoàn Tổng Công ty Dịch vụ Kỹ thuật Dầu khí (PTSC): 0/400 (0%)" in text_dk
        text_ls = (await admin.send("/progress LS-TD"))[-1].text
        assert "570 / chỉ tiêu 265 (215%)" in text_ls
    finally:
        await close_app(app)


async def test_weekly_digest_for_officers_and_nudge_for_groups_under_half(app: App, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    from handlers.officer.digest import send_weekly
    from tests.test_review import GROUP

    await load_tree(app, tmp_path)
    await confirm_some(app, "LS-NUOC", 3, waiting=2)
    officer = app.user(first_name="Hoa", last_name="Lê Thị")
    await register(officer, unit_query="tỉnh lạng sơn")
    worker = app.user()
    await register(worker)
    assert "dành cho cán bộ" in (await worker.send("/digest on"))[-1].text
    await give(app, officer, OFFICER, "LS")
    assert "mỗi thứ Hai" in (await officer.send("/digest on"))[-1].text
    app.fake.admins[GROUP["id"]] = {officer.id}
    await officer.in_group(GROUP).send("/bind LS-NUOC")
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    assert await send_weekly(app.bot, app.db, app.dp["i18n"], tz) == (1, 1)
    assert (
        "Tin tổng hợp hằng tuần" in officer.last.text
        and "Tiến độ của Liên đoàn Lao động tỉnh Lạng Sơn" in officer.last.text
    )
    nudge = officer.in_group(GROUP).last.text
    assert (
        "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn mới đạt 30% chỉ tiêu (3/10)" in nudge and "2 sáng kiến" in nudge
    )
    await officer.send("/digest off")
    assert await send_weekly(app.bot, app.db, app.dp["i18n"], tz) == (0, 1)


async def test_long_tables_are_paged(app: App, tmp_path: Path) -> None:
    rows = "code,name,parent_code,quota\nROOT,Công đoàn Tổng công ty,,1000\n" + "".join(
        f"C{i:02d},Công đoàn cơ sở số {i:02d},ROOT,{10 + i}\n" for i in range(23)
    )
    (tmp_path / "units.csv").write_text(rows, encoding="utf-8")
    await import_units(app.db, read_units(tmp_path / "units.csv"))
    admin_free = app.user()
    await register(admin_free)
    await give(app, admin_free, OFFICER, "ROOT")
    first = (await admin_free.send("/progress ROOT"))[-1]
    assert first.button_texts() == ["1/3", "▶️"] and first.text.count("Công đoàn cơ sở số") == 10
    await admin_free.click("▶️", message=first, expect=0)
    second = app.fake.messages[admin_free.id][first.message_id]
    assert second.button_texts() == ["◀️", "2/3", "▶️"] and second.text.count("Công đoàn cơ sở số") == 10
    await admin_free.click("▶️", message=second, expect=0)
    third = app.fake.messages[admin_free.id][first.message_id]
    assert third.button_texts() == ["◀️", "3/3"] and third.text.count("Công đoàn cơ sở số") == 3


async def test_a_submission_counts_toward_the_phase_of_its_local_day(app: App, tmp_path: Path) -> None:
    from forms.engine import PREVIEW, Form, FormState
    from forms.template import build_fields
    from storage.initiatives import create_draft, get_draft, save_form, submit
    from storage.members import register as register_member

    await load_tree(app, tmp_path)
    async with app.db.engine.connect() as conn:
        unit = (await conn.execute(text("SELECT id FROM unit WHERE code = 'LS-NUOC'"))).scalar()
    member = await register_member(app.db, tg_user_id=4242_0, full_name="A", language="vi", unit_id=unit, phone=None)
    form = Form(build_fields())
    answers = {"title": "Tên sáng kiến", "solution_type": "technical", "field": "other", "before": "x" * 20,
               "solution": "y" * 30, "applied_where": "Trạm 2", "applied_since": "2022-01-01",
               "benefit_money": {"amount": 1, "period": "year", "approx": False}}  # fmt: skip
    phases = []
    for day in (date(2022, 1, 7), date(2022, 1, 8)):  # the day before the programme, and its first day
        draft = await create_draft(app.db, member, form.start())
        await save_form(app.db, draft, FormState(answers, PREVIEW), actor_id=member.id, kind="t", detail={})
        submitted = await submit(app.db, await get_draft(app.db, draft.id), member, form, day)  # type: ignore[arg-type]
        assert submitted is not None
        async with app.db.engine.connect() as conn:
            sql = "SELECT p.code FROM initiative i LEFT JOIN phase p ON p.id = i.phase_id WHERE i.id = :id"
            phases.append((await conn.execute(text(sql), {"id": draft.id})).scalar())
    assert phases == [None, "GD1"]
