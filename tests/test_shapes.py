"""Every table shape a profile can ask for (issue 19): blocks side by side, header cells spanning rows,
a vertical label column, lines above and below, `{year}` in labels, fields a profile declares, projects
without a code; and the messages a broken profile gets. Fast tests build models and grids in memory;
the slow ones build the side-by-side example and read the PDF with pdfplumber, and the DOCX as
LibreOffice lays it out.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pdfplumber
import pytest
from builders import REPO, fixed_fonts, layout_of
from conftest import run_cli, run_cli_in_process

from perfdoc.build.pipeline import load_document
from perfdoc.data.profile import load_profile, profile_path, year_text
from perfdoc.data.schema import build_schema
from perfdoc.diagnostics import UserError
from perfdoc.render.docx import render_docx
from perfdoc.render.tables import project_tables
from perfdoc.render.xlsx import workbook_sheets

EXAMPLES = REPO / "examples"
SIDE_BY_SIDE = EXAMPLES / "medium-annual" / "data"
ANHUI = EXAMPLES / "anhui-2025" / "data"


def _document(data: Path):
    document, checked = load_document(data)
    assert document is not None, [d.format() for d in checked.errors]
    return document


def _texts(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


# ---------------------------------------------------------------------------------------------
# Side by side


def test_side_by_side_pairs_rows_by_level2_and_leaves_the_shorter_block_empty():
    document = _document(SIDE_BY_SIDE)
    project = document.projects[0]  # 512001001: 中期 has 3 数量 rows, 年度 2; 中期 lacks 经济效益
    facts, grid = project_tables(project, document.profile, document.department.year)
    assert [c.text for c in grid.head[0].cells] == ["一级指标", "二级指标", "中期指标（2024—2026年）", "年度指标（2024年）"]
    assert [c.text for c in grid.head[1].cells] == ["三级指标", "指标值", "三级指标", "指标值"]
    assert [c.rowspan for c in grid.head[0].cells[:2]] == [2, 2]  # 一级 / 二级 captions span both head rows
    rows = _texts(grid)[2:]
    assert rows[0] == ["产出指标", "数量指标", "维修养护集中供水工程", "≥250处（累计）", "维修养护集中供水工程", "≥86处"]
    assert rows[1] == ["更换老旧供水管网", "≥120公里（累计）", "更换老旧供水管网", "≥40公里"]
    assert rows[2] == ["新建水质检测点", "≥6个", "", ""]  # the 年度 block has no third row: empty cells
    quantity = grid.groups[0][0].cells[1]
    assert (quantity.text, quantity.rowspan) == ("数量指标", 3)  # the 二级 spans all its paired rows
    economic = next(row for row in rows if "经济效益指标" in row)
    assert economic[-4:] == ["", "", "供水管网漏损率", "≤12%"]  # 中期 has none: empty on the left
    level1 = [c.text for group in grid.groups for c in group[0].cells if c.look == "level" and c.rowspan > 0][:1]
    assert level1 == ["产出指标"]
    assert len(grid.groups) == 3  # one row group per 一级, kept on one page where it fits
    goals = _texts(facts)[-2:]
    assert goals[0] == ["总体目标", "中期目标（2024—2026年）", "年度目标（2024年）"]
    assert goals[1][0].startswith("到2026年") and goals[1][1].startswith("2024年维修养护")


def test_side_by_side_xlsx_has_one_row_per_block_and_indicator():
    document = _document(SIDE_BY_SIDE)
    [_, indicators, _] = workbook_sheets(document)
    header = [c.header for c in indicators.columns]
    rows = [dict(zip(header, row, strict=True)) for row in indicators.rows]
    first = [r for r in rows if r["项目编码"] == "512001001"]
    expected = sum(len(level2.indicators) for block in document.projects[0].blocks for level1 in block.groups
                   for level2 in level1.groups)
    assert len(first) == expected
    assert {r["目标块"] for r in first} == {"长期", "年度"}
    assert [r["指标值"] for r in first if r["三级指标"] == "维修养护集中供水工程"] == ["250", "86"]


def test_side_by_side_needs_two_blocks_with_titles_and_columns_that_fill_the_grid(tmp_path):
    shipped = profile_path("medium-annual").read_text(encoding="utf-8")
    broken = shipped.replace("    title: 年度指标（{year}年）\n", "").replace("grid: [15, 20, 37, 23, 37, 24]",
                                                                          "grid: [15, 20, 37, 23, 37, 24, 10]")
    path = tmp_path / "mine.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_profile(path)
    text = caught.value.text
    assert "每块都要写 title" in text and "共占 6 列，应正好占满 grid 的 7 列" in text, text


# ---------------------------------------------------------------------------------------------
# Header cells spanning rows, and their checks

SPAN = """name: 跨行
grid: [20, 20, 40, 40, 36]
header:
  - - {label: 项目名称, span: 2}
    - {field: name, span: 3}
  - - {label: 项目资金（万元）, span: 2, rowspan: 3}
    - {label: 年度资金总额}
    - {field: budget, span: 2}
  - - {label: 其中：财政拨款}
    - {field: fiscal_funds, span: 2}
  - - {label: 其他资金}
    - {field: other_funds, span: 2, optional: true}
blocks:
  - {source: annual, goal: 年度目标}
columns:
  - {label: 三级指标, field: name}
  - {label: 指标值, field: value, span: 2}
levels: {产出指标: [数量指标]}
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return load_profile(path)


def test_a_header_cell_spans_rows_and_the_rows_below_start_right_of_it(tmp_path):
    profile = _load(tmp_path, SPAN)
    from perfdoc.data.model import build_project

    project = build_project({"name": "甲", "budget": Decimal(10), "fiscal_funds": Decimal(8), "goal": "g",
                             "indicators": {"产出指标": {"数量指标": [{"name": "n", "value": "1"}]}}}, profile, "p/甲.yaml")
    facts = project_tables(project, profile)[0]
    assert [[(c.text, c.colspan, c.rowspan) for c in row.cells] for row in facts.rows[1:4]] == [
        [("项目资金（万元）", 2, 3), ("年度资金总额", 1, 1), ("10", 2, 1)],
        [("其中：财政拨款", 1, 1), ("8", 2, 1)],
        [("其他资金", 1, 1), ("", 2, 1)]]
    widths = facts.cell_widths()
    assert [round(sum(w for _, w in row), 6) for row in widths[1:4]] == [156, round(156 - widths[1][0][1], 6)] * 1 + \
        [round(156 - widths[1][0][1], 6)]


@pytest.mark.parametrize("edit, line, words", [
    # a cell running into the column a cell above spans down into
    (("    - {field: budget, span: 2}\n", "    - {field: budget, span: 2, rowspan: 2}\n"),
     10, ["header[2][1]", "字段“fiscal_funds”", "header[1][2]", "字段“budget”", "重叠"]),
    # leaving the table on the right
    (("    - {label: 年度资金总额}\n", "    - {label: 年度资金总额, span: 2}\n"), 8,
     ["header[1][2]", "字段“budget”", "超出表格的右边"]),
    # spanning below the header's last row
    (("rowspan: 3}", "rowspan: 5}"), 6, ["header[1][0]", "向下占 5 行", "超出表头的最后一行"]),
])
def test_a_header_cell_that_overlaps_or_leaves_the_table_is_refused_at_its_line(tmp_path, edit, line, words):
    old, new = edit
    assert old in SPAN
    with pytest.raises(UserError) as caught:
        _load(tmp_path, SPAN.replace(old, new))
    text = caught.value.text
    assert re.search(rf"mine\.yaml:{line}:\d+: 错误: ", text), text
    assert all(word in text for word in words), text


def test_a_rowspan_into_the_spending_plan_row_is_refused(tmp_path):
    text = SPAN.replace("  - - {label: 其他资金}\n    - {field: other_funds, span: 2, optional: true}\n",
                        "  - plan: {label: 计划, checkpoints: [6月底, 12月底]}\n")
    with pytest.raises(UserError) as caught:
        _load(tmp_path, text)
    assert "资金支出计划行" in caught.value.text and "header[1][0]" in caught.value.text, caught.value.text


# ---------------------------------------------------------------------------------------------
# The vertical label, the lines above and below, {year}


def test_year_arithmetic():
    assert year_text("中期目标（{year}年—{year+2}年）", 2024) == "中期目标（2024年—2026年）"
    assert year_text("填报日期：{year-1}年", 2025) == "填报日期：2024年"
    assert year_text("{year + 10}", 2020) == "2030" and year_text("{year}", None) == "{year}"


def test_the_side_label_and_the_lines_reach_the_html_and_the_docx():
    document = _document(ANHUI)
    html, layout = layout_of(document)
    assert '<td class="label open-bottom"' in html.replace("<th", "<td") and "open-top" in html
    captions = [b for s in layout.sections for b in s.blocks if getattr(b, "parts", None)]
    assert [c.parts for c in captions[:3]] == [("", "项目支出绩效目标表", ""), ("", "（2025年度）", ""),
                                               ("项目责任人：林晓岚", "", "单位（盖章）：碧溪县农业农村局")]
    assert captions[0].style == "caption-title" and captions[3].style == "caption-below"
    docx = render_docx(layout, fixed_fonts())
    xml = zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode("utf-8")
    # left and right parts: one paragraph, tabs at a centre stop and a right stop
    line = re.search(r"<w:p>(?:(?!</w:p>).)*项目责任人：林晓岚(?:(?!</w:p>).)*</w:p>", xml).group(0)
    assert '<w:tab w:val="center"' in line and '<w:tab w:val="right"' in line and line.count("<w:tab/>") == 2
    assert "单位（盖章）：碧溪县农业农村局" in line
    # the side label: the head cell and the tall body cell draw no rule between them
    assert xml.count('<w:bottom w:val="nil"/>') >= 2 and '<w:top w:val="nil"/>' in xml
    title = re.search(r"<w:p>(?:(?!</w:p>).)*>项目支出绩效目标表<(?:(?!</w:p>).)*</w:p>", xml).group(0)
    assert "<w:pageBreakBefore/>" in title  # the record's page starts with its lines above


def test_a_profile_field_is_checked_by_its_choices_and_reaches_the_workbook(tmp_path):
    document = _document(ANHUI)
    schema = build_schema(document.profile)["$defs"]["project"]
    assert schema["properties"]["source"]["enum"][:3] == ["本级申报项目", "上级转移支付项目", "部门专项项目"]
    assert "code" not in schema["required"] and "name" in schema["required"]
    [summary, _, _] = workbook_sheets(document)
    header = [c.header for c in summary.columns]
    assert header[0] == "文件名" and "项目来源" in header and "项目期" in header
    data = tmp_path / "data"
    shutil.copytree(ANHUI, data)
    target = data / "projects" / "高标准农田建设管护.yaml"
    target.write_text(target.read_text(encoding="utf-8").replace("source: 本级申报项目", "source: 常年项目"), encoding="utf-8")
    result = run_cli_in_process("check", "--data", str(data))
    assert result.returncode == 1 and "项目来源应为 本级申报项目、上级转移支付项目、部门专项项目 之一" in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------------
# Projects without a code


def test_without_a_code_the_file_name_is_the_key(tmp_path):
    document = _document(ANHUI)
    assert [p.code for p in document.projects] == ["农产品质量安全监测", "高标准农田建设管护"]
    assert document.projects[0].title == "农产品质量安全监测"  # the outline shows no file name
    data = tmp_path / "data"
    shutil.copytree(ANHUI, data)
    made = run_cli_in_process("new", "文化惠民活动", "--name", "文化惠民活动经费", "--data", str(data))
    assert made.returncode == 0, made.stderr
    skeleton = (data / "projects" / "文化惠民活动.yaml").read_text(encoding="utf-8")
    assert "code:" not in skeleton and "source:" in skeleton and "leader:" in skeleton
    refused = run_cli_in_process("new", "a/b", "--data", str(data))
    assert refused.returncode == 1 and "不用项目编码" in refused.stderr


def test_the_diff_pairs_projects_without_a_code_by_file_name():
    from perfdoc.review.diff import compare

    old = _document(ANHUI)
    new_project = old.projects[1]
    from dataclasses import replace

    changed = replace(new_project, facts=tuple((k, "上级转移支付项目" if k == "source" else v) for k, v in new_project.facts))
    new = replace(old, projects=(old.projects[0], changed))
    diff = compare(old, new, "旧", "新")
    [change] = diff.projects
    assert change.code == "高标准农田建设管护" and change.kind == "changed"
    assert [(f.label, f.old, f.new) for f in change.fields] == [("项目来源", "本级申报项目", "上级转移支付项目")]


# ---------------------------------------------------------------------------------------------
# Messages for profiles

BROKEN = [
    "name: x\ngrid: [-30, 20]\n",
    "name: x\nheader:\n  - - {label: a, rowspn: 3}\n",
    "name: x\nheader:\n  - {label: 项目名称}\n",
    "name: x\nlevels:\n  产出指标: []\n",
    "name: x\nside_lable: {label: 绩效指标}\n",
    "name: x\nfields:\n  Source: {label: 来源}\n",
    "name: x\nblocks:\n  - {source: yearly}\n",
    "name: x\nempty_level2: rows\n",
    "name: x\ngrid: 5\n",
    "name: x\nabove:\n  - {}\n",
]


@pytest.mark.parametrize("text", BROKEN)
def test_profile_messages_are_chinese_and_name_the_key_without_python_or_english(tmp_path, text):
    with pytest.raises(UserError) as caught:
        _load(tmp_path, text)
    message = caught.value.text
    assert re.search(r"mine\.yaml:\d+:\d+: 错误: ", message), message
    for english in ("is not valid", "is less than", "does not match", "is a required property", "Additional properties",
                    "is not of type", "should be non-empty", "is too short", "is not one of", "under any of"):
        assert english not in message, message
    assert not re.search(r"[\[{]'|'[\]}]|\{'|: \[\{", message), message  # no dict or list repr
    assert re.search(r"[\u4e00-\u9fff]", message)


def test_an_unknown_key_gets_the_nearest_known_one(tmp_path):
    for text, near in (("name: x\nside_lable: {label: a}\n", "side_label"),
                       ("name: x\nheader:\n  - - {label: a, rowspn: 3}\n", "rowspan"),
                       ("name: x\nbase: hebei-2023\nheader:\n  - - {label: a}\n    - {field: nmae, span: 6}\n", "name")):
        with pytest.raises(UserError) as caught:
            _load(tmp_path, text)
        assert f"是不是“{near}”" in caught.value.text, caught.value.text


def test_an_empty_level2_in_the_data_says_what_to_do(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ANHUI, data)
    target = data / "projects" / "农产品质量安全监测.yaml"
    text = target.read_text(encoding="utf-8")
    text = re.sub(r"    时效指标:\n(      .*\n|        .*\n)+", "    时效指标: []\n", text)
    target.write_text(text, encoding="utf-8")
    result = run_cli_in_process("check", "--data", str(data))
    assert "时效指标至少要有 1 项（minItems）：没有三级指标的二级指标就删去这个键" in result.stderr, result.stderr
    assert "empty_level2: row" in result.stderr


def test_a_yml_profile_is_read_and_other_files_are_named(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES / "hebei-2023" / "data", data)
    (data / "profiles").mkdir()
    (data / "profiles" / "九月.yml").write_text("base: hebei-2023\ncheckpoints: [3月底, 6月底, 9月底, 12月底]\n",
                                                encoding="utf-8")
    (data / "profiles" / "旧.YAML").write_text("name: 旧\n", encoding="utf-8")
    department = data / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8") + "profile: 九月\n", encoding="utf-8")
    for project in (data / "projects").glob("*.yaml"):
        project.write_text(project.read_text(encoding="utf-8").replace("10月底", "9月底"), encoding="utf-8")
    checked = run_cli_in_process("check", "--data", str(data))
    assert checked.returncode == 0 and "0 个错误" in checked.stderr, checked.stderr
    listed = run_cli_in_process("profiles", "--data", str(data))
    assert "九月\t[本地" in listed.stdout and "未读入" in listed.stderr and "旧.YAML" in listed.stderr


def test_schema_of_the_current_folder_is_written_beside_it_and_says_where(tmp_path):
    data = tmp_path / "two" / "2025"
    shutil.copytree(ANHUI, data)
    shutil.copytree(EXAMPLES / "core-2021" / "data", tmp_path / "two" / "core")
    result = run_cli_in_process("schema", "--data", ".", cwd=data)
    assert result.returncode == 0, result.stderr
    assert not (data / "schema.json").exists() and (tmp_path / "two" / "schema.json").is_file()
    assert f"已写入 {tmp_path / 'two' / 'schema.json'}" in result.stderr and "$schema=../schema.json" in result.stderr
    other = run_cli_in_process("schema", "--data", str(tmp_path / "two" / "core"))
    assert other.returncode == 0 and "警告" in other.stderr and "2025" in other.stderr, other.stderr


# ---------------------------------------------------------------------------------------------
# Slow: the side-by-side example built, the PDF read with pdfplumber, the DOCX as LibreOffice lays it out


# 三级 names both blocks show in the same row of a 二级 (short enough to stand on one line).
PAIRED = ("更换老旧供水管网", "工程完好率", "农村自来水普及率", "供水用户满意度", "治理河道长度", "工程验收合格率", "沿河群众满意度")


def _pairs_on_one_row(pdf_path: Path) -> tuple[list[tuple[float, float, float]], dict[str, int]]:
    """(top, x of the 中期 cell, x of the 年度 cell) of rows whose two blocks show the same 三级, and how
    often each 一级 caption is printed."""
    pairs, level1 = [], {}
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages:
            words = page.extract_words()
            for name in PAIRED:
                found = [w for w in words if w["text"] == name]
                for a in found:
                    for b in found:
                        if b["x0"] > a["x0"] + 50 and abs(a["top"] - b["top"]) < 0.5:
                            pairs.append((a["top"], a["x0"], b["x0"]))
            for word in words:
                for caption in ("产出指标", "效益指标", "满意度指标"):
                    if word["text"] in (caption, caption[:2], caption[:3]) and word["x0"] < 150:
                        level1[caption] = level1.get(caption, 0) + 1
    return pairs, level1


@pytest.mark.slow
def test_side_by_side_pdf_pairs_cells_on_one_row_and_prints_each_level1_once(tmp_path, pinned_fonts):
    out = tmp_path / "out"
    built = run_cli("build", "--data", str(SIDE_BY_SIDE), "--out", str(out), "--fonts", str(pinned_fonts))
    assert built.returncode == 0, built.stderr
    [pdf] = list(out.glob("*.pdf"))
    pairs, level1 = _pairs_on_one_row(pdf)
    assert len(pairs) == len(PAIRED), pairs  # same top, the 年度 cell to the right of the 中期 one
    assert level1 == {"产出指标": 2, "效益指标": 2, "满意度指标": 2}, level1  # once per 一级 per project (2 projects)


@pytest.mark.slow
def test_side_by_side_docx_as_libreoffice_lays_it_out(tmp_path, pinned_fonts):
    program = shutil.which("soffice")
    if program is None:
        pytest.skip("LibreOffice is not installed (bash setup.sh --test installs it)")
    out = tmp_path / "out"
    built = run_cli("build", "--data", str(SIDE_BY_SIDE), "--out", str(out), "--fonts", str(pinned_fonts))
    assert built.returncode == 0, built.stderr
    [docx_file] = list(out.glob("*.docx"))
    converted = tmp_path / "lo"
    subprocess.run([program, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--convert-to",
                    "pdf", "--outdir", str(converted), str(docx_file)], check=True, capture_output=True, timeout=300)
    [pdf] = list(converted.glob("*.pdf"))
    pairs, level1 = _pairs_on_one_row(pdf)
    assert len(pairs) == len(PAIRED), pairs
    assert level1 == {"产出指标": 2, "效益指标": 2, "满意度指标": 2}, level1


def test_a_code_the_profile_asks_for_is_required_though_not_printed(tmp_path):
    """`fields: {code: {required: true}}`: every project must have a code, and is known by it."""
    path = tmp_path / "data" / "profiles" / "要编码.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("base: anhui-2025\nfields:\n  code: {required: true}\n", encoding="utf-8")
    asked = load_profile(path)
    assert asked.uses_code and "code" in build_schema(asked)["$defs"]["project"]["required"]
    assert not load_profile(profile_path("anhui-2025")).uses_code
    from perfdoc.data.model import build_project

    project = build_project({"code": "340001001", "name": "甲", "goal": "g", "indicators": {}}, asked, "projects/340001001.yaml")
    assert (project.code, project.title) == ("340001001", "340001001 甲")
