"""/progress at national size: 10,000 units in 4 levels and 1,000,000 initiatives, next to a plain indexed SQL
aggregate over the same data in the same run (group the initiatives by unit, roll up through the tree).

    .venv/bin/python bench/progress.py [--units 10000] [--initiatives 1000000] [--repeat 7]

It also checks that the maintained figures equal the recount, for every unit on the root's first two levels.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.xlsx import workbook
from storage.db import Database
from storage.migrate import upgrade
from storage.progress import COUNTED, progress_for, recount, subtree_initiatives, subtree_lines

STATUSES = ["confirmed"] * 6 + ["submitted", "in_review", "changes_requested", "rejected", "draft"]
TODAY = date(2022, 5, 17)
EXPORT_UNIT, EXPORT_SIZE = 2, 5_000  # the level-2 unit whose subtree holds exactly 5,000 (confirmed) initiatives


def build(path: Path, units: int, initiatives: int, seed: int = 7) -> dict[int, int | None]:
    """A 4-level tree (1 root, then about 1 %, 9 % and 90 % of the units) and the initiatives of the leaves."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    level2, level3 = max(1, units // 100), max(1, units // 11)
    parent: dict[int, int | None] = {1: None}
    for uid in range(2, units + 1):
        if uid <= 1 + level2:
            parent[uid] = 1
        elif uid <= 1 + level2 + level3:
            parent[uid] = rng.randint(2, 1 + level2)
        else:
            parent[uid] = rng.randint(2 + level2, 1 + level2 + level3)
    now = "2022-01-08 00:00:00.000000"
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO unit (id, code, name, name_folded, parent_id, kind, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, '', ?, ?)",
        ((u, f"U{u}", f"Đơn vị {u}", f"don vi {u}", p, now, now) for u, p in parent.items()),
    )
    conn.executemany("INSERT INTO quota (unit_id, phase_id, amount) VALUES (?, NULL, ?)",
                     ((u, rng.randint(50, 500)) for u in parent))  # fmt: skip
    conn.execute("INSERT INTO phase (id, code, name, starts_on, ends_on) VALUES (1, 'GD1', 'Giai đoạn 1', "
                 "'2022-01-08', '2022-05-31'), (2, 'GD2', 'Giai đoạn 2', '2022-06-01', '2023-09-01')")  # fmt: skip
    conn.execute("INSERT INTO member (id, tg_user_id, full_name, language, created_at, updated_at) "
                 "VALUES (1, 1, 'x', 'vi', ?, ?)", (now, now))  # fmt: skip
    leaves = [u for u in parent if u > 1 + level2 + level3] or list(parent)
    under_export = [u for u in leaves if parent[parent[u] or 0] == EXPORT_UNIT] or leaves[:1]
    others = [u for u in leaves if u not in set(under_export)] or leaves
    placed = [rng.choice(under_export) for _ in range(min(EXPORT_SIZE, initiatives))]
    placed += [rng.choice(others) for _ in range(initiatives - len(placed))]
    conn.executemany(
        "INSERT INTO initiative (author_id, unit_id, status, answers, step, pending, editing, has_social_benefit, "
        "benefit_per_year, phase_id, review_round, created_at, updated_at) "
        "VALUES (1, ?, ?, '{}', '', '[]', 0, ?, ?, ?, 1, ?, ?)",
        ((unit, "confirmed" if k < EXPORT_SIZE else rng.choice(STATUSES), rng.random() < 0.3,
          rng.choice((0, 14_000_000, 350_000 * 12)), rng.choice((1, 2)), now, now) for k, unit in enumerate(placed)),
    )  # fmt: skip
    conn.execute("CREATE INDEX IF NOT EXISTS ix_initiative_unit_status ON initiative (unit_id, status)")
    conn.execute("COMMIT")
    conn.close()
    return parent


def plain_aggregate(path: Path, parent: dict[int, int | None], unit: int) -> dict[str, int]:
    """The baseline: group the initiatives by unit with an indexed query, then roll up through the tree."""
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT unit_id, status, count(*) FROM initiative GROUP BY unit_id, status").fetchall()
    conn.close()
    own: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for unit_id, status, count in rows:
        if status in COUNTED:
            node: int | None = unit_id
            while node is not None:
                own[node][status] += count
                node = parent[node]
    return dict(own[unit])


def timed(repeat: int, run) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def export_once(db: Database, unit: int) -> tuple[float, int, int]:
    """What /export does before Telegram: read the subtree and write the workbook."""
    started = time.perf_counter()
    lines = await subtree_lines(db, unit)
    items = await subtree_initiatives(db, unit)
    summary = [(line.name, line.counts.confirmed, line.quota) for _, line in lines]
    data = workbook(["unit", "confirmed", "quota"], summary,
                    ["number", "title", "authors", "unit", "status", "submitted", "benefit"],
                    [(i["number"], i["title"], i["authors"], i["name"], i["status"], i["submitted_at"],
                      i["benefit_per_year"]) for i in items], ("Summary", "Initiatives"))  # fmt: skip
    return time.perf_counter() - started, len(items), len(data)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--initiatives", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "national.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.start()
        await upgrade(db.engine)
        started = time.perf_counter()
        parent = await asyncio.to_thread(build, path, args.units, args.initiatives)
        print(f"built {args.units} units, {args.initiatives} initiatives in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        await recount(db)
        print(f"tallies built from scratch (recount) in {time.perf_counter() - started:.1f} s")
        mid = 2  # a unit on the second level

        async def progress_ms(unit: int) -> float:
            samples = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                await progress_for(db, unit, TODAY)
                samples.append(time.perf_counter() - t0)
            return statistics.median(samples) * 1000

        root_ms, mid_ms = await progress_ms(1), await progress_ms(mid)
        aggregate_ms = timed(args.repeat, lambda: plain_aggregate(path, parent, 1)) * 1000
        for unit in [1, *[u for u, p in parent.items() if p == 1]]:
            report = await progress_for(db, unit, TODAY)
            assert report is not None
            maintained = {s: c for s, c in report.unit.counts.by_status.items() if c}
            assert maintained == plain_aggregate(path, parent, unit), f"unit {unit}: {maintained}"
        print("maintained figures equal the recount for the root and every unit on level 2")
        print(f"/progress root: {root_ms:.1f} ms (median of {args.repeat})")
        print(f"/progress level-2 unit: {mid_ms:.1f} ms")
        print(f"plain indexed aggregate + roll-up: {aggregate_ms:.1f} ms")
        print(f"ratio: {root_ms / aggregate_ms:.3f}")
        export_s, rows, size = await export_once(db, EXPORT_UNIT)
        print(f"/export XLSX of a {rows}-initiative subtree: {export_s * 1000:.0f} ms, {size / 1024:.0f} KiB")
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
