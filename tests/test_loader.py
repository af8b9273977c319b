"""YAML traps: nothing the author typed changes meaning behind their back."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import DATA
from perfdoc.loader import load_yaml_file
from perfdoc.validator import check_data


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
