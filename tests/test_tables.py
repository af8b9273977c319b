"""The profile's table as rows and cells (perfdoc.render.tables), built in memory from tiny records."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import DATA

from perfdoc.data.model import build_department, build_project
from perfdoc.data.profile import load_profile, profile_path
from perfdoc.render.tables import GridTable, department_table_tables, plan_column_spans, project_tables


def _profile(name: str):
    return load_profile(profile_path(name))


def _texts(table: GridTable) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


@pytest.mark.parametrize("count, columns, spans", [(4, 6, (2, 1, 1, 2)), (3, 5, (2, 1, 2)), (1, 1, (1,)), (5, 5, (1,) * 5)])
def test_checkpoints_spread_over_the_grid_wider_at_the_ends(count, columns, spans):
    assert plan_column_spans(count, columns) == spans


def test_too_many_checkpoints_for_the_grid_is_refused():
    with pytest.raises(ValueError):
        plan_column_spans(7, 6)


ROW = {"name": "资助人次", "nature": "≥", "value": "7000", "unit": "人次", "remark": "全年"}


def test_two_blocks_each_with_goal_caption_and_grid():
    project = build_project({
        "code": "301001001", "name": "学生资助", "department_in_charge": "县教育局", "implementing_unit": "资助中心",
        "attribute": "延续", "period": "2024—2026年", "budget": Decimal("628.5"), "fiscal_funds": Decimal("600"),
        "long_term": {"goal": "三年目标", "indicators": {"产出指标": {"数量指标": [ROW]}}},
        "goal": "年度目标文字", "indicators": {"产出指标": {"数量指标": [ROW, {**ROW, "name": "第二行", "nature": "定性",
                                                                           "value": "明显提升", "unit": None}]}},
    }, _profile("longterm-88"), "p.yaml")
    tables = project_tables(project, _profile("longterm-88"))
    kinds = [t.kind for t in tables]
    assert kinds == ["facts", "indicators", "facts", "indicators"]
    facts = _texts(tables[0])
    assert facts[0] == ["项目名称", "学生资助"]
    assert ["中期资金总额（万元）", "", "年度资金总额（万元）", "628.5"] in facts  # optional and left out: empty
    assert facts[-2:] == [["长期目标", "三年目标"], ["长期绩效指标"]]
    assert tables[0].rows[-1].joins_next_table
    grid = _texts(tables[3])
    assert grid[0] == ["一级指标", "二级指标", "指标内容", "指标值", "备注"]
    assert grid[1] == ["产出指标", "数量指标", "资助人次", "≥7000人次", "全年"]
    assert grid[2] == ["第二行", "明显提升", "全年"]  # 定性 joined with a value shows nothing; 一级/二级 merged
    assert [c.rowspan for c in tables[3].rows[1].cells[:2]] == [2, 2]


def test_an_empty_level2_is_a_row_when_the_profile_says_so():
    row = {"name": "满意度", "nature": "定性", "value": "提升", "weight": Decimal(10), "direction": "正向"}
    project = build_project({
        "code": "402001001", "name": "公卫", "implementing_unit": "卫健局", "budget": 10, "fiscal_funds": 10,
        "goal": "目标", "indicators": {"成本指标": {"经济成本指标": [row], "生态环境成本指标": []}},
    }, _profile("core-2021"), "p.yaml")
    tables = project_tables(project, _profile("core-2021"))
    grid = tables[-1]
    texts = _texts(grid)
    assert texts[1] == ["成本指标", "经济成本指标", "满意度", "定性", "提升", "", "10", "正向"]  # 定性 in its own column
    assert texts[2] == ["生态环境成本指标", "", "", "", "", "", ""]
    assert grid.rows[1].cells[0].rowspan == 2
    widths = grid.cell_widths()
    assert sum(width for _, width in widths[1]) == pytest.approx(156)
    assert sum(width for _, width in widths[2]) == pytest.approx(156 - grid.columns_mm[0])


def test_the_department_table_takes_the_department_name():
    from perfdoc.data.loader import load_yaml_file

    data = load_yaml_file(DATA / "department.yaml").data
    data["department_table"] = {"duties": "职责", "budget": Decimal("3268.5"), "fiscal_funds": Decimal("3120.5"),
                                "goal": "总体目标", "indicators": {"产出指标": {"数量指标": [{
                                    "name": "人数", "value_type": "定量", "value": "≥420", "unit": "人",
                                    "explanation": "解释", "scoring": "评分"}]}}}
    department = build_department(data, DATA / "department.yaml", _profile("department-2023"))
    assert department.table is not None
    facts = _texts(department_table_tables(department.table)[0])
    assert facts[0] == ["部门（单位）名称", data["department"]]
    assert facts[2] == ["年度预算（万元）", "3268.5", "其中：财政拨款", "3120.5", "其他资金", ""]
    assert _texts(department_table_tables(department.table)[1])[1] == ["产出指标", "数量指标", "人数", "定量", "≥420", "人", "解释", "评分", ""]


def test_label_tails_in_parentheses_do_not_break():
    project = build_project({"code": "1", "name": "x", "budget": 1, "fiscal_funds": 1, "use": "u",
                             "spending_plan": {"3月底": 1, "6月底": 2, "10月底": 3, "12月底": 100}, "goal": "g",
                             "indicators": {}}, _profile("hebei-2023"), "p.yaml")
    tables = project_tables(project, _profile("hebei-2023"))
    tables = project_tables(project, _profile("hebei-2023"))
    label = tables[0].rows[2].cells[0]
    assert label.text == "资金支出计划（%）" and label.text[label.nowrap_at:] == "（%）"


def test_cells_below_a_cell_spanning_rows_start_after_it():
    from perfdoc.data.grid import placed

    rows = [[("项目资金", 1, 3), ("总额", 1, 1), ("100", 2, 1)], [("财政", 1, 1), ("80", 2, 1)], [("其他", 1, 1), ("20", 1, 1)]]
    result = placed(rows, lambda cell: cell[1], lambda cell: cell[2])
    assert [[(column, cell[0]) for column, cell in row] for row in result] == [
        [(0, "项目资金"), (1, "总额"), (2, "100")], [(1, "财政"), (2, "80")], [(1, "其他"), (2, "20")]]
