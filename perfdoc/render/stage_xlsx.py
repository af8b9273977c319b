"""A monitoring or self-evaluation document as a workbook the budget office can check.

Every score the PDF prints is here as an Excel formula over the numbers it comes from, with the
printed value stored as the formula's cached value (XlsxWriter writes both): 执行率 =
ROUND(执行数/预算数*100, 2), a 正向 indicator's 得分 = ROUND(MIN(分值, 分值*实际/目标), 2), a 反向
one's IF(实际<=目标, 分值, …), a qualitative one's 分值 × its band's share, the 总分 a SUM. A viewer
that does not recalculate shows the cached values, which are the PDF's numbers; one that does
recalculates the same numbers, so a changed cell shows what it changes. A score set by hand is a
plain number, with its reason in the next column. The rounding function follows the rules
(ROUND for half_up, ROUNDDOWN for down); half_even has no Excel function, so those scores are
plain numbers whose column says so.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

import xlsxwriter

from perfdoc.data.fields import EVALUATION_FIELDS, INDICATOR_FIELDS
from perfdoc.data.scoring import ScoringRules, band_of, parse_quantity
from perfdoc.data.stage_document import StageDocument
from perfdoc.data.stages import FUND_KEYS, Evaluation, Monitoring, ScoredIndicator
from perfdoc.data.text import amount_text
from perfdoc.render.summary import number
from perfdoc.render.xlsx import (
    FIXED_TIME,
    Column,
    Formula,
    Look,
    Sheet,
    Value,
    _column_letter,
    write_workbook,
    written,
    written_total,
)

SUMMARY_SHEETS = {"evaluation": "自评得分汇总", "monitoring": "监控汇总"}
INDICATOR_SHEET = "绩效指标"
OVERRIDE_WORDS = "人工评分"
DIRECTION_WORDS = {"more": "正向（≥）", "less": "反向（≤）", "equal": "等于（=）", "qualitative": "定性（分档）"}


def _num(value: Decimal | None) -> Value:
    return None if value is None else number(value)


def _amount(value: Decimal | None) -> Value:
    """An amount (万元) showing the decimals written (60.00 stays 60.00), for import to read back."""
    return None if value is None else written(value)


def _rounded(expression: str, rules: ScoringRules) -> str | None:
    """`expression` rounded as the rules round a score, as Excel writes it; None where Excel cannot."""
    if rules.rounding == "half_up":
        return f"ROUND({expression},{rules.decimals})"
    if rules.rounding == "down":
        return f"ROUNDDOWN({expression},{rules.decimals})"
    return None


def _key_header(document: StageDocument) -> str:
    return "项目编码" if document.uses_code else "文件名"


# ---------------------------------------------------------------------------------------------
# The self-evaluation


EVALUATION_INDICATOR_COLUMNS: tuple[tuple[str, Look], ...] = (
    ("项目编码", "text"), ("项目名称", "long"), ("一级指标", "text"), ("二级指标", "text"), ("三级指标", "text"),
    ("年度指标值", "text"), ("计分方式", "text"), ("目标数值", "number"), ("实际完成值", "text"), ("实际数值", "number"),
    ("分值", "number"), ("得分", "number"), ("得分怎样来的", "long"), ("评分理由", "long"), ("偏差原因分析及改进措施", "long"),
)
# Letters of the columns a score formula reads: 目标数值, 实际数值, 分值.
TARGET, ACTUAL, WEIGHT = "H", "J", "K"


def score_formula(indicator: ScoredIndicator, row: int, rules: ScoringRules) -> str | None:
    """The formula of one indicator's 得分 on `row` (1-based), or None where it is not a formula."""
    t, a, w = f"{TARGET}{row}", f"{ACTUAL}{row}", f"{WEIGHT}{row}"
    direction = indicator.target.direction
    if indicator.override is not None or indicator.formula is None:
        return None
    if direction == "qualitative":
        share = band_of(indicator.actual, rules)[1]
        body = _rounded(f"{w}*{amount_text(share)}", rules)
    elif direction == "more":
        body = _rounded(f"MIN({w},{w}*{a}/{t})", rules)
        body = f"IF({t}=0,{w},{body})" if body else None
    elif direction == "less":
        body = _rounded(f"{w}*{t}/{a}", rules)
        body = f"IF({a}<={t},{w},{body})" if body else None
    else:
        body = _rounded(f"{w}*MIN({a}/{t},{t}/{a})", rules)
        body = f"IF({a}={t},{w},IF(OR({a}<=0,{t}<=0),0,{body}))" if body else None
    return f"={body}" if body else None


def _evaluation_indicator_rows(document: StageDocument) -> list[list[Value]]:
    rows: list[list[Value]] = []
    for record in document.records:
        assert isinstance(record, Evaluation)
        for indicator in record.indicators:
            row = len(rows) + 2
            target = indicator.target.quantity
            actual_number = None
            if indicator.formula is not None and indicator.target.direction != "qualitative":
                parsed = parse_quantity(indicator.actual)
                actual_number = parsed.number if parsed else None
            formula = score_formula(indicator, row, record.rules)
            points = _num(indicator.points)
            if indicator.override is not None:
                how = OVERRIDE_WORDS + (f"（公式得 {amount_text(indicator.formula.points)}）" if indicator.formula else "")
                score: Value = points
            elif formula is not None and isinstance(points, int | float):
                how, score = indicator.formula.rule if indicator.formula else "", Formula(formula, points)
            else:
                how = (indicator.formula.rule + f"（{record.rules.rounding} 取舍，Excel 无对应函数）") if indicator.formula else ""
                score = points
            rows.append([
                record.project.code, record.project.name, *indicator.key, indicator.target.text,
                DIRECTION_WORDS[indicator.target.direction],
                _num(target.number) if target is not None and indicator.target.direction != "qualitative" else None,
                indicator.actual or None, _num(actual_number), _num(indicator.weight), score, how or None,
                indicator.score_reason or None, indicator.deviation or None,
            ])
    return rows


def _evaluation_sheets(document: StageDocument) -> list[Sheet]:
    indicator_rows = _evaluation_indicator_rows(document)
    last = len(indicator_rows) + 1
    summary = Sheet(SUMMARY_SHEETS["evaluation"], [
        Column(_key_header(document), "text"), Column("项目名称", "long"), Column("年初预算数", "amount"),
        Column("全年预算数", "amount"), Column("全年执行数", "amount"), Column("执行率（%）", "number"),
        Column("预算执行分值", "number"), Column("预算执行得分", "number"), Column("指标分值", "number"),
        Column("指标得分", "number"), Column("总分", "number"), Column("执行率偏低的原因", "long"),
        Column(EVALUATION_FIELDS["goal_achieved"].label, "long"),
        *(Column(EVALUATION_FIELDS[key].label, "amount") for key in FUND_KEYS)])
    for n, record in enumerate(document.records, start=2):
        assert isinstance(record, Evaluation)
        rules = record.rules
        rate: Value = None
        if record.execution_rate is not None:
            rate = Formula(f"=IF(D{n}>0,ROUND(E{n}/D{n}*100,2),0)", number(record.execution_rate))
        score: Value = None
        if record.execution_score is not None:
            body = _rounded(f"MIN(G{n},G{n}*F{n}/100)", rules)
            points = number(record.execution_score.points)
            score = Formula(f"={body}", points) if body else points
        code_range, sheet = f"'{INDICATOR_SHEET}'!$A$2:$A${last}", f"'{INDICATOR_SHEET}'"
        weights = Formula(f"=SUMIF({code_range},A{n},{sheet}!$K$2:$K${last})", number(record.indicator_weight))
        scored = record.indicator_score
        indicator_score: Value = Formula(f"=SUMIF({code_range},A{n},{sheet}!$L$2:$L${last})", number(scored)) \
            if scored is not None else None
        total: Value = Formula(f"=SUM(H{n},J{n})", number(record.total)) if record.total is not None else None
        summary.rows.append([record.project.code, record.project.name, _amount(record.initial_budget),
                             _amount(record.annual_budget), _amount(record.executed), rate, number(record.execution_weight),
                             score, weights, indicator_score, total, record.execution_reason or None,
                             record.goal_achieved or None, *(_amount(dict(record.funds).get(key)) for key in FUND_KEYS)])
    indicators = Sheet(INDICATOR_SHEET, [Column(label, look) for label, look in EVALUATION_INDICATOR_COLUMNS],
                       indicator_rows)
    return [summary, indicators]


# ---------------------------------------------------------------------------------------------
# The monitoring


def _monitoring_sheets(document: StageDocument) -> list[Sheet]:
    period = document.period
    summary = Sheet(SUMMARY_SHEETS["monitoring"], [
        Column(_key_header(document), "text"), Column("项目名称", "long"), Column("年初预算数", "amount"),
        Column(f"{period}执行数", "amount"), Column(f"{period}执行率（%）", "number"), Column("全年预计执行数", "amount"),
        Column("全年预计执行率（%）", "number"), Column("执行偏差原因", "long"), Column(f"{period}实际完成情况", "long")])
    for n, record in enumerate(document.records, start=2):
        assert isinstance(record, Monitoring)
        rate_to_date: Value = Formula(f"=IF(C{n}>0,ROUND(D{n}/C{n}*100,2),0)", number(record.rate_to_date)) \
            if record.rate_to_date is not None else None
        forecast_rate: Value = Formula(f"=IF(C{n}>0,ROUND(F{n}/C{n}*100,2),0)", number(record.forecast_rate)) \
            if record.forecast_rate is not None else None
        summary.rows.append([record.project.code, record.project.name, _amount(record.initial_budget),
                             _amount(record.executed_to_date), rate_to_date, _amount(record.forecast), forecast_rate,
                             record.execution_reason or None, record.progress or None])
    last = len(document.records) + 1
    totals: list[Value] = ["合计", None]
    for index, key in ((2, "initial_budget"), (3, "executed_to_date"), (5, "forecast")):
        amounts = [getattr(record, key) for record in document.records]
        while len(totals) < index:
            totals.append(None)
        if document.records and all(a is not None for a in amounts):
            letter = _column_letter(index)
            totals.append(written_total(f"=SUM({letter}2:{letter}{last})", sum(amounts, Decimal(0))))
        else:
            totals.append(None)
    totals += [None] * (len(summary.columns) - len(totals))
    summary.rows.append(totals)
    indicators = Sheet(INDICATOR_SHEET, [
        Column(_key_header(document), "text"), Column("项目名称", "long"), Column("一级指标", "text"),
        Column("二级指标", "text"), Column("三级指标", "text"), Column("年度指标值", "text"),
        Column(f"{period}执行情况", "text"), Column("全年预计完成情况", "text"), Column("偏差原因", "text"),
        Column("偏差原因说明", "long"), Column("完成目标可能性", "text"), Column("备注", "long")])
    for record in document.records:
        assert isinstance(record, Monitoring)
        for indicator in record.indicators:
            indicators.rows.append([record.project.code, record.project.name, *indicator.key, indicator.target.text,
                                    indicator.done or None, indicator.expected or None,
                                    "、".join(indicator.causes) or None, indicator.deviation or None,
                                    indicator.likelihood or None, indicator.remark or None])
    return [summary, indicators]


def stage_sheets(document: StageDocument) -> list[Sheet]:
    return _evaluation_sheets(document) if document.stage == "evaluation" else _monitoring_sheets(document)


def stage_properties(document: StageDocument) -> dict[str, object]:
    department = document.department
    return {"title": document.output_name, "author": department.name,
            "subject": f"{department.year}年 {document.profile.table_title}",
            "keywords": f"{document.stage_name}, {department.year}", "comments": "perfdoc", "created": FIXED_TIME}


def render_stage_xlsx(document: StageDocument) -> bytes:
    return write_workbook(stage_sheets(document), stage_properties(document))


def stage_xlsx_cache_parts(document: StageDocument) -> list[object]:
    properties = {**stage_properties(document), "created": FIXED_TIME.isoformat()}
    return [[asdict(sheet) for sheet in stage_sheets(document)], properties, xlsxwriter.__version__,
            sorted(INDICATOR_FIELDS)]
