"""YAML traps: nothing the author typed changes meaning behind their back."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import DATA

from perfdoc.data import loader
from perfdoc.data.loader import load_yaml_file
from perfdoc.data.validate import check_data


def _load(tmp_path: Path, text: str | bytes, name: str = "x.yaml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return load_yaml_file(path)


@pytest.mark.parametrize("text, expected", [
    ("a: NO", "NO"), ("a: yes", "yes"), ("a: on", "on"), ("a: 1:30", "1:30"),
    ("a: 2023-01-01", "2023-01-01"), ("a: 0012", "0012"), ("a: 0x1F", "0x1F"), ("a: .inf", ".inf"),
    ("a: 12", 12), ("a: 345.52", Decimal("345.52")), ("a: ~", None), ("a:", None), ("a: true", True),
    ("a: '12'", "12"), ("a: 1e40099999999999999999999999", "1e40099999999999999999999999"),
    ("a: " + "9" * 5000, "9" * 5000),
])
def test_plain_scalars_resolve_by_a_small_safe_rule_set(tmp_path, text, expected):
    loaded = _load(tmp_path, text)
    assert loaded.ok
    assert loaded.data["a"] == expected and type(loaded.data["a"]) is type(expected)


def _project_with(data_copy: Path, old: str, new: str) -> Path:
    path = data_copy / "projects" / "142001001.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return path


def test_unquoted_code_and_leading_zero_text_are_kept_exactly_as_written(data_copy):
    _project_with(data_copy, 'code: "142001001"', "code: 142001001")
    _project_with(data_copy, 'value: "183"', "value: 0183")
    checked = check_data(data_copy)
    assert not checked.errors
    project = next(p for p in checked.projects if p.path.name == "142001001.yaml")
    assert project.data["code"] == "142001001"
    assert project.data["indicators"]["产出指标"]["数量指标"][0]["value"] == "0183"


def test_leading_zero_amount_is_rejected_not_reinterpreted(data_copy):
    _project_with(data_copy, "budget: 1174", "budget: 01174")
    messages = [d.format() for d in check_data(data_copy).errors]
    assert any("142001001.yaml:5:" in m and "应为数字" in m and "不能以 0 开头" in m for m in messages)


def test_percent_sign_and_full_width_digits_get_a_hint(data_copy):
    _project_with(data_copy, "  3月底: 25", "  3月底: 25%")
    _project_with(data_copy, "fiscal_funds: 1174", "fiscal_funds: １１７４")
    messages = "\n".join(d.format() for d in check_data(data_copy).errors)
    assert "不要带 %" in messages and "半角数字" in messages


def test_duplicate_keys_are_errors_with_both_lines(tmp_path):
    loaded = _load(tmp_path, "a: 1\nb: 2\na: 3\n")
    assert not loaded.ok
    d = loaded.diagnostics[0]
    assert (d.line, d.path) == (3, "a") and "第 1 行" in d.message


def test_aliases_are_refused_and_billion_laughs_costs_nothing(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 9) + "]" for i in range(1, 10)]
    start = time.perf_counter()
    loaded = _load(tmp_path, "\n".join(lines) + "\n")
    assert time.perf_counter() - start < 5
    assert not loaded.ok
    assert "别名" in loaded.diagnostics[0].message and loaded.diagnostics[0].line == 2


@pytest.mark.parametrize("content, needle", [
    (b"", "文件为空"),
    (b"# only a comment\n", "文件为空"),
    (b"- a\n- b\n", "顶层应为键值映射"),
    ("name: 劳务派遣工资\n".encode("gbk"), "GBK"),
    (b"a:\n\tb: 1\n", "Tab"),
    (b"a: [1, 2\n", "YAML 语法错误"),
    (b"a: 1\n---\nb: 2\n", "只能有一个 YAML 文档"),
    (b"a: !!python/object:os.system x\n", "类型标签"),
    (b"a: \x01\n", "U+0001 控制字符"),
])
def test_malformed_files_get_clear_messages(tmp_path, content, needle):
    loaded = _load(tmp_path, content)
    assert not loaded.ok
    assert needle in loaded.diagnostics[0].message, loaded.diagnostics[0].message
    assert loaded.diagnostics[0].line >= 1


def test_bom_and_crlf_are_accepted(tmp_path):
    original = (DATA / "projects" / "142001001.yaml").read_text(encoding="utf-8")
    loaded = _load(tmp_path, b"\xef\xbb\xbf" + original.replace("\n", "\r\n").encode("utf-8"))
    assert loaded.ok and loaded.data["name"] == "劳务派遣工资"


def test_oversized_file_is_refused_before_parsing(tmp_path):
    loaded = _load(tmp_path, b"a: " + b"x" * (3 * 1024 * 1024))
    assert not loaded.ok and "文件过大" in loaded.diagnostics[0].message


# ---------------------------------------------------------------------------------------------
# Hostile input (issue 10): invisible characters, line numbers, nesting, special files, symlinks


@pytest.mark.parametrize("char, name", [
    ("\u2028", "行分隔符"), ("\u2029", "段分隔符"), ("\x85", "下一行符"), ("\x0b", "垂直制表符"),
    ("\x0c", "换页符"), ("\x1c", "分隔符"), ("\x1f", "分隔符"), ("\x7f", "删除符"), ("\ufeff", "BOM"),
])
def test_characters_fonts_cannot_draw_are_refused_at_their_own_line_and_column(tmp_path, char, name):
    """U+2028 and NEL are line breaks to YAML: the message must still name the line an editor shows."""
    loaded = _load(tmp_path, f"a: 1\nb: 甲{char}乙\nc: 1{char}\nd: 2\n")
    assert not loaded.ok and len(loaded.diagnostics) == 1
    d = loaded.diagnostics[0]
    assert (d.line, d.column) == (2, 5)
    assert f"U+{ord(char):04X}" in d.message and name in d.message and "本文件共 2 处" in d.message


def test_line_numbers_count_only_newlines_whatever_the_line_endings(tmp_path):
    for newline in ("\r\n", "\r"):
        loaded = _load(tmp_path, newline.join(["a: 1", "b: '甲", "  乙'", "a: 3", ""]))
        assert [(d.line, d.column, d.path) for d in loaded.diagnostics] == [(4, 1, "a")]
        assert loaded.data["b"] == "甲 乙"


@pytest.mark.parametrize("depth", [40, 400, 100_000])
@pytest.mark.parametrize("opener, closer", [("[", "]"), ("{a: ", "}")])
def test_nesting_gets_the_proper_message_at_any_depth_at_no_cost(tmp_path, depth, opener, closer):
    start = time.perf_counter()
    loaded = _load(tmp_path, "name: x\nvalue: " + opener * depth + "1" + closer * depth + "\n")
    assert time.perf_counter() - start < 1
    assert [d.line for d in loaded.diagnostics] == [2]
    assert "嵌套层次过深" in loaded.diagnostics[0].message


def test_libyamls_own_depth_limit_gets_the_same_message(tmp_path, monkeypatch):
    """libyaml 0.2.6 (PyYAML 6.0.4) raises its own English "exceeded maximum nesting depth" at
    1000 levels, before the composer sees 33 of them: the file is read again by the pure-Python
    parser, and the user gets the message any libyaml gives. (The dependency-ends script runs
    the test above with the real libyaml 0.2.6.)"""
    import yaml

    class Libyaml026:  # what PyYAML 6.0.4's CParser does with 100 000 `[` in a row
        def __init__(self, text: str):
            self.mark = yaml.Mark("<unicode string>", 1006, 1, 1006, None, None)

        def get_event(self):
            raise yaml.scanner.ScannerError("while increasing flow level", self.mark,
                                            "exceeded maximum nesting depth", self.mark)

    monkeypatch.setattr(loader, "_CParser", Libyaml026)
    loaded = _load(tmp_path, "name: x\nvalue: " + "[" * 100_000 + "1" + "]" * 100_000 + "\n")
    assert [(d.line, d.message) for d in loaded.diagnostics] == [(2, f"嵌套层次过深（超过 {loader.MAX_DEPTH} 层）")]
    assert loaded.data["name"] == "x"  # what was read before the nesting is kept, as with any libyaml


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "x.yaml"
    os.mkfifo(fifo)
    loaded = load_yaml_file(fifo)
    assert not loaded.ok and "不是普通文件" in loaded.diagnostics[0].message


def test_a_device_is_refused_unread(tmp_path):
    """`/dev/zero` reports size 0 and never ends: refused by what it is, not by its size."""
    link = tmp_path / "x.yaml"
    link.symlink_to("/dev/zero")
    loaded = load_yaml_file(link)
    assert not loaded.ok and "不是普通文件" in loaded.diagnostics[0].message


def test_a_symlink_leaving_the_data_folder_is_refused_and_its_target_never_quoted(data_copy, tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("token: 绝密-12345\n  broken: [\n", encoding="utf-8")
    (data_copy / "projects" / "142009999.yaml").symlink_to(secret)
    (data_copy / "projects" / "142009998.yaml").symlink_to("/dev/zero")
    checked = check_data(data_copy)
    text = "\n".join(d.format() for d in checked.diagnostics)
    assert "绝密" not in text and "broken" not in text
    refused = [d for d in checked.errors if "数据目录之外" in d.message]
    assert sorted(Path(d.file).name for d in refused) == ["142009998.yaml", "142009999.yaml"]


def test_a_symlink_inside_the_data_folder_is_read(data_copy):
    (data_copy / "archive").mkdir()
    (data_copy / "projects" / "142001001.yaml").rename(data_copy / "archive" / "142001001.yaml")
    (data_copy / "projects" / "142001001.yaml").symlink_to("../archive/142001001.yaml")
    checked = check_data(data_copy)
    assert not checked.errors
    assert any(p.data["code"] == "142001001" for p in checked.projects)


def test_a_department_file_that_is_a_folder_is_named_as_such(data_copy):
    (data_copy / "department.yaml").unlink()
    (data_copy / "department.yaml").mkdir()
    errors = check_data(data_copy).errors
    assert any(d.file.endswith("department.yaml") and "不是普通文件" in d.message for d in errors)


def test_anchors_without_aliases_are_fine(tmp_path):
    loaded = _load(tmp_path, "a: &first 1\nb: &first [x]\n")
    assert loaded.ok and loaded.data == {"a": 1, "b": ["x"]}


def test_alias_as_key_and_collections_as_keys_are_refused(tmp_path):
    assert "别名" in _load(tmp_path, "a: &k x\n*k : 2\n").diagnostics[0].message
    loaded = _load(tmp_path, "? [a, b]\n: 1\nc: 2\n")
    assert [(d.line, d.message) for d in loaded.diagnostics] == [(1, "键（key）必须是简单文字")]


HOSTILE_TEXTS = [
    "a: 1\nb: 2\na: 3\n", "a: !!python/object:os.system x\n", "a: [1, 2\n", "a: 1\n---\nb: 2\n",
    "- a\n- b\n", "", "a:\n\tb: 1\n", "a: &x [1]\nb: *x\nc: *x\n", "a: " + "[" * 50 + "]" * 50 + "\n",
    "? [a]\n: 1\n",
]


@pytest.mark.parametrize("path", [DATA / "department.yaml", *sorted((DATA / "projects").glob("*.yaml"))[:4]],
                         ids=lambda p: p.name)
def test_the_pure_python_fallback_reads_data_files_exactly_like_libyaml(monkeypatch, path):
    assert loader._CParser is not None, "PyYAML here is built with libyaml (yaml.__with_libyaml__)"
    fast = load_yaml_file(path)
    monkeypatch.setattr(loader, "_CParser", None)
    slow = load_yaml_file(path)
    assert fast.ok and slow.ok
    assert (fast.data, fast.value_positions, fast.key_positions, fast.plain_texts) == \
        (slow.data, slow.value_positions, slow.key_positions, slow.plain_texts)


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_the_pure_python_fallback_reports_hostile_files_like_libyaml(monkeypatch, tmp_path, text):
    fast = _load(tmp_path, text)
    monkeypatch.setattr(loader, "_CParser", None)
    slow = _load(tmp_path, text)
    assert not fast.ok and not slow.ok
    assert [(d.line, d.column) for d in fast.diagnostics] == [(d.line, d.column) for d in slow.diagnostics]
    if "语法错误" not in fast.diagnostics[0].message:  # the parsers word syntax errors differently
        assert fast.diagnostics == slow.diagnostics
