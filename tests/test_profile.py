"""Profiles are data too: a broken profile is reported like a broken data file (file:line: field)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perfdoc.diagnostics import UserError
from perfdoc.profile import DEFAULT_PROFILE, load_profile, profile_path

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
    (GOOD.replace("name: 测试格式\n", ""), "name", 1),
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
