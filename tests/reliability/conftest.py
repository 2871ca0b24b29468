"""The reliability suite: a marker, and one summary line of the bad-input corpus at the end of the run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability import results


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability: long-running checks of the bot against bad input")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if results.CASES:
        terminalreporter.write_line(results.summary())
