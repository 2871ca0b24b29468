"""SQLModel tables. Times are aware UTC; JSON payloads are stored as text so both SQLite and PostgreSQL
read them the same way on the lean write path."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=300)
    name_folded: str = Field(index=True, max_length=300)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    kind: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    bloc: str | None = Field(default=None, max_length=128)  # emulation bloc (khối thi đua)
    guide_url: str | None = Field(default=None, max_length=500)  # the unit's own guide or video, shown in /help
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Phase(SQLModel, table=True):
    """A phase of the programme, e.g. 8/1/2022–31/5/2022."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=200)
    starts_on: date
    ends_on: date


class Quota(SQLModel, table=True):
    """A unit's quota (chỉ tiêu) for one phase, or for the whole programme when ``phase_id`` is None."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    phase_id: int | None = Field(default=None, foreign_key="phase.id")
    amount: int


class Tally(SQLModel, table=True):
    """Maintained counts of a unit's whole subtree by phase (0: outside every phase) and status, updated in the
    same transaction as every status change, so progress is read, not recounted."""

    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    phase_id: int = Field(primary_key=True)
    status: str = Field(primary_key=True, max_length=24)
    count: int = 0
    benefit: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    social: int = 0
    benefit_checked: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # of ``count``: team's figure


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    tg_user_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    full_name: str = Field(max_length=100)
    language: str = Field(default="vi", max_length=8)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    phone: str | None = Field(default=None, max_length=32)
    username: str | None = Field(default=None, max_length=64, index=True)
    weekly_digest: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})  # officers opt in
    reachable: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})  # False once they block the bot
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Initiative(SQLModel, table=True):
    """A draft while ``status == 'draft'``; afterwards the submitted initiative with its number."""

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, unique=True, max_length=16)
    author_id: int = Field(foreign_key="member.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    status: str = Field(default="draft", index=True, max_length=24)
    answers: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    step: str = Field(default="", max_length=32)
    pending: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    editing: bool = False
    title: str | None = Field(default=None, max_length=300)
    solution_type: str | None = Field(default=None, max_length=32)
    field_of_work: str | None = Field(default=None, max_length=64)
    applied_on: date | None = None
    benefit_per_year: int | None = Field(default=None, sa_column=Column(BigInteger))
    has_social_benefit: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    phase_id: int | None = None  # the phase of the first submission, which the initiative counts toward
    review_round: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    submitted_answers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    taken_by_id: int | None = Field(default=None, foreign_key="member.id")
    taken_at: datetime | None = None
    decided_by_id: int | None = Field(default=None, foreign_key="member.id")
    decided_at: datetime | None = None
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duplicate_of_id: int | None = Field(default=None, foreign_key="initiative.id")  # when status is "duplicate"
    differs_note: str | None = Field(default=None, max_length=300)  # the author's line on why it is not a duplicate
    helper_id: int | None = Field(default=None, foreign_key="member.id")  # a team member who writes it for the author
    help_asked_at: datetime | None = None  # the author handed the draft to the support team, none has taken it yet
    # recognition (công nhận) by the workplace, after the team's check, and the upload to the TLĐ system
    decision_no: str | None = Field(default=None, max_length=64)
    decision_on: date | None = None
    decision_body: str | None = Field(default=None, max_length=200)
    recognised_by_id: int | None = Field(default=None, foreign_key="member.id")
    uploaded_on: date | None = None
    uploaded_by_id: int | None = Field(default=None, foreign_key="member.id")
    # the money benefit a year as the support team checked it, with its note; totals use it where it is set
    checked_benefit: int | None = Field(default=None, sa_column=Column(BigInteger))
    checked_benefit_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    checked_benefit_by_id: int | None = Field(default=None, foreign_key="member.id")


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    position: int
    full_name: str = Field(max_length=100)
    share: int
    member_id: int | None = Field(default=None, foreign_key="member.id")


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    kind: str = Field(max_length=16)
    file_id: str = Field(sa_column=Column(Text, nullable=False))  # a Telegram file id or a Zalo photo URL
    file_unique_id: str = Field(max_length=128)
    file_name: str | None = Field(default=None, max_length=256)
    mime_type: str | None = Field(default=None, max_length=128)
    size: int | None = None


class Event(SQLModel, table=True):
    """The log of every change: who (member), when, what (kind + JSON detail)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    initiative_id: int | None = Field(default=None, foreign_key="initiative.id", index=True)
    kind: str = Field(max_length=32)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))


class Role(SQLModel, table=True):
    """An officer (cán bộ công đoàn) or support-team member (Tổ hỗ trợ sáng kiến) of a unit and its subtree."""

    __table_args__ = (UniqueConstraint("member_id", "unit_id", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(max_length=16)
    granted_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)


class ReviewGroup(SQLModel, table=True):
    """A group chat bound to a unit as its support group."""

    __tablename__ = "review_group"
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    unit_id: int = Field(foreign_key="unit.id", unique=True)
    title: str = Field(default="", max_length=255)
    language: str = Field(default="vi", max_length=8)
    reachable: bool = True
    reminder_hour: int | None = None  # daily reminder of waiting items at this hour (local time); None: off
    reminder_days: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    bound_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)


class ReviewCard(SQLModel, table=True):
    """A card posted to a support group for one round of review."""

    __tablename__ = "review_card"
    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    message_id: int
    round: int
    created_at: datetime = Field(default_factory=utcnow)


class Invite(SQLModel, table=True):
    """A code (in a t.me link, or typed as /start CODE) that starts registration already placed in a unit; it may
    expire and can be revoked."""

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, max_length=32)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    uses: int = 0


class FsmRecord(SQLModel, table=True):
    """aiogram FSM state and data, so a conversation survives a restart."""

    __tablename__ = "fsm_record"
    key: str = Field(primary_key=True, max_length=200)
    state: str | None = Field(default=None, max_length=100)
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))


class HandledUpdate(SQLModel, table=True):
    """An incoming update whose effect is committed: written in the same transaction as that effect, so a
    redelivered update (a restart before the platform heard the confirmation, a retried webhook) is skipped."""

    __tablename__ = "handled_update"
    key: str = Field(primary_key=True, max_length=80)  # channel, bot and the platform's id, e.g. "tg:4242:1001"
    source: str = Field(default="", max_length=40, index=True)  # channel and bot, e.g. "tg:4242"
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))  # update_id
    at: datetime = Field(default_factory=utcnow, index=True)


class Outbox(SQLModel, table=True):
    """A side effect that must follow a commit (post a card, tell the author…), written in the same transaction
    as the state change and delivered by the sender, which resumes after a restart."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    origin: str | None = Field(default=None, max_length=80, index=True)  # the update whose handling wrote it
    created_at: datetime = Field(default_factory=utcnow)
    due_at: datetime = Field(default_factory=utcnow, index=True)
    claimed_until: datetime | None = None  # a sender is delivering it until then (renewed while it works)
    claim: str | None = Field(default=None, max_length=32)  # that sender's token: only it may close the item
    attempts: int = 0
    done_at: datetime | None = Field(default=None, index=True)
    error: str | None = Field(default=None, max_length=300)  # why it could not be delivered, when it gave up


class ChannelAddress(SQLModel, table=True):
    """A Zalo user or group, known to the rest of the bot by a number of its own (``channels.addresses``): far
    outside Telegram's id ranges, so the two channels' ids are never confused."""

    __tablename__ = "channel_address"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    address: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)


class MemberAddress(SQLModel, table=True):
    """A second channel a member linked with a one-time code from /profile (their first is ``member.tg_user_id``)."""

    __tablename__ = "member_address"
    address: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class LinkCode(SQLModel, table=True):
    """A one-time code that links the channel it is typed on to the member who asked for it."""

    __tablename__ = "link_code"
    code: str = Field(primary_key=True, max_length=16)
    member_id: int = Field(foreign_key="member.id", index=True)
    expires_at: datetime
    used_at: datetime | None = None


class Inbox(SQLModel, table=True):
    """An update fetched from a platform whose fetch is its acknowledgment (Zalo's getUpdates): kept until it is
    handled, so a crash after the fetch does not lose it."""

    key: str = Field(primary_key=True, max_length=80)
    source: str = Field(max_length=40, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, index=True)


class ServedFile(SQLModel, table=True):
    """A generated file (chart, QR code, spreadsheet) served at an unguessable, expiring link for channels that
    take a URL instead of an upload. In the database, so every worker and host serves it."""

    __tablename__ = "served_file"
    token: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class SimilarDoc(SQLModel, table=True):
    """A submitted initiative as the duplicate search reads it (``storage.similar``): its folded title and solution
    start and its candidate terms. Written with every submission; every process loads the table at start and then
    reads what changed since (``changed_ms``), so the index survives a restart and stays current across workers."""

    __tablename__ = "similar_doc"
    initiative_id: int = Field(
        sa_column=Column(Integer, ForeignKey("initiative.id"), primary_key=True, autoincrement=False)
    )
    unit_id: int | None = None
    title: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    terms: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    changed_ms: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))  # the writer's clock, ms
