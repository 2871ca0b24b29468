"""The few python-docx pieces an administrative document needs: an A4 page in Times New Roman, centred and
indented paragraphs, a bordered table, text cleaned of what XML cannot hold."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

DOTS = "……………………………………………………"  # a line to write on by hand
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    """NFC, without the control characters XML refuses."""
    return _NOT_XML.sub("", unicodedata.normalize("NFC", text))


def set_up(doc: Document, font: str = "Times New Roman", size: float = 13) -> None:
    """A4, the margins of Decree 30/2020 (top and bottom 2 cm, left 3 cm, right 1.5 cm), one font everywhere."""
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = font, Pt(size)
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), font)
    style.paragraph_format.space_after = Pt(3)


def para(doc: Document, text: str = "", *, bold: bool = False, italic: bool = False, center: bool = False,
         size: float | None = None, indent: float | None = None) -> Paragraph:  # fmt: skip
    """One paragraph; ``indent`` in cm from the left (the signature block)."""
    paragraph = doc.add_paragraph()
    if text:
        run = paragraph.add_run(clean(text))
        run.bold, run.italic = bold or None, italic or None
        if size:
            run.font.size = Pt(size)
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    else:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if indent is not None:
        paragraph.paragraph_format.left_indent = Cm(indent)
    return paragraph


def labelled(doc: Document, label: str, value: str) -> Paragraph:
    """An item of the form, "- Label: value", with the label in bold, as the form prints its items."""
    paragraph = para(doc)
    paragraph.add_run(clean(label)).bold = True
    paragraph.add_run(" " + clean(value) if value else "")
    return paragraph


def lines(doc: Document, text: str) -> None:
    """A long answer: one paragraph per line, indented like the item it belongs to."""
    for line in text.split("\n"):
        if line.strip():
            para(doc, line).paragraph_format.first_line_indent = Cm(1)


def table(doc: Document, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
    """A bordered table with a bold, centred header row; ``widths`` in cm."""
    grid = doc.add_table(rows=1 + len(rows), cols=len(header))
    grid.style = "Table Grid"
    for r, values in enumerate([header, *rows]):
        for c, value in enumerate(values):
            cell = grid.cell(r, c)
            cell.width = Cm(widths[c])
            paragraph = cell.paragraphs[0]
            run = paragraph.add_run(clean(value))
            run.font.size = Pt(12)
            if r == 0 or c == 0:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run.bold = r == 0 or None
