"""Scoring a year-end self-evaluation (绩效自评), as pure functions of the data and the rules.

The rules are data (`ScoringRules`), so a province that scores differently writes a profile, not
code; `NATIONAL` holds the defaults of 财预〔2020〕10号 (项目支出绩效自评表):

- 预算执行率 is worth 10 points: executed / budget, scored in proportion and capped at the weight;
- the indicators share the other 90: 产出 50, 效益 30 (效果 30 where the table calls its 一级 so, as
  Hebei's does), 满意度 10, each spread evenly over the 三级 indicators under it unless the data
  gives weights;
- a quantitative indicator scores weight × actual / target when more is better (≥, >), weight ×
  target / actual when less is better (≤, <), both capped at the weight, and weight × the smaller
  of the two ratios for `=`;
- a qualitative one scores a share of its weight by band (达成 100 %, 部分达成 80 %, 未达成 0 % …);
- graders may set a score by hand, with a reason (an override);
- scores are rounded as the rules say (two decimals, half up), each before the total is summed,
  so the printed scores add up to the printed total.

Quantities are compared only in the same unit: `93%` against `≥95%` is fine, `37.24元` against
`43.2万元` is a `UnitMismatch` (an error for the user to fix), never a silent conversion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

Direction = str  # "more" (≥ >), "less" (≤ <), "equal" (=), "qualitative" (定性)

DIRECTIONS = {"≥": "more", ">": "more", "≤": "less", "<": "less", "=": "equal", "定性": "qualitative"}
ROUNDINGS = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


class ScoringError(ValueError):
    """Why an indicator cannot be scored by formula (the message is the user's, in Chinese)."""


class UnitMismatch(ScoringError):
    pass


@dataclass(frozen=True)
class ScoringRules:
    """How a self-evaluation is scored; a profile's `scoring:` section, national defaults otherwise."""

    execution_weight: Decimal = Decimal(10)  # 预算执行率's points
    # 一级 → its points. 效果指标 is the name some tables (hebei-2023) give 效益指标; a table has one
    # of the two, so listing both never counts 30 twice.
    level_weights: Mapping[str, Decimal] = field(default_factory=lambda: {
        "产出指标": Decimal(50), "效益指标": Decimal(30), "效果指标": Decimal(30), "满意度指标": Decimal(10)})
    # A qualitative actual → the share of the weight it earns (first matching band wins).
    bands: tuple[tuple[str, Decimal], ...] = (
        ("未达成", Decimal(0)), ("部分达成", Decimal("0.8")), ("基本达成", Decimal("0.8")), ("达成", Decimal(1)))
    decimals: int = 2
    rounding: str = "half_up"
    execution_floor: Decimal = Decimal(90)  # below this rate (%), a reason is required
    monitoring_period: str = "1—7月"  # what the mid-year monitoring covers (财预〔2019〕136号: January to July)


NATIONAL = ScoringRules()


@dataclass(frozen=True)
class Quantity:
    """A value as written in a table: `≥95%` → operator ≥, number 95, unit %."""

    number: Decimal
    unit: str = ""
    operator: str = ""


@dataclass(frozen=True)
class Score:
    points: Decimal
    rule: str  # how it was reached, in words (shown in reviews and the docs' worked example)


_SYMBOLS = ((">=", "≥"), ("<=", "≤"), ("≧", "≥"), ("≦", "≤"), ("＞", ">"), ("＜", "<"), ("＝", "="), ("％", "%"),
            ("，", ""), (",", ""))
# Words before the number may follow a label (`离线时间不超过 24小时`): the label is dropped. Words
# after it (`95%以上`) end the value.
_WORDS_BEFORE = (("大于等于", "≥"), ("小于等于", "≤"), ("不低于", "≥"), ("不少于", "≥"), ("不高于", "≤"), ("不超过", "≤"))
_WORDS_AFTER = (("以上", "≥"), ("以下", "≤"))
_WORDS = _WORDS_BEFORE + _WORDS_AFTER
_NUMBER = re.compile(r"(?P<op>[≥≤=><])?\s*(?P<number>[-+]?\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s]*)$")


def parse_quantity(text: str, unit: str = "", operator: str = "") -> Quantity | None:
    """`≥95%`, `95%以上`, `不低于90%`, `离线时间不超过 24小时`, `＞90%`, `183人`, `37.24` (with `unit` given
    apart) → a Quantity;
    None for text that is not one number with a unit (`明显提升`, `每月底`, `2023年12月前`).

    Raises UnitMismatch when the text carries a unit other than the `unit` written apart."""
    shown = text.strip()
    for written, symbol in _SYMBOLS:
        shown = shown.replace(written, symbol)
    for words, symbol in _WORDS:
        if words in shown:
            before, _, after = shown.partition(words)
            if (words, symbol) in _WORDS_BEFORE and not re.search(r"[\d≥≤=><]", before):
                before = ""  # a label: 离线时间不超过 24小时 → 24小时
            shown = before + after
            operator = operator or symbol
    match = _NUMBER.match(shown.strip())
    if match is None:
        return None
    written_unit = _unit(match["unit"])
    if written_unit and unit and written_unit != _unit(unit):
        raise UnitMismatch(f"“{text}”的单位是“{written_unit}”，而度量单位写的是“{unit}”")
    return Quantity(Decimal(match["number"]), written_unit or _unit(unit), match["op"] or operator)


def _unit(unit: str) -> str:
    return unit.strip().replace("％", "%").replace("百分比", "%")


SENSES = {"正向": "more", "反向": "less"}  # 指标方向, where a table has that column


def direction_of(nature: str, target: Quantity | None, sense: str = "") -> Direction:
    """The target's direction: its 指标性质 when given, else the operator written in the value, else
    its 指标方向 (正向 more is better, 反向 less is better), else `=`. A target that is not a number
    is qualitative whatever else is written."""
    if nature:
        return DIRECTIONS[nature]
    if target is None:
        return "qualitative"
    return DIRECTIONS.get(target.operator) or SENSES.get(sense, "equal")


def round_points(points: Decimal, rules: ScoringRules = NATIONAL) -> Decimal:
    return points.quantize(Decimal(1).scaleb(-rules.decimals), rounding=ROUNDINGS[rules.rounding])


def execution_rate(executed: Decimal, budget: Decimal) -> Decimal:
    """执行率 in percent (two decimals, half up), as the 自评表 prints it; 0 for a zero budget."""
    if budget <= 0:
        return Decimal(0)
    return (executed / budget * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def execution_score(rate: Decimal, rules: ScoringRules = NATIONAL) -> Score:
    """预算执行率's points: the rate × its weight, capped at the weight."""
    share = min(rate / 100, Decimal(1))
    return Score(round_points(rules.execution_weight * share, rules),
                 f"执行率 {rate}% × {rules.execution_weight} 分" + ("（封顶）" if rate > 100 else ""))


def _as_text(actual: Quantity | str) -> str:
    """A qualitative actual as words (a number written there is read as its text)."""
    return actual if isinstance(actual, str) else f"{actual.number}{actual.unit}"


def _comparable(target: Quantity | str, actual: Quantity | str, otherwise: str) -> tuple[Quantity, Quantity]:
    """(actual, target) as quantities in one unit, or why they cannot be compared (`otherwise`:
    what the user can do instead, said after the reason)."""
    if not isinstance(target, Quantity) or not isinstance(actual, Quantity):
        raise ScoringError(f"指标值与实际完成值不都是数值，{otherwise}")
    if target.unit != actual.unit:
        raise UnitMismatch(f"实际完成值的单位“{actual.unit or '无'}”与指标值的单位“{target.unit or '无'}”不同")
    return actual, target


def indicator_score(target: Quantity | str, actual: Quantity | str, weight: Decimal, direction: Direction,
                    rules: ScoringRules = NATIONAL) -> Score:
    """One indicator's points from its target, its actual value and its weight.

    Raises UnitMismatch when both are quantities in different units, and ScoringError when a
    quantitative target meets a text actual (or the reverse): such a score is set by hand.
    """
    if direction == "qualitative":
        return band_score(_as_text(actual), weight, rules)
    measured, aimed = _comparable(target, actual, "无法按公式计分：请写数值，或给出得分（score）和理由")
    a, t = measured.number, aimed.number
    if direction == "more":
        if t == 0:
            share, rule = Decimal(1), "目标为 0，完成即满分"
        else:
            share, rule = min(a / t, Decimal(1)), f"{a}/{t} × {weight}"
    elif direction == "less":
        if a <= t:
            share, rule = Decimal(1), f"{a} ≤ {t}，满分"
        else:
            share, rule = (t / a if a else Decimal(0)), f"{t}/{a} × {weight}"
    else:
        if a == t:
            share, rule = Decimal(1), f"{a} = {t}，满分"
        elif a <= 0 or t <= 0:
            share, rule = Decimal(0), f"{a} ≠ {t}"
        else:
            share, rule = min(a / t, t / a), f"min({a}/{t}, {t}/{a}) × {weight}"
    capped = " （封顶）" if direction == "more" and t and a > t else ""
    return Score(round_points(weight * share, rules), rule + capped)


def band_of(actual: str, rules: ScoringRules = NATIONAL) -> tuple[str, Decimal]:
    """The first band whose word the actual contains, and its share of the weight."""
    for word, share in rules.bands:
        if word in actual:
            return word, share
    words = "、".join(word for word, _ in rules.bands)
    raise ScoringError(f"定性指标的完成情况“{actual}”不属于任何一档（{words}）：请改用其中的说法，或给出得分（score）和理由")


def band_score(actual: str, weight: Decimal, rules: ScoringRules = NATIONAL) -> Score:
    """A qualitative indicator: the first band whose word the actual contains."""
    word, share = band_of(actual, rules)
    return Score(round_points(weight * share, rules), f"“{word}”档 {share * 100:.0f}% × {weight}")


def meets_target(target: Quantity | str, actual: Quantity | str, direction: Direction,
                 rules: ScoringRules = NATIONAL) -> bool:
    """Whether the actual (or a forecast) reaches the target: ≥ / > / ≤ / < / = as written, and for a
    qualitative indicator, a band worth the whole weight. Raises as indicator_score does."""
    if direction == "qualitative":
        return band_of(_as_text(actual), rules)[1] >= 1
    measured, aimed = _comparable(target, actual, "无法比较")
    a, t = measured.number, aimed.number
    if direction == "more":
        return a > t if aimed.operator == ">" else a >= t
    if direction == "less":
        return a < t if aimed.operator == "<" else a <= t
    return a == t


def default_weights(paths: Sequence[tuple[str, str, str]], rules: ScoringRules = NATIONAL,
                    given: Mapping[tuple[str, str, str], Decimal] | None = None) -> dict[tuple[str, str, str], Decimal]:
    """Each 一级's points (rules.level_weights) spread evenly over its 三级 indicators, rounded to
    the rules' decimals so that they add up exactly (the remainder goes to the first ones).

    Weights `given` in the data are kept, and only what is left of their 一级's points is spread over
    the others (nothing when they take it all). An 一级 the rules give no points to (成本指标
    nationally) gets 0 for each of its indicators.
    """
    given = given or {}
    unit = Decimal(1).scaleb(-rules.decimals)
    by_level: dict[str, list[tuple[str, str, str]]] = {}
    for path in paths:
        by_level.setdefault(path[0], []).append(path)
    weights: dict[tuple[str, str, str], Decimal] = {}
    for level1, members in by_level.items():
        weights.update({path: given[path] for path in members if path in given})
        spread = [path for path in members if path not in given]
        if not spread:
            continue
        left = Decimal(rules.level_weights.get(level1, 0)) - sum((given[p] for p in members if p in given), Decimal(0))
        total = max(left, Decimal(0))
        each = (total / len(spread)).quantize(unit, rounding=ROUND_DOWN)
        remainder = int((total - each * len(spread)) / unit)
        for i, path in enumerate(spread):
            weights[path] = each + (unit if i < remainder else 0)
    return weights


def override_score(points: Decimal, reason: str, weight: Decimal, rules: ScoringRules = NATIONAL) -> Score:
    """A score the grader set by hand: it needs a reason, and stays between 0 and the weight."""
    if not reason.strip():
        raise ScoringError("手工给出的得分（score）要写明理由（score_reason）")
    if not 0 <= points <= weight:
        raise ScoringError(f"得分 {points} 应在 0 到分值 {weight} 之间")
    return Score(round_points(points, rules), f"人工评分：{reason.strip()}")


def total_score(points: Sequence[Decimal]) -> Decimal:
    """The 总分: the sum of the printed (already rounded) scores, so the table adds up."""
    return sum(points, Decimal(0))
