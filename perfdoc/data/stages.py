"""The year's later stages joined to their targets: the mid-year monitoring (绩效运行监控) and the
year-end self-evaluation (绩效自评), as immutable records with every number already computed.

A stage file (data/evaluation/<编码>.yaml, data/monitoring/<编码>.yaml; fields in
perfdoc.data.fields) names each indicator of the project's annual block by its 一级 → 二级 → 三级
path (perfdoc.data.model.numbered_key) and says what happened. Joining it to its Project gives a
record a renderer only prints: 执行率, each indicator's weight and score (perfdoc.data.scoring),
the 总分 as the sum of the printed scores. What is wrong or missing on the way comes back as
Findings (field path, message, severity), values that perfdoc.data.stage_check places at the
file's line; nothing here raises for bad data.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from perfdoc.data.fields import (
    EVALUATION_FIELDS,
    EVALUATION_INDICATOR_FIELDS,
    MONITORING_FIELDS,
    MONITORING_INDICATOR_FIELDS,
    STAGES,
    indicator_text,
    stage_text,
)
from perfdoc.data.loader import FieldPath
from perfdoc.data.model import Indicator, IndicatorKey, IndicatorRow, Project
from perfdoc.data.scoring import (
    DIRECTIONS,
    Direction,
    Quantity,
    Score,
    ScoringError,
    ScoringRules,
    UnitMismatch,
    band_of,
    band_score,
    default_weights,
    direction_of,
    execution_rate,
    execution_score,
    indicator_score,
    meets_target,
    override_score,
    parse_quantity,
    total_score,
)
from perfdoc.data.text import amount_text, value_text
from perfdoc.diagnostics import Severity

ERROR, WARNING, HINT = Severity.ERROR, Severity.WARNING, Severity.HINT
# The 项目资金 rows' amounts under the total: fiscal_initial_budget … other_executed (perfdoc.data.fields).
FUND_SOURCES = ("fiscal", "carryover", "other")
FUND_KEYS = tuple(f"{source}_{amount}" for source in FUND_SOURCES for amount in ("initial_budget", "annual_budget", "executed"))


@dataclass(frozen=True)
class Finding:
    """Something to tell the author about a stage file, at a field path of it."""

    path: FieldPath
    message: str
    severity: Severity = WARNING
    at_key: bool = False  # point at the key (a whole entry) rather than its value


@dataclass(frozen=True)
class Target:
    """An indicator's target as the scoring reads it: `≥95%` → ≥, 95, %, more is better."""

    text: str  # as the table prints it
    quantity: Quantity | None  # None: not a number (每月底, 明显提升): qualitative
    direction: Direction
    problem: str = ""  # why the target itself cannot be read (its value and unit columns disagree)


def target_of(indicator: Indicator) -> Target:
    """The target of one indicator row: its 指标性质 (or the operator in the value, or its 指标方向),
    its value and unit; 定性 (in 指标性质 or 指标值类型) or a value that is not a number is qualitative."""
    row = indicator.as_dict()
    nature = value_text(row.get("nature"))
    text = indicator_text(row, ("nature", "value", "unit"))
    operator = nature if nature in DIRECTIONS and nature != "定性" else ""
    if nature == "定性" or row.get("value_type") == "定性":
        return Target(text, None, "qualitative")
    try:
        quantity = parse_quantity(value_text(row.get("value")), value_text(row.get("unit")), operator)
    except UnitMismatch as exc:
        return Target(text, None, "qualitative", f"指标值{exc}")
    if quantity is None:
        return Target(text, None, "qualitative")
    return Target(text, quantity, direction_of(operator, quantity, value_text(row.get("direction"))))


def annual_rows(project: Project) -> dict[IndicatorKey, IndicatorRow]:
    """The indicators a stage file answers for: the annual block's rows by their key, in table order."""
    return dict(project.annual.keyed_rows()) if project.annual else {}


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class ScoredIndicator:
    """One indicator of a self-evaluation: its target, what was achieved, its weight and score."""

    key: IndicatorKey
    indicator: Indicator  # the target row, as the project file writes it
    target: Target
    actual: str
    weight: Decimal
    weight_given: bool  # written in the file (else spread by the rules)
    formula: Score | None  # by formula; None without an actual, or when it cannot be scored so
    override: Score | None  # set by hand, its rule holding the reason
    deviation: str
    score_reason: str = ""  # as written (the override's rule says it with 人工评分：before it)

    @property
    def score(self) -> Score | None:
        """The score the table prints: the one set by hand, else the formula's."""
        return self.override or self.formula

    @property
    def points(self) -> Decimal | None:
        return self.score.points if self.score else None


@dataclass(frozen=True)
class Evaluation:
    """A project's self-evaluation (项目支出绩效自评表), every number computed."""

    project: Project
    source_file: str
    rules: ScoringRules
    initial_budget: Decimal | None
    annual_budget: Decimal | None
    executed: Decimal | None
    execution_rate: Decimal | None  # %, two decimals; None until both amounts are written
    execution_score: Score | None
    execution_reason: str
    goal_achieved: str
    indicators: tuple[ScoredIndicator, ...]
    # The 项目资金 rows under the total (fiscal_initial_budget …, perfdoc.data.fields), as written.
    funds: tuple[tuple[str, Decimal], ...] = ()

    @property
    def code(self) -> str:
        return self.project.code

    @property
    def goal(self) -> str:
        """预期目标: the targets' goal, word for word."""
        return self.project.goal

    @property
    def indicator_weight(self) -> Decimal:
        return sum((i.weight for i in self.indicators), Decimal(0))

    @property
    def indicator_score(self) -> Decimal | None:
        """The indicators' printed scores added up; None while any is missing."""
        points = [i.points for i in self.indicators]
        return None if any(p is None for p in points) else total_score([p for p in points if p is not None])

    @property
    def execution_weight(self) -> Decimal:
        return self.rules.execution_weight

    @property
    def weight_total(self) -> Decimal:
        return self.rules.execution_weight + sum((i.weight for i in self.indicators), Decimal(0))

    @property
    def total(self) -> Decimal | None:
        """总分: the sum of the printed (rounded) scores, so the table adds up; None while any is missing."""
        scores = [self.execution_score.points if self.execution_score else None, *(i.points for i in self.indicators)]
        if any(points is None for points in scores):
            return None
        return total_score([points for points in scores if points is not None])


@dataclass(frozen=True)
class MonitoredIndicator:
    """One indicator of a mid-year monitoring: done so far, expected by year end, and why not."""

    key: IndicatorKey
    indicator: Indicator
    target: Target
    done: str
    expected: str
    causes: tuple[str, ...]  # of perfdoc.data.fields.DEVIATION_CAUSES
    deviation: str
    likelihood: str  # 确定能 / 有可能 / 完全不可能, or ""
    remark: str
    on_track: bool | None  # the expected value reaches the target; None when that cannot be told


@dataclass(frozen=True)
class Monitoring:
    """A project's mid-year monitoring (项目支出绩效目标执行监控表)."""

    project: Project
    source_file: str
    period: str  # 1—7月
    initial_budget: Decimal | None
    executed_to_date: Decimal | None
    rate_to_date: Decimal | None  # executed_to_date / initial_budget, %
    forecast: Decimal | None
    forecast_rate: Decimal | None
    execution_reason: str
    progress: str
    indicators: tuple[MonitoredIndicator, ...]

    @property
    def code(self) -> str:
        return self.project.code

    @property
    def goal(self) -> str:
        return self.project.goal


# ---------------------------------------------------------------------------------------------
# Joining a file to its project


def _amount(value: Any) -> Decimal | None:
    return None if value is None or isinstance(value, bool) else Decimal(value)


def _text(value: Any) -> str:
    return value_text(value).strip()


def _path_text(key: IndicatorKey) -> str:
    return "/".join(key)


class _Join:
    """A stage file's indicators against the project's: the entries by key, and what does not match."""

    def __init__(self, data: dict[str, Any], project: Project, stage: str, findings: list[Finding]):
        self.rows = annual_rows(project)
        self.entries: dict[IndicatorKey, dict[str, Any]] = {}
        stage_name = STAGES[stage][0]
        stated = data.get("indicators") or {}
        for level1, level2s in stated.items():
            for level2, names in (level2s or {}).items():
                for name, entry in (names or {}).items():
                    key = (level1, level2, name)
                    if key in self.rows:
                        self.entries[key] = entry or {}
                        continue
                    findings.append(Finding(("indicators", *key), self._unknown(key, project), ERROR, at_key=True))
        for key in self.rows:
            if key not in self.entries:
                findings.append(Finding(("indicators", *key), f"缺少指标“{_path_text(key)}”（missing）：它在项目的绩效目标里，"
                                        f"{stage_name}文件还没有写；请在 {key[0]} → {key[1]} 下加上“{key[2]}:”", WARNING,
                                        at_key=True))

    def _unknown(self, key: IndicatorKey, project: Project) -> str:
        siblings = [k[2] for k in self.rows if k[:2] == key[:2]]
        close = difflib.get_close_matches(key[2], siblings, n=1, cutoff=0.4)
        if close:
            hint = f"是不是“{close[0]}”？"
        elif siblings:
            hint = f"该二级指标下的三级指标：{'、'.join(siblings)}"
        else:
            hint = f"项目的绩效目标在“{key[0]}/{key[1]}”下没有三级指标"
        return (f"项目 {project.code} 的绩效目标里没有指标“{_path_text(key)}”（not in the targets）：名称要与项目文件"
                f"（{project.source_file}）一字不差，{hint}")


def _actual_quantity(text: str, target: Target) -> tuple[Quantity | None, str, str]:
    """The actual as a quantity in the target's unit: (quantity, a hint, a unit error)."""
    quantity = parse_quantity(text)
    if quantity is None or target.quantity is None:
        return quantity, "", ""
    unit = target.quantity.unit
    if quantity.unit == unit:
        return quantity, "", ""
    if not quantity.unit:
        return replace(quantity, unit=unit), f"“{text}”只写了数字，按指标值“{target.text}”的单位“{unit}”计", ""
    if not unit:
        return replace(quantity, unit=""), f"指标值“{target.text}”没有单位，“{text}”的单位“{quantity.unit}”无法核对", ""
    return quantity, "", (f"“{text}”的单位是“{quantity.unit}”，而指标值“{target.text}”的单位是“{unit}”（unit mismatch）："
                          f"请换算成{unit}再写，perfdoc 不替你换算")


@dataclass
class _Measured:
    """An actual (or a forecast) read against its target."""

    quantity: Quantity | None = None
    meets: bool | None = None  # None: cannot be told
    problem: str = ""  # why it cannot be scored by formula (an override may still score it)
    unit_error: str = ""  # an error whatever else is written


def _measure(text: str, target: Target, path: FieldPath, rules: ScoringRules, hints: list[Finding]) -> _Measured:
    if target.problem:
        return _Measured(problem=target.problem)
    if target.direction == "qualitative":
        try:
            return _Measured(meets=band_of(text, rules)[1] >= 1)
        except ScoringError as exc:
            return _Measured(problem=str(exc))
    quantity, hint, unit_error = _actual_quantity(text, target)
    if hint:
        hints.append(Finding(path, hint))
    if unit_error:
        return _Measured(unit_error=unit_error)
    if quantity is None:
        return _Measured(problem=f"“{text}”不是数值，而指标值“{target.text}”是")
    assert target.quantity is not None
    return _Measured(quantity, meets_target(target.quantity, quantity, target.direction, rules))


def _stage_prefix(stage: str, project: Project) -> str:
    return f"{STAGES[stage][0]} {project.code} {project.name}："


def _todo(stage: str, data: dict[str, Any], keys: tuple[str, ...], missing_indicators: list[IndicatorKey],
          indicator_label: str, count: int, fields: dict, period: str) -> Finding | None:
    """One warning a file listing what is still empty: the stage's to-do list."""
    empty = [key for key in keys if _text(data.get(key)) == ""]
    if not empty and not missing_indicators:
        return None
    parts = [stage_text(fields[key].label, period) for key in empty]
    if missing_indicators:
        many = f"全部 {count} 个指标" if len(missing_indicators) == count else f"{len(missing_indicators)} 个指标（共 {count} 个）"
        parts.append(f"{many}的{indicator_label}")
    path: FieldPath = (empty[0],) if empty else ("indicators", *missing_indicators[0])
    return Finding(path, f"还没有填完（to do）：{'、'.join(parts)}", WARNING, at_key=True)


def build_evaluation(data: dict[str, Any], project: Project, rules: ScoringRules,
                     source_file: str) -> tuple[Evaluation, list[Finding]]:
    """A self-evaluation file joined to its project and scored; the findings in file order."""
    findings: list[Finding] = []
    hints: list[Finding] = []
    join = _Join(data, project, "evaluation", findings)
    given = {key: Decimal(entry["weight"]) for key, entry in join.entries.items() if entry.get("weight") is not None}
    weights = default_weights(list(join.rows), rules, given)
    indicators = []
    for key, row in join.rows.items():
        entry = join.entries.get(key, {})
        path: FieldPath = ("indicators", *key)
        target = target_of(row.indicator)
        actual, deviation = _text(entry.get("actual")), _text(entry.get("deviation"))
        weight = weights[key]
        formula = None
        measured = _Measured()
        if actual:
            measured = _measure(actual, target, path + ("actual",), rules, hints)
            if measured.unit_error:
                findings.append(Finding(path + ("actual",), measured.unit_error, ERROR))
            elif measured.problem and entry.get("score") is None:
                findings.append(Finding(path + ("actual",), measured.problem if target.direction == "qualitative" and not target.problem else
                                        f"{measured.problem}：无法按公式计分；请写数值（如“93%”），或给出得分（score）"
                                        "和理由（score_reason）", ERROR))
            elif not measured.problem:
                formula = (band_score(actual, weight, rules) if target.direction == "qualitative"
                           else indicator_score(target.quantity or target.text, measured.quantity or actual, weight,
                                                target.direction, rules))
            if measured.meets is False and not deviation:
                findings.append(Finding(path + ("actual",), f"实际完成值“{actual}”未达到指标值“{target.text}”：请写明"
                                        "偏差原因分析及改进措施（deviation）"))
        override = None
        if entry.get("score") is not None:
            try:
                override = override_score(Decimal(entry["score"]), _text(entry.get("score_reason")), weight, rules)
            except ScoringError as exc:
                findings.append(Finding(path + ("score",), f"{exc}（override）", ERROR))
            if override and formula and override.points == formula.points:
                hints.append(Finding(path + ("score",), f"手工给出的得分 {override.points} 与公式算出的相同，可以不写 score"))
        indicators.append(ScoredIndicator(key, row.indicator, target, actual, weight, key in given, formula, override,
                                          deviation, _text(entry.get("score_reason"))))
    indicator_points = sum(weights.values(), Decimal(0))
    if join.rows and rules.execution_weight + indicator_points != 100:
        findings.append(Finding(("indicators",), f"分值合计应为 100，实际为 {amount_text(rules.execution_weight + indicator_points)}"
                                f"（预算执行率 {amount_text(rules.execution_weight)} + 各指标 {amount_text(indicator_points)}）"
                                "（weights）：请调整各指标的 weight", ERROR, at_key=True))
    initial, annual, executed = (_amount(data.get(k)) for k in ("initial_budget", "annual_budget", "executed"))
    reason = _text(data.get("execution_reason"))
    rate = execution_rate(executed, annual) if executed is not None and annual is not None else None
    score = execution_score(rate, rules) if rate is not None else None
    if rate is not None and rate < rules.execution_floor and not reason:
        findings.append(Finding(("executed",), f"执行率 {rate}%（全年执行数 {amount_text(executed or 0)} ÷ 全年预算数 "
                                f"{amount_text(annual or 0)}）低于 {amount_text(rules.execution_floor)}%：请在 execution_reason "
                                "写明原因"))
    if executed is not None and annual is not None and executed > annual:
        findings.append(Finding(("executed",), f"全年执行数 {amount_text(executed)} 大于全年预算数 {amount_text(annual)}"))
    if initial is not None and initial != project.budget:
        hints.append(Finding(("initial_budget",), f"年初预算数 {amount_text(initial)} 与绩效目标表的预算数 "
                                                  f"{project.budget_text} 不同"))
    unfilled = [i.key for i in indicators if not i.actual and i.key in join.entries]
    todo = _todo("evaluation", data, ("annual_budget", "executed", "goal_achieved"), unfilled,
                 EVALUATION_INDICATOR_FIELDS["actual"].label, len(indicators), EVALUATION_FIELDS, rules.monitoring_period)
    findings += [todo] if todo else []
    funds = tuple((key, amount) for key in FUND_KEYS if (amount := _amount(data.get(key))) is not None)
    evaluation = Evaluation(project, source_file, rules, initial, annual, executed, rate, score, reason,
                            _text(data.get("goal_achieved")), tuple(indicators), funds)
    prefix = _stage_prefix("evaluation", project)
    return evaluation, ([replace(f, message=prefix + f.message) for f in findings]
                   + [replace(f, message=prefix + f.message, severity=HINT) for f in hints])


def build_monitoring(data: dict[str, Any], project: Project, rules: ScoringRules,
                     source_file: str) -> tuple[Monitoring, list[Finding]]:
    """A monitoring file joined to its project; the findings in file order."""
    findings: list[Finding] = []
    hints: list[Finding] = []
    join = _Join(data, project, "monitoring", findings)
    period = rules.monitoring_period
    indicators = []
    for key, row in join.rows.items():
        entry = join.entries.get(key, {})
        path: FieldPath = ("indicators", *key)
        target = target_of(row.indicator)
        done, expected = _text(entry.get("done")), _text(entry.get("expected"))
        causes = tuple(entry.get("causes") or ())
        deviation, likelihood = _text(entry.get("deviation")), _text(entry.get("likelihood"))
        if done:
            measured_done = _measure(done, target, path + ("done",), rules, hints)
            if measured_done.unit_error:
                findings.append(Finding(path + ("done",), measured_done.unit_error, ERROR))
        on_track = None
        if expected:
            measured = _measure(expected, target, path + ("expected",), rules, hints)
            on_track = measured.meets
            if measured.unit_error:
                findings.append(Finding(path + ("expected",), measured.unit_error, ERROR))
            elif measured.problem:
                hints.append(Finding(path + ("expected",), f"无法判断全年预计完成值能否达到指标值：{measured.problem}"))
        shown = f"全年预计完成值“{expected}”"
        if on_track is False and not (causes and deviation):
            findings.append(Finding(path + ("expected",), f"{shown}达不到指标值“{target.text}”：请勾选偏差原因（causes）"
                                                          "并写明偏差原因说明（deviation）"))
        if likelihood == "确定能" and on_track is False:
            findings.append(Finding(path + ("likelihood",), f"完成目标可能性是“确定能”，但{shown}达不到指标值“{target.text}”"
                                                            "（contradiction）：请改正其中一个"))
        if likelihood == "完全不可能" and on_track is True:
            findings.append(Finding(path + ("likelihood",), f"完成目标可能性是“完全不可能”，但{shown}已达到指标值"
                                                            f"“{target.text}”（contradiction）：请改正其中一个"))
        if "其他" in causes and not deviation:
            findings.append(Finding(path + ("causes",), "偏差原因选了“其他”：请在 deviation 写明是什么原因"))
        indicators.append(MonitoredIndicator(key, row.indicator, target, done, expected, causes, deviation, likelihood,
                                             _text(entry.get("remark")), on_track))
    initial, to_date, forecast = (_amount(data.get(k)) for k in ("initial_budget", "executed_to_date", "forecast"))
    reason = _text(data.get("execution_reason"))
    rate_to_date = execution_rate(to_date, initial) if to_date is not None and initial is not None else None
    forecast_rate = execution_rate(forecast, initial) if forecast is not None and initial is not None else None
    if forecast_rate is not None and forecast_rate < rules.execution_floor and not reason:
        findings.append(Finding(("forecast",), f"预计全年执行率 {forecast_rate}%（全年预计执行数 ÷ 年初预算数）低于 "
                                               f"{amount_text(rules.execution_floor)}%：请在 execution_reason 写明原因和纠偏措施"))
    if forecast is not None and to_date is not None and forecast < to_date:
        findings.append(Finding(("forecast",), f"全年预计执行数 {amount_text(forecast)} 小于{period}执行数 {amount_text(to_date)}"))
    if initial is not None and initial != project.budget:
        hints.append(Finding(("initial_budget",), f"年初预算数 {amount_text(initial)} 与绩效目标表的预算数 "
                                                  f"{project.budget_text} 不同"))
    unfilled = [i.key for i in indicators if (not i.expected or not i.likelihood) and i.key in join.entries]
    todo = _todo("monitoring", data, ("executed_to_date", "forecast", "progress"), unfilled,
                 f"{MONITORING_INDICATOR_FIELDS['expected'].label}或{MONITORING_INDICATOR_FIELDS['likelihood'].label}",
                 len(indicators), MONITORING_FIELDS, period)
    findings += [todo] if todo else []
    monitoring = Monitoring(project, source_file, period, initial, to_date, rate_to_date, forecast, forecast_rate, reason,
                            _text(data.get("progress")), tuple(indicators))
    prefix = _stage_prefix("monitoring", project)
    return monitoring, ([replace(f, message=prefix + f.message) for f in findings]
                   + [replace(f, message=prefix + f.message, severity=HINT) for f in hints])


BUILDERS = {"evaluation": build_evaluation, "monitoring": build_monitoring}
