"""A 自评表 or 监控表 as print grids: one project's stage record in its layout's table, and the
summary of every project's score (or execution) before them.

The layout is a profile with `table: evaluation` or `table: monitoring` (profiles/national-evaluation.yaml
…): header rows of cells, the indicator grid's columns (a `group` over several, `mark` columns that
tick a choice), footer rows (总分). The indicators and their order are the project's (its annual
block), so a stage table lists exactly the targets' rows, empty 二级 rows included. What each
`field:` prints is declared in perfdoc.data.fields (EVALUATION_TABLE_VALUES …): record_values and
indicator_values below give every one of them, as text, from the scored record.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from perfdoc.data.fields import INDICATOR_FIELDS, STAGE_TABLE_FIELDS, indicator_text, stage_text
from perfdoc.data.model import IndicatorKey, numbered_key
from perfdoc.data.profile import Column, Profile
from perfdoc.data.scoring import execution_rate
from perfdoc.data.stage_document import StageDocument, StageRecord
from perfdoc.data.stages import FUND_SOURCES, Evaluation, MonitoredIndicator, ScoredIndicator
from perfdoc.data.text import amount_text, value_text
from perfdoc.render.summary import SummaryTable, number
from perfdoc.render.tables import (
    Captions,
    GridCell,
    GridRow,
    GridTable,
    facts_table,
    header_cell,
    record_captions,
)

TICK = "√"
JOIN = "；"  # between texts joined in one cell (偏差原因说明；备注)


def points_text(value: Decimal | None, profile: Profile, decimals: int) -> str:
    """A weight or score as the layout prints it: `8.00` (fixed, the rules' decimals) or `8` (trimmed)."""
    if value is None:
        return ""
    if profile.number_style == "trimmed":
        text = format(value.normalize(), "f")
        return text
    return format(value.quantize(Decimal(1).scaleb(-decimals)), "f")


def rate_text(rate: Decimal | None) -> str:
    return "" if rate is None else f"{amount_text(rate)}%"


def _amount(value: Decimal | None) -> str:
    return "" if value is None else amount_text(value)


def _project_values(record: StageRecord) -> dict[str, str]:
    values = {key: value_text(value) for key, value in record.project.facts}
    values.setdefault("code", record.project.code)
    values.setdefault("name", record.project.name)
    values["goal"] = record.goal
    return values


def record_values(record: StageRecord, profile: Profile) -> dict[str, str]:
    """Every value a header or footer cell of this stage's layout may print (STAGE_TABLE_FIELDS), as text."""
    values = _project_values(record)
    if isinstance(record, Evaluation):
        decimals = record.rules.decimals
        funds = dict(record.funds)
        values.update({
            "initial_budget": _amount(record.initial_budget), "annual_budget": _amount(record.annual_budget),
            "executed": _amount(record.executed), "execution_reason": record.execution_reason,
            "goal_achieved": record.goal_achieved,
            **{key: amount_text(amount) for key, amount in record.funds},
            "execution_weight": points_text(record.execution_weight, profile, decimals),
            "execution_rate": rate_text(record.execution_rate),
            "execution_score": points_text(record.execution_score.points if record.execution_score else None, profile,
                                           decimals),
            "indicator_weight": points_text(record.indicator_weight, profile, decimals),
            "indicator_score": points_text(record.indicator_score, profile, decimals),
            "weight_total": points_text(record.weight_total, profile, decimals),
            "total": points_text(record.total, profile, decimals),
        })
        for source in FUND_SOURCES:
            annual, executed = funds.get(f"{source}_annual_budget"), funds.get(f"{source}_executed")
            values[f"{source}_rate"] = rate_text(execution_rate(executed, annual)) if annual is not None and executed is not None else ""
    else:
        values.update({
            "initial_budget": _amount(record.initial_budget), "executed_to_date": _amount(record.executed_to_date),
            "forecast": _amount(record.forecast), "execution_reason": record.execution_reason,
            "progress": record.progress, "monitoring_period": record.period,
            "rate_to_date": rate_text(record.rate_to_date), "forecast_rate": rate_text(record.forecast_rate),
        })
    return {key: values.get(key, "") for key in STAGE_TABLE_FIELDS[profile.table][0]}


def indicator_values(row: ScoredIndicator | MonitoredIndicator, profile: Profile, decimals: int) -> dict[str, str]:
    """Every value an indicator column of this stage's layout may print, as text."""
    target = row.indicator.as_dict()
    values = {key: value_text(target.get(key)) for key in INDICATOR_FIELDS}
    values["target"] = row.target.text
    if isinstance(row, ScoredIndicator):
        values.update(actual=row.actual, weight=points_text(row.weight, profile, decimals),
                      score=points_text(row.points, profile, decimals), score_reason=row.score_reason,
                      deviation=row.deviation)
    else:
        values.update(done=row.done, expected=row.expected, causes="、".join(row.causes), deviation=row.deviation,
                      likelihood=row.likelihood, remark=row.remark)
    return {key: values.get(key, "") for key in STAGE_TABLE_FIELDS[profile.table][1]}


def column_text(column: Column, values: Mapping[str, str], row: ScoredIndicator | MonitoredIndicator | None) -> str:
    """One indicator column's cell: a tick, the target's fields joined (`≥` `95` `%`), or texts joined by ；."""
    if row is None:
        return ""
    if column.mark:
        chosen = row.causes if column.fields[0] == "causes" and isinstance(row, MonitoredIndicator) else (values[column.fields[0]],)
        return TICK if column.mark in chosen else ""
    if all(key in INDICATOR_FIELDS and key not in ("weight", "remark") for key in column.fields):
        return indicator_text({key: values[key] or None for key in column.fields}, column.fields)
    return JOIN.join(values[key] for key in column.fields if values[key])


def _head(profile: Profile) -> tuple[GridRow, ...]:
    """The indicator grid's head: one row, or two where columns are grouped under a caption."""
    grouped = any(column.group for column in profile.columns)
    rows = 2 if grouped else 1
    first: list[GridCell] = []
    if profile.side_label:
        first.append(GridCell("", "label", True, profile.side_label.span, rows, open_bottom=True))
    first += [GridCell(label, "label", True, 1, rows) for label in profile.level_labels]
    second: list[GridCell] = []
    seen: set[str] = set()
    for column in profile.columns:
        if not column.group:
            first.append(GridCell(column.label, "label", True, column.span, rows))
            continue
        if column.group not in seen:
            seen.add(column.group)
            span = sum(c.span for c in profile.columns if c.group == column.group)
            first.append(GridCell(column.group, "label", True, span))
        second.append(GridCell(column.label, "label", True, column.span))
    return (GridRow(tuple(first)),) + ((GridRow(tuple(second)),) if grouped else ())


def _level1_text(profile: Profile, name: str, points: Decimal | None, decimals: int) -> str:
    return profile.level1_format.replace("{name}", name).replace("{points}", points_text(points, profile, decimals))


def indicator_table(profile: Profile, record: StageRecord, footer: tuple[GridRow, ...]) -> GridTable:
    """The grid: the side label, 一级 and 二级 merged down their rows, the layout's columns, then the footer."""
    decimals = record.rules.decimals if isinstance(record, Evaluation) else 2
    rows_by_key: dict[IndicatorKey, ScoredIndicator | MonitoredIndicator] = {row.key: row for row in record.indicators}
    annual = record.project.annual
    side = profile.side_label
    seen: dict[IndicatorKey, int] = {}
    level1_rows: list[list[list[ScoredIndicator | MonitoredIndicator | None]]] = []
    level1_names = []
    for level1 in annual.groups if annual else ():
        groups = []
        for level2 in level1.groups:
            found = [rows_by_key.get(numbered_key(level1.name, level2.name, indicator.name, seen))
                     for indicator in level2.indicators]
            groups.append(found or [None])
        level1_rows.append(groups)
        level1_names.append((level1.name, [g.name for g in level1.groups]))
    body_count = sum(len(group) for groups in level1_rows for group in groups)
    head = _head(profile)
    if side and not body_count:
        head = (GridRow((GridCell(side.label, "label", True, side.span, len(head)), *head[0].cells[1:])), *head[1:])
    bodies: list[tuple[GridRow, ...]] = []
    for (level1_name, level2_names), groups in zip(level1_names, level1_rows, strict=True):
        points = None
        if isinstance(record, Evaluation):
            points = sum((r.weight for r in record.indicators if r.key[0] == level1_name), Decimal(0))
        rows: list[GridRow] = []
        for g, (level2_name, members) in enumerate(zip(level2_names, groups, strict=True)):
            for i, member in enumerate(members):
                cells = []
                if side and not bodies and not rows:
                    cells.append(GridCell(side.label, "label", True, side.span, body_count, open_top=True))
                if g == 0 and i == 0:
                    cells.append(GridCell(_level1_text(profile, level1_name, points, decimals), "level", True, 1,
                                          sum(len(x) for x in groups)))
                if i == 0:
                    cells.append(GridCell(level2_name, "level", True, 1, len(members)))
                values = indicator_values(member, profile, decimals) if member is not None else {}
                for column in profile.columns:
                    field = STAGE_TABLE_FIELDS[profile.table][1][column.fields[0]]
                    cells.append(GridCell(column_text(column, values, member), "center" if column.mark else field.align,
                                          False, column.span))
                rows.append(GridRow(tuple(cells)))
        bodies.append(tuple(rows))
    if side and bodies:  # the label spans every row: one group (a row group holds a rowspan)
        bodies = [tuple(row for body in bodies for row in body)]
    if footer:
        bodies.append(footer)
    return GridTable("indicators", profile.grid_mm, head, tuple(bodies))


def stage_tables(profile: Profile, record: StageRecord, year: int | None = None) -> tuple[GridTable, ...]:
    """A record's tables: the header rows (facts) joined to the indicator grid with its footer."""
    profile = profile.for_year(year)
    values = record_values(record, profile)
    facts = [GridRow(tuple(header_cell(cell, values, profile) for cell in row))
             for row in profile.header if isinstance(row, tuple)]
    footer = tuple(GridRow(tuple(header_cell(cell, values, profile) for cell in row)) for row in profile.footer)
    tables = [facts_table(profile, facts)] if facts else []
    tables.append(indicator_table(profile, record, footer))
    return tuple(tables)


def stage_captions(profile: Profile, record: StageRecord, year: int | None, department: str) -> Captions:
    return record_captions(profile, record_values(record, profile.for_year(year)), year, department)


# ---------------------------------------------------------------------------------------------
# The summary before the tables


CODE_MM, NUMBER_MM = 24.0, 19.0


def _widths(numbers: int, code: bool) -> tuple[float, ...]:
    from perfdoc.data.profile import TEXT_BLOCK_MM

    fixed = (CODE_MM if code else 0) + numbers * NUMBER_MM
    widths = (*((CODE_MM,) if code else ()), TEXT_BLOCK_MM - fixed, *([NUMBER_MM] * numbers))
    return tuple(round(w, 2) for w in widths)


def summary_columns(document: StageDocument) -> list[str]:
    """The summary's number columns: the scores of a self-evaluation, the execution of a monitoring."""
    if document.stage == "evaluation":
        return ["执行率", "预算执行得分", "指标得分", "总分"]
    period = document.period
    return ["年初预算数（万元）", stage_text("{period}执行数（万元）", period), stage_text("{period}执行率", period),
            "全年预计执行数（万元）", "全年预计执行率"]


def summary_row(record: StageRecord, profile: Profile) -> list[str]:
    values = record_values(record, profile)
    if isinstance(record, Evaluation):
        return [values["execution_rate"], values["execution_score"], values["indicator_score"], values["total"]]
    return [values["initial_budget"], values["executed_to_date"], values["rate_to_date"], values["forecast"],
            values["forecast_rate"]]


def summary_title(document: StageDocument) -> str:
    return "项目自评得分汇总表" if document.stage == "evaluation" else "项目执行监控汇总表"


def stage_summary(document: StageDocument) -> SummaryTable:
    """项目编码 (where projects have codes), 名称, then the numbers; a monitoring's amounts add up in 合计."""
    title = summary_title(document)
    numbers = summary_columns(document)
    code = document.uses_code
    width = 1 + code + len(numbers)
    head = [GridRow((GridCell(title, "label", True, width),))]
    labels = ([GridCell("项目编码", "label", True)] if code else []) + [GridCell("项目名称", "label", True)]
    head.append(GridRow(tuple(labels + [GridCell(label, "label", True) for label in numbers])))
    groups: list[tuple[GridRow, ...]] = []
    for record in document.records:
        cells = ([GridCell(record.project.code, "center")] if code else []) + [GridCell(record.project.name, "left")]
        cells += [GridCell(text, "center") for text in summary_row(record, document.profile)]
        groups.append((GridRow(tuple(cells)),))
    if document.stage == "monitoring" and document.records:
        total = [GridCell("合计", "label", True, 1 + code)]
        for key in ("initial_budget", "executed_to_date", None, "forecast", None):  # the rates add up to nothing
            amounts: list[Decimal | None] = [getattr(record, key) for record in document.records] if key else [None]
            known = [amount for amount in amounts if amount is not None]
            shown = amount_text(sum(known, Decimal(0))) if len(known) == len(amounts) else ""
            total.append(GridCell(shown, "center"))
        groups.append((GridRow(tuple(total)),))
    return SummaryTable(title, (GridTable("summary", _widths(len(numbers), code), tuple(head), tuple(groups)),))


def as_number(text: str) -> float | int | None:
    """A printed number (`82.00%`, `12.50`) as the number a spreadsheet stores; None for an empty cell."""
    if not text:
        return None
    return number(Decimal(text.rstrip("%")))
