"""The /chart picture: units against their quotas (with the 100 % line) and confirmed initiatives per week.

Sized for a phone screen: unit names sit above their bars so long Vietnamese names keep the full width; DejaVu Sans,
which matplotlib ships, draws every diacritic."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date, timedelta
from io import BytesIO


def progress_png(title: str, bars: Sequence[tuple[str, float]], weekly: Sequence[tuple[date, int]],
                 labels: dict[str, str]) -> bytes:  # fmt: skip
    """``bars``: (unit name, % of quota), best first; ``weekly``: (Monday of the week, confirmed that week)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib import pyplot as plt

    plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 13})
    rows = max(len(bars), 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.2, 4 + 0.75 * rows + 3.5), dpi=150,
                                      height_ratios=[1 + 0.75 * rows, 3.5])  # fmt: skip
    values = [value for _, value in bars]
    colours = ["#2e7d32" if v >= 100 else "#f9a825" if v >= 50 else "#c62828" for v in values]
    positions = list(range(len(bars)))[::-1]
    top.barh(positions, values, height=0.45, color=colours)
    top.axvline(100, color="#1565c0", linestyle="--", linewidth=1.5, label=labels["quota_line"])
    limit = max([*values, 100]) * 1.18
    for y, (name, value) in zip(positions, bars, strict=True):
        top.text(0, y + 0.3, name if len(name) <= 60 else name[:59] + "…", va="bottom", fontsize=12)
        top.text(value + limit * 0.01, y, f"{value:.0f}%", va="center", fontsize=12, fontweight="bold")
    top.set_xlim(0, limit)
    top.set_ylim(-0.6, rows - 0.1)
    top.set_yticks([])
    top.set_xlabel(labels["percent"])
    top.set_title("\n".join(textwrap.wrap(title, 38)), fontsize=15, fontweight="bold")
    top.legend(loc="lower right", fontsize=11)
    weeks = [week for week, _ in weekly] or [date.today() - timedelta(days=date.today().weekday())]
    counts = [count for _, count in weekly] or [0]
    bottom.plot(weeks, counts, marker="o", linewidth=2.5, color="#1565c0")
    bottom.fill_between(weeks, counts, alpha=0.15, color="#1565c0")
    bottom.set_ylim(bottom=0)
    bottom.set_title(labels["weekly"], fontsize=14)
    bottom.set_ylabel(labels["confirmed"])
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m/%Y"))
    bottom.set_xlim(min(weeks) - timedelta(days=7), max(weeks) + timedelta(days=7))
    bottom.grid(axis="y", alpha=0.3)
    plt.setp(bottom.get_xticklabels(), rotation=30, ha="right")  # autofmt_xdate would hide the % axis above
    fig.tight_layout()
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
