"""A .docx (Word, WPS, LibreOffice, perfdoc's own) read as paragraphs and grids (perfdoc.io.source).

Read straight from the WordprocessingML with python-docx's XML tree: `w:gridSpan` says how many grid
columns a cell spans, `w:vMerge` (restart / continue) merges cells down, `w:gridBefore` skips
columns at the start of a row; spans are bounded by the table's grid (w:tblGrid), so a span of
4 000 000 000 costs nothing, and read as ASCII digits only. Soft breaks (`w:br`) and paragraphs inside a cell are line breaks
that perfdoc.io.source.clean_text joins.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from typing import Any

from perfdoc.diagnostics import UserError, one_line, unlocated
from perfdoc.io.source import Grid, GridCell, GridRow, Paragraph, Source, clean_text

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Word tables have at most 63 columns; a table without w:tblGrid is bounded by that.
MAX_WORD_COLUMNS = 63
_DIGITS = re.compile(r"[0-9]+")
_RESAVE = "请用 Word 或 WPS 打开后另存为 .docx 再导入"


def _val(element: Any, tag: str) -> str | None:
    found = element.find(f"{W}{tag}") if element is not None else None
    return None if found is None else found.get(f"{W}val", "")


def _paragraph_text(p: Any) -> str:
    parts: list[str] = []
    for node in p.iter(f"{W}t", f"{W}br", f"{W}cr", f"{W}tab", f"{W}noBreakHyphen"):
        tag = node.tag[len(W):]
        if tag == "t":
            parts.append(node.text or "")
        elif tag == "tab":
            parts.append(" ")
        elif tag == "noBreakHyphen":
            parts.append("-")
        elif node.get(f"{W}type") != "page":  # a page break inside a paragraph is no text
            parts.append("\n")
    return "".join(parts)


def _cell_text(tc: Any) -> str:
    return "\n".join(_paragraph_text(p) for p in tc.iter(f"{W}p"))


def _count(value: str | None, what: str, name: str, number: int, row: int) -> int:
    """A w:gridSpan / w:gridBefore value: ASCII digits only (`²` and `٣` are digits to Python, not
    to Word); 0 when absent or empty. A value of more than 9 digits is past any grid: capped there."""
    if not value:
        return 0
    if not _DIGITS.fullmatch(value):
        raise UserError(unlocated(f"{name} 第 {number} 张表第 {row} 行的 w:{what}=“{one_line(value[:20])}”不是数字："
                                  f"文件已损坏；{_RESAVE}"))
    return int(value) if len(value) <= 9 else 10**9


def _grid(tbl: Any, number: int, name: str) -> Grid:
    """The table's cells on its grid. Spans are bounded by the grid the table declares (w:tblGrid, or
    Word's own limit when it has none): a span past it is a damaged or hostile file, refused."""
    grid = Grid(number)
    declared = len(tbl.findall(f"{W}tblGrid/{W}gridCol"))
    width = declared or MAX_WORD_COLUMNS
    bound = f"表格的 {width} 列（{'w:tblGrid' if declared else 'Word 的上限'}）"
    above: dict[int, GridCell] = {}  # grid column → the cell last placed there
    for r, tr in enumerate(tbl.findall(f"{W}tr"), 1):
        row = GridRow(number, r)
        before = _val(tr.find(f"{W}trPr"), "gridBefore")
        column = _count(before, "gridBefore", name, number, r)
        if column >= width:
            raise UserError(unlocated(f"{name} 第 {number} 张表第 {r} 行的 w:gridBefore=“{before}”超出{bound}："
                                      f"文件已损坏；{_RESAVE}"))
        for tc in tr.findall(f"{W}tc"):
            tcpr = tc.find(f"{W}tcPr")
            span_text = _val(tcpr, "gridSpan")
            span = max(_count(span_text, "gridSpan", name, number, r), 1)
            if column + span > width:
                raise UserError(unlocated(
                    f"{name} 第 {number} 张表第 {r} 行第 {len(row.cells) + 1} 个单元格"
                    f"{f'（w:gridSpan=“{span_text}”）' if span_text else ''}超出{bound}：文件已损坏；{_RESAVE}"))
            merge = _val(tcpr, "vMerge")
            continued = merge is not None and merge != "restart" and column in above
            text = above[column].text if continued else clean_text(_cell_text(tc))
            cell = GridCell(text, column, span, continued)
            row.cells.append(cell)
            for c in range(column, column + span):
                above[c] = cell
            column += span
        grid.rows.append(row)
    return grid


def _blocks(parent: Any, source: Source, counter: list[int]) -> None:
    for child in parent:
        tag = child.tag[len(W):] if isinstance(child.tag, str) and child.tag.startswith(W) else ""
        if tag == "p":
            text = clean_text(_paragraph_text(child))
            if text:
                style = _val(child.find(f"{W}pPr"), "pStyle") or ""
                source.blocks.append(Paragraph(text, style))
        elif tag == "tbl":
            counter[0] += 1
            source.blocks.append(_grid(child, counter[0], source.name))
        elif tag in ("sdt", "sdtContent", "customXml"):
            _blocks(child, source, counter)


def read_docx(content: bytes, name: str) -> Source:
    """Paragraphs and tables of the document body, in order; a file that is no .docx is a UserError."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(content))
    # What python-docx raises for a damaged package: a missing or unreadable part (KeyError, zip errors),
    # bad XML (SyntaxError), and its own code meeting values a package cannot have (found by fuzzing:
    # a content-types entry without its extension gives AttributeError).
    except (PackageNotFoundError, zipfile.BadZipFile, zlib.error, EOFError, LookupError, ValueError, SyntaxError,
            AttributeError, TypeError, IndexError) as exc:
        raise UserError(unlocated(f"{name} 不是可读的 Word 文档（.docx）：{exc}；{_RESAVE}")) from exc
    source = Source(name)
    _blocks(document.element.body, source, [0])
    return source

