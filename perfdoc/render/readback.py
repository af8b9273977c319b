"""The rendered HTML read back as a small layout model: sections, paragraphs, tables with spans.

The templates are the one source of structure and wording. The PDF is the HTML laid out by
WeasyPrint; the DOCX writer and the font check read this model of the very same HTML, so the
two outputs cannot disagree about a cell, a heading or a label. Only the tags and classes the
templates use are understood; anything else is a template error, reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from perfdoc.diagnostics import Diagnostic, UserError, in_file, unlocated
from perfdoc.looks import CELL_LOOKS, PARAGRAPH_LOOKS


@dataclass
class Paragraph:
    style: str  # the element's class: doc-title-line, heading-1, heading-2, body, caption …
    text: str
    # A line above or below a table: its left, centred and right parts (`text` is them joined).
    parts: tuple[str, str, str] | None = None


@dataclass
class Cell:
    text: str
    style: str  # its look (a key of perfdoc.looks.CELL_LOOKS): label, level, left, center
    header: bool  # <th>
    colspan: int = 1
    rowspan: int = 1
    open_top: bool = False  # no rule above: it continues the cell above (class open-top)
    open_bottom: bool = False  # no rule below (class open-bottom)


@dataclass
class Row:
    cells: list[Cell]
    repeat_header: bool  # inside <thead>: repeats on each page
    group: int  # index of the <tbody> (一级 group) the row belongs to; -1 for thead
    style: str = ""  # the <tr> class: `last` is the project facts' last row (joins the grid below)


@dataclass
class Table:
    style: str  # facts, indicators
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


class TemplateMarkupError(UserError):
    """The templates produced markup this reader does not know: a template mistake, not data's.

    `needles` are the pieces of markup at fault (`<blink`, `class="note"`): text that stands in a
    template as written, since data is always escaped, so read_layout can point at the template line.
    """

    def __init__(self, diagnostic: Diagnostic, needles: tuple[str, ...] = ()):
        super().__init__(diagnostic)
        self.needles = needles


# What the templates may use. Anything else stops the build: a tag or class this reader does not
# know would otherwise vanish from the DOCX while still showing in the PDF.
PARAGRAPH_CLASSES = set(PARAGRAPH_LOOKS)  # doc-title-line, heading-1, heading-2, body, caption-title, caption …
CAPTION_CLASSES = {"caption-title", "caption", "caption-below"}
CAPTION_PARTS = {"caption-left": 0, "caption-center": 1, "caption-right": 2}
CELL_MODIFIERS = {"open-top", "open-bottom"}
STRUCTURE_TAGS = {"html", "head", "meta", "title", "style", "body", "section", "div", "colgroup", "col", "thead",
                  "tbody", "tr", "table"}
TEXT_BLOCKS = {"h2", "h3", "p"}
CELL_TAGS = {"td", "th"}
INLINE_SPANS = {"nowrap"}  # <span class="nowrap"> inside a cell: a CSS hint only, its text is kept


class _Reader(HTMLParser):
    """A strict little reader for the templates' HTML subset."""

    def __init__(self) -> None:
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
        self._in_style = False
        self._title_parts: list[str] = []
        self._in_title_span = False
        self._parts: list[str] | None = None  # a caption line's left, centre and right
        self._part: int | None = None

    def _refuse(self, what: str, *needles: str) -> TemplateMarkupError:
        line, column = self.getpos()
        return TemplateMarkupError(unlocated(
            f"模板错误（template error）: 生成的 HTML 第 {line} 行第 {column + 1} 列：{what}。"
            "perfdoc 只认识模板所用的标签和样式类（perfdoc/render/readback.py），请检查模板"), needles)

    def _section(self) -> Section:
        if not self.layout.sections:
            raise self._refuse("内容不在任何 <section> 之内")
        return self.layout.sections[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        cls = a.get("class", "")
        if tag == "html":
            self.layout.lang = a.get("lang", "")
        elif tag == "title":
            self._in_title = True
        elif tag == "style":
            self._in_style = True
        elif tag == "meta":
            name = a.get("name")
            if name in ("author", "description", "keywords"):
                setattr(self.layout, {"description": "subject"}.get(name, name), a.get("content", ""))
        elif tag == "section" or (tag == "div" and "data-bookmark" in a):
            self.layout.sections.append(Section(cls, a.get("data-bookmark", "")))
        elif tag == "h1" and cls == "doc-title":
            pass  # its lines are the <span class="doc-title-line"> inside
        elif tag == "span" and cls == "doc-title-line":
            self._text, self._block_style, self._in_title_span = [], cls, True
        elif tag == "span" and cls in INLINE_SPANS and self._cell is not None:
            pass
        elif tag == "span" and cls in CAPTION_PARTS and self._parts is not None:
            self._part = CAPTION_PARTS[cls]
        elif tag in TEXT_BLOCKS:
            if cls not in PARAGRAPH_CLASSES:
                raise self._refuse(f"段落 <{tag} class=\"{cls}\"> 的样式类不认识（应为 {'、'.join(sorted(PARAGRAPH_CLASSES))}）",
                                   f'class="{cls}"')
            self._text, self._block_style = [], cls
            self._parts = ["", "", ""] if cls in CAPTION_CLASSES else None
            self._part = None
        elif tag == "table":
            self._table = Table(cls, [])
            self._group = -1
        elif tag == "col" and self._table is not None:
            self._table.column_widths_mm.append(self._width_mm(a.get("style", "")))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._group += 1
        elif tag == "tr":
            if self._table is None:
                raise self._refuse("<tr> 不在 <table> 之内")
            self._row = Row([], self._in_head, -1 if self._in_head else self._group, cls)
        elif tag in CELL_TAGS:
            if self._row is None:
                raise self._refuse(f"<{tag}> 不在 <tr> 之内")
            look, *modifiers = cls.split() or [""]
            if look not in CELL_LOOKS or not set(modifiers) <= CELL_MODIFIERS:
                raise self._refuse(f"单元格 <{tag} class=\"{cls}\"> 的样式类不认识（应为 {'、'.join(CELL_LOOKS)}，"
                                   f"可加 {'、'.join(sorted(CELL_MODIFIERS))}）", f'class="{cls}"')
            self._cell = Cell("", look, tag == "th", self._span(a, "colspan"), self._span(a, "rowspan"),
                              "open-top" in modifiers, "open-bottom" in modifiers)
            self._text = []
        elif tag not in STRUCTURE_TAGS or tag == "div":
            shown = f'<{tag} class="{cls}">' if cls else f"<{tag}>"
            raise self._refuse(f"不认识的标签 {shown}", f"<{tag}", *([f'class="{cls}"'] if cls else []))

    def _span(self, attrs: dict[str, str], name: str) -> int:
        value = attrs.get(name, "1")
        if not value.isdigit() or int(value) < 1:
            raise self._refuse(f"{name}=\"{value}\" 应为正整数")
        return int(value)

    def _width_mm(self, style: str) -> float:
        """`width: 8.6mm` → 8.6: column widths are written once, in the template's <col> tags."""
        for declaration in style.split(";"):
            name, _, value = declaration.partition(":")
            if name.strip() == "width" and value.strip().endswith("mm"):
                try:
                    return float(value.strip()[:-2])
                except ValueError:
                    break
        raise self._refuse(f"<col> 需要 style=\"width: …mm\"，实际是 “{style}”")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            self.layout.title = "".join(self._title_parts).strip()
        elif tag == "style":
            self._in_style = False
        elif tag == "span" and self._in_title_span:
            self._in_title_span = False
            self._add_paragraph()
        elif tag == "span" and self._part is not None:
            self._part = None
        elif tag in TEXT_BLOCKS and self._text is not None:
            self._add_paragraph()
        elif tag in CELL_TAGS and self._cell is not None and self._row is not None:
            self._cell.text = "".join(self._text or []).strip()
            self._row.cells.append(self._cell)
            self._cell, self._text = None, None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._table.rows.append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._table is not None:
            self._section().blocks.append(self._table)
            self._table = None

    def _add_paragraph(self) -> None:
        text = "".join(self._text or []).strip()
        parts = tuple(part.strip() for part in self._parts) if self._parts is not None else None
        if parts is not None:
            text = "　".join(part for part in parts if part)
        if text:
            self._section().blocks.append(Paragraph(self._block_style, text,
                                                    (parts[0], parts[1], parts[2]) if parts is not None else None))
        self._text, self._parts, self._part = None, None, None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)
        elif self._text is not None:
            self._text.append(" ".join(data.split()) if data.strip() else "")
            if self._parts is not None and self._part is not None:
                self._parts[self._part] += " ".join(data.split())
        elif data.strip() and not self._in_style:
            raise self._refuse(f"文字 “{data.strip()[:20]}” 不在段落或单元格之内")


def read_layout(html: str, templates_dir: Path | None = None) -> Layout:
    """The layout of perfdoc's own HTML; markup outside the templates' subset is a TemplateMarkupError,
    located in the template that wrote it when `templates_dir` is given."""
    reader = _Reader()
    try:
        reader.feed(html)
        reader.close()
    except TemplateMarkupError as exc:
        where = _template_line(exc.needles, templates_dir) if templates_dir else None
        if where is None:
            raise
        path, line, column = where
        raise TemplateMarkupError(in_file(path, exc.diagnostics[0].message, line=line, column=column),
                                  exc.needles) from exc
    return reader.layout


def _template_line(needles: tuple[str, ...], templates_dir: Path) -> tuple[Path, int, int] | None:
    """(file, line, column) of the first template line holding one of `needles`, in needle order."""
    templates = sorted(templates_dir.glob("*.j2"))
    for needle in needles:
        for path in templates:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                column = line.find(needle)
                if column >= 0:
                    return path, number, column + 1
    return None


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
