"""Hand-made Word files, as people make them in Word or WPS, for the import tests.

`hand_made_docx` writes a department's title and text and one or two tables per project with
python-docx, in one of the styles found in real submissions: cells merged down (w:vMerge) and
across (w:gridSpan), or not merged at all (一级/二级 repeated in every row); soft line breaks and
stray half- and full-width spaces in the cells; labels with a full-width space inside; empty
paragraphs and page breaks between the tables.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import docx
from docx.enum.text import WD_BREAK

from perfdoc.data.model import chinese_number

COLUMNS = 6  # 一级 二级 三级 描述 指标值 依据
CHECKPOINTS = ("3月底", "6月底", "10月底", "12月底")


def _amount(value: Decimal | int) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def messy(text: str, messy_text: bool) -> list[str]:
    """The text as typed with stray spaces and a soft break in the middle (a list of lines)."""
    if not messy_text or not text:
        return [text]
    middle = len(text) // 2
    while 0 < middle < len(text) and not (ord(text[middle - 1]) > 0x2E80 and ord(text[middle]) > 0x2E80):
        middle += 1
    if 0 < middle < len(text):
        return [" " + text[:middle] + "\u3000", "\u3000" + text[middle:] + " "]
    return ["\u3000" + text + " "]


def _write(cell: Any, text: str, messy_text: bool = False) -> None:
    """The text in the cell's paragraph; its lines separated by soft breaks (w:br)."""
    lines = messy(text, messy_text)
    run = cell.paragraphs[0].add_run(lines[0])
    for line in lines[1:]:
        run.add_break()
        run.add_text(line)


def _label(text: str, spaced: bool) -> str:
    return text[:2] + "\u3000" + text[2:] if spaced and len(text) > 2 else text


def sentence(project: dict[str, Any], fiscal_unit: str = "万元") -> str:
    return (f"预算数 {_amount(project['budget'])} 万元。其中：财政资金 {_amount(project['fiscal_funds'])} {fiscal_unit}。"
            f"{project.get('use', '')}")


def _facts(table: Any, start: int, project: dict[str, Any], merged: bool, messy_text: bool, fiscal_unit: str) -> int:
    """Header rows from row `start`; returns the next free row."""
    rows = table.rows
    r = start

    def span(row: int, first: int, last: int, text: str, label: bool = False) -> None:
        cell = rows[row].cells[first]
        if merged and last > first:
            cell = cell.merge(rows[row].cells[last])
        _write(cell, _label(text, messy_text) if label else text, messy_text and not label)

    span(r, 0, 0, "项目编码", True)
    span(r, 1, 2, project["code"])
    span(r, 3, 3, "预算项目名称", True)
    span(r, 4, 5, project["name"])
    r += 1
    span(r, 0, 0, "项目资金主要用途", True)
    span(r, 1, 5, sentence(project, fiscal_unit))
    r += 1
    plan_label = "资金支出计划（%）"
    if merged:
        _write(rows[r].cells[0].merge(rows[r + 1].cells[0]), plan_label)
    else:
        _write(rows[r].cells[0], plan_label)
        _write(rows[r + 1].cells[0], plan_label)
    plan = project.get("spending_plan", {})
    for i, point in enumerate(CHECKPOINTS):
        last = 5 if i == 3 else i + 1
        span(r, i + 1, last, point)
        value = plan.get(point)
        span(r + 1, i + 1, last, "" if value is None else f"{_amount(value)}%")
    r += 2
    span(r, 0, 0, "绩效目标", True)
    span(r, 1, 5, project["goal"])
    return r + 1


def _indicator_rows(project: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(l1, l2, row) for l1, l2s in project["indicators"].items() for l2, rows in l2s.items() for row in rows]


def _grid(table: Any, start: int, project: dict[str, Any], merged: bool, messy_text: bool) -> None:
    rows = table.rows
    for c, label in enumerate(("一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据")):
        _write(rows[start].cells[c], _label(label, messy_text))
    body = _indicator_rows(project)
    for i, (level1, level2, row) in enumerate(body):
        r = start + 1 + i
        cells = rows[r].cells
        for c, key in enumerate(("name", "description", "value", "basis"), 2):
            _write(cells[c], row.get(key, ""), messy_text)
        if not merged:
            _write(cells[0], level1)
            _write(cells[1], level2)
    if merged:  # merge each run of equal 一级 / 二级 down
        for column, key in ((0, 0), (1, 1)):
            i = 0
            while i < len(body):
                j = i
                while j + 1 < len(body) and body[j + 1][key] == body[i][key] and body[j + 1][0] == body[i][0]:
                    j += 1
                top = rows[start + 1 + i].cells[column]
                cell = top.merge(rows[start + 1 + j].cells[column]) if j > i else top
                _write(cell, body[i][key])
                i = j + 1


def hand_made_docx(department: dict[str, Any], projects: list[dict[str, Any]], *, merged: bool, two_tables: bool,
                   messy_text: bool, slips: frozenset[str] = frozenset()) -> bytes:
    """A Word file in one style; `slips`: codes whose sentence says "财政资金 X 元" (the seed's slip)."""
    document = docx.Document()
    document.add_paragraph(department["department"] + department["title"])  # one title line
    document.add_paragraph("")
    document.add_paragraph("一、总体绩效目标")
    for text in department["overall_target"]:
        document.add_paragraph(text)
    document.add_paragraph("二、分项绩效目标")
    for i, item in enumerate(department["sub_targets"]):
        document.add_paragraph(f"（{chinese_number(i + 1)}）{item['heading']}")
        document.add_paragraph(f"绩效目标：{item['target']}")
        document.add_paragraph(f"绩效指标：{item['indicators']}")
    document.add_paragraph("三、目标规划及保障措施")
    for i, text in enumerate(department["measures"]):
        document.add_paragraph(f"（{chinese_number(i + 1)}）{text}")
    for project in projects:
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        document.add_paragraph("")
        unit = "元" if project["code"] in slips else "万元"
        indicator_count = len(_indicator_rows(project)) + 1
        if two_tables:
            facts = document.add_table(rows=5, cols=COLUMNS)
            _facts(facts, 0, project, merged, messy_text, unit)
            document.add_paragraph("")
            grid = document.add_table(rows=indicator_count, cols=COLUMNS)
            _grid(grid, 0, project, merged, messy_text)
        else:
            table = document.add_table(rows=5 + indicator_count, cols=COLUMNS)
            _grid(table, _facts(table, 0, project, merged, messy_text, unit), project, merged, messy_text)
    document.add_paragraph("")  # Word always ends the body with a paragraph after the last table
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# -- hand-written packages: the smallest .docx / .xlsx, for damaged and hostile files ------------------

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PR = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"


def _package(parts: dict[str, str | bytes]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in parts.items():
            package.writestr(name, content.encode() if isinstance(content, str) else content)
    return out.getvalue()


def docx_package(body: str, *, prolog: str = "") -> bytes:
    """A .docx whose word/document.xml body is `body` (WordprocessingML, prefix w:); `prolog` goes
    before the root element (a DOCTYPE, say)."""
    return _package({
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PR}">'
        f'<Relationship Id="rId1" Type="{_R}/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<w:document xmlns:w="{_W}"><w:body>{body}'
        "</w:body></w:document>",
    })


def docx_table(rows: list[list[tuple[str, str]]], grid_columns: int) -> str:
    """A w:tbl: each cell (text, gridSpan value or "" for none), on a w:tblGrid of `grid_columns`."""
    cells = "".join(
        "<w:tr>" + "".join(
            "<w:tc>" + (f'<w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr>' if span else "")
            + f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>" for text, span in row) + "</w:tr>"
        for row in rows)
    return f"<w:tbl><w:tblGrid>{'<w:gridCol/>' * grid_columns}</w:tblGrid>{cells}</w:tbl>"


def xlsx_package(sheets: dict[str, str], *, prolog: dict[str, str] | None = None,
                 shared_strings: str | None = None) -> bytes:
    """An .xlsx with one worksheet per entry, `name: sheetData XML` (inline strings: <c t="inlineStr">),
    each sheet's `<dimension>` given by a `<dimension …/>` at the start of its text if any; `prolog`
    maps a part name to what goes before its root element."""
    prolog = prolog or {}
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                        for i in range(1, len(sheets) + 1))
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + overrides + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                       'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' if shared_strings else "")
        + "</Types>",
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PR}">'
        f'<Relationship Id="rId1" Type="{_R}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?>{prolog.get("xl/workbook.xml", "")}'
        f'<workbook xmlns="{_S}" xmlns:r="{_R}"><sheets>'
        + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1))
        + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PR}">'
        + "".join(f'<Relationship Id="rId{i}" Type="{_R}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                  for i in range(1, len(sheets) + 1))
        + (f'<Relationship Id="rIdS" Type="{_R}/sharedStrings" Target="sharedStrings.xml"/>' if shared_strings else "")
        + "</Relationships>",
    }
    for i, content in enumerate(sheets.values(), 1):
        part = f"xl/worksheets/sheet{i}.xml"
        dimension = ""
        if content.startswith("<dimension"):
            dimension, content = content[:content.index("/>") + 2], content[content.index("/>") + 2:]
        parts[part] = (f'<?xml version="1.0" encoding="UTF-8"?>{prolog.get(part, "")}<worksheet xmlns="{_S}">'
                       f"{dimension}<sheetData>{content}</sheetData></worksheet>")
    if shared_strings:
        parts["xl/sharedStrings.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?>{prolog.get("xl/sharedStrings.xml", "")}'
                                         f'<sst xmlns="{_S}">{shared_strings}</sst>')
    return _package(parts)


def xlsx_row(number: int, values: list[str], first_column: int = 1) -> str:
    """A <row> of inline-string cells starting at `first_column` (1 = A)."""
    from openpyxl.utils import get_column_letter

    cells = "".join(f'<c r="{get_column_letter(first_column + i)}{number}" t="inlineStr"><is><t>{text}</t></is></c>'
                    for i, text in enumerate(values))
    return f'<row r="{number}">{cells}</row>'
