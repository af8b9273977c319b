"""Scoring rules as data: `<data>/scoring/<名称>.yaml`, named by a profile's `scoring: <名称>`.

The rules (perfdoc.data.scoring.ScoringRules) say how a self-evaluation is scored and what the
monitoring covers: 预算执行率's points, each 一级's points, the qualitative bands, the rounding, the
execution rate below which a reason is required, the monitoring period. The national defaults
(财预〔2020〕10号, 财预〔2019〕136号) are built in as `national`; a province that scores differently
writes a file with only the keys that differ, and its profile names it.

Why a file of its own and not a section of the table format: the rules belong to a province's
finance department, not to one table. The same rules score the data whatever table prints it (the
targets' profile today, the 自评表 and 监控表 layouts as well), so they are written once and every
profile that uses them names them, and a department can change its rules without touching a layout.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from perfdoc.data.loader import load_yaml_file
from perfdoc.data.profile import PROFILE_NAME
from perfdoc.data.schema_check import validate_against_schema
from perfdoc.data.scoring import NATIONAL, ROUNDINGS, ScoringRules
from perfdoc.data.text import amount_text
from perfdoc.data.yaml_text import text_scalar
from perfdoc.diagnostics import UserError, in_file

NATIONAL_NAME = "national"
RULES_DIR = "scoring"  # inside the data folder, beside profiles/

_TEXT = {"type": "string", "minLength": 1}
_POINTS = {"type": "number", "minimum": 0, "maximum": 100}
RULES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "评分规则（scoring）",
    "additionalProperties": False,
    "properties": {
        "name": {**_TEXT, "title": "规则名称"},
        "description": {**_TEXT, "title": "说明（依据的文件）"},
        "execution_weight": {**_POINTS, "title": "预算执行率的分值"},
        "execution_floor": {**_POINTS, "title": "执行率低于多少（%）要写原因"},
        "level_weights": {"type": "object", "minProperties": 1, "title": "一级指标 → 分值（平均分给其下的三级指标）",
                          "additionalProperties": {**_POINTS, "title": "分值"}},
        "bands": {"type": "array", "minItems": 1, "title": "定性指标的分档（先列出的先匹配）", "items": {
            "type": "object", "additionalProperties": False, "required": ["word", "share"], "title": "一档",
            "properties": {"word": {**_TEXT, "title": "实际完成值里的词"},
                           "share": {"type": "number", "minimum": 0, "maximum": 1, "title": "得分占分值的比例（0–1）"}}}},
        "decimals": {"type": "integer", "minimum": 0, "maximum": 4, "title": "得分保留几位小数"},
        "rounding": {"enum": list(ROUNDINGS), "title": "取舍：half_up 四舍五入、half_even 银行家舍入、down 截去"},
        "monitoring_period": {**_TEXT, "title": "监控期（如 1—7月）"},
    },
}


def rules_from_data(data: dict[str, Any]) -> ScoringRules:
    """A rules file's values over the national defaults (a key left out keeps its default)."""
    defaults = NATIONAL
    return ScoringRules(
        execution_weight=Decimal(data.get("execution_weight", defaults.execution_weight)),
        level_weights={k: Decimal(v) for k, v in data["level_weights"].items()} if "level_weights" in data
        else defaults.level_weights,
        bands=tuple((band["word"], Decimal(band["share"])) for band in data["bands"]) if "bands" in data
        else defaults.bands,
        decimals=data.get("decimals", defaults.decimals),
        rounding=data.get("rounding", defaults.rounding),
        execution_floor=Decimal(data.get("execution_floor", defaults.execution_floor)),
        monitoring_period=data.get("monitoring_period", defaults.monitoring_period),
    )


def rules_path(name: str, data_dir: Path) -> Path:
    """`<data>/scoring/<名称>.yaml`; a name is never a path (ValueError)."""
    if not PROFILE_NAME.fullmatch(name):
        raise ValueError(name)
    return data_dir / RULES_DIR / f"{name}.yaml"


def load_rules(name: str, data_dir: Path, named_in: Path | None = None) -> ScoringRules:
    """The rules called `name`: the data folder's own file, else the built-in national ones.

    A bad file stops with file:line messages (the data folder's symlink rule holds, as for every
    data file); a name with neither a file nor a built-in is reported at `named_in` (the profile)."""
    try:
        path = rules_path(name, data_dir)
    except ValueError:
        raise UserError(in_file(named_in or data_dir, f"评分规则名“{name}”无效：只能是字母、数字、汉字、- 和 _，不能是路径")) from None
    if not path.exists() and not path.is_symlink():
        if name == NATIONAL_NAME:
            return NATIONAL
        raise UserError(in_file(named_in or data_dir, f"找不到评分规则“{name}”（scoring）：应为 {path}；"
                                                      f"不写 scoring 时用全国默认规则（{NATIONAL_NAME}）"))
    loaded = load_yaml_file(path, root=data_dir)
    if not loaded.ok:
        raise UserError(loaded.diagnostics)
    problems = validate_against_schema(loaded, {"$defs": {"rules": RULES_SCHEMA}}, "rules")
    if problems:
        raise UserError(problems)
    return rules_from_data(loaded.data)


def rules_text(rules: ScoringRules, name: str, description: str) -> str:
    """A rules file that reads back as `rules` (the docs show the national rules this way)."""
    lines = [f"name: {text_scalar(name)}", f"description: {text_scalar(description)}",
             f"execution_weight: {amount_text(rules.execution_weight)}",
             f"execution_floor: {amount_text(rules.execution_floor)}", "level_weights:"]
    lines += [f"  {text_scalar(level)}: {amount_text(points)}" for level, points in rules.level_weights.items()]
    lines.append("bands:")
    lines += [f"  - {{word: {text_scalar(word)}, share: {amount_text(share)}}}" for word, share in rules.bands]
    lines += [f"decimals: {rules.decimals}", f"rounding: {rules.rounding}",
              f"monitoring_period: {text_scalar(rules.monitoring_period)}"]
    return "\n".join(lines) + "\n"
