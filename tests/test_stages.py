"""The year's later stages as data (perfdoc.data.stages): a self-evaluation and a monitoring joined
to their project in memory, every score hand-computed in the comment beside it, every finding
checked for its field path and severity."""

from __future__ import annotations

from decimal import Decimal as D

from builders import make_evaluation, make_monitoring, make_project, stage_project

from perfdoc.data.scoring import ScoringRules
from perfdoc.data.stages import annual_rows, target_of
from perfdoc.diagnostics import Severity

FILLED = {
    "initial_budget": D(10), "annual_budget": D(10), "executed": D("8.5"), "execution_reason": "尾款次年支付",
    "goal_achieved": "基本完成年度目标",
    "indicators": {
        "产出指标": {"数量指标": {"辅警人数": {"actual": "180人", "deviation": "两人离职，已补招"}},
                 "质量指标": {"验收合格率": {"actual": "98%"}},
                 "时效指标": {"响应时间": {"actual": "4天", "deviation": "系统升级期间人工受理"}},
                 "成本指标": {"运行成本": {"actual": "37.24"}}},
        "效果指标": {"社会效益指标": {"治安环境": {"actual": "部分达成：案件数下降不明显", "deviation": "加强巡逻"}}},
        "满意度指标": {"服务对象满意度指标": {"满意度": {"actual": "92%", "score": D(8),
                                                "score_reason": "问卷样本不足，酌情扣 2 分"}}},
    },
}


def _with(indicator: tuple[str, str, str], **fields) -> dict:
    """FILLED with one indicator's fields changed (None removes a field)."""
    data = {**FILLED, "indicators": {l1: {l2: {n: dict(e) for n, e in names.items()} for l2, names in l2s.items()}
                                     for l1, l2s in FILLED["indicators"].items()}}
    entry = data["indicators"][indicator[0]][indicator[1]][indicator[2]]
    for key, value in fields.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return data


def _messages(findings, severity=None) -> list[tuple[tuple, str]]:
    return [(f.path, f.message) for f in findings if severity is None or f.severity is severity]


def test_targets_are_read_with_their_direction():
    rows = annual_rows(stage_project())
    directions = {key[2]: target_of(row.indicator).direction for key, row in rows.items()}
    assert directions == {"辅警人数": "equal", "验收合格率": "more", "响应时间": "less", "运行成本": "less",
                          "治安环境": "qualitative", "满意度": "more"}
    assert target_of(rows[("产出指标", "成本指标", "运行成本")].indicator).quantity.unit == "万元"


def test_a_filled_evaluation_is_scored_and_its_total_is_the_sum_of_the_printed_scores():
    evaluation, findings = make_evaluation(FILLED)
    assert not _messages(findings, Severity.ERROR) and not _messages(findings, Severity.WARNING)
    points = {i.key[2]: i.points for i in evaluation.indicators}
    assert points == {
        "辅警人数": D("12.30"),  # = 183 人: 12.5 × 180/183 = 12.295… → 12.30
        "验收合格率": D("12.50"),  # ≥95 %: 98 % is capped at the weight
        "响应时间": D("9.38"),  # ≤3 天, reverse: 12.5 × 3/4 = 9.375 → 9.38 (half up)
        "运行成本": D("12.50"),  # ≤43.2 万元: 37.24 (the target's unit) spends less, full marks
        "治安环境": D("24.00"),  # qualitative: 部分达成 is 80 % of 30
        "满意度": D("8.00"),  # set by hand with its reason (the formula gives 10)
    }
    assert [i.weight for i in evaluation.indicators] == [D("12.50")] * 4 + [D(30), D(10)]
    assert evaluation.execution_rate == D("85.00") and evaluation.execution_score.points == D("8.50")  # 8.5 / 10
    assert evaluation.total == D("87.18")  # 8.50 + 12.30 + 12.50 + 9.38 + 12.50 + 24.00 + 8.00
    satisfied = evaluation.indicators[-1]
    assert satisfied.formula.points == D("10.00") and satisfied.override.points == D("8.00")
    assert "问卷样本不足" in satisfied.score.rule
    assert evaluation.goal == stage_project().goal and evaluation.weight_total == 100


def test_rules_from_elsewhere_change_weights_bands_and_rounding():
    province = ScoringRules(execution_weight=D(20), level_weights={"产出指标": D(40), "效果指标": D(30), "满意度指标": D(10)},
                            bands=(("部分达成", D("0.5")), ("达成", D(1))), decimals=1, rounding="down")
    evaluation, findings = make_evaluation(FILLED, rules=province)
    assert not _messages(findings, Severity.ERROR)
    assert evaluation.indicators[0].weight == D(10)  # 40 / 4
    assert evaluation.indicators[2].points == D("7.5")  # 10 × 3/4
    assert evaluation.indicators[4].points == D("15.0")  # 部分达成 is 50 % here
    assert evaluation.execution_score.points == D("17.0")  # 85 % of 20


def test_a_unit_mismatch_is_an_error_at_the_actual():
    _, findings = make_evaluation(_with(("产出指标", "成本指标", "运行成本"), actual="372400元"))
    errors = _messages(findings, Severity.ERROR)
    assert len(errors) == 1
    path, message = errors[0]
    assert path == ("indicators", "产出指标", "成本指标", "运行成本", "actual")
    assert "“372400元”的单位是“元”" in message and "“万元”" in message and "unit mismatch" in message


def test_an_actual_below_target_needs_a_deviation_reason():
    _, findings = make_evaluation(_with(("产出指标", "数量指标", "辅警人数"), deviation=None))
    assert _messages(findings, Severity.WARNING) == [
        (("indicators", "产出指标", "数量指标", "辅警人数", "actual"),
         "绩效自评 142001001 测试项目：实际完成值“180人”未达到指标值“183人”：请写明偏差原因分析及改进措施（deviation）")]
    _, findings = make_evaluation(_with(("产出指标", "质量指标", "验收合格率"), actual="93%"))
    assert [path[-2] for path, _ in _messages(findings, Severity.WARNING)] == ["验收合格率"]


def test_an_override_needs_its_reason_and_stays_within_the_weight():
    _, findings = make_evaluation(_with(("满意度指标", "服务对象满意度指标", "满意度"), score_reason=None))
    assert [(path[-1], "理由" in message) for path, message in _messages(findings, Severity.ERROR)] == [("score", True)]
    _, findings = make_evaluation(_with(("满意度指标", "服务对象满意度指标", "满意度"), score=D(12)))
    assert any("0 到分值 10" in message for _, message in _messages(findings, Severity.ERROR))


def test_text_against_a_number_is_an_error_unless_scored_by_hand():
    indicator = ("产出指标", "质量指标", "验收合格率")
    _, findings = make_evaluation(_with(indicator, actual="基本完成"))
    assert [path[-1] for path, _ in _messages(findings, Severity.ERROR)] == ["actual"]
    evaluation, findings = make_evaluation(_with(indicator, actual="基本完成", score=D(10), score_reason="按验收报告"))
    assert not _messages(findings, Severity.ERROR) and evaluation.indicators[1].points == D("10.00")


def test_weights_must_add_up_to_100_with_the_execution_weight():
    data = _with(("产出指标", "数量指标", "辅警人数"), weight=D(20))  # the other three of 产出 share 30: still 100
    evaluation, findings = make_evaluation(data)
    assert [i.weight for i in evaluation.indicators[:4]] == [D(20), D(10), D(10), D(10)]
    assert not _messages(findings, Severity.ERROR)
    data = _with(("满意度指标", "服务对象满意度指标", "满意度"), weight=D(15), score=None, score_reason=None)
    _, findings = make_evaluation(data)
    assert _messages(findings, Severity.ERROR) == [
        (("indicators",), "绩效自评 142001001 测试项目：分值合计应为 100，实际为 105.00（预算执行率 10 + 各指标 95.00）"
                          "（weights）：请调整各指标的 weight")]


def test_execution_under_90_percent_needs_a_reason():
    _, findings = make_evaluation({**FILLED, "execution_reason": None})
    assert _messages(findings, Severity.WARNING) == [
        (("executed",), "绩效自评 142001001 测试项目：执行率 85.00%（全年执行数 8.5 ÷ 全年预算数 10）低于 90%："
                        "请在 execution_reason 写明原因")]
    _, findings = make_evaluation({**FILLED, "executed": D("9.5"), "execution_reason": None})  # 95 %
    assert not _messages(findings, Severity.WARNING)


def test_indicators_are_joined_by_path_not_position():
    data = _with(("产出指标", "数量指标", "辅警人数"))
    data["indicators"]["产出指标"]["数量指标"] = {"辅警人员数": {"actual": "183人"}}
    _, findings = make_evaluation(data)
    assert _messages(findings, Severity.ERROR)[0][0] == ("indicators", "产出指标", "数量指标", "辅警人员数")
    assert "没有指标“产出指标/数量指标/辅警人员数”" in _messages(findings, Severity.ERROR)[0][1]
    assert "是不是“辅警人数”？" in _messages(findings, Severity.ERROR)[0][1]
    missing = [(path, message) for path, message in _messages(findings, Severity.WARNING) if "缺少指标" in message]
    assert [path for path, _ in missing] == [("indicators", "产出指标", "数量指标", "辅警人数")]


def test_a_repeated_name_under_one_level2_is_numbered():
    twice = {"产出指标": {"数量指标": [{"name": "巡逻", "description": "白天", "value": "≥10次", "basis": "计划"},
                                   {"name": "巡逻", "description": "夜间", "value": "≥5次", "basis": "计划"}]},
             "效果指标": {"社会效益指标": [{"name": "治安", "description": "d", "value": "改善", "basis": "b"}]},
             "满意度指标": {"服务对象满意度指标": [{"name": "满意度", "description": "d", "value": "≥90%", "basis": "b"}]}}
    project = make_project(indicators=twice)
    assert [key[2] for key in annual_rows(project)] == ["巡逻", "巡逻（第2个）", "治安", "满意度"]
    data = {"annual_budget": D(10), "executed": D(10), "goal_achieved": "完成", "indicators": {
        "产出指标": {"数量指标": {"巡逻": {"actual": "12次"}, "巡逻（第2个）": {"actual": "4次", "deviation": "雨季"}}},
        "效果指标": {"社会效益指标": {"治安": {"actual": "达成"}}},
        "满意度指标": {"服务对象满意度指标": {"满意度": {"actual": "95%"}}}}}
    evaluation, findings = make_evaluation(data, project)
    assert not _messages(findings, Severity.ERROR) and not _messages(findings, Severity.WARNING)
    assert [i.points for i in evaluation.indicators] == [D(25), D(20), D(30), D(10)]  # 25 × 4/5 = 20
    assert evaluation.total == D(95)  # 10 + 25 + 20 + 30 + 10


def test_an_empty_evaluation_is_one_to_do_warning_and_has_no_total():
    skeleton = {"initial_budget": D(10), "indicators": {l1: {l2: dict.fromkeys(names) for l2, names in l2s.items()}
                                                        for l1, l2s in FILLED["indicators"].items()}}
    evaluation, findings = make_evaluation(skeleton)
    assert _messages(findings) == [(("annual_budget",), "绩效自评 142001001 测试项目：还没有填完（to do）：全年预算数、"
                                                        "全年执行数、实际完成情况、全部 6 个指标的实际完成值")]
    assert evaluation.total is None and evaluation.execution_score is None
    assert all(i.points is None for i in evaluation.indicators)


def test_hints_for_lint_a_bare_number_and_an_override_equal_to_the_formula():
    data = _with(("满意度指标", "服务对象满意度指标", "满意度"), score=D(10))
    _, findings = make_evaluation(data)
    hints = _messages(findings, Severity.HINT)
    assert [path[-1] for path, _ in hints] == ["actual", "score"]
    assert "按指标值“≤43.2万元”的单位“万元”计" in hints[0][1] and "与公式算出的相同" in hints[1][1]


# ---------------------------------------------------------------------------------------------
# Monitoring

ON_TRACK = {
    "initial_budget": D(10), "executed_to_date": D(6), "forecast": D(10), "progress": "按计划推进",
    "indicators": {
        "产出指标": {"数量指标": {"辅警人数": {"done": "183人", "expected": "183人", "likelihood": "确定能"}},
                 "质量指标": {"验收合格率": {"done": "96%", "expected": "≥95%", "likelihood": "确定能"}},
                 "时效指标": {"响应时间": {"done": "2天", "expected": "3天", "likelihood": "确定能"}},
                 "成本指标": {"运行成本": {"done": "20", "expected": "43.2", "likelihood": "确定能"}}},
        "效果指标": {"社会效益指标": {"治安环境": {"done": "初见成效", "expected": "达成", "likelihood": "有可能"}}},
        "满意度指标": {"服务对象满意度指标": {"满意度": {"expected": "90%", "likelihood": "确定能"}}},
    },
}


def _monitoring_with(indicator: tuple[str, str, str], **fields) -> dict:
    data = {**ON_TRACK, "indicators": {l1: {l2: {n: dict(e) for n, e in names.items()} for l2, names in l2s.items()}
                                       for l1, l2s in ON_TRACK["indicators"].items()}}
    data["indicators"][indicator[0]][indicator[1]][indicator[2]].update(fields)
    return data


def test_a_monitoring_on_track_has_nothing_to_say_and_its_rates():
    monitoring, findings = make_monitoring(ON_TRACK)
    assert not _messages(findings, Severity.ERROR) and not _messages(findings, Severity.WARNING)
    assert monitoring.rate_to_date == D("60.00") and monitoring.forecast_rate == D("100.00")
    assert monitoring.period == "1—7月"
    assert [i.on_track for i in monitoring.indicators] == [True] * 5 + [True]


def test_a_forecast_that_contradicts_its_likelihood():
    quality = ("产出指标", "质量指标", "验收合格率")
    _, findings = make_monitoring(_monitoring_with(quality, expected="90%", causes=["人员保障"], deviation="缺检测人员"))
    assert _messages(findings, Severity.WARNING) == [
        (("indicators", *quality, "likelihood"), "绩效运行监控 142001001 测试项目：完成目标可能性是“确定能”，但全年预计完成值"
                                                 "“90%”达不到指标值“≥95%”（contradiction）：请改正其中一个")]
    _, findings = make_monitoring(_monitoring_with(quality, likelihood="完全不可能"))
    assert [path[-1] for path, _ in _messages(findings, Severity.WARNING)] == ["likelihood"]


def test_a_forecast_below_target_needs_causes_and_an_explanation():
    time = ("产出指标", "时效指标", "响应时间")
    _, findings = make_monitoring(_monitoring_with(time, expected="5天", likelihood="有可能"))
    assert [(path[-1], "偏差原因" in message) for path, message in _messages(findings, Severity.WARNING)] == [
        ("expected", True)]  # ≤3 天: 5 天 falls short (a reverse indicator)
    _, findings = make_monitoring(_monitoring_with(time, expected="5天", likelihood="有可能", causes=["其他"]))
    assert sorted(path[-1] for path, _ in _messages(findings, Severity.WARNING)) == ["causes", "expected"]


def test_monitoring_units_and_the_funds_forecast():
    _, findings = make_monitoring(_monitoring_with(("产出指标", "成本指标", "运行成本"), done="200000元"))
    assert [path[-1] for path, _ in _messages(findings, Severity.ERROR)] == ["done"]
    _, findings = make_monitoring({**ON_TRACK, "forecast": D("8.5")})
    assert [(path, "85.00%" in message) for path, message in _messages(findings, Severity.WARNING)] == [
        (("forecast",), True)]
    _, findings = make_monitoring({**ON_TRACK, "forecast": D(5)})
    assert any("小于1—7月执行数 6" in message for _, message in _messages(findings, Severity.WARNING))
