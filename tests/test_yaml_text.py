"""The one YAML scalar writer (perfdoc.data.yaml_text): any text reads back as itself, one key, nothing injected."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from perfdoc.data.loader import LoadedFile, load_yaml_text
from perfdoc.data.yaml_text import comment_text, quoted_scalar, text_scalar, yaml_scalar

# Any text a Python str can hold and a UTF-8 file can carry: every control character, line break,
# BOM and noncharacter included; only lone surrogates (no UTF-8 for them) are left out.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)))
TRICKY = ["NO", "no", "on", "Off", "y", "N", "yes", "~", "null", "", " ", "true", "123", "0012", "1_000", "1:30",
          "2023-01-01", "0o17", "0x1F", ".inf", "-.Inf", ".nan", "1e3", "1.5", "=", "<<", "a: b", "x # y", "x #", "结尾:",
          "&锚", "*别名", "!标签", "|", ">", "%", "@", "`", "'", '"', "[1]", "{a: 1}", "- x", "? x", "---", "...",
          "名称\u3000", " 前空格", "后空格 ", "x\nsummary_table: {}", "a\rb", "a\r\nb", "\u2028", "\x85", "\ufeff", "\x00",
          "\x07", "\t", "\\", "\\n", "\ufffe", "\uffff", "\U0001F600", "#", "x:", "a\u00a0"]


def _read(line: str) -> LoadedFile:
    loaded = load_yaml_text(line, LoadedFile(Path("t.yaml")))
    assert loaded.ok, ([d.format() for d in loaded.diagnostics], line)
    return loaded


def _assert_round_trip(text: str) -> None:
    written = text_scalar(text)
    assert "\n" not in written and "\r" not in written
    assert _read(f"k: {written}\n").data == {"k": text}  # the same text, exactly one key
    assert _read(f"{written}: 1\n").data == {text: 1}  # as a key too
    assert _read(f"k: {written}   # 说明\nj: 2\n").data == {"k": text, "j": 2}  # a comment after it changes nothing
    assert yaml.safe_load(f"k: {written}\n") == {"k": text}  # and a YAML 1.1 reader (an editor) agrees


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_any_text_is_written_so_that_the_loader_reads_it_back_as_one_key(text):
    _assert_round_trip(text)


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_texts_round_trip(text):
    _assert_round_trip(text)


@pytest.mark.parametrize("text", ["NO", "on", "Off", "y", "N", "0o17", ".inf", "1e3", "1:30", "2023-01-01", "=", "183", "%"])
def test_what_yaml_1_1_or_1_2_reads_as_no_text_is_quoted(text):
    assert text_scalar(text) == f'"{text}"'


def test_plain_where_plain_is_unambiguous_and_quoting_on_request():
    assert text_scalar("劳务派遣工资") == "劳务派遣工资"
    assert text_scalar("≥95%") == "≥95%"
    assert text_scalar("2025年部门预算绩效目标", quote=True) == '"2025年部门预算绩效目标"'
    assert text_scalar("x\ny: 1") == '"x\\ny: 1"'
    assert text_scalar("a\u2028b\x85") == '"a\\u2028b\\x85"'


def test_values_of_other_kinds():
    assert [yaml_scalar(v) for v in (None, True, False, 12, Decimal("345.52"), Decimal("1.2E+3"))] == \
        ["", "true", "false", "12", "345.52", "1200"]
    with pytest.raises(ValueError):
        yaml_scalar(Decimal("NaN"))


def test_a_lone_surrogate_is_refused_not_written():
    with pytest.raises(ValueError):
        quoted_scalar("名称\udc80")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_a_comment_stays_one_comment(text):
    loaded = load_yaml_text(f"k: 1   # {comment_text(text)}\nj: 2\n", LoadedFile(Path("t.yaml")))
    assert loaded.ok and loaded.data == {"k": 1, "j": 2}


# -- the same writer in `new` and `new-year` -------------------------------------------------------------


def test_new_writes_names_levels_and_checkpoints_as_import_does(tmp_path):
    """`name: NO` (False to a YAML 1.1 reader) and a profile's odd level names and checkpoints."""
    from builders import REPO

    from perfdoc.data.profile import load_profile
    from perfdoc.review.scaffold import project_skeleton

    text = (REPO / "profiles" / "hebei-2023.yaml").read_text(encoding="utf-8")
    text = text.replace("checkpoints: [3月底, 6月底, 10月底, 12月底]", 'checkpoints: ["1:30", 12月底]')
    text = text[:text.index("levels:")] + 'levels:\n  "NO": ["on", "a: b"]\n  满意度指标: [服务对象满意度指标]\nempty_level2: omit\n'
    (tmp_path / "odd.yaml").write_text(text, encoding="utf-8")
    skeleton = project_skeleton("142001020", "NO", load_profile(tmp_path / "odd.yaml"))
    assert '\nname: "NO"\n' in skeleton and '\n  "1:30":\n' in skeleton and '\n  "NO":\n    "on":\n' in skeleton
    loaded = load_yaml_text(skeleton, LoadedFile(Path("142001020.yaml")))
    assert loaded.ok
    for data in (loaded.data, yaml.safe_load(skeleton)):
        assert data["name"] == "NO" and list(data["spending_plan"]) == ["1:30", "12月底"]
        assert list(data["indicators"]["NO"]) == ["on", "a: b"]


def test_new_year_writes_a_changed_value_through_the_writer(tmp_path):
    """A title that becomes `2025-06-30` is quoted: plain, a YAML 1.1 reader would take it for a date."""
    import shutil

    from builders import REPO

    from perfdoc.review import yearly

    source = tmp_path / "old" / "data"
    shutil.copytree(REPO / "examples" / "hebei-2023" / "data", source)
    department = source / "department.yaml"
    text = department.read_text(encoding="utf-8")
    assert "\ntitle: 2024年部门预算绩效目标\n" in text
    department.write_text(text.replace("\ntitle: 2024年部门预算绩效目标\n", "\ntitle: 2024-06-30\n"), encoding="utf-8")
    yearly.new_year(source, tmp_path / "new", 2025)
    new = (tmp_path / "new" / "department.yaml").read_text(encoding="utf-8")
    assert '\ntitle: "2025-06-30"\n' in new and "\nyear: 2025\n" in new
    assert yaml.safe_load(new)["title"] == "2025-06-30"
