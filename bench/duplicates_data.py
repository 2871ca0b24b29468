"""The national data set of bench/duplicates.py, written with bulk inserts: a tree of units (1 root, ~1 % sector
and provincial unions, ~9 % district level, the rest grassroots), initiatives spread over it (most at the grassroots,
some at district level, about one unit in eight with none), and each one's ``similar_doc`` row exactly as a
submission writes it. SQLite through ``executemany``, PostgreSQL through ``COPY``."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing import Pool

from bench.duplicates_corpus import initiative
from storage.similar.store import now_ms
from storage.similar.text import prepare

STATUSES = ["confirmed"] * 6 + ["submitted", "in_review", "changes_requested", "rejected"]
NOW = "2022-06-01 08:00:00.000000"


@dataclass
class Tree:
    parent: dict[int, int | None]
    children: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for unit, up in self.parent.items():
            self.children.setdefault(unit, [])
            if up is not None:
                self.children.setdefault(up, []).append(unit)

    def level(self, unit: int) -> int:
        depth, up = 0, self.parent[unit]
        while up is not None:
            depth, up = depth + 1, self.parent[up]
        return depth

    def subtree(self, unit: int) -> list[int]:
        found, todo = [], [unit]
        while todo:
            found.append(node := todo.pop())
            todo += self.children[node]
        return found

    def scope(self, unit: int) -> list[int]:
        """The units whose initiatives a new one of ``unit`` is compared with (its parent's subtree)."""
        up = self.parent[unit]
        return self.subtree(unit if up is None else up)


def tree(units: int, rng: random.Random) -> Tree:
    level1, level2 = max(1, units // 125), max(1, units // 12)
    parent: dict[int, int | None] = {1: None}
    for uid in range(2, units + 1):
        if uid <= 1 + level1:
            parent[uid] = 1
        elif uid <= 1 + level1 + level2:
            parent[uid] = rng.randint(2, 1 + level1)
        else:
            parent[uid] = rng.randint(2 + level1, 1 + level1 + level2)
    return Tree(parent)


def placements(t: Tree, count: int, rng: random.Random) -> list[int]:
    """The unit of each initiative: mostly grassroots, busier units more often, some units with none."""
    leaves = [u for u in t.parent if t.level(u) == 3]
    districts = [u for u in t.parent if t.level(u) == 2]
    weights = [0.0 if rng.random() < 0.12 else rng.paretovariate(1.5) for _ in leaves]
    placed = rng.choices(leaves, weights, k=count - count // 20)
    return placed + rng.choices(districts, k=count // 20)


def _make(args: tuple[int, int]) -> list[tuple[str, str, str, str, bytes]]:
    seed, count = args
    rng, made = random.Random(seed), []
    for _ in range(count):
        title, solution = initiative(rng)
        p = prepare(title, solution)
        made.append((title, solution, p.title, p.body, p.terms))
    return made


def generate(count: int, seed: int, chunk: int = 20_000) -> list[tuple[str, str, str, str, bytes]]:
    """Initiatives and their prepared form, made on both cores."""
    jobs = [(seed * 1_000_003 + k, min(chunk, count - k)) for k in range(0, count, chunk)]
    with Pool(2) as pool:
        return [row for part in pool.imap(_make, jobs) for row in part]


def _initiative_rows(docs: list, units: list[int], rng: random.Random) -> Iterator[tuple[object, ...]]:
    for k, ((title, solution, *_), unit) in enumerate(zip(docs, units, strict=True), start=1):
        answers = json.dumps({"title": title, "solution": solution}, ensure_ascii=False)
        yield (k, 1, unit, rng.choice(STATUSES), f"SK-{k:06d}", title, answers)


def _doc_rows(docs: list, units: list[int], ms: int) -> Iterator[tuple[object, ...]]:
    for k, ((*_, title, body, terms), unit) in enumerate(zip(docs, units, strict=True), start=1):
        yield (k, unit, title, body, terms, ms)


def fill_sqlite(path: str, t: Tree, docs: list, units: list[int], rng: random.Random) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    units_rows = ((u, f"U{u}", f"Công đoàn {u}", f"cong doan {u}", p, NOW, NOW) for u, p in t.parent.items())
    conn.executemany("INSERT INTO unit (id, code, name, name_folded, parent_id, kind, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, '', ?, ?)", units_rows)  # fmt: skip
    conn.execute("INSERT INTO member (id, tg_user_id, full_name, language, created_at, updated_at) "
                 "VALUES (1, 1, 'Đoàn viên', 'vi', ?, ?)", (NOW, NOW))  # fmt: skip
    conn.executemany("INSERT INTO initiative (id, author_id, unit_id, status, number, title, answers, step, pending, "
                     f"editing, has_social_benefit, review_round, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                     f"'', '[]', 0, 0, 1, '{NOW}', '{NOW}')", _initiative_rows(docs, units, rng))  # fmt: skip
    conn.executemany("INSERT INTO similar_doc (initiative_id, unit_id, title, body, terms, changed_ms) "
                     "VALUES (?, ?, ?, ?, ?, ?)", _doc_rows(docs, units, now_ms() - 3_600_000))  # fmt: skip
    conn.execute("COMMIT")
    conn.close()


async def fill_postgresql(dsn: str, t: Tree, docs: list, units: list[int], rng: random.Random) -> None:
    from datetime import UTC, datetime

    import asyncpg

    now = datetime(2022, 6, 1, 8, tzinfo=UTC)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table("unit", columns=["id", "code", "name", "name_folded", "parent_id", "kind",
                                                          "created_at", "updated_at"],
                                         records=[(u, f"U{u}", f"Công đoàn {u}", f"cong doan {u}", p, "", now, now)
                                                  for u, p in t.parent.items()])  # fmt: skip
        await conn.execute("INSERT INTO member (id, tg_user_id, full_name, language, created_at, updated_at) "
                           "VALUES (1, 1, 'Đoàn viên', 'vi', $1, $1)", now)  # fmt: skip
        columns = ["id", "author_id", "unit_id", "status", "number", "title", "answers", "step", "pending", "editing",
                   "has_social_benefit", "review_round", "created_at", "updated_at"]  # fmt: skip
        rows = ((*r, "", "[]", False, False, 1, now, now) for r in _initiative_rows(docs, units, rng))
        await conn.copy_records_to_table("initiative", columns=columns, records=rows)
        await conn.copy_records_to_table("similar_doc", columns=["initiative_id", "unit_id", "title", "body", "terms",
                                                                 "changed_ms"],
                                         records=_doc_rows(docs, units, now_ms() - 3_600_000))  # fmt: skip
        for table in ("unit", "member", "initiative"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
