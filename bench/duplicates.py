"""Duplicate suggestions at national size: 1,000,000 stored initiatives over 10,000 units, and a labelled set of
near-duplicates of stored ones (reworded, without diacritics or decomposed, reordered, with typos, or all at once),
each filed from a unit whose comparison scope (its parent's subtree) holds the original.

    .venv/bin/python bench/duplicates.py [--backend sqlite|postgresql] [--quick] [--initiatives N] [--queries N]

For each query it times ``storage.similar.search.suggest`` as the bot calls it (bring the index up to date, the
scope, the candidates, their text from the database, the scoring), then runs a brute-force fuzzy scan: the same
scoring over every initiative of the scope. It prints p50/p95, the index's memory and restart time (a fresh
process's load of ``similar_doc``), and recall: how often the original is among the three suggestions, for the
index and for the scan, and their ratio (goal: p95 ≤ 50 ms, ratio ≥ 0.9)."""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import random
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Indel
from rapidfuzz.process import cdist

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.duplicates_corpus import KINDS, near_duplicate
from bench.duplicates_data import Tree, fill_postgresql, fill_sqlite, generate, placements, tree
from storage.db import Database
from storage.migrate import upgrade
from storage.similar import search as similar
from storage.similar import store
from storage.similar.text import prepare

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
LEVELS = (3,) * 6 + (2,) * 3 + (1,)  # where the new initiatives come from: grassroots, district, province level


def rss_mb() -> float:
    """Resident memory, after giving back to the system what the allocator keeps of freed memory."""
    gc.collect()
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


class Data:
    def __init__(self, docs: list, units: list[int], t: Tree) -> None:
        self.titles = [d[2] for d in docs]
        self.bodies = [d[3] for d in docs]
        self.raw = [(d[0], d[1]) for d in docs]
        self.t, self.units = t, np.asarray(units)
        self.by_unit: dict[int, list[int]] = {}
        for k, unit in enumerate(units):
            self.by_unit.setdefault(unit, []).append(k)

    def in_scope(self, unit: int) -> np.ndarray:
        return np.array([k for u in self.t.scope(unit) for k in self.by_unit.get(u, ())], np.int64)

    def brute_force(self, title: str, solution: str, scope: np.ndarray) -> list[int]:
        """The same scoring as the search, over every initiative of the scope: ids of the best three."""
        q = prepare(title, solution)
        titles = [self.titles[k] for k in scope]
        bodies = [self.bodies[k] for k in scope]
        t = cdist([q.title], titles, scorer=Indel.normalized_similarity, dtype=np.float32, workers=-1)[0]
        b = cdist([q.body], bodies, scorer=Indel.normalized_similarity, dtype=np.float32, workers=-1)[0]
        score = np.round(100 * (similar.TITLE_WEIGHT * t + (1 - similar.TITLE_WEIGHT) * b))
        best = np.lexsort((scope, -score))[: similar.SHOWN]
        return [int(scope[i]) + 1 for i in best if score[i] >= similar.MIN_PERCENT]


def queries(data: Data, count: int, rng: random.Random) -> list[tuple[int, int, str, str, str]]:
    """(unit filing it, original id, title, solution, kind) for each labelled near-duplicate."""
    by_level: dict[int, list[int]] = {}
    for unit in data.t.parent:
        by_level.setdefault(data.t.level(unit), []).append(unit)
    made: list[tuple[int, int, str, str, str]] = []
    while len(made) < count:
        unit = rng.choice(by_level[rng.choice(LEVELS)])
        scope = data.in_scope(unit)
        if not len(scope):
            continue
        original = int(rng.choice(scope))
        kind = KINDS[len(made) % len(KINDS)]
        title, solution = near_duplicate(rng, *data.raw[original], kind)
        made.append((unit, original + 1, title, solution, kind))
    return made


async def build(args: argparse.Namespace) -> tuple[Database, Data, str]:
    rng = random.Random(12)
    t = tree(args.units, rng)
    started = time.perf_counter()
    docs = generate(args.initiatives, seed=12)
    units = placements(t, args.initiatives, rng)
    print(f"generated {len(docs):,} initiatives in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    if args.backend == "sqlite":
        dropped = tempfile.mkdtemp()
        path = Path(dropped) / "duplicates.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.start()
        await upgrade(db.engine)
        await asyncio.to_thread(fill_sqlite, str(path), t, docs, units, rng)
    else:
        import asyncpg

        name = "sangkien_bench_duplicates"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        dsn = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        db = Database(dsn.replace("postgresql://", "postgresql+asyncpg://"))
        await db.start()
        await upgrade(db.engine)
        await fill_postgresql(dsn, t, docs, units, rng)
        dropped = name
    print(f"stored them ({args.backend}, bulk inserts) in {time.perf_counter() - started:.0f} s")
    return db, Data(docs, units, t), dropped


def pct(samples: list[float], p: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(p * len(samples)))] * 1000


async def measure(db: Database, data: Data, count: int) -> None:
    before = rss_mb()
    started = time.perf_counter()
    async with db.read_engine.connect() as conn:
        index = await store.index_of(db, conn)
    restart = time.perf_counter() - started
    print(f"index loaded from similar_doc (a restart) in {restart:.1f} s: {index.live:,} initiatives, "
          f"arrays {index.nbytes / 2**20:.0f} MiB, process memory +{rss_mb() - before:.0f} MiB "
          "(both on the machine at the time; other work shares it)")  # fmt: skip
    labelled = queries(data, count, random.Random(99))
    times, hits, brute_hits, agree, brute_total = [], 0, 0, 0, 0
    kinds: dict[str, list[int]] = {k: [0, 0] for k in KINDS}
    by_scope: dict[str, list[float]] = {"district": [], "province": [], "whole tree": []}
    for unit, original, title, solution, kind in labelled:
        t0 = time.perf_counter()
        found = await similar.suggest(db, title=title, solution=solution, unit_id=unit)
        times.append(time.perf_counter() - t0)
        by_scope[("whole tree", "whole tree", "province", "district")[data.t.level(unit)]].append(times[-1])
        mine = [s.initiative_id for s in found]
        best = await asyncio.to_thread(data.brute_force, title, solution, data.in_scope(unit))
        hits, brute_hits = hits + (original in mine), brute_hits + (original in best)
        agree, brute_total = agree + len(set(mine) & set(best)), brute_total + len(best)
        kinds[kind][0] += original in mine
        kinds[kind][1] += original in best
    n = len(labelled)
    print(f"\n{n} labelled near-duplicates; suggest(): p50 {pct(times, 0.5):.1f} ms, p95 {pct(times, 0.95):.1f} ms, "
          f"max {max(times) * 1000:.1f} ms")  # fmt: skip
    print(f"recall (original among the 3): index {hits / n:.3f}, brute-force scan {brute_hits / n:.3f}, "
          f"ratio {hits / max(1, brute_hits):.3f}; the scan's suggestions also given by the index: "
          f"{agree / max(1, brute_total):.3f}")  # fmt: skip
    print("by kind (index/scan hits): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in kinds.items()))
    print(f"scope sizes: median {statistics.median(len(data.in_scope(q[0])) for q in labelled):,.0f} initiatives")
    print("by scope (p50/p95 ms): " + ", ".join(f"{k} ({len(v)}) {pct(v, 0.5):.1f}/{pct(v, 0.95):.1f}"
                                                for k, v in by_scope.items() if v))  # fmt: skip
    await catch_up(db, data)


async def catch_up(db: Database, data: Data, new: int = 1_000) -> None:
    """Another worker submits ``new`` initiatives; the next search here reads them before answering."""
    rng = random.Random(5)
    stmts = [store.doc_stmt(db, k + 1, int(data.units[k]), *data.raw[k]) for k in rng.sample(range(len(data.raw)), new)]
    await db.write_unmarked(*stmts)
    unit, (title, solution) = int(data.units[0]), data.raw[0]
    t0 = time.perf_counter()
    await similar.suggest(db, title=title, solution=solution, unit_id=unit)
    print(f"the first search after {new:,} submissions by another worker: {(time.perf_counter() - t0) * 1000:.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="20,000 initiatives over 1,000 units, 200 queries")
    parser.add_argument("--initiatives", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.quick:
        args.initiatives, args.units, args.queries = 20_000, 1_000, 200
    db, data, dropped = await build(args)
    try:
        await measure(db, data, args.queries)
    finally:
        await db.close()
        if args.backend == "sqlite":
            shutil.rmtree(dropped)
        else:
            import asyncpg

            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
