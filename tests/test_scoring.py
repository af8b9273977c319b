"""Self-evaluation scoring (perfdoc.data.scoring): each rule on a tiny input, with the result
computed by hand in the comment beside it."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perfdoc.data.scoring import (
    NATIONAL,
    Quantity,
    ScoringError,
    ScoringRules,
    UnitMismatch,
    band_score,
    default_weights,
    direction_of,
    execution_rate,
    execution_score,
    indicator_score,
    meets_target,
    override_score,
    parse_quantity,
    round_points,
    total_score,
)


@pytest.mark.parametrize(("text", "unit", "expected"), [
    ("≥95%", "", Quantity(D(95), "%", "≥")),
    ("95%以上", "", Quantity(D(95), "%", "≥")),
    ("不低于90％", "", Quantity(D(90), "%", "≥")),
    ("≤3天", "", Quantity(D(3), "天", "≤")),
    ("183", "人", Quantity(D(183), "人", "")),
    ("37.24", "万元", Quantity(D("37.24"), "万元", "")),
    ("1,174", "", Quantity(D(1174), "", "")),
    ("100百分比", "", Quantity(D(100), "%", "")),
    ("离线时间不超过 24小时", "", Quantity(D(24), "小时", "≤")),  # a label before the words is dropped
    ("满意度不低于90%", "", Quantity(D(90), "%", "≥")),
    ("＞90%", "", Quantity(D(90), "%", ">")),  # full-width signs, as typed in Word
])
def test_quantities_as_tables_write_them(text, unit, expected):
    assert parse_quantity(text, unit) == expected


@pytest.mark.parametrize("text", ["明显提升", "每月底", "2023年12月前", "达成预期指标", "", "2023年不超过 5次"])
def test_text_is_not_a_quantity(text):
    assert parse_quantity(text) is None


def test_a_unit_written_twice_must_agree():
    with pytest.raises(UnitMismatch, match="万元"):
        parse_quantity("37.24元", "万元")


def test_direction_comes_from_the_nature_or_the_operator():
    assert direction_of("≤", None) == "less"
    assert direction_of("", Quantity(D(95), "%", "≥")) == "more"
    assert direction_of("", Quantity(D(183), "人")) == "equal"
    assert direction_of("定性", None) == direction_of("", None) == "qualitative"


def test_a_direction_column_decides_only_where_nothing_else_does():
    assert direction_of("", Quantity(D(3), "天"), "反向") == "less"  # 指标方向 反向, no operator
    assert direction_of("", Quantity(D(90), "%"), "正向") == "more"
    assert direction_of("", Quantity(D(3), "天", "≥"), "反向") == "more"  # the operator written wins
    assert direction_of("", None, "反向") == "qualitative"  # not a number: qualitative whatever else


def test_meeting_a_target_follows_its_operator():
    assert meets_target(parse_quantity("≥95%"), parse_quantity("95%"), "more")
    assert not meets_target(parse_quantity("≥95%"), parse_quantity("93%"), "more")
    assert not meets_target(parse_quantity(">95%"), parse_quantity("95%"), "more")  # strictly more
    assert meets_target(parse_quantity("≤3天"), parse_quantity("3天"), "less")
    assert not meets_target(parse_quantity("<3天"), parse_quantity("3天"), "less")
    assert not meets_target(parse_quantity("183", "人"), parse_quantity("180", "人"), "equal")
    assert meets_target("明显提升", "达成预期", "qualitative")
    assert not meets_target("明显提升", "基本达成", "qualitative")  # a band worth 80 % falls short
    with pytest.raises(UnitMismatch):
        meets_target(parse_quantity("≥95%"), parse_quantity("95", "人"), "more")


def test_budget_execution_rate_and_score():
    assert execution_rate(D("89.974"), D(90)) == D("99.97")  # 89.974 / 90 = 99.971 %
    assert execution_score(D("99.97")).points == D("10.00")  # 99.97 % × 10 = 9.997 → 10.00 (two decimals, half up)
    assert execution_score(D("85.5")).points == D("8.55")  # 85.5 % × 10
    assert execution_score(D("120")).points == D("10.00")  # capped at the weight
    assert execution_rate(D(5), D(0)) == 0


def test_more_is_better_scores_in_proportion_and_is_capped():
    target = parse_quantity("≥95%")
    assert indicator_score(target, parse_quantity("93%"), D(20), "more").points == D("19.58")  # 20 × 93/95 = 19.578…
    assert indicator_score(target, parse_quantity("98%"), D(20), "more").points == D("20.00")  # capped


def test_a_reverse_indicator_scores_target_over_actual():
    target = parse_quantity("≤3天")
    assert indicator_score(target, parse_quantity("2天"), D(10), "less").points == D("10.00")  # within target
    assert indicator_score(target, parse_quantity("4天"), D(10), "less").points == D("7.50")  # 10 × 3/4


def test_cost_in_wan_yuan_against_its_target():
    target, actual = parse_quantity("43.2", "万元"), parse_quantity("37.24", "万元")
    assert indicator_score(target, actual, D(8), "less").points == D("8.00")  # spent less than planned: full marks


def test_equal_scores_the_smaller_ratio():
    target = parse_quantity("183", "人")
    assert indicator_score(target, parse_quantity("183", "人"), D(5), "equal").points == D("5.00")
    assert indicator_score(target, parse_quantity("180", "人"), D(5), "equal").points == D("4.92")  # 5 × 180/183 = 4.918…
    assert indicator_score(target, parse_quantity("190", "人"), D(5), "equal").points == D("4.82")  # 5 × 183/190 = 4.815…


def test_a_unit_mismatch_is_an_error_not_a_score():
    with pytest.raises(UnitMismatch):
        indicator_score(parse_quantity("≥95%"), parse_quantity("93", "人"), D(10), "more")


def test_text_against_a_number_cannot_be_scored_by_formula():
    with pytest.raises(ScoringError, match="给出得分"):
        indicator_score(parse_quantity("≥95%"), "基本完成", D(10), "more")


def test_qualitative_bands():
    assert band_score("达成预期指标", D(10)).points == D("10.00")  # 达成: 100 %
    assert band_score("部分达成，效果一般", D(10)).points == D("8.00")  # 部分达成: 80 %
    assert band_score("未达成", D(10)).points == D("0.00")  # 未达成 is matched before 达成
    assert indicator_score("明显提升", "达成预期指标", D(10), "qualitative").points == D("10.00")
    with pytest.raises(ScoringError, match="不属于任何一档"):
        band_score("还行", D(10))


def test_bands_and_rounding_come_from_the_rules():
    province = ScoringRules(bands=(("好", D("0.9")),), decimals=1, rounding="down")
    assert band_score("很好", D(7), province).points == D("6.3")  # 7 × 0.9
    assert indicator_score(parse_quantity("≥95%"), parse_quantity("93%"), D(20), "more", province).points == D("19.5")
    assert round_points(D("2.345"), NATIONAL) == D("2.35")  # half up
    assert round_points(D("2.345"), ScoringRules(rounding="half_even")) == D("2.34")


def test_default_weights_spread_each_level_and_add_up_exactly():
    paths = [("产出指标", "数量指标", "a"), ("产出指标", "质量指标", "b"), ("产出指标", "时效指标", "c"),
             ("效益指标", "社会效益指标", "d"), ("满意度指标", "服务对象满意度指标", "e"), ("成本指标", "经济成本指标", "f")]
    weights = default_weights(paths)
    assert [weights[p] for p in paths] == [D("16.67"), D("16.67"), D("16.66"), D(30), D(10), D(0)]  # 50 / 3
    assert sum(weights.values()) == D(90)


def test_given_weights_are_kept_and_the_rest_of_their_level_is_spread():
    paths = [("产出指标", "数量指标", "a"), ("产出指标", "质量指标", "b"), ("产出指标", "时效指标", "c"),
             ("满意度指标", "服务对象满意度指标", "d")]
    weights = default_weights(paths, given={paths[0]: D(20), paths[3]: D(10)})
    assert [weights[p] for p in paths] == [D(20), D(15), D(15), D(10)]  # (50 − 20) / 2
    taken = default_weights(paths, given={paths[0]: D(60)})
    assert [taken[p] for p in paths[:3]] == [D(60), D(0), D(0)]  # nothing left to spread (the check says 100 is exceeded)


def test_hebeis_effect_level_gets_the_benefit_levels_points():
    paths = [("产出指标", "数量指标", "a"), ("效果指标", "社会效益指标", "b"), ("效果指标", "可持续性影响", "c"),
             ("满意度指标", "服务对象满意度指标", "d")]
    weights = default_weights(paths)
    assert [weights[p] for p in paths] == [D(50), D(15), D(15), D(10)]  # 效果指标 30 / 2
    assert NATIONAL.execution_weight + sum(weights.values()) == 100


def test_an_override_needs_a_reason_and_stays_within_the_weight():
    score = override_score(D(6), "台账不全，酌情扣 4 分", D(10))
    assert score.points == D("6.00") and "台账不全" in score.rule
    with pytest.raises(ScoringError, match="理由"):
        override_score(D(6), " ", D(10))
    with pytest.raises(ScoringError, match="0 到分值 10"):
        override_score(D(11), "加分", D(10))


def test_the_total_is_the_sum_of_the_printed_scores():
    scores = [execution_score(D("99.97")).points, D("19.58"), D("7.50"), D("8.00")]
    assert total_score(scores) == D("45.08")  # 10.00 + 19.58 + 7.50 + 8.00
