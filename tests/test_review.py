"""Review: `diff` through the model in a real git repository, `new`, and the documented glue."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import REPO, edit_file, run_cli_in_process
from hypothesis import given, settings
from hypothesis import strategies as st

from perfdoc.build.pipeline import load_document
from perfdoc.cli import main as cli_main
from perfdoc.data.loader import LoadedFile, load_yaml_text
from perfdoc.data.profile import DEFAULT_PROFILE, load_profile, profile_path
from perfdoc.diagnostics import UserError
from perfdoc.review.diff import compare, diff_revisions
from perfdoc.review.report import format_diff
from perfdoc.review.scaffold import create_project, project_skeleton

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=GIT_ENV).stdout


def perfdoc(repo: Path, *args: str):
    """`perfdoc …` run inside the repository, as a user would (in this process: same messages, exit status)."""
    return run_cli_in_process(*args, cwd=repo)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository on `main` holding a copy of the shipped data and its schema, as a department's would."""
    target = tmp_path / "repo"
    shutil.copytree(REPO / "data", target / "data", ignore=shutil.ignore_patterns(".perfdoc-cache"))
    shutil.copy2(REPO / "schema.json", target / "schema.json")
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True, env=GIT_ENV)
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "seed")
    return target


def fill_new_project(path: Path, budget: str) -> None:
    text = path.read_text(encoding="utf-8")
    text = text.replace("budget:   ", f"budget: {budget}", 1).replace("fiscal_funds:   ", f"fiscal_funds: {budget}", 1)
    text = re.sub(r'^(\s*(?:use|goal|description|basis)): ""', r"\1: 已填写", text, flags=re.MULTILINE)
    text = re.sub(r'^(\s*- name): ""', r"\1: 某指标", text, flags=re.MULTILINE)
    text = re.sub(r'^(\s*value): ""', r"\1: 100%", text, flags=re.MULTILINE)
    text = re.sub(r"^(\s*\d+月底):$", r"\1: 50", text, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")


def make_review_changes(repo: Path) -> None:
    """One amount, one indicator value, a project added, one removed."""
    projects = repo / "data" / "projects"
    edit_file(projects / "142001014.yaml", "budget: 61.53", "budget: 70.00")
    edit_file(projects / "142001001.yaml", "value: 显著提升", "value: 明显提升")
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
    project_lines = [msg for msg in out.splitlines() if re.match(r"^[+\-~] \d{9} ", msg)]
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
    edit_file(repo / "data" / "department.yaml", "结合本部门年度工作计划", "结合本部门2024年度工作计划")
    out = perfdoc(repo, "diff").stdout
    assert "~ 142001029 执法办案中心信息化升级改造项目（改编码，原编码 142001019）" in out
    assert "    总体绩效目标 第1段: …委会工作部署，结合本部门{+2024+}年度工作计划，针对主要职…" in out


def test_bad_revision_and_invalid_data_are_reported_not_crashed_on(repo):
    missing = perfdoc(repo, "diff", "no-such-branch")
    assert missing.returncode == 1 and "找不到修订“no-such-branch”" in missing.stderr
    edit_file(repo / "data" / "projects" / "142001001.yaml", "budget: 1174", "budget: 很多")
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
    errors = [msg for msg in check.stderr.splitlines() if ": 错误: " in msg]
    assert check.returncode == 1 and errors
    assert all("142001020.yaml" in msg and "不能为空" in msg for msg in errors), errors
    assert len(errors) == 2 + 2 + 9 * 4  # amounts, use and goal, four cells in each of nine rows
    again = perfdoc(repo, "new", "142001020")
    assert again.returncode == 1 and "不会覆盖" in again.stderr
    assert perfdoc(repo, "new", "../../etc/passwd").returncode == 1
    fill_new_project(path, "12")
    assert perfdoc(repo, "check").returncode == 0
    diff = perfdoc(repo, "diff").stdout
    assert "+ 142001020 某某系统运维费（新增，预算数 12 万元）" in diff


def _documented_commands(prefix: str) -> list[str]:
    """Command lines of the ```sh blocks in README.md and docs/*.md that start with `prefix`."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    lines = [msg.split("  #")[0].strip() for b in blocks for msg in b.splitlines()]
    return [msg for msg in lines if msg.startswith(prefix)]


def test_documented_review_commands_run_as_written(repo):
    diffs, news = _documented_commands("python3 build.py diff"), _documented_commands("python3 build.py new ")  # not new-year
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
    edit_file(repo / "data" / "projects" / "142001014.yaml", "goal: ", "goal: 另外，")  # and one not committed
    for command in diffs:
        result = perfdoc(repo, *shlex.split(command)[2:])
        assert result.returncode == 0, (command, result.stderr)
        assert "142001014" in result.stdout


def test_documented_diff_example_is_real_output(repo):
    page = (REPO / "docs" / "review-and-ci.md").read_text(encoding="utf-8")
    example = re.search(r"```\n(绩效目标数据变更：HEAD → 工作区\n.*?)```", page, flags=re.DOTALL).group(1)
    edit_file(repo / "data" / "projects" / "142001014.yaml", "budget: 61.53", "budget: 70.00")
    edit_file(repo / "data" / "projects" / "142001014.yaml", "fiscal_funds: 61.53", "fiscal_funds: 70.00")
    edit_file(repo / "data" / "projects" / "142001014.yaml", "value: 显著提升", "value: 明显提升")
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


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("perfdoc"), reason="perfdoc console script not installed (pip install -e .)")
def test_pre_commit_entry_runs_as_the_hook_would(repo):
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    entry = next(h["entry"] for h in hooks if h["id"] == "perfdoc-check")
    ok = subprocess.run(shlex.split(entry), check=False, cwd=repo, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    edit_file(repo / "data" / "projects" / "142001001.yaml", "budget: 1174", "budget: 很多")
    bad = subprocess.run(shlex.split(entry), check=False, cwd=repo, capture_output=True, text=True)
    assert bad.returncode == 1 and "142001001.yaml:5:" in bad.stderr


# ------------------------------------------------------------------------------------------
# Hostile-testing findings of issue 10 (#14–#17): called directly, on small temporary git repositories.

PROFILE = load_profile(profile_path(DEFAULT_PROFILE))
SKELETON_KEYS = {"code", "name", "budget", "fiscal_funds", "use", "spending_plan", "goal", "indicators"}


def data_repo(tmp_path: Path, folder: str = "data") -> Path:
    """A git repository holding only a copy of the shipped data (in `folder`), committed; returns the data dir."""
    data = tmp_path / "repo" / folder
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns(".perfdoc-cache"))
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    commit(data, "seed")
    return data


def commit(data: Path, message: str) -> None:
    subprocess.run(["git", "-C", str(data), "add", "-A", "."], check=True)
    subprocess.run(["git", "-C", str(data), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message],
                   check=True)


def copy_project(projects: Path, source: str, target: str, *, code: str, name: str, budget: str) -> None:
    """docs/data-format.md 新增一个项目 step 1–2: copy a similar file, then change code, name and the amounts."""
    text = (projects / f"{source}.yaml").read_text(encoding="utf-8")
    text = text.replace(f'code: "{source}"', f'code: "{code}"').replace("name: 反诈中心运维费", f"name: {name}")
    text = re.sub(r"^(budget|fiscal_funds): 20\.1", rf"\1: {budget}", text, flags=re.MULTILINE)
    (projects / f"{target}.yaml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("name", ["名称\n", "x\nbudget: 5", "a\rb", "制表\t符", "a\u2028b", "x\x85", "铃\x07", "x\ufffe", "\ufeff字节序"])
def test_new_refuses_names_with_line_breaks_or_control_characters(tmp_path, capsys, name):
    (tmp_path / "projects").mkdir()
    shutil.copy(REPO / "data" / "department.yaml", tmp_path)
    with pytest.raises(UserError) as refused:
        create_project(tmp_path, "142001020", name, PROFILE)
    assert refused.value.text.startswith("错误: 项目名称（--name）“") and "\n" not in refused.value.text
    assert "名称应为一行文字" in refused.value.text
    assert not (tmp_path / "projects" / "142001020.yaml").exists()
    # Through the CLI: the same one line and exit status 1, as for a bad code.
    assert cli_main(["new", "142001020", "--data", str(tmp_path), "--name", name]) == 1
    assert cli_main(["new", "14200102x", "--data", str(tmp_path), "--name", "某某"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0] == refused.value.text and err[1].startswith("错误: 项目编码“14200102x”无效")
    assert "Traceback" not in "".join(err)


def assert_name_round_trips(name: str) -> None:
    loaded = load_yaml_text(project_skeleton("142001020", name, PROFILE), LoadedFile(Path("142001020.yaml")))
    assert loaded.ok, [d.format() for d in loaded.diagnostics]
    assert set(loaded.data) == SKELETON_KEYS  # nothing injected, nothing lost
    assert loaded.data["name"] == name and loaded.data["code"] == "142001020"


YAML_SPECIAL_NAMES = [
    "a: b", "x # y", "x #", "结尾:", "&锚", "*别名", "!标签", "|", ">", "%", "@", "`", "'单引号", '"双引号"',
    "[列表]", "{映射}", "123", "1.5e3", "null", "~", "true", " 前空格", "后空格 ", "- 横线", "? 问号",
    "\\反斜杠\\n", "#", "---", "...", "名称\u3000", "",
]


@pytest.mark.parametrize("name", YAML_SPECIAL_NAMES)
def test_new_yaml_special_names_round_trip(name):
    assert_name_round_trips(name)


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters="\ufffe\uffff"),
               max_size=30))
def test_new_any_one_line_name_round_trips_through_the_loader(name):
    assert_name_round_trips(name)


def test_new_name_is_plain_when_plain_is_unambiguous(tmp_path):
    (tmp_path / "projects").mkdir()
    plain = create_project(tmp_path, "142001020", "某某系统运维费", PROFILE).read_text(encoding="utf-8")
    assert "\nname: 某某系统运维费\n" in plain  # as the shipped files write it
    quoted = create_project(tmp_path, "142001021", 'x: "y" # z', PROFILE).read_text(encoding="utf-8")
    assert '\nname: "x: \\"y\\" # z"\n' in quoted


def test_diff_reads_non_ascii_and_quoted_file_names(tmp_path):
    data = data_repo(tmp_path, folder='数据 "甲"')
    projects = data / "projects"
    odd = '反诈 "中心"（运维）.yaml'
    (projects / "142001007.yaml").rename(projects / odd)
    (data / '说明 "草稿".txt').write_text("不是数据文件", encoding="utf-8")
    shutil.copy(projects / "142001008.yaml", projects / "副本.yaml")  # the same content: one blob, two files
    commit(data, "odd names")
    edit_file(projects / odd, "budget: 20.1", "budget: 20.5")
    diff = diff_revisions(data, "HEAD", None)
    assert [(c.kind, c.code) for c in diff.projects] == [("changed", "142001007")]
    assert "预算数: 20.1 → 20.5 万元（+0.4）" in format_diff(diff)
    assert "项目数: 19 → 19（0）" in format_diff(diff)  # the copy was read from HEAD too


def test_diff_copied_project_with_its_new_code_is_one_added_project(tmp_path):
    """docs/data-format.md 新增一个项目, exactly: copy 142001007.yaml, change code, name and budget."""
    data = data_repo(tmp_path)
    copy_project(data / "projects", "142001007", "142001020", code="142001020", name="某某系统运维费", budget="12")
    diff = diff_revisions(data, "HEAD", None)
    assert [(c.kind, c.code, c.name, c.budget) for c in diff.projects] == [
        ("added", "142001020", "某某系统运维费", Decimal(12))]
    text = format_diff(diff)
    assert "+ 142001020 某某系统运维费（新增，预算数 12 万元）" in text
    assert "142001007" not in text and "注意" not in text
    assert "项目数: 18 → 19（+1）" in text and "预算数合计: 1987.80 → 1999.80 万元（+12.00）" in text


def test_diff_copy_with_unchanged_code_is_reported_not_paired_wrongly(tmp_path):
    data = data_repo(tmp_path)
    projects = data / "projects"
    copy_project(projects, "142001007", "142001020", code="142001007", name="某某系统运维费", budget="12")
    diff = diff_revisions(data, "HEAD", None)
    # 142001007.yaml is unchanged; the copy is one added project, and the report says why its code is odd.
    assert [(c.kind, c.code, c.name, c.budget) for c in diff.projects] == [
        ("added", "142001007", "某某系统运维费", Decimal(12))]
    assert diff.projects[0].note == "文件 142001020.yaml，编码与 142001007.yaml 重复"
    assert len(diff.warnings) == 1
    assert "工作区：项目编码 142001007 出现在 2 个文件中（142001007.yaml、142001020.yaml）" in diff.warnings[0]
    text = format_diff(diff)
    assert "预算数 20.1" not in text and "修改" not in text
    assert "+ 142001007 某某系统运维费（新增，预算数 12 万元，文件 142001020.yaml，编码与 142001007.yaml 重复）" in text
    assert "项目数: 18 → 19（+1）" in text
    # Committed by mistake, then fixed: the same file with its code corrected is a changed code.
    commit(data, "copy, code not changed")
    edit_file(projects / "142001020.yaml", 'code: "142001007"', 'code: "142001020"')
    fixed = diff_revisions(data, "HEAD", None)
    assert [(c.kind, c.code, c.old_code) for c in fixed.projects] == [("renamed", "142001020", "142001007")]
    assert "HEAD：项目编码 142001007 出现在 2 个文件中" in fixed.warnings[0] and len(fixed.warnings) == 1


def test_markdown_diff_shows_user_text_literally(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns(".perfdoc-cache"))
    before, _ = load_document(data)
    hostile = "2~3次、4~6次 *星* _下_ |竖| <b>粗</b> [链](x)"  # short: shown whole, old → new
    edit_file(data / "projects" / "142001001.yaml", 'value: "183"', f'value: "{hostile}"')
    edit_file(data / "projects" / "142001001.yaml", "value: 无误", "value: 无误 `码` &amp; $x$")
    edit_file(data / "projects" / "142001014.yaml", "name: 智慧平安社区运维费", "name: 智慧*平安*社区_运维_费")
    edit_file(data / "department.yaml", "结合本部门年度工作计划", "结合本部门（每年2~3次）年度工作计划")
    (data / "projects" / "142001018.yaml").unlink()
    after, checked = load_document(data)
    assert after is not None, [d.format() for d in checked.errors]
    md = format_diff(compare(before, after, "main~1", "HEAD"), "md")
    assert r"指标值: 183 → 2\~3次、4\~6次 \*星\* \_下\_ \|竖\| \<b\>粗\</b\> \[链\](x)" in md
    assert r"指标值: 无误 → 无误 \`码\` \&amp; \$x\$" in md
    assert r"- ~ `142001014` 智慧\*平安\*社区\_运维\_费（修改）" in md
    assert r"<ins>（每年2\~3次）</ins>" in md and r"### 绩效目标数据变更：main\~1 → HEAD" in md
    assert r"- \- `142001018` 可视化监督管理系统运维费（删除" in md

    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable(["strikethrough", "table"]).render(md)
    assert "<s>" not in html and "<em>" not in html and "<b>" not in html and "<a " not in html
    assert re.findall(r"<strong>(.*?)</strong>", html) == ["项目", "部门文字"]  # perfdoc's own headings only
    assert "<ins>（每年2~3次）</ins>" in html
    assert "183 → 2~3次、4~6次 *星* _下_ |竖| &lt;b&gt;粗&lt;/b&gt; [链](x)" in html
    assert "无误 → 无误 `码` &amp;amp; $x$" in html
    assert "<li>- <code>142001018</code>" in html  # the sign is text, not a nested list
