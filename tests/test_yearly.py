"""`new-year`: a data folder rolled forward, edited as text so comments survive, written whole or not at all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import DATA, REPO, run_cli

from perfdoc import cli
from perfdoc.data.validate import check_data
from perfdoc.diagnostics import UserError
from perfdoc.review import yearly

EXAMPLE = REPO / "examples" / "hebei-2023" / "data"  # year 2024, two projects, a filled spending plan
PROJECT = Path("projects") / "131001001.yaml"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    data = tmp_path / "old" / "data"
    shutil.copytree(EXAMPLE, data)
    return data


def _comments(text: str) -> list[str]:
    return [line[line.index("#"):] for line in text.splitlines() if "#" in line]


def _plain(data: dict) -> dict:
    """The data with the spending plan's values blanked, as new-year should leave it."""
    plan = data.get("spending_plan")
    return {**data, "spending_plan": dict.fromkeys(plan)} if plan else data


def test_new_year_updates_the_year_clears_the_plan_and_keeps_everything_else(source, tmp_path):
    department = source / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8").replace(
        "title: 2024年部门预算绩效目标", 'title: "2024年部门预算绩效目标"   # 标题里的年份也改'), encoding="utf-8")
    target = tmp_path / "new" / "data"
    result = yearly.new_year(source, target, 2025)
    assert (result.old_year, result.projects, result.cleared_plan_values) == (2024, 2, 8)

    old, new = department.read_text(encoding="utf-8"), (target / "department.yaml").read_text(encoding="utf-8")
    new_data = yaml.safe_load(new)
    assert (new_data["year"], new_data["title"]) == (2025, "2025年部门预算绩效目标")
    assert 'title: "2025年部门预算绩效目标"   # 标题里的年份也改' in new.splitlines()
    assert _comments(new) == _comments(old)  # every comment kept, in place
    assert {k: v for k, v in new_data.items() if k not in ("year", "title")} == \
        {k: v for k, v in yaml.safe_load(old).items() if k not in ("year", "title")}

    for project in sorted((source / "projects").glob("*.yaml")):
        old_text = project.read_text(encoding="utf-8")
        new_text = (target / "projects" / project.name).read_text(encoding="utf-8")
        old_data, new_data = yaml.safe_load(old_text), yaml.safe_load(new_text)
        assert list(new_data["spending_plan"]) == ["3月底", "6月底", "10月底", "12月底"]  # keys kept
        assert set(new_data["spending_plan"].values()) == {None}  # values empty
        assert new_data == _plain(old_data)  # codes, names, amounts, indicators unchanged
        assert _comments(new_text) == _comments(old_text)
        changed = [n for n, (a, b) in enumerate(zip(old_text.splitlines(), new_text.splitlines(), strict=True)) if a != b]
        assert len(changed) == 4  # only the four plan lines


def test_new_folder_passes_check_with_warnings_for_the_empty_plans(source, tmp_path):
    target = tmp_path / "new" / "data"
    yearly.new_year(source, target, 2025)
    checked = check_data(target)
    assert not checked.errors, [d.format() for d in checked.errors]
    assert any("spending_plan" in d.format() for d in checked.warnings)  # plans are empty: to be filled in


def test_texts_naming_a_past_year_are_warned_with_file_and_line(source, tmp_path):
    project = source / PROJECT
    lines = project.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("goal:"))
    lines[line - 1] = "goal: 巩固2021 年前的整治成果，2023—2025年持续抽检。\n"
    project.write_text("".join(lines), encoding="utf-8")
    target = tmp_path / "new" / "data"
    result = yearly.new_year(source, target, 2025)
    messages = [w.format() for w in result.warnings]
    where = f"{target / PROJECT}:{line}:"
    assert any(m.startswith(where) and "警告" in m and "2021 年、2023 年" in m and "goal" in m for m in messages), messages
    # the department's own 2024 (last year) is warned too; the new title is not
    assert any(m.startswith(f"{target / 'department.yaml'}:8:") and "2024 年" in m for m in messages), messages
    assert not any("title" in m for m in messages)


def test_flow_style_plans_crlf_and_quoted_titles_are_edited_in_place(source, tmp_path):
    project = source / PROJECT
    text = project.read_text(encoding="utf-8")
    start = text.index("spending_plan:")
    end = text.index("goal:")
    text = text[:start] + "spending_plan: {3月底: 10, 6月底: 45, 10月底: 80, 12月底: 100}  # 流式写法\n" + text[end:]
    project.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    target = tmp_path / "new" / "data"
    yearly.new_year(source, target, 2025)
    raw = (target / PROJECT).read_bytes()
    assert raw.count(b"\r\n") == text.count("\n") and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF kept
    assert "spending_plan: {3月底: , 6月底: , 10月底: , 12月底: }  # 流式写法" in raw.decode("utf-8")
    assert set(yaml.safe_load(raw)["spending_plan"].values()) == {None}
    assert not check_data(target).errors


def test_an_existing_non_empty_target_is_refused_and_left_alone(source, tmp_path):
    target = tmp_path / "new"
    target.mkdir()
    (target / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        yearly.new_year(source, target, 2025)
    assert "已存在且不是空的" in caught.value.text and str(target) in caught.value.text
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    yearly.new_year(source, empty, 2025)  # an empty folder is fine
    assert (empty / "department.yaml").is_file()


def test_a_failed_write_leaves_no_folder_behind(source, tmp_path, monkeypatch):
    target = tmp_path / "new" / "data"
    calls = []

    def full_disk(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(yearly.os, "fsync", full_disk)
    with pytest.raises(UserError) as caught:
        yearly.new_year(source, target, 2025)
    assert "没有生成任何文件" in caught.value.text
    assert not target.exists() and list(target.parent.iterdir()) == []  # no half folder, no temporary


def test_cli_exit_codes(source, tmp_path, capsys):
    assert cli.main(["new-year", "2025", "--data", str(source), "--to", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "已生成" in err and "2024 → 2025" in err and "已清空资金支出计划 8 处" in err
    assert cli.main(["new-year", "2025", "--data", str(source), "--to", str(tmp_path / "a")]) == 1  # exists
    assert cli.main(["new-year", "2024", "--data", str(source), "--to", str(tmp_path / "b")]) == 2  # not later
    assert "应晚于数据的年度 2024" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        cli.main(["new-year", "二〇二五", "--data", str(source), "--to", str(tmp_path / "c")])
    assert usage.value.code == 2
    broken = source / "department.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("year: 2024", "year: 二〇二四"), encoding="utf-8")
    assert cli.main(["new-year", "2025", "--data", str(source), "--to", str(tmp_path / "d")]) == 1  # data errors
    assert "department.yaml" in capsys.readouterr().err
    assert not (tmp_path / "b").exists() and not (tmp_path / "d").exists()


def test_a_relative_fonts_dir_that_points_elsewhere_is_warned(source, tmp_path):
    (source / "fonts").mkdir()
    with (source / "department.yaml").open("a", encoding="utf-8") as handle:
        handle.write("fonts_dir: ../shared-fonts\n")
    (source.parent / "shared-fonts").mkdir()
    result = yearly.new_year(source, tmp_path / "elsewhere" / "deeper" / "data", 2025)
    assert any(w.path == "fonts_dir" and "相对路径" in w.message for w in result.warnings)


@pytest.mark.slow
def test_new_year_of_the_seed_through_the_cli_then_check(tmp_path):
    target = tmp_path / "2024" / "data"
    result = run_cli("new-year", "2024", "--data", str(DATA), "--to", str(target))
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if ": 警告: " in line]
    assert warned and all(line.startswith(str(target)) for line in warned)
    assert any("2021 年" in line for line in warned)  # the seed's "2021 年前" texts
    copied = ("department.yaml", "projects", "profiles")
    assert sorted(os.listdir(target)) == sorted(name for name in os.listdir(DATA) if name in copied)
    check = run_cli("check", "--data", str(target))
    assert check.returncode == 0, check.stderr
    assert "0 个错误" in check.stderr


def test_a_profile_link_leaving_the_data_folder_is_neither_read_nor_copied(source, tmp_path, capsys):
    """Hostile testing #7: such a link (to a token file, /etc/shadow) used to arrive in the new
    folder as an ordinary 0644 file. Now new-year stops, names the link, and writes nothing."""
    secret = tmp_path / "secret" / "token.yaml"
    secret.parent.mkdir()
    secret.write_text("PERFDOC_SECRET_7f3a91: hunter2\n", encoding="utf-8")
    (source / "profiles").mkdir()
    (source / "profiles" / "own.yaml").write_text("base: hebei-2023\n", encoding="utf-8")  # an ordinary one
    (source / "profiles" / "leak.yaml").symlink_to(secret)
    target = tmp_path / "new"
    assert cli.main(["new-year", "2025", "--data", str(source), "--to", str(target)]) == 1
    err = capsys.readouterr().err
    assert "PERFDOC_SECRET" not in err and "hunter2" not in err
    assert "profiles/leak.yaml: 错误: 这是指向数据目录之外" in err and "未生成任何文件" in err, err
    assert not target.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["old", "secret"]
    (source / "profiles" / "leak.yaml").unlink()
    assert cli.main(["new-year", "2025", "--data", str(source), "--to", str(target)]) == 0
    assert (target / "profiles" / "own.yaml").read_text(encoding="utf-8") == "base: hebei-2023\n"


def test_a_profile_link_inside_the_data_folder_is_copied_as_its_content(source, tmp_path):
    (source / "profiles").mkdir()
    (source / "shared.yaml").write_text("base: hebei-2023\n", encoding="utf-8")
    (source / "profiles" / "own.yaml").symlink_to(source / "shared.yaml")
    yearly.new_year(source, tmp_path / "new", 2025)
    copied = tmp_path / "new" / "profiles" / "own.yaml"
    assert not copied.is_symlink() and copied.read_text(encoding="utf-8") == "base: hebei-2023\n"


def test_a_target_inside_the_data_folder_names_the_option_the_user_gave(source, capsys):
    """Hostile testing #20: the message named --out, which new-year does not have."""
    assert cli.main(["new-year", "2025", "--data", str(source), "--to", str(source / "2025")]) == 1
    err = capsys.readouterr().err
    assert "--to" in err and "--out" not in err and "--cache-dir" not in err, err
    assert err.startswith(f"错误: 新数据目录 {source / '2025'} 位于原数据目录 {source} 之内"), err
    assert not (source / "2025").exists()


def test_new_year_never_carries_the_stage_files_forward_and_says_so(tmp_path, capsys):
    """The self-evaluation and monitoring hold one year's actuals: they stay behind (and their errors
    do not stop the roll-forward); the data folder's scoring rules, like its profiles, go along."""
    source = tmp_path / "old" / "data"
    shutil.copytree(REPO / "examples" / "hebei-2023-evaluation" / "data", source)
    (source / "scoring").mkdir()
    (source / "scoring" / "本省.yaml").write_text("execution_weight: 10\n", encoding="utf-8")
    broken = source / "evaluation" / "142001005.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("actual: 97%", "actual: 97人"), encoding="utf-8")
    target = tmp_path / "new" / "data"
    assert cli.main(["new-year", "2024", "--data", str(source), "--to", str(target)]) == 0
    summary = capsys.readouterr().err.strip().splitlines()[-2]
    assert "未复制 evaluation/（绩效自评，18 个文件）、monitoring/（绩效运行监控，18 个文件）" in summary
    assert "实际完成值属于 2023 年度，不带到新年度" in summary
    assert sorted(os.listdir(target)) == ["department.yaml", "projects", "scoring"]
    assert (target / "scoring" / "本省.yaml").read_text(encoding="utf-8") == "execution_weight: 10\n"
