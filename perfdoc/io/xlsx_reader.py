"""Excel workbooks read back: perfdoc's own export (XLSX_SPEC: 项目汇总, 绩效指标, 部门) and flat sheets.

A flat sheet has one row per indicator and a header row naming its columns; columns are found by
name (HEADER_ALIASES), never by position, so a budget system's export with extra or reordered
columns reads the same. Project facts (名称, 预算数 …) may repeat on every row of the project or
sit in a 项目汇总 sheet; a project's rows must agree, and a disagreement is reported.
Read with openpyxl in read-only mode, row by row, within MAX_ROWS × MAX_COLUMNS (a totals formula
is read as its cached value and ignored); a number keeps the decimals its cell shows (`#,##0.00`:
135 reads as 135.00, as the export writes an amount the author wrote so: written_number). A
workbook openpyxl cannot read is a UserError naming the file, as for a damaged .docx.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from perfdoc.data.fields import DEPARTMENT_TABLE_FIELDS, INDICATOR_FIELDS, PROJECT_FIELDS
from perfdoc.data.profile import Profile
from perfdoc.data.schema import MAX_LIST_ITEMS
from perfdoc.data.text import value_text
from perfdoc.diagnostics import UserError, one_line, unlocated
from perfdoc.io.narrative import Narrative
from perfdoc.io.notes import Note, Where
from perfdoc.io.recognise import Record
from perfdoc.io.sentence import parse_amount
from perfdoc.io.source import clean_text, label_key

# Header name (as compared: no spaces, full-width brackets) → what the column holds. Each field's own
# label (perfdoc.data.fields, what the export writes) is accepted; the aliases are what budget systems and
# other provinces' sheets call the same column.
_ALIASES: dict[str, str] = {
    "项目代码": "code", "预算项目名称": "name", "目标块": "block", "一级指标": "level1", "二级指标": "level2",
    "指标内容": "i.name", "指标名称": "i.name", "指标描述": "i.description", "运算符号": "i.nature",
    "目标值": "i.value", "计量单位": "i.unit", "单位": "i.unit", "分值": "i.weight", "指标方向性": "i.direction",
    "绩效标准": "i.basis", "确定依据": "i.basis", "评分标准": "i.scoring",
    "年度资金总额": "budget", "预算金额": "budget", "财政拨款": "fiscal_funds", "其中：财政资金": "fiscal_funds",
    "资金用途": "use", "用途": "use",
    "绩效目标": "goal", "年度目标": "goal", "年度绩效目标": "goal", "长期目标": "long_term.goal",
    "文件名": "key",  # a project known by its file's name (its table has no code): perfdoc.render.xlsx
}
HEADER_ALIASES: dict[str, str] = {
    **{field.label: key for key, field in PROJECT_FIELDS.items()},
    **{field.label: f"i.{key}" for key, field in INDICATOR_FIELDS.items()},
    **_ALIASES,
}
PLAN_PREFIX = "资金支出计划（%）"
SUMMARY, INDICATORS, DEPARTMENT = "项目汇总", "绩效指标", "部门"
# What is read of a sheet: an Excel 97–2003 (.xls) sheet's own limits, 65 536 rows and 256 columns
# (A1:IV65536), within which budget sheets have always fitted (one row per indicator: a department
# has some thousands at most). Reading stops there whatever the sheet's <dimension> claims, so one
# cell at XFD1048576 costs nothing; anything beyond is reported, never silently dropped.
MAX_ROWS = 65_536
MAX_COLUMNS = 256
EXCEL_ROWS = 1_048_576  # the last row Excel has: where the look for rows beyond MAX_ROWS ends
DEPARTMENT_ROW = "部门整体"


@dataclass
class XlsxResult:
    records: list[Record] = field(default_factory=list)
    narrative: Narrative = field(default_factory=Narrative)
    notes: list[Note] = field(default_factory=list)
    project_profile: Profile | None = None
    table_profile: Profile | None = None


def column_role(header: str, profile: Profile | None = None) -> str | None:
    """What a column holds, by its header: a field of perfdoc.data.fields (or one the profile
    declares itself, by its label), an indicator field (`i.…`), a checkpoint (`plan.…`) …"""
    role = _known_role(header)
    if role is None and profile is not None:
        own = {label_key(field.label): key for key, field in profile.record_fields.items() if key not in PROJECT_FIELDS}
        role = own.get(label_key(header))
    return role


def _known_role(header: str) -> str | None:
    key = label_key(header)
    if key.startswith(PLAN_PREFIX) and len(key) > len(PLAN_PREFIX):
        return "plan." + header.strip()[len(PLAN_PREFIX):].strip()
    for suffix in ("（万元）", "（%）"):
        if key.endswith(suffix) and key[: -len(suffix)] in HEADER_ALIASES:
            key = key[: -len(suffix)]
    return HEADER_ALIASES.get(key)


# A display format that shows a number with a fixed count of decimals and nothing else: `0`, `0.00`,
# `#,##0`, `#,##0.00` (what the export writes, and Excel's own number formats 1–4). Anything else
# (General, percentages, currencies, dates, formats with sections) says nothing about what was written.
_PLAIN_FORMAT = re.compile(r"(?:#,##)?0(?:\.(0+))?")


def format_places(number_format: Any) -> int | None:
    """The decimals a plain display format shows (2 for `#,##0.00`), None for any other format."""
    match = _PLAIN_FORMAT.fullmatch(number_format) if isinstance(number_format, str) else None
    return None if match is None else len(match[1] or "")


def written_number(value: int | float, number_format: Any = None) -> Decimal:
    """A finite number cell as the Decimal its author wrote: the stored number (`Decimal(repr(float))`:
    20.1, never 20.100000000000001) with as many decimals as its plain display format shows, so 135
    shown as 135.00 is 135.00. Only zeros are ever added: a number with more decimals than its format
    shows (3.456 shown as 3.46) keeps them all, and its magnitude never changes."""
    number = Decimal(value) if isinstance(value, int) else (
        Decimal(int(value)) if value.is_integer() else Decimal(repr(value)))
    places = format_places(number_format)
    exponent = number.as_tuple().exponent
    if places is None or not isinstance(exponent, int) or -exponent >= places:
        return number
    try:
        return number.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:  # more digits than Decimal's precision holds: as stored
        return number


def cell_format(cell: Any) -> Any:
    """A read-only cell's display format, None where the workbook's styles do not have it (a damaged
    or hand-made styles part: the number is then read as stored)."""
    try:
        return cell.number_format
    except (IndexError, KeyError, AttributeError, TypeError):
        return None


def _cell(cell: Any) -> Any:
    """Text cleaned as in Word cells; numbers kept as numbers (Decimal, as written: written_number);
    TRUE / FALSE as booleans (the 部门 sheet's summary_table), which every text field reads as `True` /
    `False`."""
    value = cell.value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float) and not math.isfinite(value):  # `<v>1e999</v>` is read as inf: no amount, so text
        return str(value)
    if isinstance(value, int | float):
        return written_number(value, cell_format(cell))
    text = clean_text(str(value))
    return text or None


_text = value_text  # a cell as text: amounts as written (`345.52`, never `3.4552E+2`), empty for None


@dataclass
class _Sheet:
    name: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (1-based row number, values)


class _Damaged(Exception):
    """openpyxl could not read the workbook (a truncated part, bad XML, an impossible value)."""


# What openpyxl raises for a damaged workbook, as found by feeding it truncated, malformed and fuzzed
# files: zip and zlib errors, a missing part (KeyError) or an unknown encoding (LookupError), XML
# syntax errors (SyntaxError: lxml's and ElementTree's), and the TypeError / ValueError / IndexError /
# AttributeError of its descriptors and parsers meeting values a workbook cannot have. Only
# openpyxl's own calls are guarded by these.
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, LookupError, ValueError, TypeError, IndexError,
           AttributeError, SyntaxError)


def _rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(1-based row number, cells) streamed from the sheet's XML, never the whole grid at once:
    rows up to Excel's last (1 048 576; openpyxl fills a gap between rows with one shared empty
    tuple, cheap to skip), columns up to one more than read (to tell whether anything lies beyond).
    Cells, not values: a number's display format says how many decimals were written."""
    rows = sheet.iter_rows(min_row=1, min_col=1, max_row=EXCEL_ROWS, max_col=MAX_COLUMNS + 1)
    number = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except _DAMAGE as exc:
            raise _Damaged(exc) from exc
        number += 1
        yield number, values


def _filled(cells: tuple[Any, ...]) -> bool:
    return any(cell.value is not None for cell in cells)


def _read_sheet(sheet: Any, name: str, result: XlsxResult) -> _Sheet:
    rows: list[tuple[int, list[Any]]] = []
    beyond = (sheet.max_row or 0) > MAX_ROWS or (sheet.max_column or 0) > MAX_COLUMNS  # the sheet's <dimension>
    empty: tuple[Any, ...] | None = None
    for number, cells in _rows(sheet):
        if cells is empty or not _filled(cells):
            empty = cells
            continue
        if number > MAX_ROWS:
            beyond = True
            break
        if _filled(cells[MAX_COLUMNS:]):
            beyond = True
        kept = [_cell(cell) for cell in cells[:MAX_COLUMNS]]
        while kept and kept[-1] is None:
            kept.pop()
        if kept:
            rows.append((number, kept))
    if beyond:
        result.notes.append(Note(Where(name, sheet=sheet.title),
                                 f"工作表超出读取上限（{MAX_ROWS} 行、{MAX_COLUMNS} 列，即 A1:IV{MAX_ROWS}）："
                                 "只读取了这以内的单元格，之外的内容未导入"))
    header_at = 0 if sheet.title == DEPARTMENT and rows else next(
        (i for i, (_n, values) in enumerate(rows) if sum(1 for v in values if isinstance(v, str) and column_role(v)) >= 2),
        None)
    if header_at is None:
        return _Sheet(sheet.title, [], rows)
    header = [_text(v) for v in rows[header_at][1]]
    return _Sheet(sheet.title, header, rows[header_at + 1:])


def _sheets(content: bytes, name: str, result: XlsxResult) -> list[_Sheet]:
    """Every worksheet, streamed (openpyxl's read-only mode) and bounded by MAX_ROWS × MAX_COLUMNS."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (*_DAMAGE, InvalidFileException) as exc:
            raise _Damaged(exc) from exc
        try:
            return [_read_sheet(sheet, name, result) for sheet in book.worksheets]
        finally:
            book.close()
    except _Damaged as exc:
        cause = exc.__cause__ or exc
        raise UserError(unlocated(f"{name} 不是可读的 Excel 工作簿（.xlsx）：文件已损坏或不完整（{type(cause).__name__}: "
                                  f"{one_line(str(cause))[:200]}）；请用 Excel 或 WPS 打开后另存为 .xlsx 再导入")) from exc


def _choose_profile(roles: set[str], forced: Profile | None, candidates: list[Profile], named: str | None) -> Profile:
    if forced is not None and forced.table == "project":
        return forced
    projects = [p for p in candidates if p.table == "project"]
    if named:
        chosen = next((p for p in projects if p.name == named), None)
        if chosen is not None:
            return chosen

    def score(profile: Profile) -> tuple[int, int]:
        shown = set(profile.indicator_fields()) | set(profile.header_fields())
        plan = {f"plan.{p}" for p in profile.checkpoints}
        present = {r.removeprefix("i.") for r in roles} | (plan & roles)
        return (len(present & (shown | plan)) - len(present - shown - plan - {"code", "name", "goal", "block", "level1", "level2"}),
                -len(shown - present))

    return max(projects, key=score)


# A 部门-sheet key is a department.yaml path as the export writes it: `title`, `measures[2]`,
# `sub_targets[1].heading`, `department_table.spending_plan.3月底`. Keys have at most MAX_KEY_PARTS
# parts (the deepest path of department.yaml, department_table.indicators.一级.二级[1].name, has 6);
# a list index runs from 1 to MAX_LIST_ITEMS, what a department file can hold.
MAX_KEY_PARTS = 8
_KEY = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[[0-9]+\])*")
_KEY_PART = re.compile(r"\[([0-9]+)\]|\.?([^.\[\]]+)")
_TEXT_LISTS = ("overall_target", "measures")  # `measures[n]`
_RECORD_LISTS = ("sub_targets",)  # `sub_targets[n].heading`
_MAPPINGS = ("department_table",)  # `department_table.key…`

KeyPart = str | int


def key_parts(key: str) -> tuple[list[KeyPart], str]:
    """The parts of a 部门-sheet key (an index as an int, 1-based), or why it cannot be read."""
    if key.count(".") + key.count("[") >= MAX_KEY_PARTS:
        return [], f"层次过多（最多 {MAX_KEY_PARTS} 层）"
    if not _KEY.fullmatch(key):
        return [], "写法应如 title、measures[2]、sub_targets[1].heading"
    parts: list[KeyPart] = []
    for index, name in _KEY_PART.findall(key):
        digits = index or (name if name.isascii() and name.isdigit() else "")
        if digits:  # `[2]`, or `.2` as the first exports wrote it
            if len(digits) > 4 or not 1 <= int(digits) <= MAX_LIST_ITEMS:
                return [], f"序号 {digits[:12]} 超出 1–{MAX_LIST_ITEMS}（一个部门文件最多 {MAX_LIST_ITEMS} 项）"
            parts.append(int(digits))
        else:
            parts.append(name)
    first, rest = parts[0], parts[1:]
    kinds = [isinstance(part, int) for part in rest]
    if isinstance(first, int):
        return [], "不能以序号开头"
    if first in _TEXT_LISTS and kinds != [True]:
        return [], f"应写作 {first}[序号]"
    if first in _RECORD_LISTS and (kinds != [True, False]):
        return [], f"应写作 {first}[序号].heading（或 .target、.indicators）"
    if first in _MAPPINGS and not rest:
        return [], f"应写作 {first}.<字段>"
    if first not in (*_TEXT_LISTS, *_RECORD_LISTS, *_MAPPINGS) and rest:
        return [], f"{first} 是一个值，其后不能再有 .{rest[0]}" if isinstance(rest[0], str) else f"{first} 不是列表"
    return parts, ""


def _container(target: Any, part: KeyPart, want_list: bool) -> Any:
    """The list or mapping at `part` of `target` (made when missing), or None when something else is there."""
    if isinstance(part, int):
        if not isinstance(target, list):
            return None
        target.extend([None] * (part - len(target)))
        if target[part - 1] is None:
            target[part - 1] = [] if want_list else {}
        child = target[part - 1]
    else:
        if not isinstance(target, dict):
            return None
        child = target.setdefault(part, [] if want_list else {})
    return child if isinstance(child, list if want_list else dict) else None


def _place(data: dict[str, Any], parts: list[KeyPart], value: Any) -> bool:
    """Put `value` at the path `parts`; False when an earlier row put something else on the way
    (`title` then `title.x`, `measures[1]` then `measures.x`)."""
    target: Any = data
    for part, following in zip(parts, parts[1:], strict=False):
        target = _container(target, part, isinstance(following, int))
        if target is None:
            return False
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(target, list):
            return False
        target.extend([None] * (last - len(target)))
        if isinstance(target[last - 1], list | dict):
            return False
        target[last - 1] = value
    else:
        if not isinstance(target, dict) or isinstance(target.get(last), list | dict):
            return False
        target[last] = value
    return True


def _department_value(parts: list[KeyPart], value: Any) -> Any:
    """`year` and the department table's amounts as numbers, the rest as text."""
    last = parts[-1]
    if isinstance(value, bool):  # summary_table: TRUE in the sheet, true in the file
        return value
    if parts == ["year"] and isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    amount = parts[0] == "department_table" and len(parts) == 2 and isinstance(last, str) \
        and last in DEPARTMENT_TABLE_FIELDS and DEPARTMENT_TABLE_FIELDS[last].kind == "amount"
    if amount:
        return value
    return None if value is None else _text(value)


def _department_sheet(sheet: _Sheet, name: str, result: XlsxResult) -> tuple[dict[str, Any], str | None]:
    """The 部门 sheet: one row per department.yaml value, keyed by its YAML path; a key that cannot
    be read is a note naming its row, never a crash or a million-item list."""
    data: dict[str, Any] = {}
    for number, values in sheet.rows:
        key = _text(values[0]) if values else ""
        value = values[2] if len(values) > 2 else None
        if not key:
            continue
        parts, why = key_parts(key)
        if parts and not _place(data, parts, _department_value(parts, value)):
            why = "与前面的行冲突：同一位置前面已有别的值"
        if why:
            result.notes.append(Note(Where(name, row=number, column=1, sheet=sheet.name),
                                     f"键“{key[:60]}{'…' if len(key) > 60 else ''}”看不懂（{why}），此行未导入"))
    profile = data.pop("profile", None)
    return data, _text(profile) if profile else None


def read_xlsx(content: bytes, name: str, forced: Profile | None, candidates: list[Profile]) -> XlsxResult:
    result = XlsxResult()
    sheets = _sheets(content, name, result)
    by_name = {s.name: s for s in sheets}
    named_profile: str | None = None
    department_data: dict[str, Any] = {}
    if DEPARTMENT in by_name:
        department_data, named_profile = _department_sheet(by_name[DEPARTMENT], name, result)
    indicator_sheets = [s for s in sheets if s.name != DEPARTMENT and {"level1", "level2"} <= {column_role(h) for h in s.header}]
    summary = by_name.get(SUMMARY) if SUMMARY in by_name and by_name[SUMMARY].header else None
    roles = {r for s in (*indicator_sheets, *([summary] if summary else [])) for r in map(column_role, s.header) if r}
    if not indicator_sheets and summary is None and not department_data:
        labels = "；".join(f"工作表“{s.name}”：{'、'.join(h for h in s.header if h)[:80] or '（没有认得出的表头）'}" for s in sheets)
        result.notes.append(Note(Where(name), f"无法识别工作簿：没有含“一级指标”“二级指标”列的工作表（{labels}）", error=True))
        return result
    profile = _choose_profile(roles, forced, candidates, named_profile)
    result.project_profile = profile
    projects: dict[str, Record] = {}
    if summary is not None:
        for number, values in summary.rows:
            _facts(summary, number, values, projects, profile, name, result)
    table: Record | None = None
    if "department_table" in department_data:
        table_data = department_data.pop("department_table")
        table_name = table_data.pop("profile", None) or "department-2023"
        table_profile = next((p for p in candidates if p.name == table_name and p.table == "department"), None)
        if table_profile is None:
            result.notes.append(Note(Where(name, sheet=DEPARTMENT), f"部门整体表格式“{table_name}”找不到，部门整体表未导入", error=True))
        else:
            result.table_profile = table_profile
            table = Record("department", table_profile, Where(name, sheet=DEPARTMENT), table_data)
    for sheet in indicator_sheets:
        for number, values in sheet.rows:
            _indicator_row(sheet, number, values, projects, table, profile, name, result)
    result.narrative.data = department_data
    result.records = ([table] if table else []) + list(projects.values())
    return result


def _facts(sheet: _Sheet, number: int, values: list[Any], projects: dict[str, Record], profile: Profile,
           name: str, result: XlsxResult) -> Record | None:
    """The project fields of a row (项目汇总, or repeated on every row of a flat sheet)."""
    row = dict(zip(sheet.header, values, strict=False))
    key_header = next((h for h in sheet.header if column_role(h) in ("code", "key")), "")
    code = _text(row.get(key_header, None))
    if not code or code == "合计":
        return None
    record = projects.get(code)
    if record is None:
        # 项目编码 is the project's code; 文件名 is the key of a project whose table has no code.
        data = {"code": code} if column_role(key_header) == "code" else {}
        record = projects[code] = Record("project", profile, Where(name, row=number, sheet=sheet.name), data, key=code)
    for c, (header, value) in enumerate(zip(sheet.header, values, strict=False), 1):
        role = column_role(header, profile) if header else None
        if role is None or role in ("code", "key", "block", "level1", "level2") or role.startswith("i."):
            if role is None and value is not None and header and sheet.name == SUMMARY:
                result.notes.append(Note(Where(name, row=number, column=c, sheet=sheet.name), f"列“{header}”不认识，“{_text(value)}”未导入", code=code))
            continue
        if role.startswith("plan."):
            point = role.removeprefix("plan.")
            plan = record.data.setdefault("spending_plan", {p: None for p in profile.checkpoints})
            if point not in profile.checkpoints:
                if value is not None:
                    result.notes.append(Note(Where(name, row=number, column=c, sheet=sheet.name),
                                             f"时间节点“{point}”不在表格格式 {profile.name} 中，“{_text(value)}”未导入", code=code))
                continue
            percent = value if isinstance(value, Decimal) else parse_amount(_text(value).rstrip("%％")) if value is not None else None
            plan[point] = percent
            continue
        if value is None:
            continue
        target, key = (record.data.setdefault("long_term", {}), "goal") if role == "long_term.goal" else (record.data, role)
        spec = profile.record_fields.get(key)
        if spec is not None and spec.kind == "amount" and not isinstance(value, Decimal):
            amount = parse_amount(_text(value).removesuffix("万元"))
            if amount is None:
                result.notes.append(Note(Where(name, row=number, column=c, sheet=sheet.name), f"{spec.label}应为数字（万元），“{_text(value)}”未导入", code=code))
                continue
            value = amount
        elif spec is None or spec.kind != "amount":
            value = _text(value)
        if key in target and target[key] != value:
            result.notes.append(Note(Where(name, row=number, column=c, sheet=sheet.name),
                                     f"{header}“{_text(value)}”与同一项目前面的行（“{_text(target[key])}”）不同，沿用前者", code=code))
            continue
        target[key] = value
    return record


def _indicator_row(sheet: _Sheet, number: int, values: list[Any], projects: dict[str, Record], table: Record | None,
                   profile: Profile, name: str, result: XlsxResult) -> None:
    row = {column_role(h): v for h, v in zip(sheet.header, values, strict=False) if h and column_role(h)}
    code = _text(row.get("code") if row.get("code") is not None else row.get("key"))
    where = Where(name, row=number, sheet=sheet.name)
    record: Record | None
    if code == DEPARTMENT_ROW:
        record, used = table, table.profile if table else profile
    else:
        record, used = (_facts(sheet, number, values, projects, profile, name, result) if sheet.name != INDICATORS
                        else projects.get(code) or _facts(sheet, number, values, projects, profile, name, result)), profile
    if record is None:
        result.notes.append(Note(where, "此行未导入：没有项目编码" if not code else f"此行未导入：找不到“{code}”", code=code))
        return
    level1, level2 = _text(row.get("level1")), _text(row.get("level2"))
    if level1 not in dict(used.levels) or level2 not in used.level2_names(level1):
        result.notes.append(Note(where, f"此行未导入：一级/二级指标“{level1}/{level2}”不在表格格式 {used.name} 中", code=code))
        return
    long_term = _text(row.get("block")) == "长期"
    target = record.data.setdefault("long_term", {}) if long_term else record.data
    rows = target.setdefault("indicators", {}).setdefault(level1, {}).setdefault(level2, [])
    indicator: dict[str, Any] = {}
    for key in INDICATOR_FIELDS:
        value = row.get(f"i.{key}")
        if value is None:
            continue
        if key == "weight":
            weight = value if isinstance(value, Decimal) else parse_amount(_text(value).rstrip("%％"))
            if weight is None:
                result.notes.append(Note(where, f"权重“{_text(value)}”不是数字，未导入", code=code))
                continue
            indicator[key] = weight
        else:
            indicator[key] = _text(value)
    if indicator:
        rows.append(indicator)
