"""The author table: one person a line, ``Full name – share %``; the shares add up to 100."""

from __future__ import annotations

import re
from dataclasses import dataclass

from forms.errors import N_, FormError
from forms.text import fold, has_words, normalize

MAX_AUTHORS = 20
_LINE = re.compile(r"^(?P<name>.*?)[\s,:;=–—\-]*(?P<share>\d+)(?P<decimals>[.,]\d+)?\s*%?$")


@dataclass(frozen=True)
class AuthorShare:
    name: str
    share: int

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "share": self.share}


def parse_authors(raw: str) -> list[AuthorShare]:
    lines = [normalize(line) for line in re.split(r"[\n;]+", normalize(raw, multiline=True))]
    lines = [line for line in lines if line]
    if not lines:
        raise FormError(N_("The list is empty. Please write one author a line."))
    if len(lines) > MAX_AUTHORS:
        raise FormError(N_("At most {max} authors can be listed."), max=MAX_AUTHORS)
    authors: list[AuthorShare] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        m = _LINE.match(line)
        if m and m["decimals"] and has_words(m["name"]):  # the author table stores whole percentages
            raise FormError(
                N_("Line {line} (“{text}”): write the share as a whole number, e.g. {share}%, without decimals."),
                line=number,
                text=line,
                share=round(float(m["share"] + m["decimals"].replace(",", "."))),
            )
        if not m or not has_words(m["name"]) or any(ch.isdigit() for ch in m["name"]):
            raise FormError(
                N_("Line {line} (“{text}”) needs a name and a share, like “Nguyễn Văn An – 60%”."),
                line=number,
                text=line,
            )
        name, share = m["name"].strip(), int(m["share"])
        if not 1 <= share <= 100:
            raise FormError(N_("Line {line}: a share must be between 1 and 100%."), line=number)
        if len(name) > 100:
            raise FormError(N_("Line {line}: the name is too long."), line=number)
        if fold(name) in seen:
            raise FormError(N_("{name} is listed twice."), name=name)
        seen.add(fold(name))
        authors.append(AuthorShare(name, share))
    total = sum(a.share for a in authors)
    if total != 100:
        raise FormError(N_("The shares add up to {total}%, but they must add up to 100%."), total=total)
    return authors
