"""One number space for every channel's chats, so the rest of the bot keeps integer ids.

Telegram's ids are used as they are: users below 2**52, groups down to about -10**15. A Zalo id is a string;
it is given a number from 2**60 up (a group: the negative of one), derived from the string, so every worker
computes the same number without asking anyone, and a Zalo id can never be read as a Telegram one."""

from __future__ import annotations

import hashlib

ZALO_BASE = 2**60
SPAN = 2**59  # addresses stay below 2**60 + 2**59 < 2**63: BIGINT


def zalo_address(external_id: str, group: bool = False) -> int:
    digest = hashlib.blake2b(external_id.encode(), digest_size=8, person=b"sangkien-zalo").digest()
    address = ZALO_BASE + int.from_bytes(digest, "big") % SPAN
    return -address if group else address


def is_zalo(chat_id: object) -> bool:
    return isinstance(chat_id, int) and abs(chat_id) >= ZALO_BASE


def channel_of(chat_id: object) -> str:
    return "zalo" if is_zalo(chat_id) else "telegram"
