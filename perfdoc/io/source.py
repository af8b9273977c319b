"""What a readable file becomes before anything is recognised: paragraphs and grids of cells.

Word files and spreadsheets differ, but people merge cells in three ways (a vertical merge, a
horizontal span, or no merge at all with the label repeated in each row) and type stray spaces and
line breaks into cells. Here every cell gets its grid column and its cleaned text, and a cell that
continues a vertical merge gets the text of the cell it continues, so the recognisers see one shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE_SPLIT = re.compile(r"[\n\r\v\f\u2028\u2029\x85]")
_SPACE_RUN = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
_EDGE_SPACE = "\t \u3000\u00a0\u200b\ufeff"


def _wide(char: str) -> bool:
    """CJK characters and full-width punctuation: no space is written between them."""
    return ord(char) >= 0x2E80


def clean_text(raw: str) -> str:
    """A cell's or paragraph's text as the author meant it.

    Lines (soft breaks, paragraphs inside a cell) are stripped and joined: directly where either
    side is Chinese, with one space between Latin words. A single ASCII space inside a line is kept
    (`达 100%` is how the seed document writes it); any other run of spaces (full-width U+3000,
    no-break, several) goes away between Chinese characters and becomes one space elsewhere.
    """
    lines = [line.strip(_EDGE_SPACE + " ") for line in _LINE_SPLIT.split(raw)]
    text = ""
    for line in (line for line in lines if line):
        if text and not (_wide(text[-1]) or _wide(line[0])):
            text += " "
        text += line

    def collapse(match: re.Match[str]) -> str:
        run = match.group(0)
        if run == " ":
            return run
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        return "" if before and after and _wide(before) and _wide(after) else " "

    return _SPACE_RUN.sub(collapse, text)


def label_key(text: str) -> str:
    """How labels are compared: `项目　编码`, `项目编码 ` and `项目编码` are the same label."""
    return _SPACE_RUN.sub("", text).replace("(", "（").replace(")", "）").replace(":", "：")


@dataclass
class GridCell:
    """One cell as written: its text (a merged continuation: the text of the cell above), where it starts
    in the table's grid (0-based), how many grid columns it spans, and whether it continues a merge."""

    text: str
    column: int
    span: int = 1
    continued: bool = False

    @property
    def key(self) -> str:
        return label_key(self.text)


@dataclass
class GridRow:
    table: int  # 1-based number of the table in the file
    number: int  # 1-based row number within its table
    cells: list[GridCell] = field(default_factory=list)

    def cell_at(self, column: int) -> GridCell | None:
        """The cell covering grid column `column`."""
        return next((c for c in self.cells if c.column <= column < c.column + c.span), None)


@dataclass
class Grid:
    number: int  # 1-based table number
    rows: list[GridRow] = field(default_factory=list)


@dataclass
class Paragraph:
    text: str
    style: str = ""


@dataclass
class Source:
    """A file read: its paragraphs and grids in document order."""

    name: str  # as shown in messages
    blocks: list[Paragraph | Grid] = field(default_factory=list)

    @property
    def grids(self) -> list[Grid]:
        return [b for b in self.blocks if isinstance(b, Grid)]
