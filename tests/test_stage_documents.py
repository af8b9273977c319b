"""The monitoring and self-evaluation documents: their layouts (profiles with table: evaluation |
monitoring), the grids, the workbook's formulas, the import of a filled 自评表, and whole builds of
the examples read back from the PDF, the DOCX and the XLSX.

The fast tests build records in memory (tests/builders.py); builds, read-backs and the import
round trip are slow.
"""

from __future__ import annotations

import io
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from builders import REPO, fixed_fonts, make_department, make_evaluation, make_monitoring, stage_project
from conftest import run_cli, run_cli_in_process, squash

from perfdoc.data.fields import COMPUTED_VALUES, STAGE_TABLE_FIELDS
from perfdoc.data.profile import load_profile, profile_path
from perfdoc.data.profile_schema import reference_markdown
from perfdoc.data.stage_document import stage_document
from perfdoc.diagnostics import UserError
from perfdoc.io.stage_import import placed, read_word
from perfdoc.render.docx import render_docx
from perfdoc.render.html import render_html
from perfdoc.render.readback import read_layout
from perfdoc.render.stage_tables import TICK, column_text, indicator_values, points_text, record_values, stage_tables
from perfdoc.render.stage_xlsx import INDICATOR_SHEET, SUMMARY_SHEETS, stage_sheets
from perfdoc.render.xlsx import Formula

NATIONAL_EVALUATION = load_profile(profile_path("national-evaluation"))
NATIONAL_MONITORING = load_profile(profile_path("national-monitoring"))
SICHUAN = load_profile(profile_path("sichuan-evaluation"))

FILLED = {
    "initial_budget": 10, "annual_budget": 10, "executed": Decimal("8.5"), "execution_reason": "尾款次年支付",
    "goal_achieved": "基本完成年度目标",
    **{f"{source}_{amount}": 5 for source in ("fiscal", "carryover", "other")
       for amount in ("initial_budget", "annual_budget", "executed")},
    "indicators": {
        "产出指标": {"数量指标": {"辅警人数": {"actual": "180人", "deviation": "两人离职，已补招"}},
                 "质量指标": {"验收合格率": {"actual": "98%"}},
                 "时效指标": {"响应时间": {"actual": "4天", "deviation": "系统升级期间人工受理"}},
                 "成本指标": {"运行成本": {"actual": "37.24"}}},
        "效果指标": {"社会效益指标": {"治安环境": {"actual": "部分达成：案件数下降不明显", "deviation": "加强巡逻"}}},
        "满意度指标": {"服务对象满意度指标": {"满意度": {"actual": "92%", "score": 8, "score_reason": "样本不足"}}},
    },
}

MONITORED = {
    "initial_budget": 10, "executed_to_date": Decimal("5.8"), "forecast": 10, "progress": "按计划推进",
    "indicators": {
        "产出指标": {"数量指标": {"辅警人数": {"done": "150人", "expected": "180人", "causes": ["人员保障", "其他"],
                                     "deviation": "两人离职", "likelihood": "有可能", "remark": "已补招"}},
                 "质量指标": {"验收合格率": {"done": "96%", "expected": "96%", "likelihood": "确定能"}}},
    },
}


def _cells(tables) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for table in tables for row in table.rows]


def _evaluation():
    evaluation, findings = make_evaluation(FILLED)
    assert not [f for f in findings if f.severity.name == "ERROR"], findings
    return evaluation


# ---------------------------------------------------------------------------------------------
# The grids (fast)


def test_the_national_self_evaluation_prints_every_value_and_a_total_of_the_printed_scores():
    evaluation = _evaluation()
    rows = _cells(stage_tables(NATIONAL_EVALUATION, evaluation, 2023))
    assert ["年度资金总额", "10", "10", "8.5", "10.00", "85.00%", "8.50"] in rows
    assert ["其中：当年财政拨款", "5", "5", "5", "—", "100.00%", "—"] in rows
    shown = [(i.key[2], i.actual, points_text(i.weight, NATIONAL_EVALUATION, 2), points_text(i.points, NATIONAL_EVALUATION, 2))
             for i in evaluation.indicators]
    for name, actual, weight, score in shown:
        assert any(row[-6:-2] == [name, row[-5], actual, weight] and row[-2] == score or
                   row[-5:-1] == [actual, weight, score, row[-1]] for row in rows if name in row), name
    total_row = next(row for row in rows if row[0] == "总分")
    printed = [Decimal(score) for *_, score in shown] + [Decimal("8.50")]
    assert total_row[1:3] == ["100.00", "87.18"] and Decimal(total_row[2]) == sum(printed)
    assert ["年度总体目标", "预期目标", "实际完成情况"] in rows and [evaluation.goal, "基本完成年度目标"] in rows


def test_every_value_a_layout_may_name_is_filled_in_from_the_record():
    evaluation = _evaluation()
    values = record_values(evaluation, NATIONAL_EVALUATION)
    assert set(values) == set(STAGE_TABLE_FIELDS["evaluation"][0])
    own = [key for key in values if key in COMPUTED_VALUES or key in FILLED]
    assert [key for key in own if not values[key]] == []
    monitoring, _ = make_monitoring(MONITORED)
    values = record_values(monitoring, NATIONAL_MONITORING)
    assert values["rate_to_date"] == "58.00%" and values["forecast_rate"] == "100.00%" and values["monitoring_period"] == "1—7月"
    columns = indicator_values(monitoring.indicators[0], NATIONAL_MONITORING, 2)
    assert set(columns) == set(STAGE_TABLE_FIELDS["monitoring"][1]) and columns["causes"] == "人员保障、其他"


def test_the_reference_lists_every_value_a_stage_layout_may_print():
    reference = reference_markdown()
    for table, (values, columns) in STAGE_TABLE_FIELDS.items():
        for key in [*values, *columns]:
            assert f"| `{key}` |" in reference, (table, key)
    assert "（算出）" in reference


def test_the_monitoring_table_ticks_each_cause_and_likelihood_under_its_group():
    monitoring, _ = make_monitoring(MONITORED)
    tables = stage_tables(NATIONAL_MONITORING, monitoring, 2023)
    head = [[c.text for c in row.cells] for row in tables[1].head]
    assert [(c.text, c.colspan) for c in tables[1].head[0].cells if c.text in ("偏差原因分析", "完成目标可能性")] == \
        [("偏差原因分析", 5), ("完成目标可能性", 3)]
    assert head[1] == ["经费保障", "制度保障", "人员保障", "硬件条件保障", "其他", "确定能", "有可能", "完全不可能"]
    first = monitoring.indicators[0]
    values = indicator_values(first, NATIONAL_MONITORING, 2)
    ticks = [column.mark for column in NATIONAL_MONITORING.columns if column.mark and column_text(column, values, first) == TICK]
    assert ticks == ["人员保障", "其他", "有可能"]
    rows = _cells(tables)
    assert any(row[-3:] == [TICK, "", "两人离职；已补招"] for row in rows)  # 备注: the reason, then the remark


def test_a_layout_prints_level_captions_with_points_and_trimmed_numbers():
    layout = load_profile(REPO / "examples" / "chizhou-2022-evaluation" / "data" / "profiles" / "tangxi-evaluation.yaml")
    rows = _cells(stage_tables(layout, _evaluation(), 2022))
    assert any("产出指标(50分)" in row for row in rows) and any("效果指标(30分)" in row for row in rows)
    assert ["年度资金总额:", "10", "10", "8.5", "10", "85.00%", "8.5"] in rows
    assert next(row for row in rows if row[0] == "总分")[1:3] == ["100", "87.18"]


@pytest.mark.parametrize(("change", "message"), [
    ("  - {field: causes, mark: 没钱, label: x}\n", "“没钱”不是 causes 的可选值"),
    ("  - {field: actual, label: x}\n", "未知的指标字段“actual”"),
    ("  - {field: causes, label: x, group: 偏差原因分析}\n", "同一组（group “偏差原因分析”）的列要挨在一起"),
])
def test_a_stage_layout_mistake_is_named_at_its_line(tmp_path, change, message):
    source = (REPO / "profiles" / "national-monitoring.yaml").read_text(encoding="utf-8")
    source = source.replace("  - fields: [deviation, remark]\n    label: 备注\n", change)
    source = source.replace("grid: [6.5, 9, 10, 17, 13, 12, 12, 7.2, 7.2, 7.2, 7.2, 7.2, 8, 8, 8, 16.5]",
                            "grid: [6.5, 9, 10, 17, 13, 12, 12, 7.2, 7.2, 7.2, 7.2, 7.2, 8, 8, 8, 16.5]")
    (tmp_path / "profiles").mkdir()
    path = tmp_path / "profiles" / "mine.yaml"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(UserError) as raised:
        load_profile(path)
    assert message in raised.value.text and "mine.yaml:" in raised.value.text


def test_a_targets_profile_cannot_name_a_stage_layout_of_the_other_kind(tmp_path):
    shutil.copytree(REPO / "examples" / "core-2021" / "data", tmp_path / "data")
    profile = tmp_path / "data" / "profiles" / "core-2021.yaml"
    profile.parent.mkdir()
    profile.write_text("base: core-2021\nevaluation_profile: national-monitoring\n", encoding="utf-8")
    (tmp_path / "data" / "department.yaml").write_text(
        (tmp_path / "data" / "department.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli_in_process("check", "--data", str(tmp_path / "data"))
    assert result.returncode == 1
    assert "national-monitoring" in result.stderr and "table: evaluation" in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------------
# The workbook's formulas (fast): each formula, worked out, gives its cached value


def _excel(formula: str, row: list, letters: dict[str, int]) -> Decimal:
    """A small evaluator for the formulas the workbook writes (ROUND, ROUNDDOWN, MIN, IF, OR, SUM over
    cells of the same row): references become the row's numbers."""
    def cell(match: re.Match[str]) -> str:
        value = row[letters[match.group(1)]]
        value = value.value if isinstance(value, Formula) else value
        return f"Decimal('{value}')"

    def excel_round(value: Decimal, places: int) -> Decimal:
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)

    python = re.sub(r"\b([A-Z])(\d+)\b", cell, formula[1:]).replace("<>", "!=")
    python = re.sub(r"(?<![<>!=])=(?!=)", "==", python)
    python = re.sub(r"(?<![\w'.])(\d+(?:\.\d+)?)(?![\w'.])", r"Decimal('\1')", python)
    return eval(python, {"Decimal": Decimal, "ROUND": excel_round, "MIN": min, "SUM": lambda *v: sum(v),
                         "IF": lambda c, a, b: a if c else b, "OR": lambda *v: any(v)})


def test_every_score_in_the_workbook_is_a_formula_whose_cached_value_is_the_printed_score():
    evaluation = _evaluation()
    document = stage_document("evaluation", make_department(), NATIONAL_EVALUATION, [evaluation], True)
    summary, indicators = stage_sheets(document)
    assert (summary.name, indicators.name) == (SUMMARY_SHEETS["evaluation"], INDICATOR_SHEET)
    letters = {chr(ord("A") + i): i for i in range(26)}
    header = [column.header for column in indicators.columns]
    scored = 0
    for row, indicator in zip(indicators.rows, evaluation.indicators, strict=True):
        score = row[header.index("得分")]
        if indicator.override is not None:
            assert score == 8 and row[header.index("评分理由")] == "样本不足"  # a plain number, its reason beside it
            continue
        assert isinstance(score, Formula) and Decimal(str(score.value)) == indicator.points
        # IF(...) is evaluated eagerly here, so a reverse indicator's division is safe (no zero actuals)
        assert _excel(score.text, row, letters) == indicator.points, score.text
        scored += 1
    assert scored == 5
    top = summary.rows[0]
    heads = [column.header for column in summary.columns]
    assert top[heads.index("执行率（%）")].text == "=IF(D2>0,ROUND(E2/D2*100,2),0)" and top[heads.index("执行率（%）")].value == 85
    assert _excel(top[heads.index("预算执行得分")].text, top, letters) == Decimal("8.50")
    assert top[heads.index("总分")].text == "=SUM(H2,J2)" and Decimal(str(top[heads.index("总分")].value)) == Decimal("87.18")


# ---------------------------------------------------------------------------------------------
# Import of a filled 自评表 (fast: the DOCX is rendered in memory)


def test_a_rendered_self_evaluation_reads_back_value_for_value():
    evaluation = _evaluation()
    document = stage_document("evaluation", make_department(), NATIONAL_EVALUATION, [evaluation], True)
    fonts = fixed_fonts()
    content = render_docx(read_layout(render_html(document, fonts)), fonts)
    [found] = read_word(content, "自评表.docx", NATIONAL_EVALUATION, 2024)
    assert found.values["name"] == evaluation.project.name and found.values["executed"] == "8.5"
    assert found.values["fiscal_annual_budget"] == "5" and found.values["goal_achieved"] == "基本完成年度目标"
    assert found.values["total"] == "87.18"
    for indicator in evaluation.indicators:
        read = found.indicators[indicator.key]
        assert (read["actual"], read["weight"], read["score"], read["deviation"]) == (
            indicator.actual, points_text(indicator.weight, NATIONAL_EVALUATION, 2),
            points_text(indicator.points, NATIONAL_EVALUATION, 2), indicator.deviation)


def test_the_self_evaluation_workbook_gives_back_amounts_with_the_decimals_written():
    """executed: 8.50 and a fund of 5.00 come back as written from the 自评得分汇总 sheet (they used to
    come back as 8.5 and 5): each amount cell shows its written decimals and import reads them."""
    from perfdoc.io.stage_import import read_workbook
    from perfdoc.render.stage_xlsx import render_stage_xlsx

    written = {**FILLED, "annual_budget": Decimal("10.0"), "executed": Decimal("8.50"),
               "fiscal_executed": Decimal("5.00")}
    evaluation, _ = make_evaluation(written)
    content = render_stage_xlsx(stage_document("evaluation", make_department(), NATIONAL_EVALUATION, [evaluation], True))
    [found] = read_workbook(content, "自评表.xlsx")
    assert (found.values["initial_budget"], found.values["annual_budget"], found.values["executed"]) == ("10", "10.0", "8.50")
    assert (found.values["fiscal_executed"], found.values["other_executed"]) == ("5.00", "5")
    summary = openpyxl.load_workbook(io.BytesIO(content))[SUMMARY_SHEETS["evaluation"]]
    assert [summary.cell(2, column).number_format for column in (3, 4, 5)] == ["#,##0", "#,##0.0", "#,##0.00"]
    assert {Decimal(read["score"]) for read in found.indicators.values()} == {i.points for i in evaluation.indicators}


def test_the_monitoring_totals_show_the_most_decimals_among_their_terms():
    first, _ = make_monitoring({**MONITORED, "executed_to_date": Decimal("5.80")})
    second, _ = make_monitoring(MONITORED, stage_project(code="142001002"))
    summary, _ = stage_sheets(stage_document("monitoring", make_department(), NATIONAL_MONITORING, [first, second], True))
    totals = summary.rows[-1]
    assert totals[0] == "合计" and [(cell.value, cell.places) for cell in totals[2:4]] == [(20, 0), (11.6, 2)]
    assert totals[3].text == "=SUM(D2:D3)"


# ---------------------------------------------------------------------------------------------
# Whole builds of the examples, read back (slow)

STAGE_EXAMPLES = ["hebei-2023-evaluation", "chizhou-2022-evaluation", "core-2021"]


def _stage_file(out: Path, ending: str, suffix: str) -> Path:
    [path] = [p for p in out.glob(f"*.{suffix}") if p.stem.endswith(ending)]
    return path


def _evaluations(data: Path):
    from perfdoc.build.pipeline import load_document, stage_documents

    document, checked = load_document(data)
    assert document is not None, checked.errors
    return {stage.stage: stage for stage in stage_documents(document, checked)}


def _pdf_rows(path: Path) -> list[list[str]]:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return [[squash(c) for c in row if squash(c)] for page in pdf.pages for t in page.extract_tables() for row in t]


def _docx_rows(path: Path) -> list[list[str]]:
    from test_formats import docx_rows

    return docx_rows(path)


def _contains(row: list[str], part: list[str]) -> bool:
    return any(row[i:i + len(part)] == part for i in range(len(row) - len(part) + 1))


def _check_rows(rows: list[list[str]], document, what: str) -> None:
    """Every indicator's printed cells up to its score in one row; each 总分 the sum of its table's printed scores."""
    layout = document.profile
    decimals = 2
    footer_label = layout.footer[0][0].content
    footers = [row for row in rows if row and row[0] == footer_label]
    assert len(footers) == len(document.records), what
    for record, footer in zip(document.records, footers, strict=True):
        decimals = record.rules.decimals
        printed = []
        for indicator in record.indicators:
            values = indicator_values(indicator, layout, decimals)
            cells = []
            for column in layout.columns:
                cells.append(squash(column_text(column, values, indicator)))
                if column.fields == ("score",):
                    break
            cells = [c for c in cells if c]
            assert any(_contains(row, cells) for row in rows), f"{what}: {record.code} {cells}"
            if indicator.deviation:
                assert any(squash(indicator.deviation) in row for row in rows), f"{what}: {indicator.deviation}"
            printed.append(Decimal(points_text(indicator.points, layout, decimals)))
        values = record_values(record, layout)
        execution = Decimal(values["execution_score"])
        shown = [values[cell.content] for row in layout.header if isinstance(row, tuple) for cell in row
                 if cell.kind == "field" and cell.content in ("execution_weight", "execution_rate", "execution_score")]
        assert len(shown) == 3 and any(_contains(row, shown) for row in rows), (what, shown)
        total = Decimal(footer[-1])
        assert footer[-1] == values["total"] and total == execution + sum(printed), (what, record.code, footer)


@pytest.mark.slow
@pytest.mark.parametrize("example", STAGE_EXAMPLES)
def test_each_example_builds_its_self_evaluation_and_every_score_reads_back(tmp_path, pinned_fonts, example):
    from test_docx_valid import assert_word_valid

    data = REPO / "examples" / example / "data"
    out = tmp_path / "out"
    built = run_cli("build", "--data", str(data), "--out", str(out), "--fonts", str(pinned_fonts), "--no-cache")
    assert built.returncode == 0, built.stderr
    documents = _evaluations(data)
    evaluation = documents["evaluation"]
    pdf, docx_file, xlsx = (_stage_file(out, "自评表", suffix) for suffix in ("pdf", "docx", "xlsx"))
    assert pdf.stem == f"{evaluation.department.name}{evaluation.title}"
    _check_rows(_pdf_rows(pdf), evaluation, "PDF")
    _check_rows(_docx_rows(docx_file), evaluation, "DOCX")
    # The workbook: formulas, whose cached values are the printed numbers.
    values = openpyxl.load_workbook(xlsx, data_only=True)
    formulas = openpyxl.load_workbook(xlsx)
    sheet, formula_sheet = values[INDICATOR_SHEET], formulas[INDICATOR_SHEET]
    header = [c.value for c in sheet[1]]
    by_key = {(str(r[0]), r[2], r[3], r[4]): (r, f) for r, f in zip(sheet.iter_rows(min_row=2, values_only=True),
                                                                   formula_sheet.iter_rows(min_row=2, values_only=True),
                                                                   strict=True)}
    for record in evaluation.records:
        for indicator in record.indicators:
            row, formula_row = by_key[(record.code, *indicator.key)]
            score = row[header.index("得分")]
            assert Decimal(str(score)) == indicator.points, (record.code, indicator.key)
            written = formula_row[header.index("得分")]
            assert isinstance(written, str) and written.startswith("=") or indicator.override is not None
    summary = values[SUMMARY_SHEETS["evaluation"]]
    heads = [c.value for c in summary[1]]
    for record, row in zip(evaluation.records, summary.iter_rows(min_row=2, values_only=True), strict=False):
        printed = record_values(record, evaluation.profile)
        assert Decimal(str(row[heads.index("总分")])) == Decimal(printed["total"])
        assert Decimal(str(row[heads.index("执行率（%）")])) == Decimal(printed["execution_rate"].rstrip("%"))
    assert formulas[SUMMARY_SHEETS["evaluation"]].cell(2, heads.index("总分") + 1).value.startswith("=SUM(")
    for path in out.glob("*.docx"):
        if path.stem.endswith(("自评表", "监控表")):
            assert_word_valid(path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["docx", "xlsx"])  # the workbook keeps amounts' written decimals (executed: 135.00)
@pytest.mark.parametrize("example", STAGE_EXAMPLES)
def test_build_import_build_gives_the_same_self_evaluation_pdf(tmp_path, pinned_fonts, example, kind):
    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / example / "data", data)
    first = tmp_path / "first"
    built = run_cli("build", "--data", str(data), "--out", str(first), "--fonts", str(pinned_fonts), "--no-cache")
    assert built.returncode == 0, built.stderr
    shutil.rmtree(data / "evaluation")
    (data / "evaluation").mkdir()
    imported = run_cli("import", "--stage", "自评", str(_stage_file(first, "自评表", kind)), "--data", str(data))
    assert imported.returncode == 0, imported.stderr
    second = tmp_path / "second"
    rebuilt = run_cli("build", "--data", str(data), "--out", str(second), "--fonts", str(pinned_fonts), "--no-cache")
    assert rebuilt.returncode == 0, rebuilt.stderr
    pdf = _stage_file(first, "自评表", "pdf")
    assert pdf.read_bytes() == (second / pdf.name).read_bytes()
    if example == "hebei-2023-evaluation":
        # A grader's score survives as score: with a reason: the Word table's is that it was imported as printed,
        # the workbook's is the grader's own (its 评分理由 column); an amount keeps its written decimals.
        graded = (data / "evaluation" / "142001008.yaml").read_text(encoding="utf-8")
        assert "score: 10" in graded
        assert ("按原表导入" if kind == "docx" else "score_reason: 9 月报警调度系统中断 4 小时，评审酌情扣 2.5 分") in graded
        assert "\nexecuted: 20.10\n" in (data / "evaluation" / "142001007.yaml").read_text(encoding="utf-8")


def test_the_footer_cells_are_placed_where_the_layout_puts_them():
    [[(label_at, label), (weight_at, weight), (total_at, total), *_]] = placed(NATIONAL_EVALUATION.footer)
    assert (label_at, label.content, weight_at, weight.content, total_at, total.content) == (0, "总分", 6, "weight_total", 7, "total")


def test_the_summaries_list_every_project_with_its_score_or_its_execution():
    from perfdoc.render.stage_tables import stage_summary

    evaluation = _evaluation()
    rows = _cells(stage_summary(stage_document("evaluation", make_department(), NATIONAL_EVALUATION, [evaluation],
                                               True)).tables)
    assert rows[1] == ["项目编码", "项目名称", "执行率", "预算执行得分", "指标得分", "总分"]
    assert rows[2] == [evaluation.code, evaluation.project.name, "85.00%", "8.50", "78.68", "87.18"]
    first, _ = make_monitoring(MONITORED)
    second, _ = make_monitoring(MONITORED, stage_project(code="142001002"))
    rows = _cells(stage_summary(stage_document("monitoring", make_department(), NATIONAL_MONITORING, [second, first],
                                               True)).tables)
    assert [row[0] for row in rows[2:4]] == ["142001001", "142001002"]  # in code order
    assert rows[-1] == ["合计", "20", "11.6", "", "20", ""]
