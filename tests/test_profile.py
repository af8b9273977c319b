"""Profiles are data too: a broken profile is reported like a broken data file (file:line: field)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perfdoc.cli import main
from perfdoc.data.profile import DEFAULT_PROFILE, MIN_COLUMN_MM, available_profiles, load_profile, profile_path
from perfdoc.data.validate import check_data
from perfdoc.diagnostics import UserError
from perfdoc.looks import TABLE

GOOD = """name: 测试格式
checkpoints: [3月底, 6月底, 10月底, 12月底]
levels:
  产出指标: [数量指标]
  满意度指标: [服务对象满意度指标]
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return load_profile(path)


def test_a_good_profile_keeps_its_order(tmp_path):
    profile = _load(tmp_path, GOOD)
    assert profile.name == "mine" and profile.title == "测试格式"
    assert profile.checkpoints == ("3月底", "6月底", "10月底", "12月底")
    assert [level1 for level1, _ in profile.levels] == ["产出指标", "满意度指标"]


@pytest.mark.parametrize("text, field, line", [
    (GOOD.replace("[3月底, 6月底, 10月底, 12月底]", "3月底"), "checkpoints", 2),
    (GOOD.replace("[3月底, 6月底, 10月底, 12月底]", "[]"), "checkpoints", 2),
    (GOOD.replace("  产出指标: [数量指标]\n  满意度指标: [服务对象满意度指标]\n", "  - 产出指标\n"), "levels", 4),
    (GOOD.replace("[数量指标]", "[]"), "levels", 4),
    (GOOD + "name: 又一个\n", "name", 6),  # duplicate key
    ("name: [\n", "", 2),  # YAML syntax error: found at the end of the file
])
def test_broken_profiles_name_file_line_and_field(tmp_path, text, field, line):
    with pytest.raises(UserError) as caught:
        _load(tmp_path, text)
    message = caught.value.text
    assert "Traceback" not in message
    found = re.search(r"mine\.yaml:(\d+):(\d+): 错误: ", message)
    assert found, message
    assert int(found[1]) == line, message
    assert field in message


def test_profile_names_cannot_be_paths():
    with pytest.raises(ValueError):
        profile_path("../../etc/passwd")
    assert profile_path(DEFAULT_PROFILE).is_file()


# ---------------------------------------------------------------------------------------------
# Profiles that describe the whole table

FULL = """name: 测试表
description: 五列网格
table: project
grid: [20, 26, 50, 30, 30]
header:
  - - label: 项目名称
    - field: name
      span: 2
    - label: 项目编码
    - field: code
blocks:
  - source: annual
    goal: 年度目标
columns:
  - field: name
    label: 三级指标
  - fields: [nature, value, unit]
    label: 指标值
  - field: basis
    label: 绩效标准
levels:
  产出指标: [数量指标]
"""


def test_a_full_profile_is_scaled_to_the_text_block(tmp_path):
    profile = _load(tmp_path, FULL)
    assert sum(profile.grid_mm) == pytest.approx(156)
    assert profile.plan is None and profile.checkpoints == ()
    assert profile.header_fields() == {"name": True, "code": True}
    assert profile.indicator_fields() == {"name": True, "nature": False, "value": True, "unit": False, "basis": True}
    assert profile.field_labels()[("indicator", "basis")] == "绩效标准"
    assert profile.field_labels()[("record", "code")] == "项目编码"


@pytest.mark.parametrize("edit, line, message", [
    (("      span: 2\n    - label: 项目编码", "      span: 1\n    - label: 项目编码"), 6, "共占 4 列，应正好占满 grid 的 5 列"),
    (("    - field: code", "    - field: kode"), 10, "未知字段“kode”"),
    (("  - fields: [nature, value, unit]", "  - fields: [nature, value, units]"), 17, "未知的指标字段“units”"),
    (("  - field: basis\n    label: 绩效标准\n", ""), 15, "共占 4 列，应正好占满 grid 的 5 列"),
    (("header:\n", "header:\n  - plan:\n      label: 计划\n      checkpoints: [1月, 2月, 3月, 4月, 5月]\n"), 8, "5 个时间节点，但表格标签右边只有 4 列"),
    (("  - source: annual\n", "  - source: annual\n    goal_span: 5\n"), 13, "右边就没有位置写目标"),
    (("table: project", "table: projekt"), 3, "table"),
])
def test_a_full_profile_that_does_not_add_up_is_refused_at_its_line(tmp_path, edit, line, message):
    old, new = edit
    assert old in FULL
    with pytest.raises(UserError) as caught:
        _load(tmp_path, FULL.replace(old, new))
    text = caught.value.text
    assert message in text, text
    assert re.search(rf"mine\.yaml:{line}:\d+: 错误: ", text), text


def test_a_profile_on_a_base_changes_only_what_it_says(tmp_path):
    profile = _load(tmp_path, "name: 九月\nbase: hebei-2023\ncheckpoints: [3月底, 6月底, 9月底, 12月底]\n")
    shipped = load_profile(profile_path(DEFAULT_PROFILE))
    assert profile.checkpoints == ("3月底", "6月底", "9月底", "12月底")
    assert profile.title == "九月" and profile.columns == shipped.columns and profile.levels == shipped.levels


def test_a_missing_base_names_both_places_a_profile_may_live(tmp_path):
    with pytest.raises(UserError) as caught:
        _load(tmp_path, "name: x\nbase: nowhere\n")
    assert "找不到作为基础的格式“nowhere”" in caught.value.text
    assert "profiles/nowhere.yaml" in caught.value.text and "python3 build.py profiles" in caught.value.text
    assert re.search(r"mine\.yaml:2:7: 错误: base: ", caught.value.text), caught.value.text


# ---------------------------------------------------------------------------------------------
# A grid column too narrow for one character (hostile testing #6)


def test_a_grid_column_narrower_than_one_table_character_is_refused_at_its_grid_entry(tmp_path):
    """16.2 typed as 1.62 in the shipped grid: 1.79 mm after scaling, less than one 10.5 pt character
    with the cell's padding, so the text would be drawn across the table border."""
    shipped = profile_path(DEFAULT_PROFILE).read_text(encoding="utf-8")
    grid_line = next(i for i, line in enumerate(shipped.splitlines(), 1) if line.startswith("grid: "))
    narrow = shipped.replace("grid: [10.7, 16.2,", "grid: [10.7, 1.62,")
    assert narrow != shipped
    with pytest.raises(UserError) as caught:
        _load(tmp_path, narrow)
    text = caught.value.text
    assert re.search(rf"mine\.yaml:{grid_line}:\d+: 错误: grid\[1\]: 第 2 列", text), text
    assert "1.62" in text and "4.88 mm" in text and "column too narrow" in text
    assert len(caught.value.diagnostics) == 1  # the other columns are fine
    # One character of 五号 plus padding and a rule is the least a column needs: 3.70 + 2 × 0.5 + 0.18 mm.
    assert MIN_COLUMN_MM == pytest.approx(10.5 * 25.4 / 72 + 2 * TABLE.padding_side_mm + TABLE.rule_pt * 25.4 / 72,
                                          abs=0.01)


def test_a_derived_profiles_narrow_grid_is_refused_at_its_own_grid_line(tmp_path):
    text = "base: hebei-2023\ngrid: [10.7, 1.62, 23.6, 36.55, 36.55, 16.2, 16.2]\n"
    with pytest.raises(UserError) as caught:
        _load(tmp_path, text)
    assert re.search(r"mine\.yaml:2:\d+: 错误: grid\[1\]: ", caught.value.text), caught.value.text


def test_every_shipped_profile_has_columns_wide_enough_for_one_character():
    for name, path in available_profiles():
        profile = load_profile(path)  # would raise for a too narrow column
        assert min(profile.grid_mm) >= MIN_COLUMN_MM, name


# ---------------------------------------------------------------------------------------------
# The documented derived profile (hostile testing #19)


def _documented_derived_profile() -> str:
    """The two-line profile the shipped hebei-2023.yaml shows in its own comment, taken literally."""
    comment = profile_path(DEFAULT_PROFILE).read_text(encoding="utf-8").splitlines()
    shown = [line.removeprefix("#   ") for line in comment if line.startswith("#   ")]
    assert [line.split(":")[0] for line in shown] == ["base", "checkpoints"], shown
    return "\n".join(shown) + "\n"


def test_the_derived_profile_in_the_shipped_comment_works_as_written(data_copy, capsys):
    """No `name:`: the profile is called by its file name, the word written in `profile:`."""
    (data_copy / "profiles").mkdir()
    (data_copy / "profiles" / "hebei-2024.yaml").write_text(_documented_derived_profile(), encoding="utf-8")
    department = data_copy / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8") + "profile: hebei-2024\n", encoding="utf-8")
    for project in (data_copy / "projects").glob("*.yaml"):  # the comment's checkpoints say 9月底
        project.write_text(project.read_text(encoding="utf-8").replace("10月底", "9月底"), encoding="utf-8")
    checked = check_data(data_copy)
    assert not checked.errors, [d.format() for d in checked.errors]
    assert checked.profile is not None and checked.profile.name == "hebei-2024"
    assert checked.profile.title == "hebei-2024" and checked.profile.checkpoints == ("3月底", "6月底", "9月底", "12月底")
    shipped = load_profile(profile_path(DEFAULT_PROFILE))
    assert checked.profile.columns == shipped.columns and checked.profile.header[:2] == shipped.header[:2]
    assert main(["profiles", "--data", str(data_copy)]) == 0
    listed = capsys.readouterr().out
    assert "hebei-2024\t[本地" in listed and "hebei-2024：以 hebei-2023（河北省项目支出绩效目标表（2023））为基础" in listed


def test_a_name_written_in_a_derived_profile_is_kept(tmp_path):
    profile = _load(tmp_path, "name: 本市格式\n" + _documented_derived_profile())
    assert profile.title == "本市格式" and profile.name == "mine"


# ---------------------------------------------------------------------------------------------
# Profiles that are symlinks leaving the data folder (hostile testing #7)

SECRET = "PERFDOC_SECRET_7f3a91"


@pytest.fixture
def leaky(data_copy: Path, tmp_path: Path) -> Path:
    """A data folder whose profiles/ holds a link to a secret file outside it (`leak`), and a
    profile built on it (`mine`: `base: leak`)."""
    secret = tmp_path / "secret" / "token.yaml"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}: hunter2\nname: {SECRET}\n", encoding="utf-8")
    profiles = data_copy / "profiles"
    profiles.mkdir()
    (profiles / "leak.yaml").symlink_to(secret)
    (profiles / "mine.yaml").write_text("base: leak\n", encoding="utf-8")
    return data_copy


def _choose(data: Path, name: str) -> None:
    department = data / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8") + f"profile: {name}\n", encoding="utf-8")


def _no_secret_anywhere(*texts: str, folders: tuple[Path, ...] = ()) -> None:
    for text in texts:
        assert SECRET not in text and "hunter2" not in text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path


def test_loading_a_local_profile_applies_the_data_folder_symlink_rule_without_being_told(leaky):
    """The rule holds in load_profile itself, so no command can forget it (profiles, import …)."""
    for name in ("leak", "mine"):
        with pytest.raises(UserError) as caught:
            load_profile(profile_path(name, leaky))
        assert "leak.yaml:1:1: 错误: 这是指向数据目录之外" in caught.value.text, caught.value.text
        _no_secret_anywhere(caught.value.text)


def test_profiles_lists_a_leaving_link_as_unreadable_and_never_quotes_it(leaky, capsys):
    assert main(["profiles", "--data", str(leaky)]) == 1
    out, err = capsys.readouterr()
    _no_secret_anywhere(out, err)
    listed = dict(line.split("\t", 1) for line in out.splitlines())
    assert "无法读取" in listed["leak"] and "符号链接（symlink）" in listed["leak"]
    assert "无法读取" in listed["mine"] and "leak.yaml" in listed["mine"]
    assert "河北省项目支出绩效目标表" in listed[DEFAULT_PROFILE]


@pytest.mark.parametrize("name", ["leak", "mine", DEFAULT_PROFILE])
def test_check_build_and_schema_refuse_a_leaving_profile_link_unread(leaky, tmp_path, capsys, name):
    if name == DEFAULT_PROFILE:  # a link standing where a local hebei-2023 would be: said, not skipped
        (leaky / "profiles" / f"{name}.yaml").symlink_to(tmp_path / "secret" / "missing.yaml")
    _choose(leaky, name)
    out = tmp_path / "out"
    schema = tmp_path / "schema.json"
    assert main(["check", "--data", str(leaky)]) == 1
    assert main(["build", "--data", str(leaky), "--out", str(out)]) == 1
    assert main(["schema", "--data", str(leaky), "--output", str(schema)]) == 1
    said = capsys.readouterr()
    _no_secret_anywhere(said.out, said.err, folders=(out,) if out.exists() else ())
    link = "leak.yaml" if name != DEFAULT_PROFILE else f"{name}.yaml"
    assert said.err.count(f"profiles/{link}:1:1: 错误: 这是指向数据目录之外") == 3, said.err
    assert not schema.exists() and not any(out.glob("*.pdf"))


def test_schema_of_a_folder_with_an_unused_leaving_link_never_contains_it(leaky, tmp_path, capsys):
    schema = tmp_path / "schema.json"
    assert main(["schema", "--data", str(leaky), "--output", str(schema)]) == 0
    _no_secret_anywhere(*capsys.readouterr(), schema.read_text(encoding="utf-8"))


def test_serve_shows_the_refusal_not_the_file(leaky, tmp_path):
    from perfdoc.build.options import BuildOptions
    from perfdoc.serve.server import LiveDocument

    _choose(leaky, "leak")
    live = LiveDocument(BuildOptions(data_dir=leaky, out_dir=tmp_path / "out"), build_files=False)
    live.refresh()
    state = live.state()
    _no_secret_anywhere(live.page(), str(state))
    assert "符号链接（symlink）" in state["problems_html"] and "leak.yaml" in state["problems_html"]
