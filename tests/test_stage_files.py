"""The stage files on disk: `new-stage` writes the skeletons, `check` places every finding at its
file:line, the schema picks the stage files by shape, scoring rules come from a file a profile names,
and the illustrative example checks clean."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest
from conftest import REPO, edit_file, run_cli_in_process
from jsonschema import Draft202012Validator

from perfdoc.data.loader import load_yaml_file
from perfdoc.data.model import build_project
from perfdoc.data.profile import load_profile, profile_path
from perfdoc.data.rules import NATIONAL_NAME, load_rules, rules_text
from perfdoc.data.scoring import NATIONAL
from perfdoc.data.stages import annual_rows
from perfdoc.data.validate import check_data
from perfdoc.diagnostics import UserError

EXAMPLE = REPO / "examples" / "hebei-2023-evaluation"
LOCATED = re.compile(r"^(?P<file>\S+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<sev>错误|警告|提示): (?P<rest>.*)$", re.M)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A writable copy of the example (targets, self-evaluations, monitorings)."""
    target = tmp_path / "data"
    shutil.copytree(EXAMPLE / "data", target)
    return target


def keep_only(data: Path, *codes: str) -> None:
    """Leave only these projects (and their stage files) in a copy: quicker to check again and again."""
    for path in data.glob("*/*.yaml"):
        if path.parent.name in ("projects", "evaluation", "monitoring") and path.stem not in codes:
            path.unlink()


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of `path` that contains `text`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def located(stderr: str, file: Path) -> list[re.Match]:
    return [m for m in LOCATED.finditer(stderr) if m["file"].endswith(f"{file.parent.name}/{file.name}")]


# ---------------------------------------------------------------------------------------------
# The example


def test_the_example_checks_with_only_the_targets_own_warnings():
    """The 13 warnings are the seed's spending plans, as in data/; the stage files add none."""
    result = run_cli_in_process("check", "--data", str(EXAMPLE / "data"))
    assert result.returncode == 0, result.stderr
    assert "18 个项目文件、18 个绩效自评文件、18 个绩效运行监控文件，0 个错误，13 个警告" in result.stderr
    assert all("spending_plan" in m["rest"] for m in LOCATED.finditer(result.stderr))


def test_every_example_stage_file_says_it_is_illustrative_and_its_schema_is_current(tmp_path):
    for path in sorted((EXAMPLE / "data").glob("*/*.yaml")):
        if path.parent.name in ("evaluation", "monitoring"):
            top = path.read_text(encoding="utf-8").splitlines()[:3]
            assert top[0].startswith("# yaml-language-server") and "示例（illustrative）" in top[1], path
    scratch = tmp_path / "schema.json"
    assert run_cli_in_process("schema", "--data", str(EXAMPLE / "data"), "--output", str(scratch)).returncode == 0
    assert scratch.read_text(encoding="utf-8") == (EXAMPLE / "schema.json").read_text(encoding="utf-8")


def test_the_example_exercises_each_rule():
    checked = check_data(EXAMPLE / "data")
    evaluations = {e.code: e for e in checked.stages.evaluations}
    rules = {i.score.rule for e in evaluations.values() for i in e.indicators if i.score}
    assert any("封顶" in rule for rule in rules)  # a capped score
    reverse = {i.key[2]: i for i in evaluations["142001019"].indicators}["硬件设备正常运行"]
    assert reverse.target.direction == "less" and reverse.points == D("8.33")  # 12.5 × 24/36
    band = {i.key[2]: i for i in evaluations["142001007"].indicators}["电诈发案数有效控制"]
    assert band.points == D("6.00") and "部分达成" in band.score.rule  # 80 % of 7.5
    assert sum(1 for e in evaluations.values() for i in e.indicators if i.override) == 2
    low = evaluations["142001010"]
    assert low.execution_rate == D("82.00") and low.execution_reason and low.total == D("98.20")
    for evaluation in evaluations.values():
        assert evaluation.total == evaluation.execution_score.points + sum(i.points for i in evaluation.indicators)


# ---------------------------------------------------------------------------------------------
# check: each finding at its file and line


def test_check_with_one_reason_deleted_names_that_file_and_line(example):
    evaluation = example / "evaluation" / "142001010.yaml"
    edit_file(evaluation, "execution_reason: 监控点位改造", "execution_reason:  # 监控点位改造")
    deviation = example / "evaluation" / "142001019.yaml"
    edit_file(deviation, "deviation: 6 月机房停电检修", "deviation:  # 6 月机房停电检修")
    result = run_cli_in_process("check", "--data", str(example))
    assert result.returncode == 0, result.stderr  # warnings
    [execution] = located(result.stderr, evaluation)
    assert (execution["sev"], int(execution["line"])) == ("警告", line_of(evaluation, "executed:"))
    assert "执行率 82.00%" in execution["rest"] and "execution_reason" in execution["rest"]
    [below] = located(result.stderr, deviation)
    assert (below["sev"], int(below["line"])) == ("警告", line_of(deviation, "actual: 36小时"))
    assert "实际完成值“36小时”未达到指标值“离线时间不超过 24小时”" in below["rest"]


def test_a_unit_mismatch_an_unknown_indicator_and_an_override_without_reason_are_errors(example):
    evaluation = example / "evaluation" / "142001005.yaml"
    edit_file(evaluation, "actual: 97%", "actual: 97人")
    edit_file(evaluation, "      承租面积:", "      承租总面积:")
    override = example / "evaluation" / "142001008.yaml"
    edit_file(override, "score_reason: 9 月报警", "score_reason:  # 9 月报警")
    result = run_cli_in_process("check", "--data", str(example))
    assert result.returncode == 1
    found = {(m["sev"], int(m["line"])): m["rest"] for m in located(result.stderr, evaluation)}
    assert "单位是“人”" in found[("错误", line_of(evaluation, "actual: 97人"))]
    assert "是不是“承租面积”？" in found[("错误", line_of(evaluation, "承租总面积:"))]
    assert "缺少指标“产出指标/数量指标/承租面积”" in found[("警告", line_of(evaluation, "数量指标:"))]
    [reason] = located(result.stderr, override)
    assert (reason["sev"], int(reason["line"])) == ("错误", line_of(override, "score: 10"))


def test_schema_errors_in_a_stage_file_are_in_chinese_at_their_line(example):
    keep_only(example, "142001018")
    monitoring = example / "monitoring" / "142001018.yaml"
    edit_file(monitoring, "likelihood: 确定能", "likelihood: 也许")
    edit_file(monitoring, "forecast: ", "forecast: 三十 #")
    edit_file(monitoring, "        remark:", "        remarks:")
    result = run_cli_in_process("check", "--data", str(example))
    assert result.returncode == 1
    found = {int(m["line"]): m["rest"] for m in located(result.stderr, monitoring)}
    assert "完成目标可能性应为 确定能、有可能、完全不可能 之一，实际是文字 “也许”（enum）" in found[line_of(monitoring, "likelihood: 也许")]
    assert "全年预计执行数应为数字，或留空，实际是文字 “三十”（type）" in found[line_of(monitoring, "forecast: 三十")]
    assert "未知字段“remarks”，是不是“remark”？" in found[line_of(monitoring, "remarks:")]


def test_a_file_for_no_project_and_a_project_without_a_file(example):
    stray = example / "evaluation" / "142009999.yaml"
    (example / "evaluation" / "142001002.yaml").rename(stray)
    edit_file(stray, 'code: "142001002"', 'code: "142009999"')
    result = run_cli_in_process("check", "--data", str(example))
    assert result.returncode == 1
    [unknown] = located(result.stderr, stray)
    assert unknown["sev"] == "错误" and "没有编码为 142009999 的项目" in unknown["rest"]
    [todo] = located(result.stderr, example / "projects" / "142001002.yaml")[-1:]
    assert todo["sev"] == "警告" and "还没有绩效自评文件" in todo["rest"] and "new-stage evaluation" in todo["rest"]


def test_a_monitoring_forecast_contradicting_its_likelihood(example):
    monitoring = example / "monitoring" / "142001018.yaml"
    edit_file(monitoring, "expected: 24小时", "expected: 30小时")
    result = run_cli_in_process("check", "--data", str(example))
    found = {m["rest"].split(":")[0]: (m["sev"], int(m["line"]), m["rest"]) for m in located(result.stderr, monitoring)}
    sev, line, message = found["indicators.产出指标.质量指标.硬件设备正常运行.likelihood"]
    assert (sev, line) == ("警告", line_after(monitoring, "expected: 30小时", "likelihood:"))
    assert "“确定能”" in message and "“30小时”达不到指标值“离线时间不超过 24小时”" in message and "contradiction" in message


def line_after(path: Path, anchor: str, start: str) -> int:
    """The 1-based line of the first line starting (after its indent) with `start` below `anchor`'s line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    first = line_of(path, anchor)
    return next(i for i in range(first + 1, len(lines) + 1) if lines[i - 1].strip().startswith(start))


def test_lint_hints_for_the_stage_files_do_not_change_the_exit_status():
    result = run_cli_in_process("check", "--lint", "--data", str(EXAMPLE / "data"))
    assert result.returncode == 0
    hints = [m for m in LOCATED.finditer(result.stderr) if m["sev"] == "提示" and "/monitoring/" in m["file"]]
    assert len(hints) == 1 and "“2完成”" in hints[0]["rest"]


# ---------------------------------------------------------------------------------------------
# new-stage


def test_new_stage_writes_a_skeleton_for_every_project_and_check_lists_the_to_do(data_copy):
    result = run_cli_in_process("new-stage", "evaluation", "--data", str(data_copy))
    assert result.returncode == 0, result.stderr
    assert "已生成 18 个绩效自评文件" in result.stderr
    profile = load_profile(profile_path("hebei-2023"))
    for project_file in sorted((data_copy / "projects").glob("*.yaml")):
        project = build_project(load_yaml_file(project_file).data, profile, str(project_file))
        skeleton = load_yaml_file(data_copy / "evaluation" / project_file.name)
        assert skeleton.ok and skeleton.data["code"] == project.code
        assert skeleton.data["initial_budget"] == project.budget
        entries = {(l1, l2, name): entry for l1, l2s in skeleton.data["indicators"].items()
                   for l2, names in l2s.items() for name, entry in names.items()}
        assert list(entries) == list(annual_rows(project))  # every indicator, by path, in table order
        assert sum(entry["weight"] for entry in entries.values()) + NATIONAL.execution_weight == 100
        assert all(entry["actual"] is None for entry in entries.values())
    checked = run_cli_in_process("check", "--data", str(data_copy))
    assert checked.returncode == 0
    assert "18 个项目文件、18 个绩效自评文件，0 个错误，31 个警告" in checked.stderr  # 13 + a to-do a file
    assert len(re.findall(r"还没有填完（to do）：全年预算数、全年执行数、实际完成情况、全部 \d+ 个指标的实际完成值",
                          checked.stderr)) == 18


def test_new_stage_never_overwrites_without_force(data_copy):
    assert run_cli_in_process("new-stage", "monitoring", "--data", str(data_copy)).returncode == 0
    filled = data_copy / "monitoring" / "142001014.yaml"
    edit_file(filled, "forecast:", "forecast: 61.53")
    again = run_cli_in_process("new-stage", "监控", "--data", str(data_copy))
    assert again.returncode == 0 and "已生成 0 个绩效运行监控文件" in again.stderr and "已有 18 个，保留原样" in again.stderr
    assert "forecast: 61.53" in filled.read_text(encoding="utf-8")
    (data_copy / "monitoring" / "142001001.yaml").unlink()  # a project added since: only its file is written
    added = run_cli_in_process("new-stage", "monitoring", "--data", str(data_copy))
    assert "已生成 1 个" in added.stderr and "已有 17 个" in added.stderr
    forced = run_cli_in_process("new-stage", "monitoring", "--force", "--data", str(data_copy))
    assert forced.returncode == 0 and forced.stderr.count("已替换（--force）") == 18
    assert "forecast: 61.53" not in filled.read_text(encoding="utf-8")


def test_new_stage_refuses_targets_with_errors_and_writes_nothing(data_copy):
    edit_file(data_copy / "projects" / "142001005.yaml", "budget: 345.52", "budget: 三百")
    result = run_cli_in_process("new-stage", "evaluation", "--data", str(data_copy))
    assert result.returncode == 1 and "142001005.yaml" in result.stderr and "未生成绩效自评文件" in result.stderr
    assert not (data_copy / "evaluation").exists()
    usage = run_cli_in_process("new-stage", "review", "--data", str(data_copy))
    assert usage.returncode == 2 and "evaluation（自评）或 monitoring（监控）" in usage.stderr


def test_the_skeleton_writes_awkward_names_through_the_yaml_writer(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "hebei-2023" / "data", data)
    project = data / "projects" / "131001001.yaml"
    text = project.read_text(encoding="utf-8")
    first = re.search(r"- name: (.*)", text).group(1)
    project.write_text(text.replace(f"- name: {first}", '- name: "是: 否 #1"', 1), encoding="utf-8")
    assert run_cli_in_process("new-stage", "evaluation", "--data", str(data)).returncode == 0
    skeleton = load_yaml_file(data / "evaluation" / "131001001.yaml")
    assert skeleton.ok
    assert "是: 否 #1" in [name for l2s in skeleton.data["indicators"].values() for names in l2s.values()
                          for name in names]


# ---------------------------------------------------------------------------------------------
# The schema editors use, and the scoring rules


def _chosen(root: dict, data: dict) -> str:
    """The `$defs` entry schema.json's root gives `data`, following its if/then/else by shape."""
    node = root
    while "if" in node:
        node = node["then"] if Draft202012Validator(node["if"]).is_valid(data) else node["else"]
    return node["$ref"].rsplit("/", 1)[-1]


def test_schema_json_picks_each_kind_of_file_by_its_shape():
    import json

    root = json.loads((EXAMPLE / "schema.json").read_text(encoding="utf-8"))
    expected = {"evaluation": "evaluation", "monitoring": "monitoring", "projects": "project"}
    for path in sorted((EXAMPLE / "data").rglob("*.yaml")):
        data = load_yaml_file(path).data
        assert _chosen(root, data) == expected.get(path.parent.name, "department"), path
    skeleton_only = {"code": "142001001", "initial_budget": 1, "executed": None, "indicators": {}}
    assert _chosen(root, skeleton_only) == "evaluation"


def test_national_rules_written_as_a_file_read_back_as_the_built_in_ones(tmp_path):
    (tmp_path / "scoring").mkdir()
    (tmp_path / "scoring" / "copy.yaml").write_text(rules_text(NATIONAL, "全国", "财预〔2020〕10号"), encoding="utf-8")
    assert load_rules("copy", tmp_path) == NATIONAL
    assert load_rules(NATIONAL_NAME, tmp_path) is NATIONAL


def test_a_provinces_rules_are_named_by_its_profile_and_used_everywhere(example):
    keep_only(example, "142001005", "142001010")
    (example / "profiles").mkdir()
    (example / "profiles" / "本省.yaml").write_text("name: 本省项目表\nbase: hebei-2023\nscoring: 本省\n", encoding="utf-8")
    (example / "scoring").mkdir()
    rules = example / "scoring" / "本省.yaml"
    rules.write_text("description: 本省自评办法\nexecution_weight: 20\nlevel_weights: {产出指标: 40, 效果指标: 30, 满意度指标: 10}\n"
                     "monitoring_period: 1—6月\n", encoding="utf-8")
    edit_file(example / "department.yaml", "year: 2023", "year: 2023\nprofile: 本省")
    shutil.rmtree(example / "evaluation")
    assert run_cli_in_process("new-stage", "evaluation", "--data", str(example)).returncode == 0
    skeleton = (example / "evaluation" / "142001005.yaml").read_text(encoding="utf-8")
    assert "评分规则：本省" in skeleton and "weight: 10.00" in skeleton  # 产出 40 over 4
    result = run_cli_in_process("check", "--data", str(example))
    assert "1—6月执行数" not in result.stderr  # the monitoring files are filled: nothing to list
    monitoring = check_data(example).stages.monitorings[0]
    assert monitoring.period == "1—6月"
    rules.write_text("bands:\n  - {word: 达成, share: 2}\n", encoding="utf-8")
    bad = run_cli_in_process("check", "--data", str(example))
    assert bad.returncode == 1 and re.search(r"scoring/本省\.yaml:2:\d+: 错误: bands\[0\]\.share: .*不能大于 1", bad.stderr)
    rules.unlink()
    missing = run_cli_in_process("check", "--data", str(example))
    assert missing.returncode == 1 and "找不到评分规则“本省”" in missing.stderr and "本省.yaml" in missing.stderr


def test_a_rules_name_is_never_a_path(tmp_path):
    with pytest.raises(UserError, match="评分规则名“../x”无效"):
        load_rules("../x", tmp_path)


# ---------------------------------------------------------------------------------------------
# diff


def test_diff_shows_changed_actuals_and_scores_in_both_stages(example):
    import subprocess

    keep_only(example, "142001003", "142001010", "142001019")  # enough, and quicker to load twice
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "seed"]):
        subprocess.run(["git", "-C", str(example), *args], check=True, capture_output=True, env=env)
    edit_file(example / "evaluation" / "142001010.yaml", "executed: 8.20", "executed: 9.50")
    edit_file(example / "evaluation" / "142001019.yaml", "actual: 36小时", "actual: 30小时")
    edit_file(example / "monitoring" / "142001019.yaml", "likelihood: 完全不可能", "likelihood: 有可能")
    (example / "evaluation" / "142001003.yaml").unlink()
    result = run_cli_in_process("diff", "--data", str(example), "--exit-code")  # the working tree against HEAD
    assert result.returncode == 1, result.stderr
    text = result.stdout
    evaluation = text[text.index("\n绩效自评\n"):text.index("\n绩效运行监控\n")]
    assert evaluation.splitlines()[2:] == [
        "- 142001003 特警队员伙食补助经费（删除，总分 100.00）",
        "~ 142001010 科防二期（天网）运维费（修改）",
        "    全年执行数: 8.20 → 9.50 万元（+1.30）",
        "    执行率: 82.00% → 95.00%",
        "    预算执行率得分: 8.20 → 9.50（+1.30）",
        "    总分: 98.20 → 99.50（+1.30）",
        "~ 142001019 执法办案中心信息化升级改造项目（修改）",
        "    ~ 三级指标 产出指标/质量指标/硬件设备正常运行: 实际完成值: 36小时 → 30小时；得分: 8.33 → 10.00（+1.67）",
        "    总分: 95.83 → 97.50（+1.67）",
    ]
    assert "~ 三级指标 产出指标/质量指标/硬件设备正常运行: 完成目标可能性: 完全不可能 → 有可能" in text


def test_a_stage_diff_in_markdown_and_for_a_new_indicator():
    """In memory: the targets gain an indicator and its self-evaluation entry; a score is set by hand."""
    from builders import STAGE_INDICATORS, indicator, make_document, make_evaluation, stage_project
    from test_stages import FILLED

    from perfdoc.data.stage_check import StageCheck
    from perfdoc.review.diff import compare
    from perfdoc.review.report import format_diff

    old_project = stage_project()
    grown = {**STAGE_INDICATORS, "产出指标": {**STAGE_INDICATORS["产出指标"],
                                          "质量指标": [indicator("验收合格率", value="≥95%"), indicator("返修率", value="≤2%")]}}
    new_project = stage_project(indicators=grown)
    new_data = {**FILLED, "indicators": {**FILLED["indicators"], "产出指标": {
        **FILLED["indicators"]["产出指标"], "质量指标": {"验收合格率": {"actual": "98%", "score": D(9), "score_reason": "抽检有瑕疵"},
                                                     "返修率": {"actual": "1%"}}}}}
    old, _ = make_evaluation(FILLED, old_project)
    new, _ = make_evaluation(new_data, new_project)
    diff = compare(make_document(old_project), make_document(new_project), "main", "工作区",
                   old_stages=StageCheck(evaluations=[old]), new_stages=StageCheck(evaluations=[new]))
    [change] = diff.stages
    assert change.kind == "changed"  # 产出's 50 are spread over five now: every 产出 weight changes
    assert [(row.kind, row.key[2]) for row in change.rows] == [
        ("added", "返修率"), ("changed", "辅警人数"), ("changed", "验收合格率"), ("changed", "响应时间"), ("changed", "运行成本")]
    markdown = format_diff(diff, "md")
    assert "**绩效自评**" in markdown
    assert "  - \\+ 三级指标 产出指标/质量指标/返修率" in markdown
    assert "  - ~ 三级指标 产出指标/质量指标/验收合格率: 分值: 12.50 → 10.00（-2.50）；得分: 12.50 → 9.00（-3.50）；" \
           "评分理由: 空 → 抽检有瑕疵" in markdown


# ---------------------------------------------------------------------------------------------
# docs/yearly-cycle.md

PAGE = REPO / "docs" / "yearly-cycle.md"


def _yaml_block(page: str, first_line: str) -> str:
    return next(block for block in re.findall(r"```yaml\n(.*?)```", page, re.S) if block.startswith(first_line))


def test_the_pages_worked_example_is_what_the_scoring_computes():
    from builders import make_evaluation, make_project

    from perfdoc.data.loader import LoadedFile, load_yaml_text

    page = PAGE.read_text(encoding="utf-8")
    project_yaml = _yaml_block(page, "# data/projects/150001001.yaml")
    evaluation_yaml = _yaml_block(page, "# data/evaluation/150001001.yaml")
    indicators = load_yaml_text(project_yaml, LoadedFile(Path("p.yaml"))).data["indicators"]
    data = load_yaml_text(evaluation_yaml, LoadedFile(Path("e.yaml"))).data
    project = make_project("150001001", indicators=indicators)
    evaluation, findings = make_evaluation(data, project)
    assert [f.message for f in findings if f.severity.name != "HINT"] == []
    computed = {i.key[2]: (i.weight, i.points) for i in evaluation.indicators}
    computed["预算执行率"] = (evaluation.execution_weight, evaluation.execution_score.points)
    computed["总分"] = (evaluation.weight_total, evaluation.total)
    table = page.split("<!-- worked example -->\n", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    printed = {}
    for row in table:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        printed[cells[0]] = (D(cells[3]), D(cells[5]))
    assert printed == computed


def test_the_page_documents_every_stage_field_and_the_national_rules_as_they_are():
    from perfdoc.data.fields import STAGES
    from perfdoc.data.loader import LoadedFile, load_yaml_text
    from perfdoc.data.rules import rules_from_data

    page = PAGE.read_text(encoding="utf-8")
    keys = {key for _, fields, indicator_fields in STAGES.values() for key in [*fields, *indicator_fields]}
    assert [key for key in sorted(keys) if f"`{key}`" not in page] == []
    national = load_yaml_text(_yaml_block(page, "name: 全国"), LoadedFile(Path("national.yaml"))).data
    assert rules_from_data(national) == NATIONAL
