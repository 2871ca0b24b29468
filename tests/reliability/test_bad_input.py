"""Bad-input corpus: every step of every flow gets every kind of bad input (tests/data/bad_inputs.json).

After each input: a non-empty reply in the user's language, no 400 from the Bot API, nothing logged above INFO
and no apology for an internal error, and the stored draft (or registration, role, invite, decision) unchanged
unless the input was valid for that step, and then changed only to the valid value.

RELIABILITY_SCALE=full runs every input at every position in both languages; the default is a deterministic
sample of about 200 cases (each position in one language) for CI."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import pytest

from tests.reliability import results
from tests.reliability.harness import POSITIONS, Input, check_case, close_position, load_corpus, open_position

FULL = os.environ.get("RELIABILITY_SCALE", "").lower() == "full"
PER_POSITION = int(os.environ.get("RELIABILITY_SAMPLE", "7"))
CORPUS = load_corpus()

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(1800 if FULL else 300)]


def _rank(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def sample(position: str, lang: str) -> list[Input]:
    """Full: the whole corpus. Otherwise a fixed sample: one input from each of several classes, the classes and
    inputs chosen by a hash of the position, so every class is hit somewhere and reruns pick the same cases."""
    if FULL:
        return CORPUS
    classes = sorted({i.cls for i in CORPUS}, key=lambda c: _rank(position + lang + c))
    chosen: list[Input] = []
    for cls in (classes * PER_POSITION)[:PER_POSITION]:
        pool = sorted((i for i in CORPUS if i.cls == cls and i not in chosen), key=lambda i: _rank(position + str(i.n)))
        if pool:
            chosen.append(pool[0])
    return chosen


def cases() -> list[tuple[str, str]]:
    if FULL:
        return [(p, lang) for p in POSITIONS for lang in ("vi", "en")]
    return [(p, "en" if k % 3 == 2 else "vi") for k, p in enumerate(POSITIONS)]


@pytest.mark.parametrize(("position", "lang"), cases(), ids=[f"{p}-{lang}" for p, lang in cases()])
async def test_bad_input_at_position(position: str, lang: str, template_db: Path, tmp_path: Path,
                                     caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    pos, fake = await open_position(position, lang, template_db, tmp_path)
    failures: list[str] = []
    inputs = sample(position, lang)
    try:
        for item in inputs:
            outcome = await check_case(pos, item, caplog)
            if outcome.problems:
                failures.append(outcome.line())
    finally:
        await close_position(pos, fake)
    results.CASES.append(len(inputs))
    results.FAILURES.extend(failures)
    line = (f"bad-input corpus [{position}/{lang}]: {len(inputs)} cases, {len(failures)} failures, "
            f"{pos.builds} builds, {time.monotonic() - started:.1f}s")  # fmt: skip
    print(line)
    assert not failures, line + "\n" + "\n".join(failures)
