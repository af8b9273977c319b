"""The model computes everything the renderers place: spans, numbering, plan checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import DATA
from perfdoc.model import chinese_number
from perfdoc.tables import plan_column_spans
from perfdoc.pipeline import load_document
from perfdoc.validator import plan_problems

POINTS = ("3月底", "6月底", "10月底", "12月底")


def _plan(*values):
    return dict(zip(POINTS, [None if v is None else Decimal(v) for v in values]))


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


@pytest.mark.parametrize("n, text", [(1, "一"), (7, "七"), (10, "十"), (11, "十一"), (20, "二十"), (34, "三十四")])
def test_chinese_numbering(n, text):
    assert chinese_number(n) == text


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
