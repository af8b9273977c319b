"""Excel workbooks read back: perfdoc's own export (XLSX_SPEC: 项目汇总, 绩效指标, 部门) and flat sheets.

A flat sheet has one row per indicator and a header row naming its columns; columns are found by
name (HEADER_ALIASES), never by position, so a budget system's export with extra or reordered
columns reads the same. Project facts (名称, 预算数 …) may repeat on every row of the project or
sit in a 项目汇总 sheet; a project's rows must agree, and a disagreement is reported.
Read with openpyxl (values only: a totals formula is read as its cached value and ignored).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perfdoc.data.fields import DEPARTMENT_TABLE_FIELDS, INDICATOR_FIELDS, PROJECT_FIELDS
from perfdoc.data.profile import Profile
from perfdoc.data.text import value_text
from perfdoc.diagnostics import UserError, unlocated
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
}
HEADER_ALIASES: dict[str, str] = {
    **{field.label: key for key, field in PROJECT_FIELDS.items()},
    **{field.label: f"i.{key}" for key, field in INDICATOR_FIELDS.items()},
    **_ALIASES,
}
PLAN_PREFIX = "资金支出计划（%）"
SUMMARY, INDICATORS, DEPARTMENT = "项目汇总", "绩效指标", "部门"
DEPARTMENT_ROW = "部门整体"


@dataclass
class XlsxResult:
    records: list[Record] = field(default_factory=list)
    narrative: Narrative = field(default_factory=Narrative)
    notes: list[Note] = field(default_factory=list)
    project_profile: Profile | None = None
    table_profile: Profile | None = None


def column_role(header: str) -> str | None:
    key = label_key(header)
    if key.startswith(PLAN_PREFIX) and len(key) > len(PLAN_PREFIX):
        return "plan." + header.strip()[len(PLAN_PREFIX):].strip()
    for suffix in ("（万元）", "（%）"):
        if key.endswith(suffix) and key[: -len(suffix)] in HEADER_ALIASES:
            key = key[: -len(suffix)]
    return HEADER_ALIASES.get(key)


def _cell(value: Any) -> Any:
    """Text cleaned as in Word cells; numbers kept as numbers (Decimal, as written)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value != int(value) else Decimal(int(value))
    text = clean_text(str(value))
    return text or None


_text = value_text  # a cell as text: amounts as written (`345.52`, never `3.4552E+2`), empty for None


@dataclass
class _Sheet:
    name: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (1-based row number, values)


def _sheets(content: bytes, name: str) -> list[_Sheet]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, InvalidFileException) as exc:
        raise UserError(unlocated(f"{name} 不是可读的 Excel 工作簿（.xlsx）：{exc}；请用 Excel 或 WPS 打开后另存为 .xlsx 再导入")) from exc
    sheets = []
    for sheet in book.worksheets:
        rows = [(number, [_cell(v) for v in values]) for number, values in enumerate(sheet.iter_rows(values_only=True), 1)]
        header_at = 0 if sheet.title == DEPARTMENT and rows else next(
            (i for i, (_n, values) in enumerate(rows) if sum(1 for v in values if isinstance(v, str) and column_role(v)) >= 2),
            None)
        if header_at is None:
            sheets.append(_Sheet(sheet.title, [], rows))
            continue
        header = [_text(v) for v in rows[header_at][1]]
        body = [(n, values) for n, values in rows[header_at + 1:] if any(v is not None for v in values)]
        sheets.append(_Sheet(sheet.title, header, body))
    book.close()
    return sheets


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


def _department_sheet(sheet: _Sheet, name: str, result: XlsxResult) -> tuple[dict[str, Any], str | None]:
    """The 部门 sheet: one row per department.yaml value, keyed by its YAML path."""
    data: dict[str, Any] = {}
    for number, values in sheet.rows:
        key = _text(values[0]) if values else ""
        value = values[2] if len(values) > 2 else None
        if not key:
            continue
        target: Any = data
        parts = key.replace("]", "").replace("[", ".").split(".")
        try:
            for part, following in zip(parts, [*parts[1:], None], strict=True):
                if following is None:
                    amount = parts[0] == "department_table" and DEPARTMENT_TABLE_FIELDS.get(part, None) is not None \
                        and DEPARTMENT_TABLE_FIELDS[part].kind == "amount"
                    _put(target, part, value, number=amount or part == "year")
                else:
                    target = _descend(target, part, following)
        except (ValueError, IndexError, TypeError):
            result.notes.append(Note(Where(name, row=number, column=1, sheet=sheet.name), f"键“{key}”看不懂，此行未导入"))
    profile = data.pop("profile", None)
    return data, _text(profile) if profile else None


def _descend(target: Any, part: str, following: str) -> Any:
    container: Any = [] if following.isdigit() else {}
    if part.isdigit():
        index = int(part) - 1
        while len(target) <= index:
            target.append(None)
        if target[index] is None:
            target[index] = container
        return target[index]
    return target.setdefault(part, container)


def _put(target: Any, part: str, value: Any, *, number: bool) -> None:
    """A value where its key says: `year` and the department table's amounts as numbers, the rest as text."""
    value = (int(value) if part == "year" and isinstance(value, Decimal) else value) if number else (
        None if value is None else _text(value))
    if part.isdigit():
        index = int(part) - 1
        while len(target) <= index:
            target.append(None)
        target[index] = value
    else:
        target[part] = value


def read_xlsx(content: bytes, name: str, forced: Profile | None, candidates: list[Profile]) -> XlsxResult:
    result = XlsxResult()
    sheets = _sheets(content, name)
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
    code = _text(row.get(next((h for h in sheet.header if column_role(h) == "code"), ""), None))
    if not code or code == "合计":
        return None
    record = projects.get(code)
    if record is None:
        record = projects[code] = Record("project", profile, Where(name, row=number, sheet=sheet.name), {"code": code})
    for c, (header, value) in enumerate(zip(sheet.header, values, strict=False), 1):
        role = column_role(header) if header else None
        if role is None or role in ("code", "block", "level1", "level2") or role.startswith("i."):
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
        spec = PROJECT_FIELDS.get(key)
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
    code = _text(row.get("code"))
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
