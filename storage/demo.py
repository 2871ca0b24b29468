"""A demonstration dataset built from the programme's published figures (shared/DOMAIN.md), so a new user sees
/progress, /chart, /top and /export working at once: ``sangkien demo load``."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from storage.db import Database
from storage.progress import recount
from storage.unit_files import PhaseRow, UnitRow, count_units
from storage.units import import_phases, import_units

PHASES = [PhaseRow(0, "GD1", "Giai đoạn 1", date(2022, 1, 8), date(2022, 5, 31)),
          PhaseRow(0, "GD2", "Giai đoạn 2", date(2022, 6, 1), date(2023, 9, 1))]  # fmt: skip
# code, name, parent, kind, bloc, programme quota, confirmed initiatives to create
UNITS: list[tuple[str, str, str | None, str, str | None, int | None, int]] = [
    ("TLD", "Tổng Liên đoàn Lao động Việt Nam", None, "national", None, None, 0),
    ("DK", "Công đoàn Dầu khí Việt Nam", "TLD", "sector", "Khối công nghiệp", 5400, 0),
    ("DK-BSR", "Công đoàn Công ty CP Lọc hóa dầu Bình Sơn (BSR)", "DK", "company", None, 1500, 2100),
    ("DK-VPI", "Công đoàn Viện Dầu khí Việt Nam (VPI)", "DK", "company", None, 300, 420),
    ("DK-PVCFC", "Công đoàn Công ty CP Phân bón Dầu khí Cà Mau (PVCFC)", "DK", "company", None, 700, 980),
    ("DK-PVFCCO", "Công đoàn Tổng Công ty Phân bón và Hóa chất Dầu khí (PVFCCo)", "DK", "company", None, 700, 900),
    ("DK-PVGAS", "Công đoàn Tổng Công ty Khí Việt Nam (PV GAS)", "DK", "company", None, 1200, 1985),
    ("DK-PVOIL", "Công đoàn Tổng Công ty Dầu Việt Nam (PVOIL)", "DK", "company", None, 600, 700),
    ("DK-PTSC", "Công đoàn Tổng Công ty Dịch vụ Kỹ thuật Dầu khí (PTSC)", "DK", "company", None, 400, 0),
    ("CT", "Công đoàn Công Thương Việt Nam", "TLD", "sector", "Khối công nghiệp", 16000, 0),
    ("CT-MDL", "Công đoàn Tổng Công ty Máy động lực và Máy nông nghiệp", "CT", "company", None, 3000, 3751),
    ("CT-THEP", "Công đoàn Thép Việt Nam", "CT", "company", None, 2500, 409),
    ("CT-HC", "Công đoàn Hóa chất Việt Nam", "CT", "company", None, 2000, 233),
    ("CT-TL", "Công đoàn Thuốc lá Việt Nam", "CT", "company", None, 1500, 220),
    ("CT-RD", "Công đoàn Công ty CP Bóng đèn Phích nước Rạng Đông", "CT", "company", None, 500, 281),
    ("CT-KHAC", "Các công đoàn trực thuộc khác (Công Thương)", "CT", "company", None, 6500, 4599),
    ("EVN", "Công đoàn Điện lực Việt Nam", "TLD", "sector", "Khối công nghiệp", 10000, 0),
    ("EVN-NPC", "Công đoàn Tổng Công ty Điện lực miền Bắc", "EVN", "company", None, 4000, 1650),
    ("EVN-SPC", "Công đoàn Tổng Công ty Điện lực miền Nam", "EVN", "company", None, 6000, 2480),
    ("LS", "Liên đoàn Lao động tỉnh Lạng Sơn", "TLD", "province", "Khối tỉnh, thành phố", 4100, 0),
    ("LS-TD", "Liên đoàn Lao động huyện Tràng Định", "LS", "district", None, 265, 570),
    ("LS-TP", "Liên đoàn Lao động thành phố Lạng Sơn", "LS", "district", None, 1200, 1900),
    ("LS-CL", "Liên đoàn Lao động huyện Cao Lộc", "LS", "district", None, 600, 880),
    ("LS-NUOC", "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn", "LS", "grassroots", None, 20, 41),
    ("LS-KHAC", "Các công đoàn trực thuộc khác (Lạng Sơn)", "LS", "district", None, 2015, 2917),
    ("LS-VL", "Liên đoàn Lao động huyện Văn Lãng", "LS", "district", None, 200, 0),
]
TITLES = [
    "Tự động duy trì áp lực mạng cấp nước", "Cải tiến quy trình bảo dưỡng máy bơm", "Số hóa sổ theo dõi ca trực",
    "Tiết kiệm điện chiếu sáng nhà xưởng", "Giảm thời gian dừng máy khi thay khuôn", "Tái sử dụng nước làm mát",
    "Nghiên cứu chế tạo hệ thống hiệu chuẩn đồng hồ đo mô-men", "Cải tiến gá kẹp hàn ống",
]  # fmt: skip
BENEFITS = [0, 0, 14_000_000, 50_000_000, 200_000_000, 1_200_000_000, 5_000_000_000]


FRESH_DATABASE = "sqlite+aiosqlite:///./data/demo.db"


class DemoRefused(Exception):
    """The demo cannot be loaded into this database; the message is one line, with what to do instead."""


class DemoAlreadyLoaded(DemoRefused):
    pass


async def check_fresh(db: Database) -> None:
    """Refuse a database that already has the demo, or units of its own: the demo's tree would be merged into
    them (their quotas, /progress and /export would mix both)."""
    async with db.read_engine.connect() as conn:
        if (await conn.execute(text("SELECT 1 FROM initiative WHERE number LIKE 'DM-%' LIMIT 1"))).first():
            raise DemoAlreadyLoaded(f"the demo dataset is already loaded in {db.safe_url}")
    units = await count_units(db)
    if units:
        raise DemoRefused(
            f"{db.safe_url} already has {units} unit(s) and the demo would be merged into them; load the demo into "
            f"a fresh database instead: DATABASE_URL={FRESH_DATABASE} sangkien demo load (and start the bot with "
            "the same DATABASE_URL)"
        )


async def load_demo(db: Database, seed: int = 2022) -> int:
    """Load the demo units, phases and initiatives; returns how many initiatives it created."""
    async with db.read_engine.connect() as conn:
        if (await conn.execute(text("SELECT 1 FROM initiative WHERE number LIKE 'DM-%' LIMIT 1"))).first():
            raise DemoAlreadyLoaded("the demo dataset is already loaded")
    await import_phases(db, PHASES)
    rows = [UnitRow(0, code, name, parent, kind, bloc, {None: quota} if quota else {})
            for code, name, parent, kind, bloc, quota, _ in UNITS]  # fmt: skip
    await import_units(db, rows)
    rng, created = random.Random(seed), 0
    start, end = datetime(2022, 1, 10, 8, tzinfo=UTC), datetime(2023, 8, 25, 8, tzinfo=UTC)
    async with db.engine.begin() as conn:
        units = {code: uid for uid, code in await conn.execute(text("SELECT id, code FROM unit"))}
        phases = {code: pid for pid, code in await conn.execute(text("SELECT id, code FROM phase"))}
        for code, *_, confirmed in UNITS:
            if not confirmed:
                continue
            member = (await conn.execute(text(
                "INSERT INTO member (tg_user_id, full_name, language, unit_id, created_at, updated_at) "
                "VALUES (:tg, :name, 'vi', :unit, :now, :now) ON CONFLICT (tg_user_id) DO UPDATE "
                "SET unit_id = excluded.unit_id RETURNING id"),
                {"tg": -1_000_000 - units[code], "name": f"Đoàn viên {code}", "unit": units[code], "now": start},
            )).scalar()  # fmt: skip
            statuses = ["confirmed"] * confirmed + ["submitted"] * (confirmed // 20) + ["rejected"] * (confirmed // 100)
            batch = []
            for status in statuses:
                created += 1
                submitted = start + (end - start) * rng.random() ** 0.7
                decided = submitted + timedelta(days=rng.randint(1, 20)) if status != "submitted" else None
                # the articles' figures are initiatives recognised and uploaded to the TLĐ system
                recognised = (submitted + timedelta(days=rng.randint(5, 50))).date() if status == "confirmed" else None
                uploaded = recognised + timedelta(days=rng.randint(1, 10)) if recognised else None
                phase = phases["GD1"] if submitted.date() <= PHASES[0].ends_on else phases["GD2"]
                batch.append({
                    "author": member, "unit": units[code], "status": status, "number": f"DM-{created:06d}",
                    "title": rng.choice(TITLES), "benefit": rng.choice(BENEFITS), "social": rng.random() < 0.4,
                    "phase": phase, "submitted": submitted, "decided": decided, "on": recognised, "up": uploaded,
                    "no": f"{rng.randint(1, 300)}/QĐ-CĐ" if recognised else None,
                    "body": "Hội đồng sáng kiến" if recognised else None,
                    "type": rng.choice(["technical", "management", "operational"]),
                })  # fmt: skip
            await conn.execute(text(
                "INSERT INTO initiative (author_id, unit_id, status, number, title, answers, step, pending, editing, "
                "has_social_benefit, benefit_per_year, phase_id, review_round, solution_type, field_of_work, "
                "created_at, updated_at, submitted_at, decided_at, decision_no, decision_on, decision_body, "
                "uploaded_on) VALUES (:author, :unit, :status, :number, :title, "
                "'{}', '', '[]', false, :social, :benefit, :phase, 1, :type, 'production', :submitted, :submitted, "
                ":submitted, :decided, :no, :on, :body, :up)"), batch)  # fmt: skip
            await conn.execute(text(
                "INSERT INTO author (initiative_id, position, full_name, share, member_id) SELECT id, 1, "
                "'Tác giả ' || substr(number, 4), 100, author_id FROM initiative "
                "WHERE unit_id = :unit AND number LIKE 'DM-%'"),
                {"unit": units[code]})  # fmt: skip
    await recount(db)
    return created
