"""The XLSX export (XLSX_SPEC.md) and the optional 项目汇总表, read back as a user's tools would.

Fast tests build the workbook in memory from the shipped data folders and read it back with
openpyxl, comparing every cell with the YAML data itself (not with the model the workbook was
made from). Full CLI builds are marked slow.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from builders import department_data, fixed_fonts, make_project, profile, written_decimals_document
from conftest import DATA, REPO, STEM, run_cli
from test_docx_valid import assert_word_valid

from perfdoc.build.cache import BuildCache
from perfdoc.build.pipeline import load_document, render_cached_xlsx
from perfdoc.data.fields import INDICATOR_FIELDS, PROJECT_FIELDS
from perfdoc.data.model import build_department, build_document
from perfdoc.data.validate import check_data
from perfdoc.render.docx import render_docx
from perfdoc.render.html import render_html
from perfdoc.render.readback import Table, read_layout
from perfdoc.render.xlsx import render_xlsx

FOLDERS = {"seed": DATA, **{p.parent.name: p for p in sorted((REPO / "examples").glob("*/data"))}}
LABEL_TO_PROJECT_KEY = {f.label: key for key, f in PROJECT_FIELDS.items()}
LABEL_TO_INDICATOR_KEY = {f.label: key for key, f in INDICATOR_FIELDS.items()}
PLAN_HEADER = "资金支出计划（%）"


def _as_cell(value: Any) -> Any:
    """What a YAML value must read back as: amounts as numbers, text as the same text, blank as None."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _rows(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _workbooks(folder: Path) -> tuple[Any, Any, Any]:
    """(the checked data, the workbook with formulas, the workbook with cached values)."""
    document, checked = load_document(folder)
    assert document is not None, [d.format() for d in checked.errors]
    content = render_xlsx(document)
    return (checked, openpyxl.load_workbook(io.BytesIO(content)),
            openpyxl.load_workbook(io.BytesIO(content), data_only=True))


def _expected_indicator_rows(record: dict[str, Any], profile_levels: list[tuple[str, list[str]]],
                             empty_as_row: bool, blocks: list[str], code: str, name: Any,
                             keys: list[str]) -> list[list[Any]]:
    rows = []
    for source in blocks:
        block = record if source == "annual" else (record.get(source) or {})
        authored = block.get("indicators") or {}
        for level1, level2s in profile_levels:
            for level2 in level2s:
                if level2 not in (authored.get(level1) or {}):
                    continue
                indicators = authored[level1][level2] or []
                first = [code, name, "年度" if source == "annual" else "长期", level1, level2]
                if not indicators and empty_as_row:
                    rows.append(first + [None] * len(keys))
                rows += [first + [_as_cell(row.get(key)) for key in keys] for row in indicators]
    return rows


@pytest.mark.parametrize("name", FOLDERS)
def test_every_cell_of_the_workbook_equals_the_data(name):
    checked, book, values = _workbooks(FOLDERS[name])
    assert book.sheetnames == ["项目汇总", "绩效指标", "部门"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title  # header row frozen
        assert all(sheet.column_dimensions[letter].width >= 8 for letter in ("A", "B", "C")), sheet.title
    project_profile = checked.profile
    # A project's key: its code, or its file's name where its table has no code (column 文件名).
    keyed = sorted(({**p.data, "code": p.data["code"] if project_profile.uses_code else p.path.stem}
                    for p in checked.projects), key=lambda data: data["code"])
    projects = keyed
    department = checked.department.data
    record_fields = project_profile.record_fields
    key_header = "项目编码" if project_profile.uses_code or not projects else "文件名"

    # 项目汇总: one row per project in code order, then 合计 with formulas and their cached values.
    summary = _rows(book["项目汇总"])
    header = summary[0]
    assert header[:2] == [key_header, "项目名称"]
    shown = set(project_profile.header_fields())
    filled = {key for data in projects for key in data if key in record_fields}
    fields = [key for key in record_fields if key not in ("code", "name") and (key in shown or key in filled)]
    plan = [f"{PLAN_HEADER}{point}" for point in project_profile.checkpoints]
    sources = [block.source for block in project_profile.blocks]
    goals = [label for source, label in (("annual", "绩效目标"), ("long_term", "长期目标")) if source in sources]
    assert header == [key_header, "项目名称", *(record_fields[key].label for key in fields), *plan, *goals]
    assert len(summary) == len(projects) + 2
    for row, data in zip(summary[1:], projects, strict=False):
        expected = [data["code"], data["name"], *(_as_cell(data.get(key)) for key in fields)]
        expected += [_as_cell((data.get("spending_plan") or {}).get(point)) for point in project_profile.checkpoints]
        expected += [data.get("goal") if label == "绩效目标" else (data.get("long_term") or {}).get("goal")
                     for label in goals]
        assert row == expected, data["code"]
        for column, key in enumerate(fields, start=2):
            if record_fields[key].kind == "amount" and data.get(key) is not None:
                assert isinstance(row[column], int | float), (data["code"], key)  # numbers, not text
    totals, cached = summary[-1], _rows(values["项目汇总"])[-1]
    assert totals[0] == "合计"
    for column, key in enumerate(fields, start=2):
        if record_fields[key].kind != "amount":
            assert totals[column] is None and cached[column] is None
            continue
        total = sum((Decimal(str(data.get(key) or 0)) for data in projects), Decimal(0))
        letter = openpyxl.utils.get_column_letter(column + 1)
        if projects:
            assert totals[column] == f"=SUM({letter}2:{letter}{len(projects) + 1})"
        assert Decimal(str(cached[column])) == total, key  # the value viewers show without recalculating

    # 绩效指标: the department-wide table's rows first, then each project's, in document order.
    indicators = _rows(book["绩效指标"])
    keys = [LABEL_TO_INDICATOR_KEY[label] for label in indicators[0][5:]]
    assert indicators[0][:5] == [key_header, "项目名称", "目标块", "一级指标", "二级指标"]
    assert keys == [key for key in INDICATOR_FIELDS if key in keys]  # fields.py order
    expected_rows = []
    table = department.get("department_table")
    if table:
        table_profile = checked.table_profile
        expected_rows += _expected_indicator_rows(
            table, [(l1, list(l2)) for l1, l2 in table_profile.levels], table_profile.empty_level2 == "row",
            [b.source for b in table_profile.blocks], "部门整体", None, keys)
    for data in projects:
        expected_rows += _expected_indicator_rows(
            data, [(l1, list(l2)) for l1, l2 in project_profile.levels], project_profile.empty_level2 == "row",
            sources, data["code"], data["name"], keys)
    assert indicators[1:] == expected_rows
    if "weight" in keys:
        column = 5 + keys.index("weight")
        assert all(isinstance(row[column], int | float) for row in indicators[1:] if row[column] is not None)

    # 部门: every value of department.yaml under its YAML path.
    department_rows = _rows(book["部门"])
    assert department_rows[0] == ["键", "名称", "内容"]
    by_key = {row[0]: row[2] for row in department_rows[1:]}
    assert all(row[1] for row in department_rows[1:])  # every key has a Chinese caption
    expected = {"department": department["department"], "year": department["year"], "title": department["title"],
                "profile": project_profile.name}
    expected |= {f"overall_target[{i}]": text for i, text in enumerate(department.get("overall_target") or (), 1)}
    for i, item in enumerate(department.get("sub_targets") or (), 1):
        expected |= {f"sub_targets[{i}].{key}": item[key] for key in ("heading", "target", "indicators")}
    expected |= {f"measures[{i}]": text for i, text in enumerate(department.get("measures") or (), 1)}
    if table:
        expected["department_table.profile"] = checked.table_profile.name
        expected |= {f"department_table.{key}": _as_cell(value) for key, value in table.items()
                     if key not in ("profile", "indicators", "long_term")}
    assert by_key == expected
    assert isinstance(by_key["year"], int)


def test_text_stays_text_and_numbers_stay_numbers():
    """A name that looks like a formula and an 指标值 that looks like a number are text in Excel."""
    rows = {"产出指标": {"数量指标": [{"name": "辅警人数", "description": "人数", "value": "183", "basis": "协议"}]}}
    document = build_document(build_department(department_data(), DATA / "department.yaml"),
                              [make_project(name="=SUM(A1:A9)", budget="345.52", fiscal_funds="300", indicators=rows)],
                              profile())
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(document)))
    summary, indicators = book["项目汇总"], book["绩效指标"]
    assert (summary["B2"].value, summary["B2"].data_type) == ("=SUM(A1:A9)", "s")
    assert (summary["C2"].value, summary["C2"].data_type) == (345.52, "n")
    assert summary["C3"].value == "=SUM(C2:C2)" and summary["C3"].data_type == "f"
    value = indicators.cell(2, 8)
    assert (indicators.cell(1, 8).value, value.value, value.data_type) == ("指标值", "183", "s")


def test_each_amount_cell_shows_the_decimals_its_author_wrote():
    from perfdoc.data.text import value_text
    from perfdoc.render.summary import amount_total

    document = written_decimals_document()
    content = render_xlsx(document)
    book = openpyxl.load_workbook(io.BytesIO(content))
    summary = book["项目汇总"]
    assert (summary["C1"].value, summary["D1"].value) == ("预算数", "财政资金")
    shown = [(summary.cell(row, 3).value, summary.cell(row, 3).number_format) for row in range(2, 6)]
    assert shown == [(135, "#,##0.00"), (20.1, "#,##0.0"), (1174, "#,##0"), (0.5, "#,##0.00")]
    # The 合计 SUM shows the most decimals among its terms; its cached value is the total the PDF prints.
    total, cached = summary["C6"], openpyxl.load_workbook(io.BytesIO(content), data_only=True)["项目汇总"]["C6"].value
    assert (total.value, total.number_format) == ("=SUM(C2:C5)", "#,##0.00")
    printed = value_text(amount_total(document.projects, "budget"))
    assert printed == "1329.60" and f"{cached:,.2f}" == "1,329.60" and Decimal(str(cached)) == Decimal(printed)
    weight = book["绩效指标"]
    column = [c.value for c in weight[1]].index("权重") + 1
    assert (weight.cell(2, column).value, weight.cell(2, column).number_format) == (12.5, "0.00")
    plan = summary.cell(2, [c.value for c in summary[1]].index("资金支出计划（%）3月底") + 1)
    assert (plan.value, plan.number_format) == (25, "General")  # a whole number other than an amount: as before


def test_workbook_bytes_are_the_same_for_the_same_data():
    document, _ = load_document(DATA)
    first, second = render_xlsx(document), render_xlsx(document)
    assert first == second
    package = zipfile.ZipFile(io.BytesIO(first))
    assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    core = package.read("docProps/core.xml").decode("utf-8")
    assert core.count("2000-01-01T00:00:00Z") == 2  # created and modified: fixed, never the build time
    assert "<dc:title>唐山市公安局海港经济开发区分局2023年部门预算绩效目标</dc:title>" in core


@pytest.mark.slow  # the validator loads the OOXML schemas: ~0.6 s
def test_seed_workbook_opens_clean_in_excel(tmp_path):
    document, _ = load_document(DATA)
    path = tmp_path / f"{STEM}.xlsx"
    path.write_bytes(render_xlsx(document))
    assert_word_valid(path)  # openxml-audit -f office2019: 0 errors, "Microsoft Excel: expected to open cleanly"


def test_workbook_is_cached_and_its_key_follows_the_data(tmp_path):
    document, _ = load_document(DATA)
    cache = BuildCache(tmp_path / "cache")
    first = render_cached_xlsx(document, cache)
    entries = list((tmp_path / "cache").rglob("*.bin"))
    assert len(entries) == 1
    assert render_cached_xlsx(document, cache) == first
    changed = build_document(build_department(department_data(), DATA / "department.yaml"),
                             [make_project()], profile())
    assert render_cached_xlsx(changed, cache) != first
    assert len(list((tmp_path / "cache").rglob("*.bin"))) == 2


# ---------------------------------------------------------------------------------------------
# 项目汇总表 in the PDF/DOCX (department.yaml `summary_table: true`)


def _summary_document(**department: Any):
    projects = [make_project("142001001", budget="10"),
                make_project("142001002", name="第二个项目", budget="20.5", fiscal_funds="20", plan=(None, 40, None, 100))]
    return build_document(build_department(department_data(**department), DATA / "department.yaml"), projects,
                          profile())


def _summary_rows(layout) -> list[list[str]] | None:
    sections = [s for s in layout.sections if s.bookmark.startswith("项目汇总表")]
    if not sections:
        return None
    (table,) = [b for b in sections[-1].blocks if isinstance(b, Table)]
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_summary_table_is_printed_before_the_projects_when_asked():
    layout = read_layout(render_html(_summary_document(summary_table=True), fixed_fonts()))
    bookmarks = [s.bookmark for s in layout.sections]
    assert bookmarks.index("项目汇总表（2 个项目）") < bookmarks.index("142001001 测试项目")
    assert bookmarks.index("项目汇总表（2 个项目）") > 0  # after the department's text
    assert _summary_rows(layout) == [
        ["项目汇总表"],
        ["项目编码", "项目名称", "预算数（万元）", "财政资金（万元）", "资金支出计划（%）"],
        ["3月底", "6月底", "10月底", "12月底"],
        ["142001001", "测试项目", "10", "10", "25%", "50%", "75%", "100%"],
        ["142001002", "第二个项目", "20.5", "20", "", "40%", "", "100%"],
        ["合计", "30.5", "30", "", "", "", ""],
    ]


def test_no_summary_table_unless_asked():
    assert _summary_rows(read_layout(render_html(_summary_document(), fixed_fonts()))) is None
    document, _ = load_document(DATA)  # the seed document does not ask for one
    assert not document.has_summary


def test_summary_table_in_the_docx_is_a_word_table_with_the_same_cells():
    layout = read_layout(render_html(_summary_document(summary_table=True), fixed_fonts()))
    word = docx.Document(io.BytesIO(render_docx(layout, fixed_fonts())))
    first = word.tables[0]
    texts = [[cell.text for cell in row.cells] for row in first.rows]
    assert texts[0] == ["项目汇总表"] * 8  # one caption cell spanning the grid
    assert texts[-1][:4] == ["合计", "合计", "30.5", "30"]
    assert texts[3] == ["142001001", "测试项目", "10", "10", "25%", "50%", "75%", "100%"]


def test_summary_table_key_is_checked(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "hebei-2023" / "data", data)
    department = data / "department.yaml"
    original = department.read_text(encoding="utf-8")
    department.write_text(original + "summary_table: true\n", encoding="utf-8")
    checked = check_data(data)
    assert not checked.errors, [d.format() for d in checked.errors]
    department.write_text(original + "summary_table: 是\n", encoding="utf-8")
    errors = [d.format() for d in check_data(data).errors]
    assert len(errors) == 1 and "summary_table" in errors[0] and "department.yaml" in errors[0]


# ---------------------------------------------------------------------------------------------
# Full builds


@pytest.mark.slow
@pytest.mark.parametrize("name", FOLDERS)
def test_build_writes_the_workbook_beside_the_pdf_and_docx(name, tmp_path):
    folder = FOLDERS[name]
    document, _ = load_document(folder)
    stem = document.department.output_name
    built = []
    for attempt in ("first", "second"):
        out = tmp_path / attempt
        result = run_cli("build", "--data", str(folder), "--out", str(out), "--no-cache")
        assert result.returncode == 0, result.stderr
        assert {p.suffix for p in out.iterdir() if p.name.startswith(stem)} == {".html", ".pdf", ".docx", ".xlsx"}
        assert f"已生成 {out / stem}.xlsx" in result.stderr or f"{stem}.xlsx" in result.stderr
        built.append((out / f"{stem}.xlsx").read_bytes())
    assert built[0] == built[1] == render_xlsx(document)  # two builds, the same bytes
    assert_word_valid(tmp_path / "first" / f"{stem}.xlsx")


@pytest.mark.slow
def test_summary_table_builds_into_pdf_and_docx(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "hebei-2023" / "data", data)
    with (data / "department.yaml").open("a", encoding="utf-8") as handle:
        handle.write("summary_table: true\n")
    result = run_cli("build", "--data", str(data), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    (docx_path,) = (tmp_path / "out").glob("*.docx")
    assert_word_valid(docx_path)
    word = docx.Document(str(docx_path))
    assert [cell.text for cell in word.tables[0].rows[0].cells][0] == "项目汇总表"
    import pdfplumber

    (pdf_path,) = (tmp_path / "out").glob("*.pdf")
    with pdfplumber.open(pdf_path) as pdf:
        text = "".join(page.extract_text() or "" for page in pdf.pages)
    assert "项目汇总表" in text and "合计" in text


# ---------------------------------------------------------------------------------------------
# Text longer than one Excel cell holds (hostile testing #4)

EXCEL_LIMIT = 32_767


def _with_long_text(data: Path, text: str) -> None:
    """`text` as one indicator's description and as a paragraph of 三、保障措施."""
    project = data / "projects" / "142001001.yaml"
    project.write_text(project.read_text(encoding="utf-8").replace("description: 劳务派遣人员人数",
                                                                    f"description: {text}", 1), encoding="utf-8")
    department = data / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8").replace("measures:", f"measures:\n  - {text}", 1),
                          encoding="utf-8")


@pytest.mark.parametrize("text", ["长" * (EXCEL_LIMIT + 1), "𠀀" * (EXCEL_LIMIT // 2 + 1)],
                         ids=["CJK", "beyond-the-BMP-counts-twice"])
def test_check_refuses_text_longer_than_an_excel_cell_at_its_line(data_copy, text):
    """The XLSX used to cut such text with exit 0 (and import brought the cut text back)."""
    _with_long_text(data_copy, text)
    errors = [d.format() for d in check_data(data_copy).errors]
    assert len(errors) == 2, errors
    department, project = sorted(errors)
    assert "department.yaml:31:5: 错误: measures[0]: 文字有 32768 个字符" in department, department[:300]
    assert "142001001.yaml:18:22: 错误: indicators.产出指标.数量指标[0].description: 文字有 32768 个字符" in project
    for error in errors:
        assert f"超过 Excel 单元格的上限 {EXCEL_LIMIT} 个字符（cell limit）" in error and "不截断" in error


def test_text_of_exactly_one_excel_cell_passes_and_reads_back_whole(data_copy):
    text = "长" * (EXCEL_LIMIT - 1) + "。"
    _with_long_text(data_copy, text)
    document, checked = load_document(data_copy)
    assert document is not None, [d.format() for d in checked.errors]
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(document)))
    indicators = [row for row in _rows(workbook["绩效指标"]) if text in row]
    department = [row for row in _rows(workbook["部门"]) if text in row]
    assert len(indicators) == 1 and len(department) == 1


def test_the_workbook_writer_refuses_rather_than_cuts(data_copy):
    """A text over the limit that reached the writer (check bypassed) stops it: never a cut cell."""
    from perfdoc.render.xlsx import Column, Sheet, write_workbook

    with pytest.raises(ValueError, match="over Excel's cell limit"):
        write_workbook([Sheet("s", [Column("c", "long")], [["长" * (EXCEL_LIMIT + 1)]])], {})
