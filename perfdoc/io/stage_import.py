"""`import --stage evaluation`: a filled 项目支出绩效自评表 (Word or Excel) into data/evaluation/<编码>.yaml.

The targets must already be in the data folder: a 自评表 repeats them, and the file only adds what
happened. A Word file is read in the layout the targets' profile prints self-evaluations with
(evaluation_profile, national by default), cell by cell where that layout puts each value: its
header rows (项目名称, the 项目资金 rows, 预期目标 | 实际完成情况), each indicator row (一级, 二级,
三级 name, then 实际完成值, 分值, 得分 …), found again by the layout's own labels. An Excel file is
the workbook perfdoc writes (自评得分汇总 and 绩效指标 sheets), read by its column headers.

A printed score that the rules' formula does not give (a grader's deduction, or a table scored by
another method) is written as `score:` with its reason (score_reason: the table's own, or
IMPORTED_REASON), so building the imported data prints the same table again.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from perfdoc.data.fields import EVALUATION_FIELDS, EVALUATION_INDICATOR_FIELDS, STAGES
from perfdoc.data.grid import placed as place_cells
from perfdoc.data.model import IndicatorKey, Project, build_project, numbered_key
from perfdoc.data.profile import HeaderCell, Profile
from perfdoc.data.rules import NATIONAL_NAME, load_rules
from perfdoc.data.scoring import ScoringRules
from perfdoc.data.stage_check import load_layout
from perfdoc.data.stages import FUND_KEYS, annual_rows, build_evaluation
from perfdoc.data.text import amount_text
from perfdoc.data.validate import check_data
from perfdoc.data.yaml_text import comment_text, text_scalar, yaml_scalar
from perfdoc.diagnostics import Diagnostic, Severity, UserError, display_path, unlocated
from perfdoc.io.source import Grid, GridRow, label_key
from perfdoc.io.xlsx_reader import cell_format, written_number

IMPORTED_REASON = "按原表导入（imported as printed）：原表的得分与评分规则的公式不同"
AMOUNT_KEYS = {key for key, f in EVALUATION_FIELDS.items() if f.kind == "amount"}


@dataclass
class StageImport:
    """What `import --stage` did: notes, then why nothing was written or what was."""

    data_dir: Path
    notes: list[Diagnostic] = field(default_factory=list)
    refused: Diagnostic | None = None
    written: list[Path] = field(default_factory=list)


@dataclass
class _Found:
    """One project's 自评表 as read: its values by field, its indicator rows by key."""

    where: str
    values: dict[str, str]
    indicators: dict[IndicatorKey, dict[str, str]] = field(default_factory=dict)


def _note(found: list[Diagnostic], message: str, severity: Severity = Severity.WARNING) -> None:
    found.append(unlocated(message, severity=severity))


# ---------------------------------------------------------------------------------------------
# Word: the layout's cells found again


def placed(rows: tuple[tuple[HeaderCell, ...], ...]) -> list[list[tuple[int, HeaderCell]]]:
    """Each row's cells with the grid column each starts at (perfdoc.data.grid)."""
    return place_cells(rows, lambda cell: cell.span, lambda cell: cell.rowspan)


def _text_pattern(template: str) -> re.Pattern[str]:
    """`{code}-{name}` → a pattern that takes the fields back out of the printed sentence."""
    parts = re.split(r"\{([a-z_]+)\}", template)
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)" for i, part in enumerate(parts))
    return re.compile(f"^{pattern}$", re.S)


def _cell_text(row: GridRow | None, column: int) -> str:
    cell = row.cell_at(column) if row is not None else None
    return cell.text if cell is not None else ""


def _is_facts(grid: Grid, layout: Profile) -> bool:
    """A grid is one project's header block when its first rows carry the layout's labels where it puts them."""
    header = tuple(row for row in layout.header if isinstance(row, tuple))
    if len(grid.rows) < len(header):
        return False
    labels = [(r, column, cell.content) for r, row in enumerate(placed(header)) for column, cell in row
              if cell.kind == "label" and label_key(cell.content)]
    return bool(labels) and all(label_key(_cell_text(grid.rows[r], column)) == label_key(text)
                                for r, column, text in labels[:4])


def _facts_values(grid: Grid, layout: Profile) -> dict[str, str]:
    header = tuple(row for row in layout.header if isinstance(row, tuple))
    values: dict[str, str] = {}
    for r, row in enumerate(placed(header)):
        for column, cell in row:
            text = _cell_text(grid.rows[r], column)
            if cell.kind == "field":
                values[cell.content] = text
            elif cell.kind == "text":
                match = _text_pattern(cell.content).match(text)
                if match:
                    values.update({key: value for key, value in match.groupdict().items()})
    return values


def _level1_name(text: str, layout: Profile) -> str:
    pattern = re.escape(layout.level1_format).replace(re.escape("{name}"), "(?P<name>.+?)").replace(
        re.escape("{points}"), r"[\d.]*")
    match = re.fullmatch(pattern, text)
    return match["name"] if match else text


def _indicator_rows(grid: Grid, layout: Profile, found: _Found) -> None:
    """The body rows of the indicator grid (between its head and its footer), by 一级 → 二级 → 三级."""
    head = 2 if any(column.group for column in layout.columns) else 1
    end = len(grid.rows) - len(layout.footer)
    first = layout.side_span
    starts, at = [], first + 2
    for column in layout.columns:
        starts.append(at)
        at += column.span
    seen: dict[IndicatorKey, int] = {}
    for row in grid.rows[head:end]:
        values = {column.fields[0]: _cell_text(row, start) for column, start in zip(layout.columns, starts, strict=True)
                  if len(column.fields) == 1}
        name = values.get("name", "")
        if not name:
            continue  # an empty 二级 row
        key = numbered_key(_level1_name(_cell_text(row, first), layout), _cell_text(row, first + 1), name, seen)
        found.indicators[key] = values
    footer = tuple(layout.footer)
    for r, row_cells in enumerate(placed(footer)):
        for at, cell in row_cells:
            if cell.kind == "field" and end + r < len(grid.rows):
                found.values[cell.content] = _cell_text(grid.rows[end + r], at)


def read_word(content: bytes, name: str, layout: Profile, year: int) -> list[_Found]:
    from perfdoc.io.docx_reader import read_docx

    source = read_docx(content, name)
    layout = layout.for_year(year)
    grids = source.grids
    found = []
    for i, grid in enumerate(grids):
        if _is_facts(grid, layout) and i + 1 < len(grids):
            record = _Found(f"{name} 第 {grid.number} 张表", _facts_values(grid, layout))
            _indicator_rows(grids[i + 1], layout, record)
            found.append(record)
    return found


# ---------------------------------------------------------------------------------------------
# Excel: the workbook perfdoc writes


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _cell_value(cell: Any) -> Any:
    """A cell's value; a number as the text its author wrote, with the decimals its display format
    shows (an amount 60.00 exported as 60 shown `#,##0.00` reads back as "60.00": written_number)."""
    value = cell.value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return amount_text(written_number(value, cell_format(cell)))
    return value


def read_workbook(content: bytes, name: str) -> list[_Found]:
    import openpyxl

    from perfdoc.render.stage_xlsx import INDICATOR_SHEET, OVERRIDE_WORDS, SUMMARY_SHEETS

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # any damage: one message
        raise UserError(unlocated(f"{name} 不是可读的 Excel 工作簿（.xlsx）：{type(exc).__name__}")) from exc
    try:
        sheets = {sheet.title: [tuple(_cell_value(cell) for cell in row) for row in sheet.iter_rows()]
                  for sheet in book.worksheets}
    finally:
        book.close()
    summary, indicators = sheets.get(SUMMARY_SHEETS["evaluation"]), sheets.get(INDICATOR_SHEET)
    if not summary or not indicators:
        return []
    labels = {f.label: key for key, f in EVALUATION_FIELDS.items()}
    labels.update({"执行率偏低的原因": "execution_reason"})
    found: dict[str, _Found] = {}
    head = [_text(h) for h in summary[0]]
    for n, row in enumerate(summary[1:], start=2):
        cells = dict(zip(head, row, strict=False))
        code = _text(row[0])
        if not code or code == "合计":
            continue
        values = {"code": code, "name": _text(cells.get("项目名称"))}
        values.update({labels[h]: _text(v) for h, v in cells.items() if h in labels and h not in ("项目编码", "项目名称")})
        found[code] = _Found(f"{name} {SUMMARY_SHEETS['evaluation']} 第 {n} 行", values)
    head = [_text(h) for h in indicators[0]]
    seen: dict[str, dict[IndicatorKey, int]] = {}
    for row in indicators[1:]:
        cells = {h: _text(v) for h, v in zip(head, row, strict=False)}
        record = found.get(_text(row[0]))
        if record is None:
            continue
        key = numbered_key(cells["一级指标"], cells["二级指标"], cells["三级指标"], seen.setdefault(_text(row[0]), {}))
        entry = {"actual": cells.get("实际完成值", ""), "weight": cells.get("分值", ""), "score": cells.get("得分", ""),
                 "deviation": cells.get("偏差原因分析及改进措施", "")}
        if cells.get("得分怎样来的", "").startswith(OVERRIDE_WORDS):
            entry["score_reason"] = cells.get("评分理由", "") or IMPORTED_REASON
            entry["override"] = "yes"
        record.indicators[key] = entry
    return list(found.values())


# ---------------------------------------------------------------------------------------------
# Into data


def _decimal(text: str) -> Decimal | None:
    cleaned = text.replace(",", "").replace("，", "").strip()
    if not cleaned:
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def evaluation_data(found: _Found, project: Project, rules: ScoringRules, notes: list[Diagnostic]) -> dict[str, Any]:
    """The evaluation file's data: the values read, and `score:` wherever the printed score is not the formula's."""
    data: dict[str, Any] = {"code": project.code}
    for field_key in EVALUATION_FIELDS:
        if field_key == "code" or field_key not in found.values:
            continue
        text = found.values[field_key]
        if field_key in AMOUNT_KEYS:
            amount = _decimal(text)
            if text and amount is None:
                _note(notes, f"{found.where}：{EVALUATION_FIELDS[field_key].label}“{text}”不是数，未导入")
            data[field_key] = amount
        else:
            data[field_key] = text or None
    indicators: dict[str, Any] = {}
    printed: dict[IndicatorKey, Decimal | None] = {}
    known = annual_rows(project)
    for key, values in found.indicators.items():
        if key not in known:
            _note(notes, f"{found.where}：指标“{'/'.join(key)}”不在项目 {project.code} 的绩效目标里，未导入")
            continue
        entry: dict[str, Any] = {"actual": values.get("actual") or None}
        weight = _decimal(values.get("weight", ""))
        if weight is not None:
            entry["weight"] = weight
        if values.get("score_reason"):
            entry["score_reason"] = values["score_reason"]
        entry["deviation"] = values.get("deviation") or None
        printed[key] = _decimal(values.get("score", ""))
        if values.get("override"):
            entry["score"] = printed[key]
        indicators.setdefault(key[0], {}).setdefault(key[1], {})[key[2]] = entry
    data["indicators"] = indicators
    evaluation, _ = build_evaluation(data, project, rules, "import")
    for scored in evaluation.indicators:
        shown = printed.get(scored.key)
        entry = indicators.get(scored.key[0], {}).get(scored.key[1], {}).get(scored.key[2])
        if entry is None or shown is None or "score" in entry:
            continue
        if scored.formula is None or scored.formula.points != shown:
            entry["score"] = shown
            entry["score_reason"] = entry.get("score_reason") or IMPORTED_REASON
    return data


def evaluation_text(data: dict[str, Any], project: Project, source: str) -> str:
    """The file as a person writes it: header comments, the file's fields in order, then the indicators."""
    name = STAGES["evaluation"][0]
    lines = ["# yaml-language-server: $schema=../../schema.json",
             "# " + comment_text(f"{name}：{project.title}（由 perfdoc import --stage evaluation 从 {source} 导入）"),
             f"code: {text_scalar(project.code)}"]
    lines += [f"{key}: {yaml_scalar(data[key])}".rstrip() for key in EVALUATION_FIELDS
              if key != "code" and key in data and (key not in FUND_KEYS or data[key] is not None)]
    lines.append("indicators:")
    order = list(annual_rows(project))
    entries = data["indicators"]
    opened: tuple[str, ...] = ()
    for key in order:
        entry = entries.get(key[0], {}).get(key[1], {}).get(key[2])
        if entry is None:
            continue
        if opened[:1] != key[:1]:
            lines.append(f"  {text_scalar(key[0])}:")
        if opened[:2] != key[:2]:
            lines.append(f"    {text_scalar(key[1])}:")
        opened = key
        lines.append(f"      {text_scalar(key[2])}:")
        for field_key in EVALUATION_INDICATOR_FIELDS:
            if field_key in entry:
                lines.append(f"        {field_key}: {yaml_scalar(entry[field_key])}".rstrip())
    return "\n".join(lines) + "\n"


def import_stage_files(paths: list[Path], data_dir: Path, stage: str, force: bool) -> StageImport:
    """Read every file, match each table to its project, write evaluation/<编码>.yaml for each, all or none."""
    from perfdoc.build.output import write_all_or_nothing
    from perfdoc.io.importer import read_import_file

    result = StageImport(data_dir)
    if stage != "evaluation":
        raise UserError(unlocated("import --stage 目前只导入绩效自评（evaluation / 自评）：运行监控请用 "
                                  "python3 build.py new-stage monitoring 生成骨架后填写"))
    checked = check_data(data_dir)
    if checked.department is None or checked.profile is None or checked.target_errors:
        raise UserError([*checked.target_errors, unlocated(
            f"{display_path(data_dir)} 里的绩效目标数据有错误或不全，未导入：自评表要对应已有的项目文件"
            "（先导入或写好绩效目标，再 python3 build.py check）")])
    profile = checked.profile
    rules = load_rules(profile.scoring or NATIONAL_NAME, data_dir, named_in=profile.source)
    layout = load_layout(stage, profile, data_dir)
    year = checked.department.data["year"]
    projects = [build_project(loaded.data, profile, loaded.display) for loaded in checked.projects]
    by_code = {project.code: project for project in projects}
    by_name: dict[str, list[Project]] = {}
    for project in projects:
        by_name.setdefault(project.name, []).append(project)
    outputs: dict[Path, bytes] = {}
    for path in paths:
        kind, content = read_import_file(path)
        name = display_path(path)
        tables = read_word(content, name, layout, year) if kind == "docx" else read_workbook(content, name)
        if not tables:
            _note(result.notes, f"{name}：没有认出{layout.table_title}（格式 {layout.name}，每张表的表头应与它一致）")
        for found in tables:
            code, title = found.values.get("code", ""), found.values.get("name", "")
            candidates = [by_code[code]] if code in by_code else by_name.get(title, [])
            if len(candidates) != 1:
                _note(result.notes, f"{found.where}：项目“{title or code}”" +
                      ("在数据目录的项目文件里找不到，未导入" if not candidates else "有几个同名的项目，未导入：请在表里写项目编码"))
                continue
            project = candidates[0]
            target = data_dir / stage / f"{project.code}.yaml"
            if target in outputs:
                _note(result.notes, f"{found.where}：项目 {project.title} 已从前面的表导入，这张表未导入")
                continue
            data = evaluation_data(found, project, rules, result.notes)
            outputs[target] = evaluation_text(data, project, name).encode("utf-8")
    if not outputs:
        result.refused = unlocated("没有导入任何自评表：文件里没有对应项目文件的表")
        return result
    existing = [p for p in outputs if os.path.lexists(p)]
    if existing and not force:
        result.refused = unlocated(f"自评文件已存在，未写入任何文件：{'、'.join(display_path(p) for p in existing[:5])}"
                                   f"{' 等' if len(existing) > 5 else ''}；加 --force 覆盖")
        return result
    (data_dir / stage).mkdir(exist_ok=True)
    write_all_or_nothing(outputs)
    result.written = list(outputs)
    return result
