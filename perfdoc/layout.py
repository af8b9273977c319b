"""The rendered HTML read back as a small layout model: sections, paragraphs, tables with spans.

The templates are the one source of structure and wording. The PDF is the HTML laid out by
WeasyPrint; the DOCX writer and the font check read this model of the very same HTML, so the
two outputs cannot disagree about a cell, a heading or a label. Only the tags and classes the
templates use are understood; anything else is a template error, reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Paragraph:
    style: str  # the element's class: doc-title-line, heading-1, heading-2, body …
    text: str


@dataclass
class Cell:
    text: str
    style: str  # class: label, level1, description …
    header: bool  # <th>
    colspan: int = 1
    rowspan: int = 1


@dataclass
class Row:
    cells: list[Cell]
    repeat_header: bool  # inside <thead>: repeats on each page
    group: int  # index of the <tbody> (一级 group) the row belongs to; -1 for thead
    style: str = ""  # the <tr> class: `last` is the project facts' last row (joins the grid below)


@dataclass
class Table:
    style: str  # project-info, indicators
    column_widths_mm: list[float]
    rows: list[Row] = field(default_factory=list)


@dataclass
class Section:
    style: str  # front, project
    bookmark: str
    blocks: list[Paragraph | Table] = field(default_factory=list)


@dataclass
class Layout:
    title: str
    author: str
    subject: str
    keywords: str
    lang: str
    sections: list[Section] = field(default_factory=list)

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]


class _Reader(HTMLParser):
    """A strict little reader for the templates' HTML subset."""

    TEXT_BLOCKS = {"h1", "h2", "h3", "p"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.layout = Layout("", "", "", "", "")
        self._text: list[str] | None = None
        self._block_style = ""
        self._cell: Cell | None = None
        self._table: Table | None = None
        self._row: Row | None = None
        self._in_head = False
        self._group = -1
        self._in_title = False
        self._title_parts: list[str] = []
        self._in_title_span = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "html":
            self.layout.lang = a.get("lang", "")
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            name = a.get("name")
            if name in ("author", "description", "keywords"):
                setattr(self.layout, {"description": "subject"}.get(name, name), a.get("content", ""))
        elif tag in ("section", "div") and a.get("data-bookmark") is not None or tag == "section":
            self.layout.sections.append(Section(cls, a.get("data-bookmark", "")))
        elif tag == "span" and "doc-title-line" in cls:
            self._text, self._block_style, self._in_title_span = [], cls, True
        elif tag in self.TEXT_BLOCKS:
            self._text, self._block_style = [], cls
        elif tag == "table":
            self._table = Table(cls, [])
            self._group = -1
        elif tag == "col" and self._table is not None:
            self._table.column_widths_mm.append(_width_mm(a.get("style", "")))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._group += 1
        elif tag == "tr":
            self._row = Row([], self._in_head, -1 if self._in_head else self._group, cls)
        elif tag in ("td", "th"):
            self._cell = Cell("", cls, tag == "th", int(a.get("colspan", 1)), int(a.get("rowspan", 1)))
            self._text = []

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
            self.layout.title = "".join(self._title_parts).strip()
        elif tag == "span" and self._in_title_span:
            self._in_title_span = False
            self._add_paragraph()
        elif tag in self.TEXT_BLOCKS and self._text is not None:
            self._add_paragraph()
        elif tag in ("td", "th") and self._cell is not None:
            self._cell.text = "".join(self._text or []).strip()
            self._row.cells.append(self._cell)
            self._cell, self._text = None, None
        elif tag == "tr" and self._row is not None:
            self._table.rows.append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._table is not None:
            self.layout.sections[-1].blocks.append(self._table)
            self._table = None

    def _add_paragraph(self):
        text = "".join(self._text).strip()
        if text:
            self.layout.sections[-1].blocks.append(Paragraph(self._block_style, text))
        self._text = None

    def handle_data(self, data):
        if self._in_title:
            self._title_parts.append(data)
        elif self._text is not None:
            self._text.append(" ".join(data.split()) if data.strip() else "")


def _width_mm(style: str) -> float:
    """`width: 8.6mm` → 8.6: column widths are written once, in the template's <col> tags."""
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() == "width" and value.strip().endswith("mm"):
            return float(value.strip()[:-2])
    raise ValueError(f"<col> needs style=\"width: …mm\", got {style!r}")


def read_layout(html: str) -> Layout:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.layout


def text_by_style(layout: Layout) -> dict[str, str]:
    """All text in the document, grouped by the class that styles it (for the font check)."""
    groups: dict[str, list[str]] = {}
    groups.setdefault("title", []).append(layout.title)
    for section in layout.sections:
        groups.setdefault("bookmark", []).append(section.bookmark)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                groups.setdefault(block.style, []).append(block.text)
            else:
                for row in block.rows:
                    for cell in row.cells:
                        groups.setdefault("table", []).append(cell.text)
    return {style: "".join(texts) for style, texts in groups.items()}
