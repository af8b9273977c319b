"""Review: `diff` through the model in a real git repository, `new`, and the documented glue."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from perfdoc.pipeline import load_document

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=GIT_ENV).stdout


def perfdoc(repo: Path, *args: str):
    """`python3 build.py …` run inside the repository copy, as a user would."""
    return subprocess.run([sys.executable, "build.py", *args], cwd=repo, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of this project (code, templates, shipped data), on `main`."""
    target = tmp_path / "repo"
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard"], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    for name in files:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True, env=GIT_ENV)
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "seed")
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def fill_new_project(path: Path, budget: str) -> None:
    text = path.read_text(encoding="utf-8")
    text = text.replace("budget:   ", f"budget: {budget}", 1).replace("fiscal_funds:   ", f"fiscal_funds: {budget}", 1)
    text = re.sub(r'^(\s*(?:use|goal|description|basis)): ""', r"\1: 已填写", text, flags=re.M)
    text = re.sub(r'^(\s*- name): ""', r"\1: 某指标", text, flags=re.M)
    text = re.sub(r'^(\s*value): ""', r"\1: 100%", text, flags=re.M)
    text = re.sub(r"^(\s*\d+月底):$", r"\1: 50", text, flags=re.M)
    path.write_text(text, encoding="utf-8")


def make_review_changes(repo: Path) -> None:
    """One amount, one indicator value, a project added, one removed."""
    projects = repo / "data" / "projects"
    edit(projects / "142001014.yaml", "budget: 61.53", "budget: 70.00")
    edit(projects / "142001001.yaml", "value: 显著提升", "value: 明显提升")
    result = perfdoc(repo, "new", "142001020", "--name", "某某系统运维费")
    assert result.returncode == 0, result.stderr
    fill_new_project(projects / "142001020.yaml", "12")
    (projects / "142001018.yaml").unlink()


def test_diff_reports_exactly_the_changes_in_text_and_markdown(repo):
    before, _ = load_document(repo / "data")
    make_review_changes(repo)
    after, checked = load_document(repo / "data")
    assert after is not None, [d.format() for d in checked.errors]

    text = perfdoc(repo, "diff")
    assert text.returncode == 0, text.stderr
    out = text.stdout
    project_lines = [l for l in out.splitlines() if re.match(r"^[+\-~] \d{9} ", l)]
    assert project_lines == [
        "~ 142001001 劳务派遣工资（修改）",
        "~ 142001014 智慧平安社区运维费（修改）",
        "- 142001018 可视化监督管理系统运维费（删除，预算数 5.63 万元）",
        "+ 142001020 某某系统运维费（新增，预算数 12 万元）",
    ]
    assert "    预算数: 61.53 → 70.00 万元（+8.47）" in out
    assert "    ~ 三级指标 效果指标/社会效益指标/依法履职尽责: 指标值: 显著提升 → 明显提升" in out
    assert out.count("三级指标") == 1  # no other row reported
    assert "部门文字" not in out
    expected_total = before.total_budget + Decimal("8.47") + 12 - Decimal("5.63")
    assert after.total_budget == expected_total
    assert f"预算数合计: 1987.80 → {expected_total} 万元（+{expected_total - before.total_budget}）" in out
    assert "项目数: 18 → 18（0）" in out

    md = perfdoc(repo, "diff", "--format", "md").stdout
    assert "- ~ `142001014` 智慧平安社区运维费（修改）" in md
    assert "  - 预算数: 61.53 → 70.00 万元（+8.47）" in md
    assert f"| 预算数合计 | 1987.80 | {expected_total} | +{expected_total - before.total_budget} |" in md
    assert "- \\+ `142001020` 某某系统运维费（新增，预算数 12 万元）" in md  # `- +` would be a nested list


def test_diff_between_revisions_exit_code_and_no_changes(repo):
    make_review_changes(repo)
    assert perfdoc(repo, "diff", "--exit-code").returncode == 1
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "changes")
    clean = perfdoc(repo, "diff", "--exit-code")
    assert clean.returncode == 0 and "没有变更" in clean.stdout
    between = perfdoc(repo, "diff", "HEAD~1", "--to", "HEAD")
    assert between.returncode == 0
    assert "+ 142001020 某某系统运维费" in between.stdout and "绩效目标数据变更：HEAD~1 → HEAD" in between.stdout


def test_renamed_project_and_department_text(repo):
    projects = repo / "data" / "projects"
    text = (projects / "142001019.yaml").read_text(encoding="utf-8").replace('"142001019"', '"142001029"')
    (projects / "142001029.yaml").write_text(text, encoding="utf-8")
    (projects / "142001019.yaml").unlink()
    edit(repo / "data" / "department.yaml", "结合本部门年度工作计划", "结合本部门2024年度工作计划")
    out = perfdoc(repo, "diff").stdout
    assert "~ 142001029 执法办案中心信息化升级改造项目（改编码，原编码 142001019）" in out
    assert "    一、总体绩效目标 第1段: …委会工作部署，结合本部门{+2024+}年度工作计划，针对主要职…" in out


def test_bad_revision_and_invalid_data_are_reported_not_crashed_on(repo):
    missing = perfdoc(repo, "diff", "no-such-branch")
    assert missing.returncode == 1 and "找不到修订“no-such-branch”" in missing.stderr
    edit(repo / "data" / "projects" / "142001001.yaml", "budget: 1174", "budget: 很多")
    git(repo, "commit", "-q", "-am", "broken")
    broken = perfdoc(repo, "diff", "HEAD~1", "--to", "HEAD")
    assert broken.returncode == 1
    assert "HEAD 的数据没有通过检查" in broken.stderr and "HEAD:data/projects/142001001.yaml:5:" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_new_project_skeleton_checks_clean_once_filled_and_round_trips_through_diff(repo):
    result = perfdoc(repo, "new", "142001020", "--name", "某某系统运维费")
    assert result.returncode == 0
    path = repo / "data" / "projects" / "142001020.yaml"
    assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=../../schema.json")
    check = perfdoc(repo, "check")
    errors = [l for l in check.stderr.splitlines() if ": 错误: " in l]
    assert check.returncode == 1 and errors
    assert all("142001020.yaml" in l and "不能为空" in l for l in errors), errors
    assert len(errors) == 2 + 2 + 9 * 4  # amounts, use and goal, four cells in each of nine rows
    again = perfdoc(repo, "new", "142001020")
    assert again.returncode == 1 and "不会覆盖" in again.stderr
    assert perfdoc(repo, "new", "../../etc/passwd").returncode == 1
    fill_new_project(path, "12")
    assert perfdoc(repo, "check").returncode == 0
    diff = perfdoc(repo, "diff").stdout
    assert "+ 142001020 某某系统运维费（新增，预算数 12 万元）" in diff


def _readme_commands(prefix: str) -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
    lines = [l.split("  #")[0].strip() for b in blocks for l in b.splitlines()]
    return [l for l in lines if l.startswith(prefix)]


def test_readme_review_commands_run_as_written(repo):
    diffs, news = _readme_commands("python3 build.py diff"), _readme_commands("python3 build.py new")
    assert len(diffs) >= 3 and len(news) >= 1
    for command in news:
        result = perfdoc(repo, *shlex.split(command)[2:])
        assert result.returncode == 0, (command, result.stderr)
        created = repo / "data" / "projects" / f"{shlex.split(command)[3]}.yaml"
        assert created.is_file()
        created.unlink()
    git(repo, "checkout", "-q", "-b", "review")
    make_review_changes(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "review changes")
    edit(repo / "data" / "projects" / "142001014.yaml", "goal: ", "goal: 另外，")  # and one not committed
    for command in diffs:
        result = perfdoc(repo, *shlex.split(command)[2:])
        assert result.returncode == 0, (command, result.stderr)
        assert "142001014" in result.stdout


def test_readme_diff_example_is_real_output(repo):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```\n(绩效目标数据变更：HEAD → 工作区\n.*?)```", readme, flags=re.S).group(1)
    edit(repo / "data" / "projects" / "142001014.yaml", "budget: 61.53", "budget: 70.00")
    edit(repo / "data" / "projects" / "142001014.yaml", "fiscal_funds: 61.53", "fiscal_funds: 70.00")
    edit(repo / "data" / "projects" / "142001014.yaml", "value: 显著提升", "value: 明显提升")
    assert perfdoc(repo, "new", "142001020", "--name", "某某系统运维费").returncode == 0
    fill_new_project(repo / "data" / "projects" / "142001020.yaml", "12")
    assert perfdoc(repo, "diff").stdout == example


def test_pre_commit_hooks_and_example_ci_are_well_formed():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"perfdoc-check", "perfdoc-check-strict"}
    for hook in hooks:
        assert hook["language"] == "python" and hook["entry"].startswith("perfdoc check")
        assert re.match(hook["files"], "data/projects/142001001.yaml")
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
    runs = [step["run"] for step in workflow["jobs"]["document"]["steps"] if "run" in step]
    assert "bash setup.sh" in runs
    commands = [r for r in runs if r.startswith("python3 build.py")]
    assert [c.split()[2] for c in commands] == ["check", "--out", "diff"]


@pytest.mark.skipif(not shutil.which("perfdoc"), reason="perfdoc console script not installed (pip install -e .)")
def test_pre_commit_entry_runs_as_the_hook_would(repo):
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    entry = next(h["entry"] for h in hooks if h["id"] == "perfdoc-check")
    ok = subprocess.run(shlex.split(entry), cwd=repo, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    edit(repo / "data" / "projects" / "142001001.yaml", "budget: 1174", "budget: 很多")
    bad = subprocess.run(shlex.split(entry), cwd=repo, capture_output=True, text=True)
    assert bad.returncode == 1 and "142001001.yaml:5:" in bad.stderr
