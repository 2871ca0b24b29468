"""Webhooks under load (issue 10): N simulated workers each register and complete an initiative by POSTing Telegram
updates to the real ``sangkien run --webhook`` process(es), as Telegram does (with the secret token header).

    python -m bench.webhook_load --all                               # the three configurations, then the table
    python -m bench.webhook_load --backend postgres --processes 2    # one configuration
    python -m bench.webhook_load --all --quick                       # 50 simulated workers instead of 1,000

Configurations: PostgreSQL + Redis with 1 or 2 worker processes ("two hosts behind a load balancer": the updates
are spread round-robin, so one user's consecutive updates land on different workers), and SQLite with 1 process.
Telegram's Bot API is the fake of the tests (``tests/fake_telegram.py``), served from this process; the bot's
answers are read from it. Each simulated user sends an update, waits for the HTTP 200 (the webhook answers only
after the update is handled, the bot's replies already sent), reads the bot's last message and sends the next one:
/start, the suggested name, a unit search and its button, then /new, the title, the type, the field, before,
solution, place, date, money and Submit (14 updates). All users start at once; as Telegram does, at most
``--in-flight`` deliveries (default 40, Telegram's default ``max_connections``) are in flight at a time.

Measured: the time from each POST to its 200 (p50, p99), and the updates per second over the run. Afterwards the
database is read directly: each user is registered once and has exactly one submitted initiative with every
required answer; ``handled_update`` holds exactly one row per update sent (none twice, none missing); every user
has the same event log (no answer applied twice). Exit status 1 when any check fails.

The fake Bot API has no limits, so by default the workers' overall pace is raised to 1,000,000 messages/s: every
send still takes its slot (from Redis with REDIS_URL), but Telegram's ~30 messages/s do not bound the run;
``--telegram-pace`` keeps the bot's own pacing.
PostgreSQL: a fresh database on TEST_POSTGRES_URL's server per configuration, dropped afterwards. Redis: the database
of BENCH_REDIS_URL (default ``redis://127.0.0.1:6379/2``), emptied before and after each configuration. A delivery
not answered within 120 s is reported as never answered; ``kill -USR1 <worker pid>`` writes where each of that
worker's tasks waits into its log (``--keep`` keeps the logs)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import SECRET, free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # bot.webhook.SECRET_HEADER
PUBLIC = "https://bot.example.org"
UNITS_CSV = ROOT / "tests" / "data" / "units.csv"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
USER_BASE = 7_100_000
START_TIMEOUT = 90.0
# Telegram keeps at most max_connections deliveries in flight to a webhook: 40 unless setWebhook says otherwise (the
# bot does not), 100 at most. Behind a load balancer the workers share them.
IN_FLIGHT = 40
REQUEST_TIMEOUT = 120.0  # seconds a delivery may take before the run counts it as lost
REQUIRED = ("title", "solution_type", "field", "before", "solution", "applied_where", "applied_since",
            "benefit_money")  # fmt: skip
SUBMITTED = ("submitted", "in_review")


# -- the worker process ----------------------------------------------------------------------------------------
def serve() -> int:
    """``sangkien run --webhook`` in this process. Unless BENCH_TELEGRAM_PACE=1 the per-second limits are lifted (the
    fake Bot API has none): the overall window still takes a slot for every send (in Redis when REDIS_URL is set),
    so its cost is measured, but it never holds a send back; the group pacing stays as configured."""
    from bot import app
    from bot.cli import main
    from bot.pacing import GroupPacing

    if os.environ.get("BENCH_TELEGRAM_PACE") != "1":

        class Unpaced(GroupPacing):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.per_second_overall, self.per_chat_per_second = 1_000_000, None

        setattr(app, "GroupPacing", Unpaced)  # noqa: B010  (create_bot looks it up when it builds the bot)
    if pool := int(os.environ.get("BENCH_POOL_SIZE") or 0):  # an experiment: PostgreSQL connections kept open
        from storage import db

        original = db.create_async_engine

        def create_async_engine(url: str, **kwargs: Any) -> Any:
            if not url.startswith("sqlite"):
                kwargs = {**kwargs, "pool_size": pool, "max_overflow": pool // 2}
            return original(url, **kwargs)

        setattr(db, "create_async_engine", create_async_engine)  # noqa: B010
    signal.signal(signal.SIGUSR1, dump_tasks)
    return main(["run", "--webhook"])


def dump_tasks(signum: int, frame: Any) -> None:
    """SIGUSR1 (``kill -USR1 <pid>``): where every task of a worker waits, into its log (to find a stuck update)."""
    tasks = asyncio.all_tasks()
    print(f"--- {len(tasks)} tasks ---", file=sys.stderr)
    for task in tasks:
        task.print_stack(limit=12, file=sys.stderr)
    sys.stderr.flush()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of a process (0 once it is gone); with ``children``, also of its children that
    have exited (PostgreSQL's connections are child processes of the postmaster)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11 : 15 if children else 13]) / TICK


def machine_busy() -> float:
    """CPU seconds spent by the whole machine (every core, every process) since boot."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICK


def cpu_by_name(*names: str) -> dict[int, float]:
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm in names:
                found[int(entry.name)] = cpu_of(int(entry.name), children=True)
    return found


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Worker:
    """One ``sangkien run --webhook`` process on a free port."""

    def __init__(self, workdir: Path, env: dict[str, str], index: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "WEBHOOK_PORT": str(self.port)}
        self.log_path = workdir / f"worker-{index}.log"
        self.workdir = workdir
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, fake: Any) -> None:
        registered = sum(1 for method, _ in fake.log if method == "setWebhook")
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.webhook_load", "--serve", cwd=self.workdir, env=self.env,
                stdout=log, stderr=log,
            )  # fmt: skip
        import aiohttp

        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise BenchError(f"a worker exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
                if sum(1 for method, _ in fake.log if method == "setWebhook") > registered:
                    try:
                        async with http.get(self.url + "/healthz") as response:
                            if response.status == 200:
                                return
                    except aiohttp.ClientError:
                        pass
                await asyncio.sleep(0.1)
        raise BenchError(f"a worker did not start in {START_TIMEOUT:.0f} s:\n{self.log()[-3000:]}")

    def cpu(self) -> float:
        return cpu_of(self.proc.pid) if self.proc is not None else 0.0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 40)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


class BenchError(AssertionError):
    pass


class CpuSampler:
    """CPU seconds used so far by the workers, this process, PostgreSQL + Redis and the whole machine, sampled
    twice a second, so that what was used up to a given moment can be read afterwards."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self.samples: list[tuple[float, dict[str, float]]] = [(time.perf_counter(), self.take())]

    def take(self) -> dict[str, float]:
        return {
            "workers": sum(w.cpu() for w in self.workers),
            "load generator + fake API": own_cpu(),
            "PostgreSQL + Redis": sum(cpu_by_name("postgres", "redis-server").values()),
            "machine": machine_busy(),
        }

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.samples.append((time.perf_counter(), self.take()))

    def used(self, until: float) -> dict[str, float]:
        """CPU seconds used from the start to the first sample at or after ``until``."""
        self.samples.append((time.perf_counter(), self.take()))
        end = next(values for at, values in self.samples if at >= until)
        used = {key: end[key] - self.samples[0][1][key] for key in end}
        used["anything else"] = max(0.0, used.pop("machine") - sum(used.values()))
        return used


# -- the simulated users ---------------------------------------------------------------------------------------
Chooser = Callable[[Any], dict[str, Any]]  # the bot's last message (Sent) -> the button to press


def first_button(message: Any) -> dict[str, Any]:
    for row in message.buttons:
        for button in row:
            return dict(button)
    raise BenchError(f"no button on {message.text[:200]!r}")


def labelled(label: str) -> Chooser:
    def choose(message: Any) -> dict[str, Any]:
        for row in message.buttons:
            for button in row:
                if button["text"] == label or button["text"].endswith(" " + label):
                    return dict(button)
        raise BenchError(f"no button {label!r} on {message.text[:200]!r}: {message.button_texts()}")

    return choose


def by_data(prefix: str) -> Chooser:
    def choose(message: Any) -> dict[str, Any]:
        for row in message.buttons:
            for button in row:
                if str(button.get("callback_data", "")).startswith(prefix):
                    return dict(button)
        raise BenchError(f"no {prefix}… button on {message.text[:200]!r}: {message.button_texts()}")

    return choose


# Each worker writes up a different initiative (the bot shows the initiatives that look alike before a submission):
# a machine, what was done to it and how, picked by the worker's number.
MACHINES = ("máy bơm", "băng tải", "lò hơi", "máy nén khí", "đường ống", "van xả", "tủ điện", "máy cắt", "máy tiện",
            "quạt gió", "bể lắng", "máy phát", "trạm biến áp", "cầu trục", "máy ép", "lò sấy", "xe nâng", "máy khoan",
            "bồn chứa", "máy nghiền", "máy hàn", "dây chuyền chiết rót", "hệ thống chiếu sáng", "máy sàng")  # fmt: skip
AIMS = ("tự động hóa", "giảm tiêu hao điện", "chống rò rỉ", "giám sát từ xa", "tăng năng suất", "giảm tiếng ồn",
        "an toàn vận hành", "tiết kiệm nước", "giảm phế phẩm", "kéo dài tuổi thọ",
        "rút ngắn thời gian dừng máy")  # fmt: skip
MEANS = ("cảm biến nhiệt độ", "biến tần", "bộ hẹn giờ", "camera", "van một chiều", "gioăng cao su chịu nhiệt",
         "bộ điều khiển PLC", "đồng hồ áp lực", "tấm cách âm", "bộ lọc bụi", "rơ le bảo vệ", "phần mềm theo dõi",
         "giá đỡ tự chế", "ống dẫn inox", "đèn LED", "bộ đếm sản phẩm", "máng hứng", "bánh xe dẫn hướng")  # fmt: skip


def title_of(uid: int) -> str:
    n = uid - USER_BASE
    return f"{AIMS[n % len(AIMS)].capitalize()} cho {MACHINES[n // len(AIMS) % len(MACHINES)]} số {n}"


def solution_of(uid: int) -> str:
    n = uid - USER_BASE
    means = [MEANS[(n * 7 + k * 5) % len(MEANS)] for k in range(3)]
    return f"Lắp {means[0]} và {means[1]}, thêm {means[2]}; công nhân tự lắp đặt trong hai ca (tổ {n})."


def script() -> list[tuple[str, Any]]:
    """What each simulated user does: ("text", text or uid -> text), or ("press", chooser) on the bot's last
    message."""
    from handlers.ui.callbacks import FormCb, Nav
    from tests.flows import BEFORE, PLACE, vi

    return [
        ("text", "/start"),
        ("press", first_button),  # the suggested name
        ("text", "cấp nước"),  # a search for the unit
        ("press", first_button),  # the unit: registered
        ("text", "/new"),
        ("text", title_of),
        ("press", labelled(vi("Technical solution"))),  # ticked in place
        ("press", labelled(vi("Production and operation"))),
        ("text", BEFORE),
        ("text", solution_of),
        ("text", PLACE),
        ("text", "15/03/2022"),
        ("text", "14 triệu/năm"),
        ("press", by_data(f"{FormCb.__prefix__}:{Nav.SUBMIT.value}:")),
    ]


def submit_anyway() -> str:
    """The callback data a "Submit anyway" button starts with (under initiatives that look like the worker's)."""
    from handlers.ui.callbacks import SubmitAction, SubmitCb

    return f"{SubmitCb.__prefix__}:{SubmitAction.ANYWAY.value}:"


@dataclass
class Run:
    """What one configuration measured."""

    backend: str
    processes: int
    users: int
    updates: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    redelivered: int = 0  # deliveries answered 500 and delivered again, as Telegram does
    look_alikes: int = 0  # users shown initiatives like theirs, who then pressed "Submit anyway"
    failed: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)  # what the database check found wrong
    database: dict[str, int] = field(default_factory=dict)  # PostgreSQL: sessions opened, transactions

    @property
    def name(self) -> str:
        return f"{'PostgreSQL + Redis' if self.backend == 'postgres' else 'SQLite'}, {self.processes} process" + (
            "es" if self.processes > 1 else ""
        )

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * p + 0.5) - 1))] * 1000 if ordered else 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.checks

    def verdict(self) -> str:
        """What went wrong, in a few words."""
        unanswered = sum("not answered" in failure for failure in self.failed)
        stopped = len(self.failed) - unanswered
        parts = [f"{unanswered} update{'s' * (unanswered != 1)} never answered"] if unanswered else []
        if stopped:
            parts.append(f"{stopped} user{'s' * (stopped != 1)} stopped by an error")
        if self.checks:
            parts.append(f"{len(self.checks)} database check{'s' * (len(self.checks) != 1)} failed")
        return ", ".join(parts)


class Load:
    """The fake Bot API, the simulated users and the HTTP client that delivers their updates."""

    def __init__(self, fake: Any, urls: list[str], users: int, in_flight: int) -> None:
        self.fake, self.urls, self.users, self.in_flight = fake, urls, users, in_flight
        self.steps = script()
        self.anyway = submit_anyway()
        self.anyway_pressed = 0  # users shown initiatives like theirs before submitting
        self.update_ids = itertools.count(1)
        self.sent_updates: dict[int, str] = {}  # update id -> what it was (user and step), for the reports
        self.latencies: list[float] = []
        self.redelivered = 0
        self.failed: list[str] = []
        self.started = self.last_answer = 0.0
        self.headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}

    def _chat(self, uid: int) -> dict[str, Any]:
        return {"id": uid, "type": "private", "first_name": "Công nhân", "last_name": str(uid - USER_BASE)}

    def _user(self, uid: int) -> dict[str, Any]:
        return {"id": uid, "is_bot": False, "first_name": "Công nhân", "last_name": str(uid - USER_BASE),
                "language_code": "vi"}  # fmt: skip

    def last(self, uid: int) -> Any:
        chat = self.fake.messages.get(uid) or {}
        if not chat:
            raise BenchError(f"user {uid}: the bot has not answered")
        return chat[max(chat)]

    def update(self, uid: int, number: int, kind: str, value: Any) -> dict[str, Any]:
        update_id = next(self.update_ids)
        self.sent_updates[update_id] = f"user {uid} step {number + 1} ({kind} {getattr(value, '__name__', value)!r})"
        if kind == "press":
            last = self.last(uid)
            button = value(last)
            if "callback_data" in button:
                query = {"id": f"{uid}-{number}", "from": self._user(uid), "chat_instance": f"ci{uid}",
                         "message": self.fake.message_json(last), "data": button["callback_data"]}  # fmt: skip
                return {"update_id": update_id, "callback_query": query}
            value = button["text"]  # a reply-keyboard button sends its text
        elif callable(value):
            value = value(uid)
        message: dict[str, Any] = {"message_id": number + 1, "date": int(time.time()), "chat": self._chat(uid),
                                   "from": self._user(uid), "text": value}  # fmt: skip
        if value.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(value.split()[0])}]
        return {"update_id": update_id, "message": message}

    async def deliver(self, http: Any, url: str, update: dict[str, Any], gate: asyncio.Semaphore) -> None:
        body = json.dumps(update).encode()
        async with gate:
            started = time.perf_counter()
            for attempt in range(6):
                try:
                    async with http.post(url, data=body, headers=self.headers) as response:
                        await response.read()
                        status = response.status
                except TimeoutError:
                    raise BenchError(f"{self.sent_updates[update['update_id']]}: update {update['update_id']} "
                                     f"not answered in {REQUEST_TIMEOUT:.0f} s") from None  # fmt: skip
                if status == 200:
                    self.last_answer = time.perf_counter()
                    self.latencies.append(self.last_answer - started)
                    return
                if status != 500 or attempt == 5:
                    break
                self.redelivered += 1  # handling failed: Telegram delivers the same update again
        raise BenchError(f"{self.sent_updates[update['update_id']]}: update {update['update_id']} answered {status}")

    async def user(self, http: Any, index: int, gate: asyncio.Semaphore) -> None:
        uid = USER_BASE + index
        for number, (kind, value) in enumerate(self.steps):
            update = self.update(uid, number, kind, value)
            url = self.urls[(index + number) % len(self.urls)] + "/webhook/telegram"
            await self.deliver(http, url, update, gate)
        if any(str(b.get("callback_data", "")).startswith(self.anyway) for row in self.last(uid).buttons for b in row):
            # initiatives like this one were shown: it is a different one, so submit anyway
            update = self.update(uid, len(self.steps), "press", by_data(self.anyway))
            url = self.urls[(index + len(self.steps)) % len(self.urls)] + "/webhook/telegram"
            await self.deliver(http, url, update, gate)
            self.anyway_pressed += 1

    async def run(self) -> float:
        """The seconds from the first delivery to the last one answered (an update the bot never answers does not
        stretch the run by the client's timeout; it is reported instead)."""
        import aiohttp

        for index in range(self.users):
            self.fake.add_chat(self._chat(USER_BASE + index))
        gate = asyncio.Semaphore(self.in_flight)
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            self.started = time.perf_counter()
            results = await asyncio.gather(*(self.user(http, i, gate) for i in range(self.users)),
                                           return_exceptions=True)  # fmt: skip
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                self.failed.append(f"user {USER_BASE + index}: {type(result).__name__}: {result}")
        return self.last_answer - self.started


# -- reading the database afterwards ---------------------------------------------------------------------------
async def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]

        def read() -> list[tuple[Any, ...]]:
            conn = sqlite3.connect(path, timeout=30)
            try:
                return [tuple(row) for row in conn.execute(sql).fetchall()]
            finally:
                conn.close()

        return await asyncio.to_thread(read)
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def check(url: str, load: Load, users: int) -> list[str]:
    """What is wrong in the database after the run (nothing, when every update had exactly one effect)."""
    problems: list[str] = []
    ours = range(USER_BASE, USER_BASE + users)
    members = Counter(dict(await query(url, "SELECT tg_user_id, count(*) FROM member GROUP BY tg_user_id")))
    missing = [uid for uid in ours if members.get(uid, 0) != 1]
    if missing:
        problems.append(f"{len(missing)} users not registered exactly once (e.g. {missing[:3]})")
    rows = await query(url, "SELECT m.tg_user_id, i.status, i.answers FROM initiative i "
                            "JOIN member m ON m.id = i.author_id")  # fmt: skip
    by_user: dict[int, list[tuple[str, str]]] = {}
    for uid, status, answers in rows:
        by_user.setdefault(int(uid), []).append((str(status), str(answers)))
    wrong = [uid for uid in ours if len(by_user.get(uid, [])) != 1 or by_user[uid][0][0] not in SUBMITTED]
    if wrong:
        chat = load.fake.messages.get(wrong[0]) or {}
        last = chat[max(chat)].text[:300] if chat else None
        problems.append(f"{len(wrong)} users without exactly one submitted initiative (e.g. "
                        f"{[(uid, [s for s, _ in by_user.get(uid, [])]) for uid in wrong[:3]]}; the bot's last "
                        f"message to {wrong[0]}: {last!r})")  # fmt: skip
    incomplete = [uid for uid in ours if len(by_user.get(uid, [])) == 1
                  and any(not json.loads(by_user[uid][0][1]).get(k) for k in REQUIRED)]  # fmt: skip
    if incomplete:
        problems.append(f"{len(incomplete)} initiatives without every required answer (e.g. {incomplete[:3]})")
    handled, distinct = (await query(url, "SELECT count(*), count(DISTINCT key) FROM handled_update "
                                          "WHERE source LIKE 'tg:%'"))[0]  # fmt: skip
    if not handled == distinct == len(load.sent_updates):
        problems.append(f"handled_update has {handled} rows ({distinct} distinct) for {len(load.sent_updates)} "
                        "updates sent")  # fmt: skip
    events: dict[int, Counter[str]] = {}
    per_kind = "SELECT m.tg_user_id, e.kind, count(*) FROM event e JOIN member m ON m.id = e.member_id GROUP BY 1, 2"
    for uid, kind, n in await query(url, per_kind):
        events.setdefault(int(uid), Counter())[str(kind)] = int(n)
    logs = Counter(tuple(sorted(events.get(uid, Counter()).items())) for uid in ours)
    if len(logs) > 1:
        usual, _ = logs.most_common(1)[0]
        odd = [uid for uid in ours if tuple(sorted(events.get(uid, Counter()).items())) != usual]
        problems.append(f"{len(odd)} users' event logs differ from the others' {dict(usual)} (e.g. user {odd[0]}: "
                        f"{dict(events.get(odd[0], Counter()))})")  # fmt: skip
    elif logs:
        usual, _ = logs.most_common(1)[0]
        if dict(usual).get("initiative.submitted") != 1:
            problems.append(f"event log per user: {dict(usual)}")
    return problems


async def told_numbers(fake: Any, users: int, timeout: float = 30.0) -> int:
    """How many users were told their initiative's number (the outbox may deliver it just after the run)."""
    deadline = time.monotonic() + timeout
    while True:
        told = sum(
            1
            for uid in range(USER_BASE, USER_BASE + users)
            if any("SK-" in m.text for m in (fake.messages.get(uid) or {}).values())
        )
        if told == users or time.monotonic() > deadline:
            return told
        await asyncio.sleep(0.5)


# -- one configuration -----------------------------------------------------------------------------------------
async def configuration(backend: str, processes: int, users: int, in_flight: int, telegram_pace: bool,
                        keep: bool = False, pool_size: int = 0,
                        echo: Callable[[str], None] = print) -> Run:  # fmt: skip
    from tests.conftest import PG_ADMIN_URL  # also clears the developer's own DATABASE_URL, REDIS_URL, …
    from tests.fake_telegram import FakeTelegram

    run = Run(backend, processes, users)
    workdir = Path(tempfile.mkdtemp(prefix="webhook-load-"))
    admin: Any = None
    redis: Any = None
    name = ""
    fake = FakeTelegram()
    workers: list[Worker] = []
    try:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'sangkien.db'}"
            env_extra: dict[str, str] = {}
        else:
            import asyncpg
            from redis.asyncio import Redis

            admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
            name = f"bench_webhook_{uuid.uuid4().hex[:10]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            url = f"{PG_ADMIN_URL.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
            redis = Redis.from_url(REDIS_URL)
            await redis.flushdb()
            env_extra = {"REDIS_URL": REDIS_URL}
        await fake.start()
        env = {**os.environ, "BOT_TOKEN": fake.token, "TELEGRAM_API_BASE": fake.base_url, "DATABASE_URL": url,
               "PUBLIC_BASE_URL": PUBLIC, "WEBHOOK_SECRET": SECRET, "WEBHOOK_HOST": "127.0.0.1",
               "SANGKIEN_DATA_DIR": str(workdir), "LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT),
               "BENCH_TELEGRAM_PACE": "1" if telegram_pace else "0", "BENCH_POOL_SIZE": str(pool_size),
               **env_extra}  # fmt: skip
        imported = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "units", "import", str(UNITS_CSV), cwd=workdir, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await imported.communicate()
        if imported.returncode != 0:
            raise BenchError(f"sangkien units import failed: {out.decode(errors='replace')}")
        for index in range(processes):  # one after the other: the first applies the migrations
            worker = Worker(workdir, env, index)
            await worker.start(fake)
            workers.append(worker)
        echo(f"  {run.name}: {users} simulated workers, {len(script())} updates each, up to {in_flight} in flight")
        load = Load(fake, [w.url for w in workers], users, in_flight)
        sampler = CpuSampler(workers)
        sampling = asyncio.create_task(sampler.run())
        try:
            run.seconds = await load.run()
        finally:
            sampling.cancel()
        run.cpu = sampler.used(until=load.last_answer)
        run.updates, run.latencies, run.redelivered = len(load.latencies), load.latencies, load.redelivered
        run.failed, run.look_alikes = load.failed, load.anyway_pressed
        run.checks = await check(url, load, users)
        told = await told_numbers(fake, users)
        if told != users:
            run.checks.append(f"{users - told} users were not told their initiative's number")
        for worker in workers:
            await worker.stop()
        if admin is not None:
            row = await admin.fetchrow("SELECT sessions, xact_commit, xact_rollback FROM pg_stat_database "
                                       "WHERE datname = $1", name)  # fmt: skip
            run.database = dict(row) if row is not None else {}
        return run
    finally:
        for worker in workers:
            await worker.stop()
        await fake.stop()
        if redis is not None:
            await redis.flushdb()
            await redis.aclose()
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        if keep:
            echo(f"  working folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# -- the report ------------------------------------------------------------------------------------------------
def table(runs: list[Run]) -> str:
    cores = os.cpu_count() or 1
    lines = [
        "| configuration | updates | seconds | updates/s | p50 ms | p99 ms | CPU: workers | CPU: load + fake API "
        "| CPU: PostgreSQL + Redis | CPU: anything else | checks |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        share = {k: f"{100 * v / (run.seconds * cores):.0f} %" for k, v in run.cpu.items()} if run.seconds else {}
        verdict = "all passed" if run.ok else "FAILED: " + run.verdict()
        lines.append(
            f"| {run.name} | {run.updates:,} | {run.seconds:.1f} | {run.per_second:.0f} | {run.percentile(0.5):.0f} "
            f"| {run.percentile(0.99):.0f} | {share.get('workers', '')} | {share.get('load generator + fake API', '')} "
            f"| {share.get('PostgreSQL + Redis', '')} | {share.get('anything else', '')} | {verdict} |"
        )
    return "\n".join(lines)


def report(run: Run) -> None:
    print(f"  {run.name}: {run.updates} updates in {run.seconds:.1f} s = {run.per_second:.0f} updates/s, "
          f"p50 {run.percentile(0.5):.0f} ms, p99 {run.percentile(0.99):.0f} ms, redelivered {run.redelivered}, "
          f"submitted anyway after look-alikes {run.look_alikes}; "
          "CPU s: " + ", ".join(f"{k} {v:.1f}" for k, v in run.cpu.items())
          + "".join(f", PostgreSQL {k} {v}" for k, v in run.database.items()), flush=True)  # fmt: skip
    for problem in run.failed[:10] + run.checks:
        print(f"    PROBLEM: {problem}", flush=True)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--processes", type=int, default=1, help="worker processes (PostgreSQL + Redis only)")
    parser.add_argument("--all", action="store_true", help="PostgreSQL with 1 and 2 processes, and SQLite with 1")
    parser.add_argument("--workers-sim", type=int, default=1000, help="simulated workers (default 1,000)")
    parser.add_argument("--quick", action="store_true", help="50 simulated workers")
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT,
                        help=f"deliveries in flight at once, at most (default {IN_FLIGHT}, as Telegram)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1, help="run each configuration this often; median shown")
    parser.add_argument(
        "--telegram-pace",
        action="store_true",
        help="keep the bot's per-second pacing (bounds the run at Telegram's ~30 messages/s)",
    )
    parser.add_argument("--experiment-pool-size", type=int, default=0, metavar="N",
                        help="an experiment: the workers keep N PostgreSQL connections open (the bot's engine is "
                        "changed in the worker processes; not a setting the bot offers)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the working folders (database, worker logs)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    users = 50 if args.quick else args.workers_sim
    if args.backend == "sqlite" and args.processes != 1:
        parser.error("SQLite is for one process; several need PostgreSQL and Redis")
    plan = [("postgres", 1), ("postgres", 2), ("sqlite", 1)] if args.all else [(args.backend, args.processes)]
    print(f"{os.cpu_count()} cores; {users} simulated workers; up to {args.in_flight} updates in flight", flush=True)
    results: dict[tuple[str, int], list[Run]] = {}
    for _ in range(args.rounds):
        for backend, processes in plan:
            run = await configuration(backend, processes, users, args.in_flight, args.telegram_pace, args.keep,
                                      args.experiment_pool_size)  # fmt: skip
            report(run)
            results.setdefault((backend, processes), []).append(run)
    shown = [sorted(runs, key=lambda r: r.per_second)[len(runs) // 2] for runs in results.values()]
    print()
    print(table(shown))
    one, two = results.get(("postgres", 1)), results.get(("postgres", 2))
    if one and two:
        speedup = statistics.median(r.per_second for r in two) / statistics.median(r.per_second for r in one)
        print(f"\nspeed-up of 2 processes over 1 on PostgreSQL + Redis: {speedup:.2f}x (goal: at least 1.6x)")
    return 0 if all(run.ok for runs in results.values() for run in runs) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()) if "--serve" not in sys.argv else serve())
