"""The document as a workbook for the budget office: 项目汇总, 绩效指标 and 部门 (XLSX_SPEC.md).

Two steps, so the cache can key on content: `workbook_sheets` turns the model into plain sheets
(headers, rows of numbers and text, the totals row's formulas with their values), and
`write_workbook` turns those into bytes with XlsxWriter. A number of the data keeps the decimals its
author wrote (Amount): the cell shows exactly those (`#,##0.00` for 135.00, `#,##0.0` for 20.1,
`#,##0` for 1174), and `import` reads the format back, so 135.00 comes back as 135.00. Column
headers are perfdoc.data.fields labels, never the profile's captions, so `import` maps columns
without knowing the profile. XlsxWriter stamps every zip entry with 1980-01-01 and takes the
document's creation time from us, so the same data gives the same bytes.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import xlsxwriter

from perfdoc.data.fields import DEPARTMENT_FIELDS, INDICATOR_FIELDS, PROJECT_FIELDS, SUB_TARGET_FIELDS, Field
from perfdoc.data.model import Department, Document, IndicatorBlock
from perfdoc.data.validate import EXCEL_CELL_MAX_CHARS, excel_length
from perfdoc.render.summary import TOTAL_LABEL, amount_total, number, project_field_keys

FIXED_TIME = datetime(2000, 1, 1)  # the document's creation time: fixed, as the DOCX's
SUMMARY_SHEET, INDICATOR_SHEET, DEPARTMENT_SHEET = "项目汇总", "绩效指标", "部门"
PLAN_HEADER = "资金支出计划（%）"
# The key column's header where projects have no code (their file names are their keys).
FILE_KEY_HEADER = "文件名"
BLOCK_NAMES = {"annual": "年度", "long_term": "长期"}
DEPARTMENT_WIDE = "部门整体"

Look = Literal["text", "long", "amount", "number"]
# Column widths in Excel's character units: at least MIN, at most the look's cap; long text wraps.
MIN_WIDTH, TEXT_CAP, LONG_CAP = 8, 30, 60


@dataclass(frozen=True)
class Amount:
    """A number as the author wrote it: stored as a number (Excel sums it), shown with `places`
    decimals, the ones written (2 for 135.00, 1 for 20.1, 0 for 1174), so it reads as the PDF
    prints it and `import` restores 135.00 rather than 135."""

    value: int | float
    places: int


@dataclass(frozen=True)
class Formula:
    """A computed cell: the formula, and its value cached for viewers that do not recalculate.
    `places`: the decimals the cell shows (a total of amounts: see `written_total`); None, the
    column's own format."""

    text: str
    value: int | float
    places: int | None = None


Value = str | int | float | bool | Amount | Formula | None


@dataclass(frozen=True)
class Column:
    header: str
    look: Look


@dataclass
class Sheet:
    name: str
    columns: list[Column]
    rows: list[list[Value]] = field(default_factory=list)


def _look(f: Field) -> Look:
    if f.kind == "amount":
        return "amount"
    if f.kind == "percent":
        return "number"
    return "long" if f.long else "text"


def decimals(value: Decimal | int) -> int:
    """The decimals written: 2 for 135.00, 1 for 20.1, 0 for 1174 (and for 1E+3)."""
    exponent = value.as_tuple().exponent if isinstance(value, Decimal) else 0
    return max(0, -exponent) if isinstance(exponent, int) else 0


def written(value: Decimal | int) -> Amount:
    """A number of the data (a Decimal, or an int where written whole) as a cell showing the decimals it was written with."""
    return Amount(number(value), decimals(value))


def written_total(text: str, total: Decimal) -> Formula:
    """A SUM of amounts, its cached value the exact total, shown with the most decimals among its
    terms (135.00 + 20.1 shows 155.10): Decimal addition keeps the longest fraction of its terms,
    and the PDF prints the total as that same Decimal (amount_text), so the cell reads as printed."""
    return Formula(text, number(total), decimals(total))


def _value(value: Any) -> Value:
    """Amounts, weights and plan percentages as numbers with their written decimals (the loader gives
    `1174` as an int, `135.00` as a Decimal), everything else as the text the data holds."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return written(value)
    if isinstance(value, bool | float | str):
        return value
    return str(value)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# ---------------------------------------------------------------------------------------------
# Sheet 1: 项目汇总


def _key_header(document: Document) -> str:
    """项目编码, or 文件名 where the profile's projects are known by their file names (no code)."""
    return PROJECT_FIELDS["code"].label if document.profile.uses_code or not document.projects else FILE_KEY_HEADER


def summary_sheet(document: Document) -> Sheet:
    keys = project_field_keys(document)
    fields = document.profile.record_fields
    sources = [block.source for block in document.profile.blocks]
    columns = [Column(_key_header(document), "text"), Column(PROJECT_FIELDS["name"].label, "long")]
    columns += [Column(fields[key].label, _look(fields[key])) for key in keys]
    columns += [Column(f"{PLAN_HEADER}{point}", "number") for point in document.profile.checkpoints]
    goals = [source for source in ("annual", "long_term") if source in sources]
    columns += [Column("绩效目标" if source == "annual" else "长期目标", "long") for source in goals]
    sheet = Sheet(SUMMARY_SHEET, columns)
    for project in document.projects:
        blocks = {block.source: block for block in project.blocks}
        sheet.rows.append([
            project.code, project.name, *(_value(project.fact(key)) for key in keys),
            *(_value(point.percent) for point in project.spending_plan),
            *(_value(blocks[source].goal) for source in goals),
        ])
    last = len(document.projects) + 1  # the header is row 1
    totals: list[Value] = [TOTAL_LABEL, None]
    for index, key in enumerate(keys, start=2):
        if fields[key].kind != "amount":
            totals.append(None)
            continue
        total = amount_total(document.projects, key)
        letter = _column_letter(index)
        totals.append(written_total(f"=SUM({letter}2:{letter}{last})", total) if document.projects else written(total))
    totals += [None] * (len(columns) - len(totals))
    sheet.rows.append(totals)
    return sheet


# ---------------------------------------------------------------------------------------------
# Sheet 2: 绩效指标


def _block_rows(block: IndicatorBlock, code: str, name: str | None, keys: list[str]) -> Iterator[list[Value]]:
    """One row per 三级指标; an empty 二级 (printed as an empty row) is one row with no 三级."""
    for level1 in block.groups:
        for level2 in level1.groups:
            first: list[Value] = [code, name, BLOCK_NAMES[block.source], level1.name, level2.name]
            if not level2.indicators:
                yield first + [None] * len(keys)
            for indicator in level2.indicators:
                yield first + [_value(indicator.get(key)) for key in keys]


def indicator_sheet(document: Document) -> Sheet:
    table = document.department.table
    records: list[tuple[str, str | None, tuple[IndicatorBlock, ...]]] = []
    profiles = []
    if table is not None:
        records.append((DEPARTMENT_WIDE, None, table.blocks))
        profiles.append(table.profile)
    if document.projects:
        profiles.append(document.profile)
    records += [(project.code, project.name, project.blocks) for project in document.projects]
    shown = {key for profile in profiles for key in profile.indicator_fields()}
    filled = {key for _, _, blocks in records for block in blocks for row in block.rows for key in row.indicator.as_dict()}
    keys = [key for key in INDICATOR_FIELDS if key in shown or key in filled]
    columns = [Column(_key_header(document), "text"), Column(PROJECT_FIELDS["name"].label, "long"),
               Column("目标块", "text"), Column("一级指标", "text"), Column("二级指标", "text")]
    columns += [Column(INDICATOR_FIELDS[key].label, _look(INDICATOR_FIELDS[key])) for key in keys]
    sheet = Sheet(INDICATOR_SHEET, columns)
    for code, name, blocks in records:
        for block in blocks:
            sheet.rows.extend(_block_rows(block, code, name, keys))
    return sheet


# ---------------------------------------------------------------------------------------------
# Sheet 3: 部门


def department_rows(document: Document) -> Iterator[tuple[str, str, Value]]:
    """(YAML path, Chinese caption, value) for every value of department.yaml, in file order."""
    department: Department = document.department
    label = {key: field.label for key, field in DEPARTMENT_FIELDS.items()}
    yield "department", label["department"], department.name
    yield "year", label["year"], department.year
    yield "title", label["title"], department.title
    yield "profile", label["profile"], document.profile.name
    for key, value in department.settings:
        yield key, label[key], value
    if department.summary_table:
        yield "summary_table", label["summary_table"], True
    for i, paragraph in enumerate(department.overall_target, 1):
        yield f"overall_target[{i}]", f"{label['overall_target']} 第{i}段", paragraph
    for i, sub in enumerate(department.sub_targets, 1):
        for key, sub_field in SUB_TARGET_FIELDS.items():
            yield f"sub_targets[{i}].{key}", f"{label['sub_targets']}（{sub.number}）{sub_field.label}", getattr(sub, key)
    for i, item in enumerate(department.measures, 1):
        yield f"measures[{i}]", f"{label['measures']}（{item.number}）", item.text
    table = department.table
    if table is None:
        return
    yield "department_table.profile", f"{label['department_table']}：{label['profile']}", table.profile.name
    facts = dict(table.facts)
    for key, f in table.profile.record_fields.items():
        if key != "department" and facts.get(key) is not None:
            yield f"department_table.{key}", f.label, _value(facts[key])
    for block in table.blocks:
        if block.goal:
            path = "department_table.goal" if block.source == "annual" else f"department_table.{block.source}.goal"
            yield path, "长期目标" if block.source == "long_term" else "年度总体绩效目标", block.goal


def department_sheet(document: Document) -> Sheet:
    columns = [Column("键", "text"), Column("名称", "text"), Column("内容", "long")]
    return Sheet(DEPARTMENT_SHEET, columns, [[key, caption, value] for key, caption, value in department_rows(document)])


def workbook_sheets(document: Document) -> list[Sheet]:
    return [summary_sheet(document), indicator_sheet(document), department_sheet(document)]


# ---------------------------------------------------------------------------------------------
# Writing


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: a CJK (wide) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _shown(value: Value) -> str:
    """The text a cell shows, near enough to size its column."""
    if isinstance(value, Amount | Formula):
        return str(value.value) if value.places is None else f"{value.value:,.{value.places}f}"
    return "" if value is None else str(value)


def column_widths(sheet: Sheet) -> list[int]:
    """Wide enough for the header and the longest value, within the look's cap (long text wraps)."""
    widths = []
    for index, column in enumerate(sheet.columns):
        longest = max([display_width(column.header)] + [display_width(_shown(row[index])) for row in sheet.rows])
        cap = LONG_CAP if column.look == "long" else TEXT_CAP
        widths.append(max(MIN_WIDTH, min(cap, longest + 2)))
    return widths


def workbook_properties(document: Document) -> dict[str, Any]:
    department = document.department
    return {"title": f"{department.name}{department.title}", "author": department.name,
            "subject": f"{department.year}年 {document.profile.table_title}", "keywords": f"部门预算绩效目标, {department.year}",
            "comments": "perfdoc", "created": FIXED_TIME}


# The format of a column's cells that have no decimals of their own (what a user types in), by look.
COLUMN_NUMBER_FORMATS: dict[Look, str] = {"amount": "#,##0.00", "number": "General"}


def number_format(look: Look, places: int) -> str:
    """The display format of a number written with `places` decimals: amounts grouped by thousands
    (`#,##0`, `#,##0.0`, `#,##0.00` …), other numbers plain (`0.0`, `0.00` …; General when whole).
    import (perfdoc.io.xlsx_reader) reads these shapes back as the number of decimals."""
    fraction = "." + "0" * places if places else ""
    if look == "amount":
        return "#,##0" + fraction
    return "0" + fraction if places else "General"


class _Formats:
    """XlsxWriter formats are the workbook's: one per (look, number format), made on first use, so
    the same sheets make the same styles in the same order (same bytes)."""

    def __init__(self, workbook: Any):
        self.workbook = workbook
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
        self.header = workbook.add_format({**base, "bold": True, "text_wrap": True, "align": "center", "bottom": 1})
        self.looks: dict[Look, dict[str, Any]] = {"text": base, "long": {**base, "text_wrap": True},
                                                  "amount": base, "number": base}
        self.made: dict[tuple[Look, str | None], Any] = {}

    def get(self, look: Look, places: int | None = None) -> Any:
        """The format of a cell of a `look` column: `places` decimals shown, or (None) the column's own."""
        shape = COLUMN_NUMBER_FORMATS.get(look) if places is None else number_format(look, places)
        if (look, shape) not in self.made:
            properties = self.looks[look] if shape is None else {**self.looks[look], "num_format": shape}
            self.made[look, shape] = self.workbook.add_format(properties)
        return self.made[look, shape]


def write_workbook(sheets: list[Sheet], properties: dict[str, Any]) -> bytes:
    """The XLSX bytes: numbers as numbers showing their written decimals, text as text (never read
    as a formula), header row frozen."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                            "strings_to_numbers": False, "strings_to_urls": False})
    workbook.set_properties(properties)
    workbook.set_size(1600, 1000)
    formats = _Formats(workbook)
    for sheet in sheets:
        worksheet = workbook.add_worksheet(sheet.name)
        worksheet.freeze_panes(1, 0)
        for index, (column, width) in enumerate(zip(sheet.columns, column_widths(sheet), strict=True)):
            worksheet.set_column(index, index, width, formats.get(column.look))
            worksheet.write_string(0, index, column.header, formats.header)
        for r, row in enumerate(sheet.rows, start=1):
            for c, (column, value) in enumerate(zip(sheet.columns, row, strict=True)):
                _write_cell(worksheet, r, c, value, column.look, formats)
    workbook.close()
    return buffer.getvalue()


def _write_cell(worksheet: Any, row: int, col: int, value: Value, look: Look, formats: _Formats) -> None:
    if value is None:
        return
    if isinstance(value, Formula):
        worksheet.write_formula(row, col, value.text, formats.get(look, value.places), value.value)
    elif isinstance(value, Amount):
        worksheet.write_number(row, col, value.value, formats.get(look, value.places))
    elif isinstance(value, bool):
        worksheet.write_boolean(row, col, value, formats.get(look))
    elif isinstance(value, int | float):
        worksheet.write_number(row, col, value, formats.get(look))
    else:
        if excel_length(value) > EXCEL_CELL_MAX_CHARS:  # XlsxWriter would cut it silently; check refuses such data
            raise ValueError(f"text of {excel_length(value)} characters in cell ({row}, {col}): over Excel's cell limit")
        worksheet.write_string(row, col, value, formats.get(look))


def render_xlsx(document: Document) -> bytes:
    return write_workbook(workbook_sheets(document), workbook_properties(document))


def xlsx_cache_parts(document: Document) -> list[object]:
    """What the workbook's bytes depend on (beyond perfdoc's code): its sheets, properties, XlsxWriter."""
    properties = {**workbook_properties(document), "created": FIXED_TIME.isoformat()}
    return [[asdict(sheet) for sheet in workbook_sheets(document)], properties, xlsxwriter.__version__]
