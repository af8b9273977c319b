"""`check`: precise Chinese diagnostics with file:line, all at once, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import edit_file, run_cli_in_process

from perfdoc.build.pipeline import load_document
from perfdoc.cli import COMMANDS
from perfdoc.data.validate import check_data
from perfdoc.diagnostics import UserError
from perfdoc.render.fonts import choose_fonts

LOCATION = re.compile(r"^(?P<file>[^:\n]+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<sev>错误|警告):", re.M)
PER_PERIOD = ["142001007", "142001008", "142001009", "142001011", "142001012", "142001013",
              "142001015", "142001016", "142001017", "142001019"]
FINE_PLANS = ["142001001", "142001002", "142001003", "142001005", "142001006", "142001014"]


def _warned_codes(stderr: str) -> set[str]:
    return set(re.findall(r"警告: \S+ 项目 (\d+)", stderr))


def test_check_on_shipped_data_flags_the_bad_plans_and_nothing_else():
    result = run_cli_in_process("check")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warned = _warned_codes(result.stderr)
    assert "142001010" in warned
    assert re.search(r"142001010 .*12月底达到 100%，实际为空", result.stderr)
    assert set(PER_PERIOD) <= warned
    for code in PER_PERIOD:
        assert re.search(rf"项目 {code} .*看起来是分期数", result.stderr), code
    assert not warned & set(FINE_PLANS)
    assert "0 个错误" in result.stderr


def test_strict_turns_warnings_into_exit_1():
    result = run_cli_in_process("check", "--strict")
    assert result.returncode == 1
    assert "142001010" in result.stderr


def test_five_planted_faults_are_all_reported_in_one_run(data_copy: Path):
    projects = data_copy / "projects"
    # 1. missing required field
    edit_file(projects / "142001003.yaml", "        value: 保障天数\n", "")
    # 2. text where a number belongs
    edit_file(projects / "142001005.yaml", "budget: 345.52", "budget: 三百四十五")
    # 3. decreasing plan
    edit_file(projects / "142001002.yaml", "  10月底: 75", "  10月底: 40")
    # 4. duplicate key
    edit_file(projects / "142001006.yaml", "goal:", "name: 又一个名字\ngoal:")
    # 5. code that does not match the file name
    edit_file(projects / "142001014.yaml", 'code: "142001014"', 'code: "142001099"')

    result = run_cli_in_process("check", "--data", str(data_copy))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    located = {(m["file"].rsplit("/", 1)[-1], m["sev"]) for m in LOCATION.finditer(result.stderr)}
    lines = result.stderr.splitlines()

    def line_for(file: str, needle: str) -> str:
        found = [msg for msg in lines if file in msg and needle in msg]
        assert found, (file, needle, result.stderr)
        assert LOCATION.match(found[0]), found[0]
        return found[0]

    missing = line_for("142001003.yaml", "缺少必填字段")
    assert "indicators.产出指标.数量指标[0].value" in missing
    row_line = 1 + (data_copy / "projects" / "142001003.yaml").read_text(encoding="utf-8") \
        .splitlines().index("      - name: 保障天数")
    assert f":{row_line}:9:" in missing  # where the row's mapping starts
    assert "应为数字" in line_for("142001005.yaml", "budget")
    assert "不应下降" in line_for("142001002.yaml", "spending_plan")
    assert "第 4 行已有同名字段" in line_for("142001006.yaml", "重复的键")
    assert "与文件名 142001014.yaml 不一致" in line_for("142001014.yaml", "142001099")
    assert len(located) >= 5


def test_every_error_in_every_file_is_reported(data_copy: Path):
    for name in ("142001001.yaml", "142001019.yaml"):
        edit_file(data_copy / "projects" / name, "fiscal_funds:", "fiscal_fund:")
    result = run_cli_in_process("check", "--data", str(data_copy))
    assert result.returncode == 1
    assert result.stderr.count("未知字段“fiscal_fund”，是不是“fiscal_funds”？") == 2
    assert result.stderr.count("缺少必填字段（财政资金）") == 2


def test_usage_errors_exit_2_in_chinese():
    result = run_cli_in_process("check", "--no-such-flag")
    assert result.returncode == 2
    assert "用法错误" in result.stderr


def test_help_lists_every_command_in_chinese_then_english_aligned():
    from perfdoc.cli import COMMANDS
    from perfdoc.render.xlsx import display_width

    result = run_cli_in_process("--help")
    assert result.returncode == 0
    listed = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^  ([a-z][a-z-]*) +(\S.*?\S) {2,}([A-Za-z].*)$", line)
        if match:
            listed[match[1]] = (match[2], match[3], display_width(line[:line.index(match[3])]))
    assert list(listed) == list(COMMANDS)  # every command, in the order `COMMANDS` gives, none extra
    for command, (chinese, english, column) in listed.items():
        assert re.search(r"[\u4e00-\u9fff]", chinese) and not re.search(r"[\u4e00-\u9fff]", english), command
        assert column == next(iter(listed.values()))[2], command  # the English column lines up on screen
    assert re.search(r"^退出码（exit status）: 0 成功.*1 数据有误.*2 用法错误.*3 内部错误", result.stdout, re.M)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_its_own_help_chinese_first(command):
    result = run_cli_in_process(command, "--help")
    assert result.returncode == 0
    description = result.stdout.split("\n\n")[1]
    assert re.match(r"[\u4e00-\u9fff]", description), description  # Chinese first
    assert re.search(r"[A-Z][a-z]+\b", description), description  # then English


def test_missing_data_directory_is_a_clear_error(tmp_path: Path):
    result = run_cli_in_process("check", "--data", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "找不到部门文件" in result.stderr and "没有项目文件" in result.stderr


def test_internal_errors_are_one_line_with_a_hint(monkeypatch, capsys):
    from perfdoc import cli, commands

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(commands, "run_check", broken)
    assert cli.main(["check"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "内部错误" in err and "--debug" in err and "Traceback" not in err


def test_lint_hints_are_opt_in_and_never_change_the_exit_status():
    plain = run_cli_in_process("check")
    assert "提示:" not in plain.stderr
    lint = run_cli_in_process("check", "--lint")
    assert lint.returncode == 0
    hints = [msg for msg in lint.stderr.splitlines() if ": 提示: " in msg]
    assert all(LOCATION.match(msg.replace(": 提示:", ": 警告:")) for msg in hints)
    assert any("142001001.yaml" in msg and "“183”只有数字，没有单位" in msg for msg in hints)
    assert any("142001001.yaml" in msg and "“提升”不可衡量" in msg for msg in hints)
    assert any("142001005.yaml" in msg and "2021 年" in msg and "2023 年度" in msg for msg in hints)
    assert not any("“每月底”" in msg or "“及时”" in msg for msg in hints)  # time limits are measurable


# ---------------------------------------------------------------------------------------------
# The outputs' file name (issue 10, #7–#9): checked where it comes from, before anything is written


def _errors_after(data: Path, name: str, old: str, new: str) -> list[str]:
    edit_file(data / name, old, new)
    return [d.format() for d in check_data(data).errors]


@pytest.mark.parametrize("old, new, where, needle", [
    # a block scalar ends in "\n", which Python's `$` let through: `name\n.pdf`
    ("title: ", "output_name: |\n  好名字\ntitle: ", "department.yaml:5:14: 错误: output_name: ", "格式不对"),
    ("department: 唐山市公安局海港经济开发区分局", "department: ../../../escaped/",
     "department.yaml:3:13: 错误: department: ", "不允许的字符“/”"),
    ("department: 唐山市公安局海港经济开发区分局", "department: 唐山市公安局/海港分局",
     "department.yaml:3:13: 错误: department: ", "不允许的字符“/”"),
    ("department: 唐山市公安局海港经济开发区分局", "department: /tmp/elsewhere",
     "department.yaml:3:13: 错误: department: ", "不允许的字符“/”"),
    ("department: 唐山市公安局海港经济开发区分局", "department: ' 唐山'", "department.yaml:3:13: 错误: department: ",
     "不能以空格或点开头"),
    ("title: 2023年部门预算绩效目标", "title: 2023年部门预算绩效目标.", "department.yaml:5:8: 错误: title: ",
     "不能以空格或点结尾"),
    ("title: 2023年部门预算绩效目标", "title: 2023年部门预算绩效目标:草稿", "department.yaml:5:8: 错误: title: ",
     "不允许的字符“:”"),
    ("title: 2023年部门预算绩效目标", "title: " + "绩" * 100, "department.yaml:5:8: 错误: title: ",
     "太长：345 字节，上限 200 字节"),
    ("title: ", "output_name: " + "绩" * 70 + "\ntitle: ", "department.yaml:5:14: 错误: output_name: ",
     "输出文件名太长：210 字节"),
    ("title: ", "output_name: ..\ntitle: ", "department.yaml:5:14: 错误: output_name: ", "不能以空格或点开头"),
])
def test_the_output_file_name_is_checked_at_the_field_it_comes_from(data_copy: Path, old, new, where, needle):
    errors = _errors_after(data_copy, "department.yaml", old, new)
    assert len(errors) == 1, errors
    assert where in errors[0] and needle in errors[0], errors[0]


def test_a_project_code_written_as_a_block_scalar_is_refused(data_copy: Path):
    errors = _errors_after(data_copy, "projects/142001001.yaml", 'code: "142001001"', "code: |\n  142001001")
    assert len(errors) == 1 and "142001001.yaml:3:7: 错误: code: 项目编码格式不对" in errors[0], errors


def test_a_department_name_with_a_slash_stops_the_build_before_anything_is_written(data_copy: Path, tmp_path: Path):
    edit_file(data_copy / "department.yaml", "department: 唐山市公安局海港经济开发区分局", "department: ../../../escaped/")
    out = tmp_path / "deep" / "a" / "b" / "out"
    result = run_cli_in_process("build", "--data", str(data_copy), "--out", str(out))
    assert result.returncode == 1 and "output_name" in result.stderr, result.stderr
    assert not (tmp_path / "escaped").exists() and not out.exists()


@pytest.mark.parametrize("where", ["fonts_dir", "--fonts"])
def test_a_font_folder_that_is_a_symlink_loop_is_explained(data_copy: Path, tmp_path: Path, where: str):
    """A loop in the department's `fonts_dir` was an internal error (Path.resolve raised RuntimeError)."""
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    if where == "--fonts":
        folder = tmp_path / "loop-a"
    else:
        edit_file(data_copy / "department.yaml", "title: ", "fonts_dir: ../loop-a\ntitle: ")
        document, checked = load_document(data_copy)
        assert document is not None, checked.errors
        folder = document.department.fonts_dir
    with pytest.raises(UserError, match=r"字体目录 .*loop-a 是循环的符号链接（symlink loop）"):
        choose_fonts(folder)


def test_weights_that_do_not_add_up_to_100_are_a_warning_where_the_table_has_a_weight_column(tmp_path):
    """core-2021 shows 权重: a project whose weights sum to 101 is warned at its indicators line."""
    import shutil

    from conftest import REPO

    from perfdoc.data.validate import check_data

    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "core-2021" / "data", data)
    assert not check_data(data).warnings
    path = data / "projects" / "402001001.yaml"
    text = path.read_text(encoding="utf-8")
    assert "weight: 8\n" in text
    path.write_text(text.replace("weight: 8\n", "weight: 9\n", 1), encoding="utf-8")
    warnings = [d.format() for d in check_data(data).warnings]
    assert len(warnings) == 1 and re.search(r"402001001\.yaml:\d+:1: 警告: indicators: .*权重合计应为 100，实际为 101", warnings[0])


def test_lint_also_reads_the_department_wide_table(tmp_path):
    import shutil

    from conftest import REPO

    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "department-2023" / "data", data)
    path = data / "department.yaml"
    text = path.read_text(encoding="utf-8")
    first_value = re.search(r"^( +)value: .*$", text, re.M)
    assert first_value
    lines = text.splitlines()
    number = text[:first_value.start()].count("\n")
    lines[number] = f"{first_value[1]}value: 有效保障"
    assert lines[number + 1].strip().startswith("unit:")
    del lines[number + 1]  # no unit column value: the value alone must be measurable
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli_in_process("check", "--lint", "--data", str(data))
    assert result.returncode == 0, result.stderr
    assert re.search(rf"department\.yaml:{number + 1}:\d+: 提示: department_table\.indicators\..*value: "
                     r"部门整体支出绩效目标表：指标值“有效保障”不可衡量", result.stderr), result.stderr
