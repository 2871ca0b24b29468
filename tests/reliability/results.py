"""Counts of the bad-input corpus across the positions of one run (read by the summary hook)."""

from __future__ import annotations

CASES: list[int] = []
FAILURES: list[str] = []


def summary() -> str:
    return f"bad-input corpus: {sum(CASES)} cases, {len(FAILURES)} failures"
