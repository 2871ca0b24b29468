"""Crash loop: simulated workers keep answering while the real ``sangkien run`` process is killed with SIGKILL at
random moments and restarted; afterwards the database is read directly and every answer is accounted for.

The workers follow the form as it is now: registration is /start, the suggested name and the unit; the type
and the field are two taps on one keyboard (the first is ticked by editing the message in place); a long answer is
one message, except a paste Telegram split (a piece of 3,500 characters or more waits for the rest: "before" is
sent as a full piece and a shorter last piece, "solution" every other round as one full piece closed with Done);
after the money the summary offers Submit, and every other round "Add details" (opened in place, no event)
and one optional part are added first. A Submit may first be answered with the initiatives that look like this
one (the workers' texts are alike; nothing is written: counted as "look"), and the worker presses "Submit anyway".
Each effective update writes exactly one event: ``draft.created`` (/new),
``draft.answer`` (a message that is the answer), ``draft.part`` (a piece kept for more), ``draft.choice``,
``draft.done``, ``draft.edit``, ``draft.keep`` (Skip), ``initiative.submitted``.

Definitions (each computed per update the harness sent, from the fake Bot API and the final database):

* acknowledged: the bot confirmed the update, i.e. a later ``getUpdates`` carried ``offset > update_id``
  (recorded by :class:`CrashFake` as the requests arrive). Once confirmed, Telegram never sends it again.
* effect events: the event-log rows (``draft.*`` and ``initiative.submitted``) of the worker, attributed to the
  worker's update whose push time is the latest one before the event's time. Attribution is exact because a
  worker has at most one update outstanding: it sends the next one only after a reply (sent after the commit)
  or, when no reply came, after the bot process that confirmed the update has exited (so nothing can still
  be running for it).
* replied: a new message in the worker's chat, an alert, or (a press) the pressed message edited since the push.
* lost: an acknowledged original answer (not a retype) with no effect event, or whose unique text token is not
  stored anywhere in the worker's initiatives. Originals are always valid for the step the bot last showed,
  so each must have exactly one effect.
* applied twice: an update with two or more effect events (the same update handled twice, e.g. two
  ``draft.part`` rows, or an answer that also landed in the next step), or whose unique token is stored twice;
  also any event attributed to an action that changes nothing (/drafts, Continue, "Add details").
* retype: what a real user does when no reply comes. The worker sends the same answer again (a new message with
  a fresh token) only once the original was acknowledged and the process that acknowledged it has exited, or,
  after the kills stop, when a graceful restart did not bring a reply. A retype is never counted as a double;
  a retype that changed something although its original had already been applied is reported as
  ``redundant retypes`` (the user saw no reply, so retyping was reasonable).
* orphaned: an initiative in ``submitted``/``in_review`` with no ``review_card`` row once the last process has
  run for ``settle_s`` seconds (polled: it stops early as soon as there are none).

Kill moments (per cycle, once the restarted process polls): while fewer than a quarter of the kills so far
followed a Submit and a worker is near the end of its form, the killer lets the process run until a Submit
press is fetched (up to 4 s) and kills 0–6 ms after it, 0–50 ms after it, or 0–6 ms after its card reaches
the support group (a third each; the last aims between the submission's commit and its ``review_card`` row).
Otherwise it waits for the next update the bot fetches and kills 0–6 ms after it (45 %), 0–50 ms after it
(35 %), or 50–1500 ms after it (20 %: the process runs and the workers get further). With no traffic for 6 s
it kills anyway. Times count from the moment the fake hands the update to the bot.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import os
import random
import re
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e import ROOT, BotProcess
from tests.fake_telegram import FakeTelegram, Sent
from tests.flows import BEFORE, SOLUTION, TITLE, vi
from tests.tgclient import TgUser

UNITS_CSV = ROOT / "tests" / "data" / "units.csv"
FIELDS = ("title", "solution_type", "field", "before", "solution", "applied_where", "applied_since",
          "benefit_money", "benefit_social", "authors", "conditions", "confidential", "files")  # fmt: skip
REQUIRED = ("title", "solution_type", "field", "before", "solution", "applied_where", "applied_since",
            "benefit_money")  # fmt: skip
# A long answer is one message; only a paste Telegram split (pieces of 3,500 characters or more) waits for the rest.
# "before" is pasted as a full piece and a shorter last piece (which completes it); "solution", every other round,
# as one full piece closed with Done (a paste that ends exactly on a piece), otherwise as one short message.
PARTS = {"before": 2, "solution": 1}
PASTE_PIECE = 3_500
FILLER = " Áp lực đêm quá cao làm ống vỡ, nước thất thoát và công nhân phải trực sửa chữa suốt ca."
CHOICE_LABELS = {"solution_type": vi("Technical solution"), "field": vi("Production and operation")}
DETAIL = "conditions"  # the optional part added through the summary's "Add details" every other round
DETAIL_LABEL = vi("Conditions needed to apply it") + ":"  # how the preview shows it once filled
ADMIN = 889_001
WORKER_BASE = 889_100
GROUP = {"id": -100_889_000, "type": "supergroup", "title": "Tổ hỗ trợ sáng kiến"}
EFFECT_KINDS = ("initiative.submitted",)  # plus every draft.* kind
ANSWERS = ("new", "text", "part", "choice", "skip", "done", "edit", "submit")  # what counts as an answer
# finding one's place again, or opening the summary's buttons in place ("Add details"): not answers, and no effect
# may come of them (an event attributed to one is reported as applied twice)
SYNC = ("drafts", "resume", "more", "look")  # "look": a Submit answered with the initiatives like this one
RETYPE_GRACE_S = 0.3  # after the process exits, let the fake finish requests already on the wire
FLUSH_AFTER_S = 5.0  # after the kills: no reply this long to a confirmed update -> graceful restart
LOOK_ALIKE = "v1s:s:"  # "Submit anyway", under the initiatives that look like the one being submitted
IN_PLACE = "(edited in place) "  # how a reply that changed the pressed message starts in the detail lines
STUCK_S = 240.0  # an update without any outcome this long is a harness failure, reported with context


class HarnessError(AssertionError):
    pass


class CrashFake(FakeTelegram):
    """The fake Bot API, also recording when each update was pushed, first fetched and first confirmed."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.pushed_at: dict[int, float] = {}
        self.delivered_at: dict[int, float] = {}
        self.acked_at: dict[int, float] = {}
        self._unacked: set[int] = set()
        self.deliveries: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
        self.alerts: dict[str, str] = {}  # callback query id -> text of its answer (when it had one)
        self.cards: asyncio.Queue[float] = asyncio.Queue()  # when each message to the support group arrived

    def push_update(self, update: dict[str, Any]) -> int:
        uid = super().push_update(update)
        self.pushed_at[uid] = time.time()
        self._unacked.add(uid)
        return uid

    async def api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if params.get("offset") is not None:
            offset, now = int(params["offset"]), time.time()
            for uid in [u for u in self._unacked if u < offset]:
                self.acked_at[uid] = now
                self._unacked.discard(uid)
        result = await super().api_getupdates(params)
        now = time.time()
        for update in result:
            if update["update_id"] not in self.delivered_at:
                self.delivered_at[update["update_id"]] = now
                self.deliveries.put_nowait((update["update_id"], now))
        return result

    async def api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = await super().api_sendmessage(params)
        if int(params["chat_id"]) == GROUP["id"]:
            self.cards.put_nowait(time.time())
        return sent

    async def api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        ok = await super().api_answercallbackquery(params)
        if params.get("text"):
            self.alerts[str(params.get("callback_query_id"))] = params["text"]
        return ok


@dataclass
class Action:
    kind: str  # one of ANSWERS or SYNC
    target: str  # the field it answers ("" for /new, "preview" for Submit)
    text: str | None = None  # a message
    message: Sent | None = None  # or a press of ``data`` on ``message``
    data: str | None = None
    base: str = ""  # text without its token (a retype gets a fresh token)
    group: int = 0  # the original and its retypes share a group


@dataclass
class Record:
    uid: int
    worker: int
    action: Action
    retype: bool
    pushed_at: float
    last_id: int  # the newest message in the chat before the push
    qid: str | None
    token: str | None
    replied: bool = False
    reply: str = ""  # the start of what the bot answered (for the detail lines)
    edits: int | None = None  # a press: how often the pressed message had been edited when it was pushed
    effects: list[tuple[str, str]] = field(default_factory=list)  # (kind, field) attributed to this update


@dataclass
class Result:
    backend: str
    kills: int
    acknowledged: int
    lost: int
    doubled: int
    orphaned: int
    seconds: float
    answers_sent: int = 0
    retypes: int = 0
    redundant_retypes: int = 0
    unconfirmed: int = 0
    submissions: int = 0
    incomplete: int = 0
    abandoned_drafts: int = 0
    not_told: int = 0
    duplicate_cards: int = 0
    graceful_restarts: int = 0
    stale_locks_cleared: int = 0
    kill_moments: dict[str, int] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)  # updates sent, by kind (retypes included)
    effects: dict[str, int] = field(default_factory=dict)  # the workers' event-log rows, by kind
    in_place: dict[str, int] = field(default_factory=dict)  # updates answered by editing the pressed message, by kind
    details: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"crash loop ({self.backend}): {self.kills} kills, {self.acknowledged} answers acknowledged, "
            f"{self.lost} lost, {self.doubled} applied twice, {self.orphaned} orphaned submissions, "
            f"{self.seconds:.0f} s"
        )

    def report(self) -> str:
        moments = ", ".join(f"{k} {v}" for k, v in sorted(self.kill_moments.items()))
        extra = (
            f"  answers sent {self.answers_sent} (retypes {self.retypes}, redundant retypes {self.redundant_retypes}), "
            f"never confirmed {self.unconfirmed}; submissions {self.submissions}, incomplete {self.incomplete}, "
            f"abandoned drafts {self.abandoned_drafts}, numbers never told {self.not_told}, "
            f"duplicate card messages {self.duplicate_cards}, graceful restarts {self.graceful_restarts}, "
            f"stale Redis locks cleared after kills {self.stale_locks_cleared}\n"
            f"  kill moments: {moments}\n"
            f"  updates by kind: {', '.join(f'{k} {v}' for k, v in sorted(self.actions.items()))}; "
            f"events by kind: {', '.join(f'{k} {v}' for k, v in sorted(self.effects.items()))}; "
            f"answered in place: {', '.join(f'{k} {v}' for k, v in sorted(self.in_place.items())) or 'none'}"
        )
        shown = "\n".join("  " + d for d in self.details[:40])
        more = f"\n  … {len(self.details) - 40} more" if len(self.details) > 40 else ""
        return self.line() + "\n" + extra + ("\n" + shown + more if shown else "")


def _epoch(value: Any) -> float:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


class Worker:
    def __init__(self, loop: CrashLoop, index: int) -> None:
        self.loop, self.index = loop, index
        self.user = TgUser(loop.fake, loop.setup_deliver, WORKER_BASE + index, first_name=f"Công nhân {index}")
        self.field = ""  # the step of the last prompt seen
        self.alert: str | None = None
        self.rounds = 0
        self.tokens = 0
        self.groups = 0
        self.records: list[Record] = []
        self.finished = False
        self.waiting_since: float | None = None  # a confirmed update without reply, since when
        self.draft_id: int | None = None  # the draft the last form keyboard belonged to
        self.counted: set[str] = set()  # numbers of the submissions already finished
        self.syncs = 0  # consecutive actions spent finding our place (a harness guard)

    # -- choosing the next action from what the bot last showed --------------------------------------------
    def _current_number(self) -> str | None:
        return None if self.draft_id is None else f"SK-{self.draft_id:06d}"

    def _stray(self, m: Sent) -> bool:
        """A message about a submission other than the one in hand (e.g. a notice sent late after a restart); the
        list of initiatives like the one in hand names others, but is about this one."""
        if self.draft_id is not None and self._button(m, f"{LOOK_ALIKE}{self.draft_id}:") is not None:
            return False
        found = re.search(r"SK-\d+", m.text)
        return found is not None and (found[0] in self.counted or found[0] != self._current_number())

    def _messages_after(self, last_id: int) -> list[Sent]:
        chat = self.loop.fake.messages.get(self.user.chat_id) or {}
        return [chat[i] for i in sorted(chat) if i > last_id and not self._stray(chat[i])]

    def _last(self) -> Sent | None:
        chat = self.loop.fake.messages.get(self.user.chat_id) or {}
        for i in sorted(chat, reverse=True):
            if not self._stray(chat[i]):
                return chat[i]
        return None

    @staticmethod
    def _button(message: Sent, prefix: str, label: str | None = None) -> str | None:
        for row in message.buttons:
            for b in row:
                data = b.get("callback_data", "")
                if data.startswith(prefix) and (label is None or b["text"] == label or b["text"].endswith(label)):
                    return str(data)
        return None

    def _round_done(self) -> Action | None:
        number = self._current_number()
        if number is not None:
            self.counted.add(number)
        self.draft_id = None
        self.rounds += 1
        return Action("new", "", text="/new") if self.loop.chaos else None

    def _press(self, kind: str, target: str, message: Sent, data: str | None) -> Action:
        if data is None:  # the keyboard is not what we expect: find our place again
            return Action("drafts", "", text="/drafts")
        return Action(kind, target, message=message, data=data)

    def decide(self) -> Action | None:
        action = self._decide()
        self.syncs = self.syncs + 1 if action is not None and action.kind in SYNC else 0
        if self.syncs > 12:
            last = self._last()
            raise HarnessError(f"worker {self.index} cannot find its place: {last.text if last else None!r}")
        return action

    def _decide(self) -> Action | None:
        if self.alert is not None:
            alert, self.alert = self.alert, None
            found = re.search(r"SK-\d+", alert)
            if found is not None and found[0] == self._current_number() and found[0] not in self.counted:
                return self._round_done()
            return Action("drafts", "", text="/drafts")  # "out of date": ask where the draft stands
        m = self._last()
        if m is None:
            return Action("new", "", text="/new")
        for row in m.buttons:
            for b in row:
                if (found := re.match(r"v1f:\w+:(\d+):", b.get("callback_data", ""))) is not None:
                    self.draft_id = int(found[1])
        if (data := self._button(m, LOOK_ALIKE)) is not None:  # initiatives like this one: submit anyway
            return self._press("submit", "anyway", m, data)
        if (data := self._button(m, "v1f:s:")) is not None:  # the summary (or a preview's keyboard)
            if self._wants_detail() and DETAIL_LABEL not in m.text:
                detail = self._button(m, f"v1f:e:{self.draft_id}:-1:{FIELDS.index(DETAIL)}")
                if detail is not None:  # its ➕, once "Add details" (or "Edit") opened the buttons
                    return self._press("edit", DETAIL, m, detail)
                more = self._button(m, f"v1f:m:{self.draft_id}:-1:1")  # ➕ Add details: opens them in place
                if more is not None:
                    return Action("more", "preview", message=m, data=more)
            return self._press("submit", "preview", m, data)
        if not m.buttons and ("SK-" in m.text or "đã được gửi duyệt rồi" in m.text):
            return self._round_done()
        step = re.search(r"Bước (\d+)/\d+", m.text)
        if (pick := self._choice_to_pick(m)) is not None:  # type and field: two taps on one keyboard
            self.field, data = pick
            return self._press("choice", self.field, m, data)
        if step is not None:
            self.field = FIELDS[int(step[1]) - 1]
        if found := re.search(r"Đã nhận (\d+) phần", m.text):
            if self.field in PARTS and int(found[1]) < PARTS[self.field]:
                return self._text_action("part", self.field, int(found[1]))
            return self._press("done", self.field, m, self._button(m, "v1f:d:"))
        if step is not None:
            f = self.field
            if f in CHOICE_LABELS:  # both already picked (a keyboard shown again): pick again, move on
                return self._press("choice", f, m, self._button(m, "v1f:o:", CHOICE_LABELS[f]))
            if f == "before" or (f == "solution" and self.rounds % 2 == 0):
                return self._text_action("part", f, 0)  # a paste: its first piece
            if f in ("title", "solution", "applied_where", "applied_since", "benefit_money", DETAIL):
                return self._text_action("text", f, 0)
            if f == "files":
                return self._press("done", f, m, self._button(m, "v1f:d:"))
            return self._press("skip", f, m, self._button(m, "v1f:k:"))  # another optional step: Skip (or Keep)
        if (data := self._button(m, "v1d:r:")) is not None:
            return Action("resume", "", message=m, data=data)
        if ("/new" in m.text and "/drafts" not in m.text) or "chưa có bản nháp" in m.text:
            return Action("new", "", text="/new")  # registered, or no draft open
        return Action("drafts", "", text="/drafts")

    def _wants_detail(self) -> bool:
        return self.rounds % 2 == 1

    def _choice_to_pick(self, m: Sent) -> tuple[str, str] | None:
        """On a keyboard of choices, the first field none of whose options is ticked yet, and its option to tap."""
        options: dict[int, list[dict[str, Any]]] = {}
        for row in m.buttons:
            for b in row:
                if (found := re.match(r"v1f:o:\d+:(\d+):", b.get("callback_data", ""))) is not None:
                    options.setdefault(int(found[1]), []).append(b)
        for index in sorted(options):
            if not any(b["text"].startswith("✓ ") for b in options[index]):
                label = CHOICE_LABELS[FIELDS[index]]
                data = next((b["callback_data"] for b in options[index] if b["text"] == label), None)
                return (FIELDS[index], data) if data is not None else None
        return None

    @staticmethod
    def _text_action(kind: str, target: str, part: int) -> Action:
        def paste(text: str) -> str:  # one full piece of a split paste: at least PASTE_PIECE characters
            return (text + FILLER * (PASTE_PIECE // len(FILLER) + 1))[: PASTE_PIECE + 100]

        base = {
            "title": TITLE,
            "applied_where": "Trạm bơm số 2, Công ty CP Cấp nước Lạng Sơn",
            "applied_since": "15/03/2022",
            "benefit_money": "14 triệu/năm",
            "before": paste(BEFORE) if part == 0 else "Phần cuối của hiện trạng: áp lực đêm quá cao.",
            "solution": paste(SOLUTION) if kind == "part" else SOLUTION,
            DETAIL: "Một biến tần 15 kW và một ngày đào tạo.",
        }[target]
        return Action(kind, target, base=base)

    # -- sending and waiting ---------------------------------------------------------------------------------
    async def send(self, action: Action, retype: bool) -> Record:
        token = None
        if action.base:
            tokened = action.target not in ("applied_since", "benefit_money")  # parsed values carry no token
            token = f"[w{self.index}t{self.tokens}]" if tokened else None
            self.tokens += 1
            action.text = f"{action.base} {token}" if token else action.base
        last_id = self.user._last_id()
        self.loop.staged = (self, action, retype, last_id)
        edits = None
        if action.message is not None:
            assert action.data is not None
            edits = action.message.edits
            await self.user.press(action.message, action.data, expect=0)
        else:
            assert action.text is not None
            await self.user.send(action.text, expect=0)
        record = self.records[-1]
        record.token, record.edits = token, edits
        return record

    def _edited(self, record: Record) -> Sent | None:
        """The pressed message, when the bot has changed it in place since the press (a first pick on a keyboard
        of two choices, "Add details")."""
        m = record.action.message
        if m is None or record.edits is None or m.edits <= record.edits or self._stray(m):
            return None
        return m

    def replied(self, record: Record) -> bool:
        if self._messages_after(record.last_id) or self._edited(record) is not None:
            return True
        return record.qid is not None and record.qid in self.loop.fake.alerts

    async def outcome(self, record: Record) -> bool:
        """True when a reply came; False when the user should retype."""
        fake, started = self.loop.fake, time.time()
        while True:
            if self.replied(record):
                await asyncio.sleep(0.05)  # a reply may be several messages (the preview)
                record.replied = True
                if record.qid is not None and record.qid in fake.alerts:
                    self.alert = fake.alerts[record.qid]
                replies = self._messages_after(record.last_id)
                edited = self._edited(record)
                shown = replies[0].text if replies else (IN_PLACE + edited.text if edited else "")
                record.reply = (self.alert or shown)[:70].replace("\n", " ")
                if record.action.kind == "submit" and any(self._button(m, LOOK_ALIKE) for m in replies):
                    record.action = replace(record.action, kind="look")  # nothing submitted yet: the list first
                self.waiting_since = None
                return True
            acked = fake.acked_at.get(record.uid)
            if acked is not None:
                exited = self.loop.exit_after(acked)
                if exited is not None and time.time() - exited >= RETYPE_GRACE_S and not self.replied(record):
                    self.waiting_since = None
                    return False
                if self.waiting_since is None:
                    self.waiting_since = time.time()
            if time.time() - started > STUCK_S:
                raise HarnessError(
                    f"worker {self.index}: no outcome for update {record.uid} ({record.action.kind} "
                    f"{record.action.target}) after {STUCK_S:.0f} s; confirmed: {acked is not None}; "
                    f"last message: {self._last().text if self._last() else None!r}\n" + self.loop.bot.log()[-3000:]
                )
            with contextlib.suppress(TimeoutError):
                await fake.wait_for(lambda: self.replied(record), timeout=0.25)

    async def run(self) -> None:
        action: Action | None = None
        retype = False
        while True:
            if retype and action is not None:
                action = Action(action.kind, action.target, text=None if action.base else action.text,
                                message=action.message, data=action.data, base=action.base,
                                group=action.group)  # fmt: skip
            else:
                action = self.decide()
                if action is None:
                    self.finished = True
                    return
                self.groups += 1
                action.group = self.groups
            record = await self.send(action, retype)
            retype = not await self.outcome(record)


class CrashLoop:
    def __init__(self, workdir: Path, database_url: str, *, backend: str, kills: int, workers: int = 4,
                 seed: int | None = None, redis_url: str | None = None, settle_s: float = 45.0,
                 clear_stale_locks: bool = False, echo: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self.workdir, self.database_url, self.backend = workdir, database_url, backend
        self.kills_wanted, self.n_workers, self.redis_url = kills, workers, redis_url
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.settle_s = settle_s
        self.echo = echo or (lambda _line: None)
        self.fake = CrashFake()
        self.exits: list[float] = []
        self.chaos = False
        self.staged: tuple[Worker, Action, bool, int] | None = None
        self.records: dict[int, Record] = {}
        self.kill_moments: Counter[str] = Counter()
        self.kills = 0
        self.graceful = 0
        self.clear_locks, self.stale_locks = clear_stale_locks, 0

    # -- plumbing ----------------------------------------------------------------------------------------------
    def exit_after(self, when: float) -> float | None:
        i = bisect.bisect_left(self.exits, when)
        return self.exits[i] if i < len(self.exits) else None

    async def setup_deliver(self, update: dict[str, Any], user: TgUser, expect: int) -> None:
        if self.staged is None:  # registration and binding: wait for the replies, no kills yet
            await self.bot.deliver(update, user, expect)
            return
        worker, action, retype, last_id = self.staged
        self.staged = None
        qid = str(update["callback_query"]["id"]) if "callback_query" in update else None
        uid = self.fake.push_update(update)
        record = Record(uid, worker.index, action, retype, self.fake.pushed_at[uid], last_id, qid, None)
        worker.records.append(record)
        self.records[uid] = record

    async def _cli(self, *args: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args, cwd=self.workdir, env=self.bot.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise HarnessError(f"sangkien {' '.join(args)} failed: {out.decode(errors='replace')}")

    async def _register(self, user: TgUser, unit_query: str) -> None:
        """/start (the greeting, then the name: the language is the Telegram app's), the suggested name, a search
        for the unit and its button; registered then (the phone is optional, in /profile)."""
        await user.send("/start", expect=2)
        await user.click(user.last.button_texts()[0])
        await user.send(unit_query)
        replies = await user.click(user.last.button_texts()[0])
        if not replies or "/new" not in replies[-1].text:
            raise HarnessError(f"registration did not end: {[m.text for m in replies]!r}")

    async def _setup(self) -> list[Worker]:
        env = {"DATABASE_URL": self.database_url, "ADMIN_IDS": str(ADMIN), "LOG_LEVEL": "INFO"}
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        self.bot = BotProcess(self.fake, self.workdir, env)
        await self._cli("units", "import", str(UNITS_CSV))
        await self.bot.start()
        admin = TgUser(self.fake, self.setup_deliver, ADMIN, first_name="Quản trị")
        await self._register(admin, "tỉnh lạng sơn")
        self.fake.admins[GROUP["id"]] = {ADMIN}
        replies = await admin.in_group(GROUP).send("/bind LS-NUOC")
        if "LS-NUOC" not in replies[-1].text and "Cấp nước" not in replies[-1].text:
            raise HarnessError(f"binding the support group failed: {replies[-1].text!r}")
        workers = [Worker(self, i) for i in range(self.n_workers)]
        for worker in workers:
            await self._register(worker.user, "cấp nước")
        return workers

    # -- the killer --------------------------------------------------------------------------------------------
    async def _next_delivery(self, since: float, timeout: float) -> Record | None:
        deadline = time.time() + timeout
        while (left := deadline - time.time()) > 0:
            try:
                uid, at = await asyncio.wait_for(self.fake.deliveries.get(), left)
            except TimeoutError:
                return None
            if at >= since and uid in self.records:
                return self.records[uid]
        return None

    @staticmethod
    def _near_submit(workers: list[Worker]) -> bool:
        late = ("applied_since", "benefit_money", DETAIL)
        for w in workers:
            m = w._last()
            if not w.finished and (w.field in late or (m is not None and w._button(m, "v1f:s:"))):
                return True
        return False

    async def _kill_cycle(self, workers: list[Worker], started: float) -> None:
        after_submit = sum(n for m, n in self.kill_moments.items() if "Submit" in m and "no Submit" not in m)
        want_submit = after_submit < 0.25 * (self.kills + 1)
        if want_submit and self._near_submit(workers):  # let it run until a Submit press arrives
            trigger, deadline = None, time.time() + 4.0
            while (left := deadline - time.time()) > 0:
                trigger = await self._next_delivery(started, left)
                if trigger is None or trigger.action.kind == "submit":
                    break
            if trigger is None or trigger.action.kind != "submit":
                trigger = None
                moment, delay = "running, no Submit came in 4 s", 0.0
        else:
            trigger = await self._next_delivery(started, 6.0)
            if trigger is None:
                moment, delay = "idle 6 s", 0.0
        if trigger is None:
            pass
        elif trigger.action.kind == "submit":  # half in the first milliseconds, half a little later
            r = self.rng.random()
            if r < 1 / 3:
                moment, delay = "0-6 ms after Submit", self.rng.uniform(0, 0.006)
            elif r < 2 / 3:
                moment, delay = "0-50 ms after Submit", self.rng.uniform(0, 0.05)
            else:  # 0-6 ms after the card reaches the group: between the submission and its review_card row
                while not self.fake.cards.empty():
                    self.fake.cards.get_nowait()
                try:
                    card_at = await asyncio.wait_for(self.fake.cards.get(), 2.0)
                    moment, delay = "0-6 ms after Submit's card is sent", self.rng.uniform(0, 0.006)
                    delay = max(0.0, card_at + delay - time.time())
                except TimeoutError:
                    moment, delay = "after Submit, no card within 2 s", 0.0
                trigger = None  # the delay is already relative to the card (or zero)
        else:
            r = self.rng.random()
            if r < 0.45:
                moment, delay = "0-6 ms after an answer", self.rng.uniform(0, 0.006)
            elif r < 0.8:
                moment, delay = "0-50 ms after an answer", self.rng.uniform(0, 0.05)
            else:
                moment, delay = "running 50-1500 ms", self.rng.uniform(0.05, 1.5)
        if trigger is not None:
            delay = max(0.0, self.fake.delivered_at[trigger.uid] + delay - time.time())
        await asyncio.sleep(delay)
        await self.bot.kill9()
        self.exits.append(time.time())
        self.kills += 1
        self.kill_moments[moment] += 1
        await self._clear_stale_locks()

    async def _clear_stale_locks(self) -> None:
        """With Redis, a process killed while handling a user's update leaves that user's event-isolation lock
        behind until it lapses (5 s with the bot's own isolation; aiogram's default was 60 s). Only on request
        (to measure without the lapse) are they deleted here, and counted."""
        if not self.redis_url or not self.clear_locks:
            return
        from redis.asyncio import Redis

        client = Redis.from_url(self.redis_url)
        try:
            keys = [key async for key in client.scan_iter(match="*:lock")]
            if keys:
                await client.delete(*keys)
            self.stale_locks += len(keys)
        finally:
            await client.aclose()

    async def _conduct(self, workers: list[Worker]) -> None:
        started = time.time()
        while self.kills < self.kills_wanted:
            await self._kill_cycle(workers, started)
            if self.kills % 10 == 0:
                self.echo(f"  {self.kills} kills, {sum(w.rounds for w in workers)} submissions so far")
            started = time.time()  # what the new process fetches counts, including its first batch
            await self.bot.start()
        self.chaos = False  # workers finish their current initiative; no new ones
        last_start = time.time()
        while not all(w.finished for w in workers):
            waiting = [w.waiting_since for w in workers if not w.finished and w.waiting_since is not None]
            if waiting and time.time() - min(waiting) > FLUSH_AFTER_S and time.time() - last_start > FLUSH_AFTER_S:
                await self._graceful_restart()
                last_start = time.time()
            await asyncio.sleep(0.2)

    async def _graceful_restart(self) -> None:
        try:
            await self.bot.terminate(timeout=40)
        except TimeoutError:
            await self.bot.kill9()
        self.exits.append(time.time())
        self.graceful += 1
        await self.bot.start()

    # -- the run -----------------------------------------------------------------------------------------------
    async def run(self) -> Result:
        began = time.time()
        await self.fake.start()
        try:
            workers = await self._setup()
            self.echo(f"crash loop ({self.backend}): seed {self.seed}, {self.n_workers} workers, "
                      f"{self.kills_wanted} kills")  # fmt: skip
            self.chaos = True
            tasks = [asyncio.create_task(w.run(), name=f"worker-{w.index}") for w in workers]
            conductor = asyncio.create_task(self._conduct(workers))
            done, _ = await asyncio.wait([conductor, *tasks], return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    for other in [conductor, *tasks]:
                        other.cancel()
                    raise task.exception()  # type: ignore[misc]
            await conductor
            orphaned = await self._settle()
            result = await self._account(workers, orphaned, time.time() - began)
        finally:
            bot = getattr(self, "bot", None)
            if bot is not None and bot.proc is not None and bot.proc.returncode is None:
                await bot.kill9()
            await self.fake.stop()
        return result

    async def _settle(self) -> int:
        """Let the last process run until no submission lacks its card, or ``settle_s`` has passed."""
        deadline = time.time() + self.settle_s
        while True:
            orphans = await self._orphans()
            if not orphans or time.time() > deadline:
                return len(orphans)
            await asyncio.sleep(0.5)

    # -- reading the database ----------------------------------------------------------------------------------
    async def _query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.database_url.startswith("sqlite"):
            path = self.database_url.split("///", 1)[1]
            conn = sqlite3.connect(path, timeout=30)
            try:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
            finally:
                conn.close()
        import asyncpg

        conn = await asyncpg.connect(self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    async def _orphans(self) -> list[tuple[Any, ...]]:
        return await self._query(
            "SELECT i.id, i.number FROM initiative i WHERE i.status IN ('submitted', 'in_review') "
            "AND NOT EXISTS (SELECT 1 FROM review_card c WHERE c.initiative_id = i.id)"
        )

    async def _account(self, workers: list[Worker], orphaned: int, seconds: float) -> Result:
        by_tg = {w.user.id: w for w in workers}
        events = await self._query(
            "SELECT e.at, e.kind, e.detail, m.tg_user_id FROM event e JOIN member m ON m.id = e.member_id "
            "WHERE e.kind LIKE 'draft.%' OR e.kind = 'initiative.submitted' ORDER BY e.id"
        )
        initiatives = await self._query(
            "SELECT i.id, m.tg_user_id, i.status, i.number, i.answers, i.pending FROM initiative i "
            "JOIN member m ON m.id = i.author_id"
        )
        cards = dict(await self._query("SELECT initiative_id, count(*) FROM review_card GROUP BY initiative_id"))
        res = Result(self.backend, self.kills, 0, 0, 0, orphaned, seconds, graceful_restarts=self.graceful,
                     stale_locks_cleared=self.stale_locks, kill_moments=dict(self.kill_moments))  # fmt: skip
        stored: dict[int, str] = {}  # worker index -> everything stored for it (answers and pending parts)
        for _iid, tg, _status, _number, answers, pending in initiatives:
            if tg in by_tg:
                stored[by_tg[tg].index] = stored.get(by_tg[tg].index, "") + str(answers) + str(pending)
        for worker in workers:
            times = [r.pushed_at for r in worker.records]
            mine = [(_epoch(at), kind, json.loads(detail or "{}").get("field", "")) for at, kind, detail, tg in events
                    if tg == worker.user.id]  # fmt: skip
            for at, kind, detail, tg in events:
                if tg != worker.user.id:
                    continue
                res.effects[kind] = res.effects.get(kind, 0) + 1
                i = bisect.bisect_right(times, _epoch(at)) - 1
                if i >= 0:
                    worker.records[i].effects.append((kind, json.loads(detail or "{}").get("field", "")))
            effects_by_group: Counter[int] = Counter()
            for r in worker.records:
                effects_by_group[r.action.group] += len(r.effects)
            for r in worker.records:
                res.actions[r.action.kind] = res.actions.get(r.action.kind, 0) + 1
                if r.reply.startswith(IN_PLACE):
                    res.in_place[r.action.kind] = res.in_place.get(r.action.kind, 0) + 1
                if r.action.kind in SYNC:
                    if r.effects:  # finding one's place or opening buttons changed the draft
                        res.doubled += 1
                        res.details.append(f"APPLIED TWICE: worker {worker.index} update {r.uid} {r.action.kind}: "
                                           f"events {r.effects} for an action that changes nothing")  # fmt: skip
                    continue
                res.answers_sent += 1
                res.retypes += r.retype
                acked = r.uid in self.fake.acked_at
                res.acknowledged += acked
                res.unconfirmed += not acked
                where = f"worker {worker.index} update {r.uid} {r.action.kind} {r.action.target or '/new'}"
                seen = stored.get(worker.index, "").count(r.token) if r.token else None
                if (len(r.effects) >= 2) or (seen is not None and seen >= 2):
                    res.doubled += 1
                    res.details.append(f"APPLIED TWICE: {where}: events {r.effects}, token stored {seen}x")
                elif not r.retype and acked and (not r.effects or seen == 0):
                    res.lost += 1
                    res.details.append(
                        f"LOST: {where} (confirmed {self.fake.acked_at[r.uid] - r.pushed_at:+.3f} s after the push"
                        f"{self._kill_note(self.fake.acked_at[r.uid])}): events {r.effects}, token stored {seen}x"
                        + (f", reply {r.reply!r}" if r.replied else ", no reply")
                        + self._lost_context(worker, r, mine)
                    )
                elif r.retype and r.effects and effects_by_group[r.action.group] > len(r.effects):
                    res.redundant_retypes += 1
        for iid, tg, status, number, answers, _pending in initiatives:
            if tg not in by_tg:
                continue
            worker = by_tg[tg]
            if status in ("submitted", "in_review"):
                res.submissions += 1
                values = json.loads(answers)
                if any(not values.get(k) for k in REQUIRED):
                    res.incomplete += 1
                    res.details.append(f"INCOMPLETE: initiative {iid} of worker {worker.index}: {values}")
                told = any(number in m.text for m in worker.user.history) or any(
                    number in t for t in self.fake.alerts.values()
                )
                res.not_told += not told
                res.duplicate_cards += max(0, cards.get(iid, 0) - 1)
            elif status == "draft":
                res.abandoned_drafts += 1
        rounds = sum(w.rounds for w in workers)
        if rounds != res.submissions:
            res.incomplete += abs(rounds - res.submissions)
            res.details.append(f"INCOMPLETE: workers finished {rounds} rounds, the database has "
                               f"{res.submissions} submissions")  # fmt: skip
        group_cards = Counter(
            m.text.split(" ", 1)[0] for m in self.fake.in_chat(GROUP["id"]) if m.text.startswith("SK-")
        )
        res.duplicate_cards += sum(n - 1 for n in group_cards.values() if n > 1)
        for iid, number in await self._orphans():
            res.details.append(f"ORPHANED: initiative {iid} {number}: submitted, no review card")
        return res

    def _lost_context(self, worker: Worker, lost: Record, events: list[tuple[float, str, str]]) -> str:
        """What is needed to tell why an update was lost: the worker's updates and events around it (times from
        its push), the kills and restarts then, and what the bot logged about it."""
        t0, at = lost.pushed_at, worker.records.index(lost)
        lines = []
        for r in worker.records[max(0, at - 3) : at + 3]:
            acked = self.fake.acked_at.get(r.uid)
            lines.append(f"    update {r.uid} {r.action.kind} {r.action.target} retype={r.retype} pushed "
                         f"{r.pushed_at - t0:+.3f} confirmed {'-' if acked is None else f'{acked - t0:+.3f}'} "
                         f"effects {r.effects} reply {r.reply[:40]!r}")  # fmt: skip
        lines += [f"    event {when - t0:+.3f} {kind} {name}" for when, kind, name in events if -10 < when - t0 < 20]
        lines += [f"    process ended {ended - t0:+.3f}" for ended in self.exits if -10 < ended - t0 < 20]
        lines += [f"    log: {line}" for line in self.bot.log().splitlines() if f"update {lost.uid} " in line
                  or f":{lost.uid} " in line]  # fmt: skip
        return "\n" + "\n".join(lines)

    def _kill_note(self, acked: float) -> str:
        exited = self.exit_after(acked)
        return "" if exited is None else f", process ended {exited - acked:.3f} s after confirming"


def scale_kills() -> int:
    return 200 if os.environ.get("RELIABILITY_SCALE", "").lower() == "full" else 8
