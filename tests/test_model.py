"""The model computes everything the renderers place: spans, numbering, plan checks."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import DATA

from perfdoc.build.pipeline import load_document
from perfdoc.data.model import chinese_number
from perfdoc.data.profile import load_profile
from perfdoc.data.schema import MAX_LIST_ITEMS
from perfdoc.data.validate import check_data, plan_problems
from perfdoc.diagnostics import UserError
from perfdoc.render.tables import plan_column_spans

POINTS = ("3月底", "6月底", "10月底", "12月底")


def _plan(*values):
    return dict(zip(POINTS, [None if v is None else Decimal(v) for v in values], strict=True))


def test_row_spans_merge_level1_and_level2_cells():
    document, _ = load_document(DATA)
    rows = document.projects[0].indicator_rows
    assert [r.level1_span for r in rows] == [4, 0, 0, 0, 4, 0, 0, 0, 1]
    assert all(r.level2_span == 1 for r in rows)
    assert [r.level1 for r in rows][:5] == ["产出指标"] * 4 + ["效果指标"]


def test_several_level3_rows_under_one_level2(data_copy):
    path = data_copy / "projects" / "142001001.yaml"
    text = path.read_text(encoding="utf-8")
    extra = "      - name: 新增指标\n        description: 描述\n        value: 1 人\n        basis: 年度计划\n"
    text = text.replace("    质量指标:\n", extra + "    质量指标:\n", 1)
    path.write_text(text, encoding="utf-8")
    document, checked = load_document(data_copy)
    assert document is not None, checked.errors
    rows = document.projects[0].indicator_rows
    assert [r.level1_span for r in rows][:6] == [5, 0, 0, 0, 0, 4]
    assert [r.level2_span for r in rows][:3] == [2, 0, 1]


@pytest.mark.parametrize("n, text", [
    (1, "一"), (7, "七"), (10, "十"), (11, "十一"), (20, "二十"), (34, "三十四"), (99, "九十九"),
    (100, "一百"), (101, "一百零一"), (110, "一百一十"), (111, "一百一十一"), (200, "二百"), (999, "九百九十九"),
    (1000, "一千"), (1001, "一千零一"), (1010, "一千零一十"), (1100, "一千一百"),
])
def test_chinese_numbering(n, text):
    assert chinese_number(n) == text


def test_chinese_numbering_covers_every_list_length_the_schema_accepts():
    assert len({chinese_number(n) for n in range(1, MAX_LIST_ITEMS + 1)}) == MAX_LIST_ITEMS


def _department_with(data_copy: Path, field: str, count: int) -> None:
    path = data_copy / "department.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    item = data[field][0]
    data[field] = [dict(item) if isinstance(item, dict) else item for _ in range(count)]  # no YAML aliases
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize("field", ["measures", "sub_targets"])
def test_what_check_accepts_the_model_numbers(data_copy, field):
    """100 measures passed `check` and then failed the build (`ValueError: 100`)."""
    _department_with(data_copy, field, 101)
    document, checked = load_document(data_copy)
    assert document is not None, [d.format() for d in checked.errors]
    numbers = [item.number for item in getattr(document.department, field)]
    assert numbers[99:] == ["一百", "一百零一"]


def test_more_list_items_than_numbering_allows_is_a_located_error(data_copy):
    _department_with(data_copy, "measures", MAX_LIST_ITEMS + 1)
    errors = [d.format() for d in check_data(data_copy).errors]
    assert len(errors) == 1 and re.search(r"department\.yaml:\d+:\d+: 错误: measures: .*最多 999 项，实际有 1000 项", errors[0])


def _profile(data_copy: Path, checkpoints: list[str]) -> Path:
    folder = data_copy / "profiles"
    folder.mkdir(exist_ok=True)
    path = folder / "wide.yaml"
    lines = ["name: 测试", "checkpoints:", *[f"  - {c}" for c in checkpoints],
             "levels:", "  产出指标:", "    - 数量指标", "    - 质量指标", "    - 数量指标"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    department = data_copy / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8").replace("title:", "profile: wide\ntitle:", 1),
                          encoding="utf-8")
    return path


@pytest.mark.parametrize("count", [7, 12])
def test_a_profile_with_more_checkpoints_than_the_table_holds_is_refused_with_its_line(data_copy, count):
    """7 checkpoints passed `check` and then failed the build (`do not fit 6 columns`)."""
    _profile(data_copy, [f"{m}月底" for m in range(1, count + 1)])
    messages = [d.format() for d in check_data(data_copy).errors]
    assert any(re.fullmatch(rf".*profiles/wide\.yaml:3:3: 错误: checkpoints: 资金支出计划有 {count} 个时间节点，"
                            r"但表格标签右边只有 6 列.*", m)
               for m in messages), messages
    assert any(re.fullmatch(rf".*profiles/wide\.yaml:{count + 7}:7: 错误: levels\.产出指标\[2\]: 二级指标“数量指标”重复.*", m)
               for m in messages), messages


def test_six_checkpoints_fit_and_repeated_ones_are_refused(tmp_path):
    path = tmp_path / "six.yaml"
    path.write_text("name: x\ncheckpoints: [1月, 2月, 3月, 4月, 5月, 6月]\nlevels: {a: [b]}\n", encoding="utf-8")
    assert plan_column_spans(len(load_profile(path).checkpoints), 6) == (1,) * 6
    path.write_text("name: x\ncheckpoints: [3月底, 3月底]\nlevels: {a: [b]}\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"six\.yaml:2:\d+: 错误: checkpoints\[1\]: 时间节点“3月底”重复"):
        load_profile(path)


def test_plan_column_spans_fill_the_grid():
    assert plan_column_spans(4, 6) == (2, 1, 1, 2)
    assert all(sum(plan_column_spans(n, 6)) == 6 for n in range(1, 7))


@pytest.mark.parametrize("values, expect", [
    ((25, 50, 75, 100), None),
    ((None, None, None, 100), None),
    ((0, 0, 10, None), "实际为空"),
    ((None, None, 100, 0), "分期数"),
    ((100, 0, 0, 0), "分期数"),
    ((10, 50, 40, 100), "不应下降"),
    ((10, 20, 30, 90), "实际为90%"),
])
def test_plan_problems(values, expect):
    problems = plan_problems(_plan(*values), POINTS)
    if expect is None:
        assert problems == []
    else:
        assert any(expect in p for p in problems), problems
