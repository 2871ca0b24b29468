"""Text files of unknown origin: which encoding and which separator a CSV file was saved with.

Excel on a Vietnamese Windows saves "CSV (Comma delimited)" in the ANSI code page, Windows-1258, with ``;`` as
the separator; "CSV UTF-8" adds a byte-order mark; "Unicode Text" is UTF-16 with tabs. Windows-1258 writes tone
marks as separate combining characters, so the decoded text is normalised to NFC. Imports nothing heavy."""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

# (byte-order mark, codec, name shown to people); UTF-32 LE before UTF-16 LE, whose mark it starts with
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
SEPARATORS = (",", ";", "\t")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
SAVE_AS = 'save it from Excel as "CSV UTF-8 (Comma delimited) (*.csv)"'
_SEP_LINE = re.compile(r"^sep=(.)\s*$", re.IGNORECASE)


class UnreadableText(ValueError):
    """The bytes are not text in any encoding tried; the message is one line, with what to do."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # as people know it: "UTF-8", "Windows-1258", …


def decode_text(data: bytes) -> Decoded:
    """The text of a file saved by Excel, Notepad, LibreOffice…, in NFC: UTF-8 (with or without BOM), UTF-16 or
    UTF-32 with a BOM, UTF-16 without one, Windows-1258, and Windows-1252 as a last resort."""
    for bom, codec, name in BOMS:
        if data.startswith(bom):
            return Decoded(_strict(data[len(bom) :], codec, name), name)
    if b"\x00" in data:
        utf16 = _bomless_utf16(data)
        if utf16 is None:
            raise UnreadableText(f"this is not a text file (it holds NUL bytes); {SAVE_AS}")
        name = ("UTF-16 LE" if utf16 == "utf-16-le" else "UTF-16 BE") + " without BOM"
        return Decoded(_strict(data, utf16, name), name)
    try:
        return Decoded(_nfc(data.decode("utf-8")), "UTF-8")
    except UnicodeDecodeError:
        pass
    for codec, name in (("cp1258", "Windows-1258"), ("cp1252", "Windows-1252")):
        try:
            return Decoded(_nfc(data.decode(codec)), name)
        except UnicodeDecodeError:
            continue
    raise UnreadableText(
        f"the text is in an encoding that was not recognised (not UTF-8, UTF-16 or Windows-1258); {SAVE_AS}"
    )


def _strict(data: bytes, codec: str, name: str) -> str:
    try:
        return _nfc(data.decode(codec))
    except UnicodeDecodeError as exc:
        raise UnreadableText(f"the file is {name} but damaged at byte {exc.start}; {SAVE_AS}") from None


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark: mostly-ASCII text has a NUL in every other byte."""
    sample = data[:4000]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    even = sum(1 for i in range(0, 2 * pairs, 2) if sample[i] == 0)
    odd = sum(1 for i in range(1, 2 * pairs, 2) if sample[i] == 0)
    if odd > pairs * 0.3 and even < pairs * 0.05:
        return "utf-16-le"
    if even > pairs * 0.3 and odd < pairs * 0.05:
        return "utf-16-be"
    return None


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def detect_separator(text: str) -> tuple[str, bool]:
    """The separator of a CSV text, read from its first non-empty line (the header): an Excel ``sep=;`` line, or
    the most frequent of comma, semicolon and tab outside quotes (comma when there is none). The flag says whether
    the first line is a ``sep=`` line, which is not part of the table."""
    for line in text.splitlines():
        if not line.strip():
            continue
        declared = _SEP_LINE.match(line.strip())
        if declared:
            return declared.group(1), True
        counts = dict.fromkeys(SEPARATORS, 0)
        quoted = False
        for ch in line:
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch in counts:
                counts[ch] += 1
        best = max(SEPARATORS, key=lambda sep: counts[sep])  # ties: the earlier, so comma first
        return (best if counts[best] else ","), False
    return ",", False


def separator_name(separator: str) -> str:
    return SEPARATOR_NAMES.get(separator, repr(separator))
