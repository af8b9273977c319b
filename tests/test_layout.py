"""The fast layer: the templates' HTML read back as a layout, and the merge geometry Word gets.

Everything here is in memory: models from tests/builders.py, the real templates, the real
read-back (perfdoc.render.readback) and the real DOCX grid (perfdoc.render.docx._grid_rows).
"""

from __future__ import annotations

import pytest
from builders import indicator, layout_of, make_document, make_project, seed_document

from perfdoc.diagnostics import UserError
from perfdoc.render.docx import _grid_rows
from perfdoc.render.readback import Cell, Row, Table, TemplateMarkupError, read_layout

HEAD = '<html lang="zh-CN"><head><title>T</title></head><body><section class="project" data-bookmark="B">'
TAIL = "</section></body></html>"
COLS = '<colgroup><col style="width: 10mm"><col style="width: 20mm"><col style="width: 30mm"></colgroup>'


def _table(body: str) -> Table:
    layout = read_layout(f'{HEAD}<table class="indicators">{COLS}{body}</table>{TAIL}')
    [table] = layout.sections[0].blocks
    assert isinstance(table, Table)
    return table


def _shape(table: Table) -> list[list[tuple[str | None, int]]]:
    """Word's rows: (text or None where a vertical merge continues, grid span)."""
    return [[(None if part in ("middle", "last") else cell.text, span) for cell, span, part in row]
            for row in _grid_rows(table)]


# ---------------------------------------------------------------------------------------------
# The HTML read-back


def test_seed_layout_has_every_section_table_and_row():
    document = seed_document()
    _, layout = layout_of(document)
    assert layout.lang == "zh-CN" and layout.author == document.department.name
    front, projects_heading, *projects = layout.sections
    assert front.style == "front" and projects_heading.bookmark == "项目支出绩效目标表"
    assert [s.bookmark for s in projects] == [p.title for p in document.projects]
    for section, project in zip(projects, document.projects, strict=True):
        info, grid = section.blocks
        assert isinstance(info, Table) and isinstance(grid, Table)
        assert info.rows[0].cells[1].text == project.code
        assert len(grid.rows) == 1 + len(project.indicator_rows)
        assert grid.rows[0].repeat_header and not grid.rows[1].repeat_header
        assert sum(info.column_widths_mm) == pytest.approx(156)


def test_front_matter_paragraphs_in_order_with_their_styles():
    document = seed_document()
    _, layout = layout_of(document)
    blocks = layout.sections[0].blocks
    styles = [b.style for b in blocks]
    assert styles[:2] == ["doc-title-line", "doc-title-line"]
    assert [b.text for b in blocks if b.style == "heading-1"] == ["一、总体绩效目标", "二、分项绩效目标", "三、目标规划及保障措施"]
    level2 = [b.text for b in blocks if b.style == "heading-2"]
    assert len(level2) == len(document.department.sub_targets) and level2[0].startswith("（一）")


def test_cell_text_is_literal_and_white_space_is_folded():
    project = make_project(goal="<img src=x> &amp; {{ 7*7 }}\n第二行", name="名称  有空格")
    html, layout = layout_of(make_document(project))
    assert "<img src=x>" not in html
    info = layout.sections[-1].blocks[0]
    assert isinstance(info, Table)
    assert info.rows[0].cells[3].text == "名称 有空格"
    assert info.rows[-1].cells[1].text == "<img src=x> &amp; {{ 7*7 }} 第二行"


@pytest.mark.parametrize("markup, problem", [
    ('<p class="body">x</p><blink>y</blink>', "不认识的标签 <blink>"),
    ('<p class="unknown">x</p>', "样式类不认识"),
    ('<div class="box">x</div>', "不认识的标签"),
    ('<table class="t"><colgroup><col style="width: 1in"></colgroup></table>', "width"),
    ('<table class="t">' + COLS + '<tr><td class="center" colspan="two">x</td></tr></table>', "colspan"),
    ('stray text', "不在段落或单元格之内"),
    ('<table class="t">' + COLS + '<tr><td class="code">x</td></tr></table>', "单元格 <td class=\"code\"> 的样式类不认识"),
])
def test_markup_outside_the_templates_subset_is_a_template_error(markup, problem):
    with pytest.raises(TemplateMarkupError) as caught:
        read_layout(f"{HEAD}{markup}{TAIL}")
    assert problem in caught.value.text and "模板错误" in caught.value.text and "第 1 行" in caught.value.text


# ---------------------------------------------------------------------------------------------
# Merge geometry: HTML row/col spans → Word's gridSpan and vMerge


def test_seed_grid_is_4_4_1_with_a_spanned_description():
    _, layout = layout_of(make_document(seed_document().projects[0]))
    grid = layout.sections[-1].blocks[1]
    assert isinstance(grid, Table)
    shape = _shape(grid)
    assert shape[0] == [("一级指标", 1), ("二级指标", 1), ("三级指标", 1), ("绩效指标描述", 2), ("指标值", 1),
                        ("指标值确定依据", 1)]
    first_column = [row[0][0] for row in shape[1:]]
    assert first_column == ["产出指标", None, None, None, "效果指标", None, None, None, "满意度指标"]
    assert all(len(row) == 6 and sum(span for _, span in row) == 7 for row in shape)


def test_several_rows_under_one_level2_merge_both_level_columns():
    project = make_project(indicators={
        "产出指标": {"数量指标": [indicator("甲"), indicator("乙"), indicator("丙")], "质量指标": [indicator("丁")]},
        "满意度指标": {"服务对象满意度指标": [indicator("戊"), indicator("己")]},
    })
    _, layout = layout_of(make_document(project))
    shape = _shape(layout.sections[-1].blocks[1])  # type: ignore[arg-type]
    body = [[text for text, _ in row[:3]] for row in shape[1:]]
    assert body == [["产出指标", "数量指标", "甲"], [None, None, "乙"], [None, None, "丙"], [None, "质量指标", "丁"],
                    ["满意度指标", "服务对象满意度指标", "戊"], [None, None, "己"]]


def _cell(text: str, colspan: int = 1, rowspan: int = 1) -> Cell:
    return Cell(text, "text", False, colspan, rowspan)


def test_a_merge_in_a_middle_column_and_a_block_spanning_rows_and_columns():
    table = Table("t", [10, 10, 10, 10], [
        Row([_cell("a"), _cell("b", colspan=2, rowspan=2), _cell("c")], False, 0),
        Row([_cell("d"), _cell("e", rowspan=2)], False, 0),
        Row([_cell("f"), _cell("g"), _cell("h")], False, 0),
    ])
    assert _shape(table) == [
        [("a", 1), ("b", 2), ("c", 1)],
        [("d", 1), (None, 2), ("e", 1)],
        [("f", 1), ("g", 1), ("h", 1), (None, 1)],
    ]


@pytest.mark.parametrize("cells, problem", [
    ([_cell("a"), _cell("b")], "不足"),
    ([_cell("a"), _cell("b", colspan=3)], "超出"),
    ([_cell("a"), _cell("b"), _cell("c"), _cell("d")], "超出"),
])
def test_rows_that_do_not_fill_the_grid_are_template_errors(cells, problem):
    table = Table("t", [10, 10, 10], [Row(cells, False, 0)])
    with pytest.raises(UserError, match=problem):
        _grid_rows(table)


def test_a_template_error_names_the_template_file_and_line(tmp_path):
    """An unknown tag written into a copied template is reported at that template's line."""
    import shutil

    from builders import fixed_fonts

    from perfdoc.build.options import TEMPLATES_DIR
    from perfdoc.render.html import render_html

    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    path = templates / "document.html.j2"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if "<section class=\"front\">" in line)
    lines.insert(at + 1, "  <aside>备注</aside>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    html = render_html(make_document(), fixed_fonts(), templates_dir=templates)
    with pytest.raises(TemplateMarkupError) as caught:
        read_layout(html, templates)
    assert caught.value.text.startswith(f"{path}:{at + 2}:3: 错误: 模板错误") or \
        f"document.html.j2:{at + 2}:3: 错误: 模板错误" in caught.value.text, caught.value.text
    assert "不认识的标签 <aside>" in caught.value.text
