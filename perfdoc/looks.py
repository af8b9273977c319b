"""How things look, defined once: paragraph, cell and page looks after GB/T 9704 (docs/layout-spec.md).

The templates name a look by class (`p.body`, `td.left` …). templates/style.css.j2 turns these
looks into CSS for the PDF; perfdoc.render.docx turns the same looks into named Word styles. A
look changed here changes both outputs, so the PDF and the DOCX cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Align = Literal["left", "center", "right"]

BODY_LINE_PT = 28.95  # 22 lines in the 225 mm text block
# 28 characters of 16 pt would be 448 pt, wider than the 442 pt text block: like Word's document
# grid, draw them 0.25 pt closer (15.75 pt a character), and indent by two such characters.
BODY_CHAR_SPACING_PT = -0.25
BODY_INDENT_PT = 31.5


@dataclass(frozen=True)
class TextLook:
    """One kind of paragraph or cell text."""

    word_style: str  # the Word style's name: what a user sees (and changes) in Word's style list
    role: str  # the font role (perfdoc.render.fonts.ROLE_CANDIDATES): fangsong, heiti, kaiti …
    size_pt: float
    bold: bool | None = False  # None: as the role's face is drawn (a bold fallback for 小标宋)
    align: Align = "left"
    first_line_indent_pt: float = 0
    # Line height: an exact height in points, a multiple of the font size, or "single". Single
    # spacing is Word's own measure of the face; CSS has none, so the PDF uses SINGLE_LINE_CSS.
    line: float | Literal["single"] = "single"
    line_is_exact: bool = False
    char_spacing_pt: float = 0
    outline_level: int | None = None  # 0 for 一、, 1 for （一）: Word's navigation pane
    keep_with_next: bool = False


SINGLE_LINE_CSS = 1.3  # a CJK face's single line spacing, near enough (Noto CJK: 1.3–1.45 em)

# Paragraphs, by the class the templates give them.
PARAGRAPH_LOOKS: dict[str, TextLook] = {
    "doc-title-line": TextLook("文件标题", "xiaobiaosong", 22, bold=None, align="center", line=1.45),
    "heading-1": TextLook("一级标题", "heiti", 16, first_line_indent_pt=BODY_INDENT_PT, line=BODY_LINE_PT,
                          line_is_exact=True, char_spacing_pt=BODY_CHAR_SPACING_PT, outline_level=0,
                          keep_with_next=True),
    "heading-2": TextLook("二级标题", "kaiti", 16, first_line_indent_pt=BODY_INDENT_PT, line=BODY_LINE_PT,
                          line_is_exact=True, char_spacing_pt=BODY_CHAR_SPACING_PT, outline_level=1,
                          keep_with_next=True),
    "body": TextLook("正文", "fangsong", 16, first_line_indent_pt=BODY_INDENT_PT, line=BODY_LINE_PT,
                     line_is_exact=True, char_spacing_pt=BODY_CHAR_SPACING_PT),
    # The lines a profile prints above and below a record's table (`above`, `below`): its title
    # (小二 小标宋), then lines such as （2025年度） or 单位：万元 (小四 仿宋), kept with the table.
    "caption-title": TextLook("表格标题", "xiaobiaosong", 18, bold=None, align="center", keep_with_next=True),
    "caption": TextLook("表上文字", "fangsong", 12, align="center", keep_with_next=True),
    "caption-below": TextLook("表下文字", "fangsong", 12, align="left"),
}

# Table cells, by their look (the `look` of perfdoc.render.tables.GridCell). 五号 仿宋, single spacing.
CELL_LOOKS: dict[str, TextLook] = {
    "label": TextLook("表格标签", "fangsong", 10.5, bold=True, align="center"),
    "level": TextLook("表格文字", "fangsong", 10.5, align="center"),
    "center": TextLook("表格文字", "fangsong", 10.5, align="center"),
    "left": TextLook("表格长文字", "fangsong", 10.5, align="left"),
}

PAGE_NUMBER_LOOK = TextLook("页码", "songti", 14)


@dataclass(frozen=True)
class PageLook:
    """A4, GB/T 9704 margins, mirrored for double-sided printing (inner = binding edge)."""

    width_mm: float = 210
    height_mm: float = 297
    top_mm: float = 37
    bottom_mm: float = 35
    inner_mm: float = 28
    outer_mm: float = 26
    page_number_gap_mm: float = 7  # 页码 7 mm below the text block
    page_number_indent_pt: float = 14  # one 4号 character in from the outer edge

    @property
    def text_width_mm(self) -> float:
        """The text block's width (156 mm on A4): every table is exactly this wide."""
        return self.width_mm - self.inner_mm - self.outer_mm


@dataclass(frozen=True)
class TableLook:
    rule_pt: float = 0.5  # thin black rules
    padding_top_mm: float = 0.8
    padding_side_mm: float = 0.5


PAGE = PageLook()
TABLE = TableLook()
