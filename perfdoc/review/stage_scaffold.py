"""`new-stage`: a skeleton for every project's mid-year monitoring or year-end self-evaluation.

Each file names every indicator of the project's annual block by its 一级 → 二级 → 三级 path (the
key `diff` pairs rows by), shows the target beside it as a comment (the targets stay the one
source: a copy would drift), fills in what the targets already say (年初预算数) and the weights the
scoring rules spread, and leaves every actual empty: `check` lists those as the stage's to-do. Every
name and value is written by perfdoc.data.yaml_text, as `new`, `import` and `new-year` write them.
An existing file is never replaced without --force; the files appear all together or not at all.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from perfdoc.build.output import write_all_or_nothing
from perfdoc.data.fields import (
    EVALUATION_FIELDS,
    EVALUATION_INDICATOR_FIELDS,
    MONITORING_FIELDS,
    MONITORING_INDICATOR_FIELDS,
    STAGES,
    Field,
    stage_text,
)
from perfdoc.data.model import Project, build_project
from perfdoc.data.rules import NATIONAL_NAME, load_rules
from perfdoc.data.scoring import ScoringRules, default_weights
from perfdoc.data.stages import FUND_KEYS, annual_rows, target_of
from perfdoc.data.validate import check_data
from perfdoc.data.yaml_text import comment_text, text_scalar, yaml_scalar
from perfdoc.diagnostics import UserError, display_path, unlocated

COMMENT_COLUMN = 32


def _width(text: str) -> int:
    """Columns an editor gives `text`: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _line(indent: str, key: str, value: str, comment: str) -> str:
    """`key: value   # comment`, comments lined up where the line leaves room."""
    text = f"{indent}{key}:" + (f" {value}" if value else "")
    return f"{text}{' ' * max(1, COMMENT_COLUMN - _width(text))}# {comment_text(comment)}" if comment else text


def _label(field: Field, period: str) -> str:
    return stage_text(field.label, period)


def _evaluation_lines(project: Project, rules: ScoringRules) -> list[str]:
    period, fields = rules.monitoring_period, EVALUATION_FIELDS
    floor = yaml_scalar(rules.execution_floor)
    lines = [
        _line("", "initial_budget", yaml_scalar(project.budget), f"{_label(fields['initial_budget'], period)}（万元），按绩效目标表的预算数填好"),
        _line("", "annual_budget", "", f"{_label(fields['annual_budget'], period)}（万元）：年中调整后的数"),
        _line("", "executed", "", f"{_label(fields['executed'], period)}（万元）"),
        _line("", "execution_reason", "", f"{_label(fields['execution_reason'], period)}：执行率低于 {floor}% 时必填"),
        "# " + comment_text(f"预期目标（绩效目标表）：{project.goal}"),
        _line("", "goal_achieved", "", _label(fields["goal_achieved"], period)),
    ]
    # 其中：当年财政拨款 / 上年结转资金 / 其他资金 (optional rows of the 自评表's 项目资金): the targets'
    # fiscal and other funds as the year began, the rest empty.
    started = {"fiscal_initial_budget": project.fiscal_funds if project.fact("fiscal_funds") is not None else None,
               "other_initial_budget": project.fact("other_funds")}
    for key in FUND_KEYS:
        value = started.get(key)
        lines.append(_line("", key, "" if value is None else yaml_scalar(value), f"{_label(fields[key], period)}（万元，可以不写）"))
    rows = annual_rows(project)
    weights = default_weights(list(rows), rules)
    lines.append(_line("", "indicators", "", "一级 → 二级 → 三级指标 → 各项；分值按评分规则预填，可以改（合计连同预算执行率应为 100）"))
    labels = {key: _label(f, period) for key, f in EVALUATION_INDICATOR_FIELDS.items()}
    bands = " / ".join(word for word, _ in rules.bands)
    hints = {"actual": labels["actual"] + f"（与指标值同一单位；定性指标写明档次：{bands}）",
             "weight": labels["weight"], "score": labels["score"] + "：一般不写（按公式计算）；评审另行给分时写，并写 score_reason",
             "score_reason": labels["score_reason"], "deviation": labels["deviation"] + "：未达到指标值时必填"}
    values = {key: {"weight": yaml_scalar(weight)} for key, weight in weights.items()}
    lines += _indicator_lines(project, tuple(EVALUATION_INDICATOR_FIELDS), hints, values)
    return lines


def _monitoring_lines(project: Project, rules: ScoringRules) -> list[str]:
    period, fields = rules.monitoring_period, MONITORING_FIELDS
    floor = yaml_scalar(rules.execution_floor)
    lines = [
        _line("", "initial_budget", yaml_scalar(project.budget), f"{_label(fields['initial_budget'], period)}（万元），按绩效目标表的预算数填好"),
        _line("", "executed_to_date", "", f"{_label(fields['executed_to_date'], period)}（万元）"),
        _line("", "forecast", "", f"{_label(fields['forecast'], period)}（万元）"),
        _line("", "execution_reason", "", f"{_label(fields['execution_reason'], period)}：预计全年执行率低于 {floor}% 时必填"),
        "# " + comment_text(f"年度目标（绩效目标表）：{project.goal}"),
        _line("", "progress", "", _label(fields["progress"], period)),
        _line("", "indicators", "", "一级 → 二级 → 三级指标 → 各项"),
    ]
    labels = {key: _label(f, period) for key, f in MONITORING_INDICATOR_FIELDS.items()}
    causes = MONITORING_INDICATOR_FIELDS["causes"].choices
    hints = {"done": labels["done"], "expected": labels["expected"] + "（与指标值同一单位）",
             "causes": f"{labels['causes']}（达不到指标值时，可多选）：[{', '.join(causes)}]",
             "deviation": labels["deviation"],
             "likelihood": f"{labels['likelihood']}：{' / '.join(MONITORING_INDICATOR_FIELDS['likelihood'].choices)}",
             "remark": labels["remark"]}
    lines += _indicator_lines(project, tuple(MONITORING_INDICATOR_FIELDS), hints, {})
    return lines


def _indicator_lines(project: Project, keys: tuple[str, ...], hints: dict[str, str],
                     values: dict[tuple[str, str, str], dict[str, str]]) -> list[str]:
    lines: list[str] = []
    opened: tuple[str, ...] = ()
    for key, row in annual_rows(project).items():
        level1, level2, name = key
        if opened[:1] != (level1,):
            lines.append(f"  {text_scalar(level1)}:")
        if opened[:2] != (level1, level2):
            lines.append(f"    {text_scalar(level2)}:")
        opened = key
        lines.append(_line("      ", text_scalar(name), "", f"指标值：{target_of(row.indicator).text or '（空）'}"))
        for field_key in keys:
            lines.append(_line("        ", field_key, values.get(key, {}).get(field_key, ""), hints[field_key]))
    return lines


def stage_skeleton(project: Project, stage: str, rules: ScoringRules, rules_name: str = NATIONAL_NAME) -> str:
    """The skeleton of `project`'s file for `stage` (evaluation or monitoring)."""
    name = STAGES[stage][0]
    lines = [
        "# yaml-language-server: $schema=../../schema.json",
        "# " + comment_text(f"{name}：{project.title}（由 perfdoc new-stage {stage} 生成，评分规则：{rules_name}）"),
        "# 请填写空着的值，然后运行 python3 build.py check：还没填的会列成待办（to do）。",
        f"code: {text_scalar(project.code)}",
    ]
    lines += _evaluation_lines(project, rules) if stage == "evaluation" else _monitoring_lines(project, rules)
    return "\n".join(lines) + "\n"


@dataclass
class StageSkeletons:
    """What new-stage did: files written (new), replaced (--force), and left alone (they exist)."""

    folder: Path
    written: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def write_stage_skeletons(data_dir: Path, stage: str, *, force: bool = False) -> StageSkeletons:
    """A skeleton for every project of `data_dir` without a file for `stage` (every project with
    --force). The targets must check without errors; the stage files themselves may have some."""
    checked = check_data(data_dir)
    if checked.department is None or checked.profile is None or checked.target_errors:
        raise UserError([*checked.target_errors, unlocated(
            f"{display_path(data_dir)} 里的绩效目标数据有错误，未生成{STAGES[stage][0]}文件；请先改正（python3 build.py check）")])
    profile = checked.profile
    rules = load_rules(profile.scoring or NATIONAL_NAME, data_dir, named_in=profile.source)
    folder = data_dir / stage
    if os.path.lexists(folder) and (not folder.is_dir() or
                                    not Path(os.path.realpath(folder)).is_relative_to(os.path.realpath(data_dir))):
        raise UserError(unlocated(f"{display_path(folder)} 已存在，但不是数据目录里的文件夹；未生成任何文件"))
    result = StageSkeletons(folder)
    contents: dict[Path, bytes] = {}
    done: set[str] = set()
    for loaded in checked.projects:
        project = build_project(loaded.data, profile, loaded.display)
        if project.code in done:
            continue
        done.add(project.code)
        target = folder / f"{project.code}.yaml"
        if os.path.lexists(target) and not force:
            result.kept.append(target)
            continue
        (result.replaced if os.path.lexists(target) else result.written).append(target)
        contents[target] = stage_skeleton(project, stage, rules, profile.scoring or NATIONAL_NAME).encode("utf-8")
    if contents:
        created = not folder.exists()
        try:
            folder.mkdir(exist_ok=True)
            write_all_or_nothing(contents)
        except (OSError, UserError) as exc:
            if created:
                shutil.rmtree(folder, ignore_errors=True)  # an empty folder would list every project as a to-do
            if isinstance(exc, UserError):
                raise
            raise UserError(unlocated(f"无法创建 {display_path(folder)}（{exc.strerror or exc}）；没有生成任何文件")) from exc
    return result
