"""Replays and races (reliability issue): every update delivered twice; every button pressed twice, by two people
at once, and again after the item changed; forged ids and rounds. Nothing may be applied twice or out of date.

1. The worker's whole path (registration, every form step with Back, Keep, pieces, files, an edit from the
   preview, Submit) with every update delivered twice, one after the other and at the same moment, stores and
   shows exactly what a single delivery does.
2. Each review button (Take, Confirm, Request changes + reason, Reject + reason) pressed twice by one member, by
   two members at once, or delivered twice: one transition, one notice to the author.
3. Every button pressed again after the item was confirmed, returned or resubmitted changes nothing and says why.
4. Forged callback data on a card and on the form changes nothing, gets a clear answer, logs no error.
5. 1 and 2 run on SQLite and on PostgreSQL + Redis (which skip without the services, and fail under CI=true).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.roles import SUPPORT
from storage.writer import Stmt
from tests.conftest import App, build_app, close_app, make_settings, register
from tests.fake_telegram import FakeTelegram, Sent
from tests.flows import BEFORE, SOLUTION, TITLE
from tests.reliability.replays import (
    PREVIEW,
    Walker,
    answers_to,
    chat_transcript,
    diff,
    find,
    fingerprint,
    initiative_row,
    messages_fingerprint,
    press,
    replaying,
    rows,
    scalar,
    settle,
    stored_work,
)
from tests.test_review import GROUP, Team, give, team
from tests.tgclient import TgUser

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(300)]

ACTIONS = {"take": "t", "confirm": "c", "changes": "r", "reject": "x"}  # the card's decision buttons
VERDICTS = {"confirmed": "confirmed", "changes_requested": "returned for changes", "rejected": "rejected"}
MINIMAL = {
    "title": TITLE,
    "solution_type": "technical",
    "field": "production",
    "before": [BEFORE],
    "solution": [SOLUTION],
    "applied_where": "Trạm bơm số 2, Công ty CP Cấp nước Lạng Sơn",
    "applied_since": "15/03/2022",
    "benefit_money": "14 triệu/năm",
    "benefit_social": None,
    "authors": None,
    "conditions": None,
    "confidential": None,
    "files": None,
}
EVERYTHING = {
    **MINIMAL,
    "before": [BEFORE, "Mỗi tháng vỡ ống hai lần."],  # in two pieces
    "benefit_social": ["Công nhân không phải trèo lên bể để vệ sinh."],
    "authors": "Nguyễn Văn An – 60%\nTrần Thị Bình – 40%",
    "conditions": ["Một biến tần 15 kW và một ngày tập huấn."],
    "files": ["photo", "document"],
}


def vi(app: App, msgid: str, **params: Any) -> str:
    """The Vietnamese text the bot shows for ``msgid`` (from its own catalog, so a reworded translation is
    followed; an untranslated one fails)."""
    text = str(app.dp["i18n"].gettext(msgid, locale="vi"))
    assert text != msgid or not any(c.isalpha() for c in msgid), f"{msgid!r} has no Vietnamese translation"
    return text.format(**params) if params else text


def stale(app: App) -> str:
    return vi(app, "This button is out of date.")


def decided_prefix(app: App, status: str, name: str) -> str:
    """'Đã xử lý: <verdict> bởi <name>, ' — the alert of who decided, up to the time."""
    template = vi(app, "Already decided: {verdict} by {name}, {when}.")
    return template.split("{when}")[0].format(verdict=vi(app, VERDICTS[status]), name=name)


async def full_name(app: App, user: TgUser) -> str:
    return str(await scalar(app, "SELECT full_name FROM member WHERE tg_user_id = :t", t=user.id))


# -- the two backends ---------------------------------------------------------------------------------------
BACKENDS = ["sqlite", "postgresql+redis"]


@pytest.fixture(params=BACKENDS)
def backend_urls(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """(database URL, Redis URL): a copy of the migrated SQLite template, or a fresh PostgreSQL database and
    Redis (these fixtures skip without the services, and fail under CI=true)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{request.getfixturevalue('db_path')}", None
    return request.getfixturevalue("pg_url"), request.getfixturevalue("redis_url")


@pytest.fixture
async def any_app(backend_urls: tuple[str, str | None], fake: FakeTelegram) -> AsyncIterator[App]:
    db_url, redis_url = backend_urls
    extra = {"redis_url": redis_url} if redis_url else {}
    application = await build_app(fake, make_settings(db_url, fake, **extra), units=not db_url.startswith("sqlite"))
    # Telegram ids of our own, so per-user keys in a Redis shared with other test runs do not meet theirs
    application._users = random.randrange(1, 10_000) * 1000
    yield application
    await close_app(application)


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


# -- 1. the whole worker path, every update delivered twice ---------------------------------------------------
async def whole_path(app: App, user: TgUser) -> None:
    """Registration, every step of the form with Back and Keep on the way, pieces, files, an edit from the
    preview, and Submit."""
    await register(user)
    walker = Walker(app, user)
    await walker.fill(EVERYTHING, detour=True)
    await walker.edit("benefit_money", "1,2 triệu/tháng")
    await walker.submit()


@pytest.mark.parametrize("mode", ["one-after-another", "at-once"])
async def test_whole_worker_path_with_every_update_delivered_twice(
    any_app: App, mode: str, quiet: pytest.LogCaptureFixture
) -> None:
    app = any_app
    crew = await team(app, supports=1)

    single = app.user(first_name="An", last_name="Nguyễn Văn")
    await whole_path(app, single)
    await settle(app)
    # the second walk files the very same initiative: out of the duplicate search, so that both see the same screens
    await app.db.write(Stmt("DELETE FROM similar_doc"))
    twice = replaying(app.user(first_name="An", last_name="Nguyễn Văn"), app, mode)
    await whole_path(app, twice)
    await settle(app)

    expected, got = await stored_work(app, single.id), await stored_work(app, twice.id)
    assert len(expected["initiatives"]) == 1 and expected["initiatives"][0]["status"] == "submitted"
    done = expected["initiatives"][0]["answers"]
    assert done["authors"][1]["share"] == 40 and len(done["files"]) == 2, done  # the path did what it says
    problems = {k: (expected[k], got[k]) for k in ("member", "member events") if expected[k] != got[k]}
    assert len(got["initiatives"]) == 1, f"{len(got['initiatives'])} initiatives stored: {got['initiatives']}"
    mine, theirs = expected["initiatives"][0], got["initiatives"][0]
    problems.update({f"initiative {k}": (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]})
    assert not problems, f"delivered twice ({mode}), the stored work differs from a single delivery: {problems}"
    iid = got["ids"][0]
    assert theirs["events"]["initiative.submitted"] == 1 and theirs["cards"] == 1

    shown_once, shown_twice = chat_transcript(app, single.chat_id), chat_transcript(app, twice.chat_id)
    assert len(shown_twice) == len(shown_once), (
        f"{len(shown_twice)} bot messages in the chat of the twice-delivered worker, {len(shown_once)} for one "
        f"delivery; first difference: {first_difference(shown_once, shown_twice)}"
    )
    assert shown_twice == shown_once, first_difference(shown_once, shown_twice)
    number = await scalar(app, "SELECT number FROM initiative WHERE id = :i", i=iid)
    in_group = [m for m in crew.in_group(crew.support[0]).history if number in m.text]
    assert len(in_group) == 1, [m.text[:80] for m in in_group]
    answered = [a["callback_query_id"] for a in app.fake.callback_answers]
    assert len(answered) == len(set(answered)), "a callback query was answered twice"
    assert not errors_logged(quiet) and not app.fake.errors, (errors_logged(quiet), app.fake.errors)
    assert twice.deliver.updates > 20, "the harness did not walk the whole path"


def first_difference(a: list[Any], b: list[Any]) -> str:
    for n, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"message {n + 1}: once {x!r} / twice {y!r}"
    return f"lengths {len(a)} / {len(b)}; extra: {(a if len(a) > len(b) else b)[min(len(a), len(b)) :][:3]!r}"


# -- 2. each review button pressed twice ----------------------------------------------------------------------
PATTERNS = ["same-member-one-after-another", "same-member-at-once", "two-members-at-once", "same-update-twice"]
KINDS = {
    "take": "review.taken",
    "confirm": "review.confirmed",
    "changes": "review.changes_requested",
    "reject": "review.rejected",
}
STATUS = {"take": "in_review", "confirm": "confirmed", "changes": "changes_requested", "reject": "rejected"}


def card_in_group(app: App) -> Sent:
    """The newest review card in the support group."""
    return next(
        m
        for m in reversed(app.fake.in_chat(GROUP["id"]))
        if any(str(b.get("callback_data", "")).startswith("v2r:") for row in m.buttons for b in row)
    )


def card_button(card: Sent, action: str) -> str:
    found = find_on(card, f"v2r:{ACTIONS.get(action, action)}:")
    assert found is not None, f"no {action} button on the card: {card.buttons}"
    return found


def find_on(message: Sent, prefix: str) -> str | None:
    for row in message.buttons:
        for b in row:
            if str(b.get("callback_data", "")).startswith(prefix):
                return str(b["callback_data"])
    return None


async def submitted_card(app: App, crew: Team) -> tuple[Sent, int, str, Walker]:
    """A fresh submission by the team's worker: its card in the group, its id and number, and its walker."""
    walker = Walker(app, crew.worker)
    await walker.fill(MINIMAL)
    await walker.submit()
    await settle(app)
    card = card_in_group(app)
    iid = int(card_button(card, "confirm").split(":")[2])
    assert iid == walker.draft, (iid, walker.draft)
    number = str(await scalar(app, "SELECT number FROM initiative WHERE id = :i", i=iid))
    return card, iid, number, walker


async def events_of(app: App, iid: int, kind: str) -> int:
    return int(await scalar(app, "SELECT count(*) FROM event WHERE initiative_id = :i AND kind = :k", i=iid, k=kind))


def prompts(app: App) -> list[Sent]:
    return [m for m in app.fake.in_chat(GROUP["id"]) if (m.markup or {}).get("force_reply")]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("action", list(ACTIONS))
async def test_a_review_button_pressed_twice_decides_once(
    any_app: App, action: str, pattern: str, quiet: pytest.LogCaptureFixture
) -> None:
    app = any_app
    crew = await team(app, supports=2)
    card, iid, number, _ = await submitted_card(app, crew)
    first, second = crew.in_group(crew.support[0]), crew.in_group(crew.support[1])
    if pattern == "same-update-twice":
        first = replaying(first, app, "at-once")
    data = card_button(card, action)
    worker_before = len(crew.worker.history)
    asked = len(prompts(app))

    if pattern == "same-member-one-after-another":
        qids = [await press(first, card, data), await press(first, card, data)]
    elif pattern == "same-member-at-once":
        qids = list(await asyncio.gather(press(first, card, data), press(first, card, data)))
    elif pattern == "two-members-at-once":
        qids = list(await asyncio.gather(press(first, card, data), press(second, card, data)))
    else:
        qids = [await press(first, card, data)]
    replies_before = len(app.fake.in_chat(GROUP["id"]))
    if action in ("changes", "reject"):
        new_prompts = prompts(app)[asked:]
        assert new_prompts, "no one was asked for a reason"
        prompt = new_prompts[-1]
        reason_a, reason_b = "Cần ghi rõ số tiền tiết kiệm mỗi tháng.", "Thiếu bản vẽ lắp đặt biến tần."
        if pattern == "two-members-at-once":  # each answers the question addressed to them (a selective reply)

            def own(member: TgUser) -> Sent:
                return next(m for m in reversed(new_prompts) if f"tg://user?id={member.id}" in m.html)

            await asyncio.gather(
                first.send(reason_a, reply_to=own(first), expect=0),
                second.send(reason_b, reply_to=own(second), expect=0),
            )
        elif pattern == "same-update-twice":
            await first.send(reason_a, reply_to=prompt, expect=0)
        else:
            await asyncio.gather(
                first.send(reason_a, reply_to=prompt, expect=0), first.send(reason_b, reply_to=prompt, expect=0)
            )
    await settle(app)

    transitions = await events_of(app, iid, KINDS[action])
    status = await scalar(app, "SELECT status FROM initiative WHERE id = :i", i=iid)
    notices = [m.text for m in crew.worker.history[worker_before:] if number in m.text]
    expected_notices = 0 if action == "take" else 1
    assert (status, transitions, len(notices)) == (STATUS[action], 1, expected_notices), (
        f"{action} / {pattern}: status {status}, {transitions} '{KINDS[action]}' events (expected 1), "
        f"{len(notices)} notices to the author (expected {expected_notices}): {notices}; the presses were answered "
        f"{[a.get('text') for q in qids for a in answers_to(app, q)]}; card edits: "
        f"{app.fake.messages[GROUP['id']][card.message_id].edits}; Telegram refused: {app.fake.errors}"
    )
    for qid in qids:
        assert len(answers_to(app, qid)) <= 1, f"query {qid} answered more than once: {answers_to(app, qid)}"
    if action == "confirm" and pattern != "same-update-twice":
        texts = sorted((a.get("text", "") for q in qids for a in answers_to(app, q)), key=len)
        late = decided_prefix(app, "confirmed", "")[: -len(", ")]  # who decided differs with who won
        assert texts[0] == vi(app, "Confirmed.") and texts[1].startswith(late), texts
    if action in ("changes", "reject") and pattern == "two-members-at-once":
        decided = decided_prefix(app, STATUS[action], "")[: -len(", ")]
        told = [m.text for m in app.fake.in_chat(GROUP["id"])[replies_before:] if m.text.startswith(decided)]
        assert len(told) == 1, f"the member whose reason came too late was told {told} (expected {decided}…)"
    assert not errors_logged(quiet), errors_logged(quiet)


# -- 3. buttons pressed again after the item changed ----------------------------------------------------------
async def decide_with_reason(member: TgUser, card: Sent, action: str, reason: str) -> None:
    await press(member, card, card_button(card, action))
    await member.send(reason, reply_to=member.last, expect=0)


async def press_again(
    app: App, who: TgUser, message: Sent, data: str, iid: int, expected: str, *, exact: bool
) -> list[str]:
    """Press ``data`` on ``message``: nothing may change, and the answer is an alert with ``expected``."""
    problems = []
    before, shown = await fingerprint(app, iid), messages_fingerprint(app)
    qid = await press(who, message, data)
    await settle(app)
    after = await fingerprint(app, iid)
    if before != after:
        problems.append(f"{data} by {who.id}: the database changed: {diff(before, after)}")
    if messages_fingerprint(app) != shown:
        new = {c: m[len(shown.get(c, [])) :] for c, m in messages_fingerprint(app).items() if m != shown.get(c)}
        problems.append(f"{data} by {who.id}: messages were sent or edited: {new}")
    answers = answers_to(app, qid)
    text = answers[0].get("text", "") if answers else None
    good = text == expected if exact else (text or "").startswith(expected)
    if not good or not answers[0].get("show_alert"):
        problems.append(f"{data} by {who.id}: answered {answers!r}, expected an alert {expected!r}")
    return problems


async def test_card_buttons_after_the_item_was_confirmed(app: App, quiet: pytest.LogCaptureFixture) -> None:
    crew = await team(app, supports=2)
    card, iid, _number, _ = await submitted_card(app, crew)
    first, second = crew.in_group(crew.support[0]), crew.in_group(crew.support[1])
    datas = [card_button(card, action) for action in ACTIONS]
    await press(second, card, card_button(card, "reject"))  # asked for a reason before the confirmation ...
    pending = second.last
    await press(first, card, card_button(card, "confirm"))
    await settle(app)
    assert await scalar(app, "SELECT status FROM initiative WHERE id = :i", i=iid) == "confirmed"
    decided = decided_prefix(app, "confirmed", await full_name(app, crew.support[0]))
    problems = []
    for member in (first, second):
        for data in datas:
            problems += await press_again(app, member, card, data, iid, decided, exact=False)

    before = await fingerprint(app, iid)
    worker_seen = len(crew.worker.history)
    replies = await second.send("Đã có người đăng ký năm ngoái.", reply_to=pending, expect=0)  # ... sent after
    await settle(app)
    if diff(before, await fingerprint(app, iid)):
        problems.append(f"a reason sent after the confirmation changed {diff(before, await fingerprint(app, iid))}")
    if not (replies and replies[-1].text.startswith(decided)):
        problems.append(f"a reason sent after the confirmation was answered {[m.text for m in replies]!r}")
    if len(crew.worker.history) != worker_seen:
        problems.append("the author was told again")
    print(f"\nafter confirmation: {2 * len(datas) + 1} presses and replies")
    assert not problems, "\n".join(problems)
    assert not errors_logged(quiet), errors_logged(quiet)


async def test_card_and_form_buttons_after_the_item_was_returned(app: App, quiet: pytest.LogCaptureFixture) -> None:
    crew = await team(app, supports=2)
    card, iid, _number, _walker = await submitted_card(app, crew)
    found = find(crew.worker, lambda d: d.startswith(f"v1f:s:{iid}:"))
    assert found is not None
    old_preview, old_submit = found
    first, second = crew.in_group(crew.support[0]), crew.in_group(crew.support[1])
    datas = [card_button(card, action) for action in ACTIONS]
    await press(second, card, card_button(card, "reject"))  # asked for a reason before the return ...
    pending = second.last
    await decide_with_reason(first, card, "changes", "Cần ghi rõ số tiền tiết kiệm mỗi tháng.")
    await settle(app)
    assert await scalar(app, "SELECT status FROM initiative WHERE id = :i", i=iid) == "changes_requested"
    decided = decided_prefix(app, "changes_requested", await full_name(app, crew.support[0]))
    problems = []
    for member in (first, second):
        for data in datas:
            problems += await press_again(app, member, card, data, iid, decided, exact=False)

    before = await fingerprint(app, iid)
    replies = await second.send("Trùng với sáng kiến năm ngoái.", reply_to=pending, expect=0)  # ... sent after
    await settle(app)
    if diff(before, await fingerprint(app, iid)):
        problems.append(f"a reason sent after the return changed {diff(before, await fingerprint(app, iid))}")
    if not (replies and replies[-1].text.startswith(decided)):
        problems.append(f"a reason sent after the return was answered {[m.text for m in replies]!r}")

    # the preview the worker submitted from, before the return: its Submit must not resubmit the returned
    # initiative unchanged and unseen (the worker resubmits from the notice's "Edit and resubmit")
    before, worker_seen = await fingerprint(app, iid), len(crew.worker.history)
    qid = await press(crew.worker, old_preview, old_submit)
    await settle(app)
    after = await fingerprint(app, iid)
    if before != after:
        problems.append(
            f"the Submit button ({old_submit}) of the preview shown before the return, pressed after it, changed "
            f"status/round {before['initiative'][0]}/{before['initiative'][12]} -> "
            f"{after['initiative'][0]}/{after['initiative'][12]}, events +{after['events'][len(before['events']) :]}; "
            f"answered {answers_to(app, qid)!r}; new messages "
            f"{[m.text[:70] for m in crew.worker.history[worker_seen:]]!r}"
        )
    print(f"\nafter return: {2 * len(datas) + 2} presses and replies")
    assert not problems, "\n".join(problems)
    assert not errors_logged(quiet), errors_logged(quiet)


async def test_buttons_after_the_item_was_resubmitted(app: App, quiet: pytest.LogCaptureFixture) -> None:
    crew = await team(app, supports=2)
    card, iid, number, walker = await submitted_card(app, crew)
    first, second = crew.in_group(crew.support[0]), crew.in_group(crew.support[1])
    datas = [card_button(card, action) for action in ACTIONS]
    first_submit = find(crew.worker, lambda d: d.startswith(f"v1f:s:{iid}:"))
    await press(second, card, card_button(card, "reject"))  # round 1: asked for a reason ...
    pending = second.last
    await decide_with_reason(first, card, "changes", "Cần ghi rõ số tiền tiết kiệm mỗi tháng.")
    await settle(app)
    resume = find(crew.worker, lambda d: d == f"v1d:r:{iid}")
    assert resume is not None, "the author's notice has no Edit and resubmit button"
    await crew.worker.press(*resume)
    await walker.edit("benefit_money", "1,2 triệu/tháng")
    edit_title = find(crew.worker, lambda d: d.startswith(f"v1f:e:{iid}:-1:0"))
    if edit_title is None:  # the preview shows its parts after "Edit"
        await walker.tap(walker.nav("m", -1, 2))
        edit_title = find(crew.worker, lambda d: d.startswith(f"v1f:e:{iid}:-1:0"))
    second_submit = find(crew.worker, lambda d: d.startswith(f"v1f:s:{iid}:"))
    await walker.submit()
    await settle(app)
    assert await rows(app, "SELECT status, review_round FROM initiative WHERE id = :i", i=iid) == [("submitted", 2)]
    assert card_in_group(app).message_id != card.message_id

    expected = vi(app, "This card is out of date: {number} was resubmitted; use its newest card.", number=number)
    problems = []
    for member in (first, second):
        for data in datas:
            problems += await press_again(app, member, card, data, iid, expected, exact=True)

    before = await fingerprint(app, iid)
    replies = await second.send("Trùng với sáng kiến năm ngoái.", reply_to=pending, expect=0)  # ... answered now
    await settle(app)
    if diff(before, await fingerprint(app, iid)):
        problems.append(
            f"a round-1 reason sent after the resubmission changed {diff(before, await fingerprint(app, iid))}"
        )
    if not (replies and replies[-1].text == expected):
        problems.append(f"a round-1 reason sent after the resubmission was answered {[m.text for m in replies]!r}")

    # the worker's buttons from before: Edit and resubmit, both previews' Submit, an Edit
    submitted = vi(app, "This initiative was already submitted as {number}.", number=number)
    worker_buttons = [b for b in (resume, first_submit, second_submit, edit_title) if b is not None]
    assert len(worker_buttons) == 4, worker_buttons
    for message, data in worker_buttons:
        problems += await press_again(app, crew.worker, message, data, iid, submitted, exact=True)
    print(f"\nafter resubmission: {2 * len(datas) + 1 + len(worker_buttons)} presses and replies")
    assert not problems, "\n".join(problems)
    assert not errors_logged(quiet), errors_logged(quiet)


# -- 4. forged callback data ----------------------------------------------------------------------------------
async def test_forged_card_buttons_change_nothing(app: App, quiet: pytest.LogCaptureFixture) -> None:
    crew = await team(app, supports=1)
    _other_card, other_iid, _, _ = await submitted_card(app, crew)
    card, iid, _number, _ = await submitted_card(app, crew)
    member = crew.in_group(crew.support[0])
    not_a_card = next(m for m in app.fake.in_chat(GROUP["id"]) if not m.buttons)  # e.g. the /bind confirmation
    round_ = 1
    forged = {
        "another initiative's id on this card": f"v2r:c:{other_iid}:{round_}",
        "another initiative's Full text on this card": f"v2r:f:{other_iid}:{round_}",
        "an initiative that does not exist": f"v2r:c:{iid + 1000}:{round_}",
        "a future round": f"v2r:c:{iid}:{round_ + 1}",
        "a past round": f"v2r:c:{iid}:{round_ - 1}",
        "round -1": f"v2r:c:{iid}:-1",
        "a negative initiative id": f"v2r:c:-{iid}:{round_}",
        "a 64-byte initiative id": f"v2r:c:{'9' * (64 - len(f'v2r:c::{round_}'))}:{round_}",
        "a 64-byte round": f"v2r:c:{iid}:{'9' * (64 - len(f'v2r:c:{iid}:'))}",
        "an unknown action letter": f"v2r:z:{iid}:{round_}",
        "the letter of a drafts button": f"v2r:d:{iid}:{round_}",
        "an extra field": f"v2r:c:{iid}:{round_}:1",
        "a missing field": f"v2r:c:{iid}",
        "a non-number id": f"v2r:c:abc:{round_}",
        "a fractional round": f"v2r:c:{iid}:1.5",
        "an unknown prefix": f"v9r:c:{iid}:{round_}",
        "a form button in the group": f"v1f:s:{iid}:-1:0",
        "garbage": "garbage",
        "64 bytes of emoji": "💥" * 16,
        "only the prefix": "v2r:",
    }
    datas = {
        **{k: (card, v) for k, v in forged.items()},
        "this card's own Confirm on a message that is not a card": (not_a_card, f"v2r:c:{iid}:{round_}"),
    }
    expected = stale(app)
    problems = []
    for what, (message, data) in datas.items():
        assert len(data.encode()) <= 64, what
        quiet.clear()
        errors = len(app.fake.errors)
        before = {i: await fingerprint(app, i) for i in (iid, other_iid)}
        shown = messages_fingerprint(app)
        qid = await press(member, message, data)
        await settle(app)
        after = {i: await fingerprint(app, i) for i in (iid, other_iid)}
        if before != after:
            problems.append(f"{what} ({data}): the database changed: {diff(before, after)}")
        if messages_fingerprint(app) != shown:
            problems.append(f"{what} ({data}): messages were sent or edited")
        answers = answers_to(app, qid)
        if not answers or answers[0].get("text") != expected or not answers[0].get("show_alert"):
            problems.append(f"{what} ({data}): answered {answers!r}, expected the alert {expected!r}")
        if errors_logged(quiet):
            problems.append(f"{what} ({data}): logged {errors_logged(quiet)}")
        if len(app.fake.errors) != errors:
            problems.append(f"{what} ({data}): Telegram refused {app.fake.errors[errors:]}")
    print(f"\nforged card buttons: {len(datas)} cases, {len(problems)} problems")
    assert not problems, "\n".join(problems)
    assert await rows(app, "SELECT status FROM initiative WHERE id IN (:a, :b)", a=iid, b=other_iid) == [
        ("submitted",),
        ("submitted",),
    ]
    assert not app.fake.errors


async def draft_state(app: App, draft_id: int) -> dict[str, Any]:
    return {
        "row": await initiative_row(app, draft_id),
        "events": await scalar(app, "SELECT count(*) FROM event WHERE initiative_id = :i", i=draft_id),
        "initiatives": await scalar(app, "SELECT count(*) FROM initiative"),
    }


async def test_forged_form_buttons_leave_the_draft_unchanged(app: App, quiet: pytest.LogCaptureFixture) -> None:
    worker, intruder = app.user(), app.user(first_name="Bình", last_name="Trần Thị")
    await register(worker)
    await register(intruder)
    theirs = Walker(app, intruder)
    await theirs.start()
    intruder_step, intruder_draft = intruder.last, theirs.draft

    walker = Walker(app, worker)
    await walker.start()  # at the first step (the name, a text step): index 0
    step1, draft = worker.last, walker.draft
    last = len(app.dp["form"].fields) - 1
    at_title = {
        "Today at a text step": f"v1f:t:{draft}:0:0",
        "a choice at a text step": f"v1f:o:{draft}:0:0",
        "Done with nothing typed": f"v1f:d:{draft}:0:0",
        "Keep on an unanswered required step": f"v1f:k:{draft}:0:0",
        "Remove at a required step": f"v1f:c:{draft}:0:0",
        "Start again with no pieces": f"v1f:r:{draft}:0:0",
        "Submit at a step": f"v1f:s:{draft}:0:0",
        "Submit with the preview's index": f"v1f:s:{draft}:-1:0",
        "Edit with the preview's index": f"v1f:e:{draft}:-1:3",
        "a later step's index": f"v1f:o:{draft}:1:0",
        "the last step's index": f"v1f:d:{draft}:{last}:0",
        "an unknown action letter": f"v1f:z:{draft}:0:0",
        "a 64-byte draft id": f"v1f:b:{'9' * (64 - len('v1f:b::0:0'))}:0:0",
        "a draft that does not exist": f"v1f:b:{draft + 1000}:0:0",
        "a negative draft id": f"v1f:b:-{draft}:0:0",
        "a step index out of range": f"v1f:b:{draft}:9999:0",
        "garbage after the prefix": "v1f:💥",
    }
    cases: list[tuple[str, TgUser, Sent, str, int]] = [(k, worker, step1, v, draft) for k, v in at_title.items()]
    cases += [
        (
            "another user's draft id, on the worker's own message",
            worker,
            step1,
            f"v1f:b:{intruder_draft}:0:0",
            intruder_draft,
        ),
        ("the worker's draft id, from another user's chat", intruder, intruder_step, f"v1f:b:{draft}:0:0", draft),
        (
            "the worker's draft id, pressed by another user on the worker's message",
            intruder,
            step1,
            f"v1f:b:{draft}:0:0",
            draft,
        ),
    ]
    problems = await forge(app, quiet, cases, reply_ok=False)

    await worker.send(TITLE)  # now at a choice step
    found = find(worker, lambda d: d.startswith(f"v1f:o:{draft}:"), worker.last)
    assert found is not None, "no choice at the second step"
    step2, choice = found
    at = choice.split(":")[3]
    at_choice = {
        "a choice index out of range": f"v1f:o:{draft}:{at}:99",
        "a choice index of -1": f"v1f:o:{draft}:{at}:-1",
        "the previous step's choice": f"v1f:o:{draft}:0:0",
        "Back from the previous step": f"v1f:b:{draft}:0:0",
        "Today at a choice step": f"v1f:t:{draft}:{at}:0",
    }
    problems += await forge(app, quiet, [(k, worker, step2, v, draft) for k, v in at_choice.items()], reply_ok=True)

    # a preview without Submit: the money benefit becomes 0, so the social benefit is required and missing
    await worker.send("/cancel")
    walker = Walker(app, worker)
    await walker.fill(MINIMAL)
    second = walker.draft
    data = f"v1f:e:{second}:-1:{app.dp['form'].index('benefit_money')}"
    if find(worker, lambda d: d == data) is None:
        await walker.tap(walker.nav("m", -1, 2))
    await worker.press(*(find(worker, lambda d: d == data) or (worker.last, data)))
    await worker.send("0")
    if await walker.step() != PREVIEW:  # asked for the social benefit now: Back returns to the preview
        await walker.tap(walker.nav("b"))
    incomplete = worker.last
    at_preview = {
        "Submit on an incomplete draft": f"v1f:s:{second}:-1:0",
        "Edit of a field out of range": f"v1f:e:{second}:-1:99",
        "Edit of field -1": f"v1f:e:{second}:-1:-1",
        "a step's choice at the preview": f"v1f:o:{second}:-1:0",
        "Submit with a step's index": f"v1f:s:{second}:1:0",
    }
    if await walker.step() != PREVIEW or find(worker, lambda d: d.startswith("v1f:s:"), incomplete):
        problems.append(
            f"precondition: not at a preview without Submit: {await walker.step()}, "
            f"{incomplete.text[:200]!r} {incomplete.button_texts()}"
        )
    else:
        problems += await forge(
            app, quiet, [(k, worker, incomplete, v, second) for k, v in at_preview.items()], reply_ok=True
        )
    count = len(at_title) + 3 + len(at_choice) + len(at_preview)
    print(f"\nforged form buttons: {count} cases, {len(problems)} problems")
    assert not problems, "\n".join(problems)
    assert await scalar(app, "SELECT count(*) FROM event WHERE kind = 'initiative.submitted'") == 0
    assert not app.fake.errors


async def forge(
    app: App, caplog: pytest.LogCaptureFixture, cases: list[tuple[str, TgUser, Sent, str, int]], *, reply_ok: bool
) -> list[str]:
    """Press each forged button; the named draft must not change, and the presser must be told (an alert, or,
    where ``reply_ok``, the step asked again with a warning)."""
    problems, expected = [], stale(app)
    for what, who, message, data, draft_id in cases:
        assert len(data.encode()) <= 64, what
        caplog.clear()
        errors = len(app.fake.errors)
        before = await draft_state(app, draft_id)
        seen = len(who.history)
        qid = await press(who, message, data)
        after = await draft_state(app, draft_id)
        if before != after:
            problems.append(f"{what} ({data}): the draft changed: {diff(before, after)}")
        answers = answers_to(app, qid)
        alert = bool(answers and answers[0].get("show_alert") and answers[0].get("text") == expected)
        warned = reply_ok and any(m.text.startswith("⚠️") for m in who.history[seen:])
        if not (alert or warned):
            problems.append(
                f"{what} ({data}): answered {answers!r}, replies "
                f"{[m.text[:80] for m in who.history[seen:]]!r}; expected the alert {expected!r}"
            )
        if errors_logged(caplog):
            problems.append(f"{what} ({data}): logged {errors_logged(caplog)}")
        if len(app.fake.errors) != errors:
            problems.append(f"{what} ({data}): Telegram refused {app.fake.errors[errors:]}")
    return problems


async def test_a_forged_press_by_someone_outside_the_team_changes_nothing(app: App) -> None:
    """A registered member of another unit, made support of that unit, presses this card's Confirm."""
    crew = await team(app, supports=1)
    card, iid, _, _ = await submitted_card(app, crew)
    outsider = app.user(first_name="Tổ viên BSR")
    await register(outsider, unit_query="bsr")
    await give(app, outsider, SUPPORT, "DK-BSR")
    before = await fingerprint(app, iid)
    qid = await press(crew.in_group(outsider), card, card_button(card, "confirm"))
    assert await fingerprint(app, iid) == before
    answers = answers_to(app, qid)
    assert answers and answers[0]["text"] == vi(app, "Only the support team of this unit can do this.")
