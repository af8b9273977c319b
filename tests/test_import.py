"""`import`: last year's Word and Excel files into a data folder (perfdoc.io).

The fast tests make their files in memory (python-docx for hand-made Word files, perfdoc's own
renderer for its DOCX, openpyxl for flat sheets), import them through the CLI entry point into a
temporary folder, load the result as `build` would and compare every table cell with the source.
The slow ones build for real: shipped data and every example → DOCX → import → build → the PDF
byte for byte; LibreOffice re-saves and .doc conversion where LibreOffice is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from builders import REPO, fixed_fonts, layout_of
from conftest import run_cli, target_outputs
from hypothesis import given, settings
from hypothesis import strategies as st
from import_corpus import hand_made_docx

from perfdoc.build.pipeline import load_document
from perfdoc.cli import main
from perfdoc.data.model import Document
from perfdoc.data.profile import Column
from perfdoc.io.recognise import split_joined
from perfdoc.io.sentence import parse_sentence
from perfdoc.io.source import clean_text
from perfdoc.render.docx import render_docx
from perfdoc.render.tables import department_table_tables, project_tables

# Examples whose table format is one of perfdoc's: importing into a new folder recognises it. (An example with a
# format of its own in its data folder, as chizhou-2022-evaluation, is imported with that folder's profiles: its
# self-evaluation's round trip is tested in test_stage_documents.)
EXAMPLES = sorted(p.name for p in (REPO / "examples").iterdir()
                  if (p / "data" / "department.yaml").is_file() and not (p / "data" / "profiles").is_dir())
# The fast layer imports four examples (two blocks with a joined 指标值 cell; the department-wide table;
# a header cell over three rows, a vertical label, lines above and below, no code; two blocks side by side);
# the others run with the slow tests (keeps `-m "not slow"` quick).
FAST_EXAMPLES = ("longterm-88", "department-2023", "anhui-2025", "medium-annual")
EXAMPLE_PARAMS = [pytest.param(e, marks=() if e in FAST_EXAMPLES else pytest.mark.slow) for e in EXAMPLES]
SLIP_CODE = "142001003"  # the seed's 特警伙食补助: "预算数 38 万元。其中：财政资金 38 元。"


def _load(data_dir: Path) -> Document:
    document, checked = load_document(data_dir)
    assert document is not None, [d.format() for d in checked.errors]
    return document


def _cells(document: Document) -> dict[str, list[list[str]]]:
    """Every table cell of every record, by record: what `build` prints."""
    records: dict[str, list[list[str]]] = {
        p.code: [[c.text for c in row.cells] for t in project_tables(p, document.profile) for row in t.rows]
        for p in document.projects}
    if document.department.table:
        records["部门整体"] = [[c.text for c in row.cells] for t in department_table_tables(document.department.table)
                           for row in t.rows]
    return records


def _text(document: Document) -> tuple[Any, ...]:
    d = document.department
    return (d.name, d.year, d.title, d.overall_target, d.sub_targets, d.measures, document.profile.name)


def _import(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["import", *args])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def seed() -> Document:
    return _load(REPO / "data")


@pytest.fixture(scope="module")
def seed_sources() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import yaml

    from perfdoc.data.validate import check_data

    checked = check_data(REPO / "data")
    department = yaml.safe_load((REPO / "data" / "department.yaml").read_text(encoding="utf-8"))
    return department, [p.data for p in checked.projects[:4]]


# -- hand-made Word files ------------------------------------------------------------------------


@pytest.mark.parametrize(("merged", "two_tables"), [
    pytest.param(True, True, id="merged-two-tables"), pytest.param(False, False, id="unmerged-one-table"),
    pytest.param(True, False, id="merged-one-table", marks=pytest.mark.slow),
    pytest.param(False, True, id="unmerged-two-tables", marks=pytest.mark.slow)])
def test_hand_made_word_imports_every_cell(tmp_path, capsys, seed, seed_sources, merged, two_tables):
    department, projects = seed_sources
    source = tmp_path / "去年.docx"
    source.write_bytes(hand_made_docx(department, projects, merged=merged, two_tables=two_tables, messy_text=True,
                                      slips=frozenset({SLIP_CODE})))
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    imported = _load(tmp_path / "data")
    expected = {k: v for k, v in _cells(seed).items() if k in {p["code"] for p in projects}}
    assert _cells(imported) == expected
    assert _text(imported) == _text(seed)
    assert "未导入" not in err, err


def test_unit_slip_is_reported_with_its_project_code_and_kept_as_a_comment(tmp_path, capsys, seed_sources):
    department, projects = seed_sources
    source = tmp_path / "slip.docx"
    source.write_bytes(hand_made_docx(department, projects, merged=True, two_tables=True, messy_text=False,
                                      slips=frozenset({SLIP_CODE, "142001001"})))
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    slips = [line for line in err.splitlines() if "单位笔误" in line]
    assert len(slips) == 2, err
    assert any(f"项目 {SLIP_CODE}:" in line and "slip.docx 第 5 张表" in line and "按 38 万元导入" in line for line in slips)
    assert any("项目 142001001:" in line and "按 1174 万元导入" in line for line in slips)
    written = (tmp_path / "data" / "projects" / f"{SLIP_CODE}.yaml").read_text(encoding="utf-8")
    assert "fiscal_funds: 38   # 财政资金写作“38 元”，按 38 万元导入" in written


def test_written_files_look_hand_written(tmp_path, capsys, seed_sources):
    department, projects = seed_sources
    source = tmp_path / "a.docx"
    source.write_bytes(hand_made_docx(department, projects[:1], merged=True, two_tables=True, messy_text=False))
    assert _import(capsys, str(source), "--data", str(tmp_path / "data"))[0] == 0
    text = (tmp_path / "data" / "projects" / "142001001.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../../schema.json"
    assert lines[2:6] == ['code: "142001001"', "name: 劳务派遣工资", "budget: 1174", "fiscal_funds: 1174"]
    assert '        value: "183"' in lines
    assert (tmp_path / "data" / "department.yaml").read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=../schema.json\n")
    assert (tmp_path / "schema.json").is_file()


# -- perfdoc's own DOCX, in memory ----------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLE_PARAMS)
def test_own_docx_imports_to_the_same_tables(tmp_path, capsys, example):
    original = _load(REPO / "examples" / example / "data")
    source = tmp_path / f"{example}.docx"
    source.write_bytes(render_docx(layout_of(original)[1], fixed_fonts()))
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    imported = _load(tmp_path / "data")
    assert _cells(imported) == _cells(original)
    assert _text(imported) == _text(original)
    assert "警告" not in err.split("导入后的检查")[0], err


# -- Excel: flat sheets ---------------------------------------------------------------------------


def test_flat_sheet_columns_are_found_by_name(tmp_path, capsys, seed, seed_sources):
    _, projects = seed_sources
    book = openpyxl.Workbook()
    sheet = book.active
    header = ["指标内容", "项目名称", "一级指标", "二级指标", "备用列", "项目编码", "指标值", "绩效标准", "绩效指标描述",
              "预算数（万元）", "财政资金", "资金用途", "年度目标",
              "资金支出计划（%）3月底", "资金支出计划（%）6月底", "资金支出计划（%）10月底", "资金支出计划（%）12月底"]
    sheet.append(header)
    for p in projects:
        plan = [None if v is None else float(v) for v in p["spending_plan"].values()]
        for level1, level2s in p["indicators"].items():
            for level2, rows in level2s.items():
                for row in rows:
                    sheet.append([row["name"], p["name"], level1, level2, None, p["code"], row["value"], row["basis"],
                                  row["description"], float(p["budget"]), float(p["fiscal_funds"]), p["use"], p["goal"], *plan])
    source = tmp_path / "预算系统导出.xlsx"
    book.save(source)
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "data" / "department.yaml", tmp_path / "data" / "department.yaml")
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "imported"))
    assert code == 0, err
    imported_projects = {p: (tmp_path / "imported" / "projects" / f"{p}.yaml").is_file() for p in (x["code"] for x in projects)}
    assert all(imported_projects.values())
    department = tmp_path / "imported" / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8").replace("department:", "department: 测试")
                          .replace("year:", "year: 2023").replace("title:", "title: 测试"), encoding="utf-8")
    expected = {k: v for k, v in _cells(seed).items() if k in imported_projects}
    assert _cells(_load(tmp_path / "imported")) == expected


def test_flat_sheet_conflicting_amounts_are_reported(tmp_path, capsys):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["项目编码", "项目名称", "一级指标", "二级指标", "三级指标", "指标值", "预算数"])
    sheet.append(["142001001", "甲", "产出指标", "数量指标", "人数", "3", 10])
    sheet.append(["142001001", "甲", "产出指标", "质量指标", "质量", "好", 12])
    source = tmp_path / "flat.xlsx"
    book.save(source)
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    assert "flat.xlsx 工作表“Sheet” 第 3 行 第 7 列: 警告: 项目 142001001: 预算数“12”与同一项目前面的行（“10”）不同，沿用前者" in err


# -- refusals -------------------------------------------------------------------------------------


def test_unknown_layout_is_refused_naming_file_table_and_labels(tmp_path, capsys):
    document = docx.Document()
    document.add_paragraph("某单位2024年工作计划")
    table = document.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells, ("序号", "工作内容", "完成时间"), strict=True):
        cell.text = text
    source = tmp_path / "计划.docx"
    document.save(source)
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 1
    assert "计划.docx 第 1 张表: 错误: 无法识别表格格式：表中的标签为 序号、工作内容、完成时间" in err
    assert not (tmp_path / "data").exists()


def test_importing_twice_without_force_refuses_and_changes_nothing(tmp_path, capsys, seed_sources):
    department, projects = seed_sources
    source = tmp_path / "a.docx"
    source.write_bytes(hand_made_docx(department, projects[:2], merged=True, two_tables=False, messy_text=False))
    data = tmp_path / "data"
    assert _import(capsys, str(source), "--data", str(data))[0] == 0
    (data / "projects" / "142001001.yaml").write_text("# edited by hand\n", encoding="utf-8")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()}
    code, err = _import(capsys, str(source), "--data", str(data))
    assert code == 1
    assert "数据文件已存在，未写入任何文件" in err and "--force" in err
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()} == before
    assert _import(capsys, str(source), "--data", str(data), "--force")[0] == 0
    assert (data / "projects" / "142001001.yaml").read_text(encoding="utf-8").startswith("# yaml-language-server")


def test_old_word_file_without_libreoffice_says_how_to_save_as_docx(tmp_path, capsys, monkeypatch):
    import perfdoc.io.convert as convert

    monkeypatch.setattr(convert, "soffice", lambda: None)
    source = tmp_path / "去年.doc"
    source.write_bytes(b"\xd0\xcf\x11\xe0 not really a doc")
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("错误: ") and "另存为” .docx" in err and "去年.doc" in err


def test_nothing_importable_exits_1(tmp_path, capsys):
    document = docx.Document()
    source = tmp_path / "空.docx"
    document.save(source)
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 1 and "没有导入任何内容" in err


# -- the pieces -----------------------------------------------------------------------------------


SENTENCE = "预算数 {budget} 万元。其中：财政资金 {fiscal_funds} 万元。{use}"


@pytest.mark.parametrize(("text", "values", "slips"), [
    ("预算数 38 万元。其中：财政资金 38 元。主要用于特警伙食补助。",
     {"budget": Decimal("38"), "fiscal_funds": Decimal("38"), "use": "主要用于特警伙食补助。"}, [("fiscal_funds", "元", "万元")]),
    ("预算数8万元。其中：财政资金 8万元。主要用于运维。", {"budget": Decimal("8"), "fiscal_funds": Decimal("8"), "use": "主要用于运维。"}, []),
    ("预算数 345.52 万元。 其中：财政资金 345.52 万元。", {"budget": Decimal("345.52"), "fiscal_funds": Decimal("345.52")}, []),
    ("预算数 1,174 万元。其中：财政资金 1174 万元。x", {"budget": Decimal("1174"), "fiscal_funds": Decimal("1174"), "use": "x"}, []),
])
def test_use_sentence_is_parsed_into_amounts_and_use(text, values, slips):
    parsed = parse_sentence(SENTENCE, text)
    assert parsed is not None and parsed.values == values and parsed.slips == slips


def test_a_sentence_in_another_form_is_not_guessed():
    assert parse_sentence(SENTENCE, "总预算 38 万元，全部为财政资金。") is None


@pytest.mark.parametrize(("text", "fields"), [
    ("≥95%", {"nature": "≥", "value": "95", "unit": "%"}), ("=100%", {"nature": "=", "value": "100", "unit": "%"}),
    ("≥21000人次", {"nature": "≥", "value": "21000", "unit": "人次"}), ("2000元/生·年", {"value": "2000", "unit": "元/生·年"}),
    ("每学期开学后2个月内", {"value": "每学期开学后2个月内"}), ("", {}),
])
def test_joined_value_cell_is_split_back(text, fields):
    assert split_joined(Column(("nature", "value", "unit"), "指标值"), text) == fields


@pytest.mark.parametrize(("raw", "clean"), [
    ("\u3000劳务派遣\u3000\n工资 ", "劳务派遣工资"), ("达 100%", "达 100%"), ("达\u3000100%", "达 100%"),
    ("项目\u3000\u3000编码", "项目编码"), ("DNA\nRNA", "DNA RNA"), (" \u00a0 ", ""),
])
def test_cell_text_is_cleaned_as_the_author_meant_it(raw, clean):
    assert clean_text(raw) == clean


# -- full builds ----------------------------------------------------------------------------------


def _round_trip(tmp_path: Path, data: Path, fonts: Path, kind: str) -> tuple[bytes, bytes] | None:
    first = tmp_path / "first"
    built = run_cli("build", "--data", str(data), "--out", str(first), "--fonts", str(fonts), "--no-cache")
    assert built.returncode == 0, built.stderr
    sources = target_outputs(first, kind)
    if not sources:
        return None
    imported = run_cli("import", str(sources[0]), "--data", str(tmp_path / "again" / "data"))
    assert imported.returncode == 0, imported.stderr
    second = tmp_path / "second"
    rebuilt = run_cli("build", "--data", str(tmp_path / "again" / "data"), "--out", str(second), "--fonts", str(fonts),
                      "--no-cache")
    assert rebuilt.returncode == 0, rebuilt.stderr
    pdf = target_outputs(first, "pdf")[0]
    return pdf.read_bytes(), (second / pdf.name).read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("data", ["data", *(f"examples/{e}/data" for e in EXAMPLES)])
def test_own_docx_round_trip_gives_a_byte_identical_pdf(tmp_path, pinned_fonts, data):
    result = _round_trip(tmp_path, REPO / data, pinned_fonts, "docx")
    assert result is not None
    assert result[0] == result[1]


@pytest.mark.slow
@pytest.mark.parametrize("data", ["data", *(f"examples/{e}/data" for e in EXAMPLES)])
def test_own_xlsx_round_trip_gives_a_byte_identical_pdf(tmp_path, pinned_fonts, data):
    result = _round_trip(tmp_path, REPO / data, pinned_fonts, "xlsx")
    if result is None:
        pytest.skip("build writes no .xlsx yet (the Excel export is not in this branch)")
    assert result[0] == result[1]


def _soffice() -> str:
    program = shutil.which("soffice")
    if program is None:
        pytest.skip("LibreOffice is not installed (bash setup.sh --test installs it)")
    return program


@pytest.mark.slow
@pytest.mark.parametrize("target", ["docx", "doc"])
def test_libreoffice_files_import_every_cell(tmp_path, capsys, seed, seed_sources, target):
    program = _soffice()
    department, projects = seed_sources
    made = tmp_path / "made" / "去年.docx"
    made.parent.mkdir()
    made.write_bytes(hand_made_docx(department, projects, merged=True, two_tables=True, messy_text=True))
    saved = tmp_path / "saved"
    subprocess.run([program, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless", "--convert-to",
                    target, "--outdir", str(saved), str(made)], check=True, capture_output=True, timeout=180)
    code, err = _import(capsys, str(saved / f"去年.{target}"), "--data", str(tmp_path / "data"))
    assert code == 0, err
    imported = _load(tmp_path / "data")
    assert _cells(imported) == {k: v for k, v in _cells(seed).items() if k in {p["code"] for p in projects}}
    assert _text(imported) == _text(seed)


# -- Excel: a workbook in perfdoc's export layout (/XLSX_SPEC: 项目汇总, 绩效指标, 部门) ----------------


def _spec_workbook(data_dir: Path, target: Path) -> None:
    """The three sheets as the exporter writes them, made here from the data files (labels from fields.py)."""
    import yaml

    from perfdoc.data.fields import INDICATOR_FIELDS
    from perfdoc.data.validate import check_data

    checked = check_data(data_dir)
    assert checked.profile is not None
    profile = checked.profile
    department = yaml.safe_load((data_dir / "department.yaml").read_text(encoding="utf-8"))
    # A project's key: its code, or its file's name where its table has no code (column 文件名).
    projects = sorted(({**p.data, "code": p.data["code"] if profile.uses_code else p.path.stem} for p in checked.projects),
                      key=lambda d: d["code"])
    key_header = "项目编码" if profile.uses_code else "文件名"
    fields = profile.record_fields
    book = openpyxl.Workbook()
    summary = book.active
    summary.title = "项目汇总"
    facts = [k for k in fields if k not in ("code", "name") and (k in profile.header_fields() or any(k in p for p in projects))]
    summary.append([key_header, "项目名称", *(fields[k].label for k in facts),
                    *(f"资金支出计划（%）{c}" for c in profile.checkpoints), "绩效目标",
                    *(["长期目标"] if any(b.source == "long_term" for b in profile.blocks) else [])])
    for p in projects:
        plan = p.get("spending_plan") or {}
        summary.append([p["code"], p["name"], *(float(p[k]) if isinstance(p.get(k), Decimal) else p.get(k) for k in facts),
                        *(None if plan.get(c) is None else float(plan[c]) for c in profile.checkpoints), p.get("goal"),
                        *([(p.get("long_term") or {}).get("goal")] if any(b.source == "long_term" for b in profile.blocks) else [])])
    rows = book.create_sheet("绩效指标")
    keys = list(INDICATOR_FIELDS)
    rows.append([key_header, "项目名称", "目标块", "一级指标", "二级指标", *(INDICATOR_FIELDS[k].label for k in keys)])

    def indicator_rows(code: str, name: str, block: str, indicators: dict[str, Any]) -> None:
        for level1, level2s in indicators.items():
            for level2, items in level2s.items():
                for item in items or [{}]:
                    rows.append([code, name, block, level1, level2,
                                 *(float(item[k]) if isinstance(item.get(k), Decimal) else item.get(k) for k in keys)])

    table = department.pop("department_table", None)
    if table:
        indicator_rows("部门整体", None, "年度", table.pop("indicators"))
    for p in projects:
        if p.get("long_term"):
            indicator_rows(p["code"], p["name"], "长期", p["long_term"].get("indicators") or {})
        indicator_rows(p["code"], p["name"], "年度", p.get("indicators") or {})
    sheet = book.create_sheet("部门")
    sheet.append(["键", "名称", "内容"])
    for key in ("department", "year", "title"):
        sheet.append([key, key, department[key]])
    sheet.append(["profile", "表格格式", profile.name])
    for i, text in enumerate(department.get("overall_target") or [], 1):
        sheet.append([f"overall_target[{i}]", "", text])
    for i, item in enumerate(department.get("sub_targets") or [], 1):
        for part in ("heading", "target", "indicators"):
            sheet.append([f"sub_targets[{i}].{part}", "", item[part]])
    for i, text in enumerate(department.get("measures") or [], 1):
        sheet.append([f"measures[{i}]", "", text])
    for key, value in (table or {}).items():
        sheet.append([f"department_table.{key}", "", value])
    book.save(target)


@pytest.mark.parametrize("example", EXAMPLE_PARAMS)
def test_workbook_in_the_export_layout_imports_exactly(tmp_path, capsys, example):
    data = REPO / "examples" / example / "data"
    source = tmp_path / f"{example}.xlsx"
    _spec_workbook(data, source)
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    original, imported = _load(data), _load(tmp_path / "data")
    assert _cells(imported) == _cells(original)
    assert _text(imported) == _text(original)


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(tmp_path, capsys):
    """A .docx whose parts unpack to 250 MB: one line, exit 1, in well under a second, nothing written."""
    import time
    import zipfile

    bomb = tmp_path / "去年.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        with package.open("word/document.xml", "w", force_zip64=True) as stream:
            for _ in range(250):
                stream.write(bytes(1 << 20))
    started = time.monotonic()
    assert main(["import", str(bomb), "--data", str(tmp_path / "data")]) == 1
    assert time.monotonic() - started < 2
    err = capsys.readouterr().err
    assert "要导入的文件" in err and "疑似 zip 炸弹" in err and "Traceback" not in err
    assert not (tmp_path / "data").exists()


# -- the importer's result (issue 17): returned, printed by commands --------------------------------


def test_the_importer_returns_what_it_did_and_prints_nothing(tmp_path, capsys, seed_sources):
    from perfdoc.diagnostics import Diagnostic
    from perfdoc.io.importer import import_files

    department, projects = seed_sources
    source = tmp_path / "slip.docx"
    source.write_bytes(hand_made_docx(department, projects[:3], merged=True, two_tables=True, messy_text=False,
                                      slips=frozenset({SLIP_CODE})))
    result = import_files([source], tmp_path / "data", None, False)
    assert capsys.readouterr() == ("", "")
    assert result.imported and result.refused is None and result.projects == 3
    assert result.written[0] == tmp_path / "data" / "department.yaml"
    assert {p.name for p in result.written[1:]} == {f"{p['code']}.yaml" for p in projects[:3]}
    assert result.schema == tmp_path / "schema.json" and result.schema_status == "written"
    slip = next(d for d in result.notes if "单位笔误" in d.message)
    assert isinstance(slip, Diagnostic) and slip.file.endswith("slip.docx 第 5 张表 第 2 行 第 2 列")
    assert slip.message.startswith(f"项目 {SLIP_CODE}: ")


# -- schema.json (issue 18 #5) --------------------------------------------------------------------------


def test_an_existing_schema_json_is_kept_without_force(tmp_path, capsys, seed_sources):
    department, projects = seed_sources
    source = tmp_path / "a.docx"
    source.write_bytes(hand_made_docx(department, projects[:1], merged=True, two_tables=False, messy_text=False))
    (tmp_path / "schema.json").write_text('{"title": "旁边另一个数据目录的"}', encoding="utf-8")
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    assert (tmp_path / "schema.json").read_text(encoding="utf-8") == '{"title": "旁边另一个数据目录的"}'
    assert "schema.json 已存在且内容不同，未覆盖" in err and "--force" in err
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"), "--force")
    assert code == 0, err
    assert '"$schema"' in (tmp_path / "schema.json").read_text(encoding="utf-8") and "另写入" in err


def test_data_dot_writes_schema_json_beside_the_folder_not_into_it(tmp_path, capsys, seed_sources, monkeypatch):
    department, projects = seed_sources
    source = tmp_path / "a.docx"
    source.write_bytes(hand_made_docx(department, projects[:1], merged=True, two_tables=False, messy_text=False))
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.chdir(data)
    code, err = _import(capsys, str(source), "--data", ".")
    assert code == 0, err
    assert sorted(p.name for p in data.iterdir()) == ["department.yaml", "projects"]
    assert (tmp_path / "schema.json").is_file()


# -- one YAML writer (issue 18 #9) ----------------------------------------------------------------------


def test_a_line_break_in_the_file_name_adds_no_key(tmp_path, capsys, seed_sources):
    from perfdoc.data.loader import load_yaml_file

    department, projects = seed_sources
    source = tmp_path / "去年\nsummary_table: true\noutput_name: 被改了\n.docx"
    source.write_bytes(hand_made_docx(department, projects[:1], merged=True, two_tables=False, messy_text=False))
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    written = load_yaml_file(tmp_path / "data" / "department.yaml")
    assert written.ok and set(written.data) == {"department", "year", "title", "overall_target", "sub_targets", "measures"}
    project = load_yaml_file(tmp_path / "data" / "projects" / f"{projects[0]['code']}.yaml")
    assert project.ok and "summary_table" not in project.data and "output_name" not in project.data
    assert "去年\\nsummary_table: true\\noutput_name: 被改了\\n.docx" in (tmp_path / "data" / "department.yaml").read_text(encoding="utf-8")


# -- hostile and damaged files (issue 18 #10–#16) ----------------------------------------------------


def _refused(capsys: pytest.CaptureFixture[str], source: Path, data: Path, *expected: str) -> str:
    code, err = _import(capsys, str(source), "--data", str(data))
    assert code == 1, err
    assert source.name in err and "内部错误" not in err and "Traceback" not in err
    assert all(text in err for text in expected), err
    assert not data.exists()
    return err


@pytest.mark.parametrize(("span", "expected"), [("²", "w:gridSpan=“²”不是数字"), ("٣", "不是数字"),
                                                ("7", "超出表格的 6 列（w:tblGrid）")])
def test_a_grid_span_that_is_no_number_or_leaves_the_grid_is_refused(tmp_path, capsys, span, expected):
    from import_corpus import docx_package, docx_table

    source = tmp_path / "跨列.docx"
    source.write_bytes(docx_package(docx_table([[("项目编码", ""), ("1", span)]], 6)))
    _refused(capsys, source, tmp_path / "data", expected, "第 1 张表第 1 行")


def _department_book(rows: list[list[str]]) -> bytes:
    from import_corpus import xlsx_package, xlsx_row

    head = [["键", "名称", "内容"], ["department", "", "某单位"], ["year", "", "2024"], ["title", "", "2024年部门预算绩效目标"]]
    return xlsx_package({"部门": "".join(xlsx_row(i, row) for i, row in enumerate([*head, *rows], 1))})


def test_a_huge_list_index_is_a_note_not_a_huge_file(tmp_path, capsys):
    source = tmp_path / "部门.xlsx"
    source.write_bytes(_department_book([["measures[1]", "", "第一条"], ["measures[200000]", "", "远处"],
                                         ["measures[0]", "", "零"], ["overall_target[1000]", "", "超出"]]))
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    assert "部门.xlsx 工作表“部门” 第 6 行 第 1 列: 警告: 键“measures[200000]”看不懂（序号 200000 超出 1–999" in err
    assert "键“measures[0]”看不懂" in err and "键“overall_target[1000]”看不懂" in err
    text = (tmp_path / "data" / "department.yaml").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 20 and "measures:\n  - 第一条\n" in text


ODD_KEYS = ["title.x.y", "measures.x.y", "measures[1].x", "sub_targets[1]", "year[1]", ".".join(["a"] * 3000), "[1]",
            "a..b", "sub_targets.x.heading"]


@pytest.mark.parametrize("key", ODD_KEYS, ids=[key if len(key) < 30 else "a.a.…(3000 parts)" for key in ODD_KEYS])
def test_odd_department_sheet_keys_are_notes(tmp_path, capsys, key):
    source = tmp_path / "部门.xlsx"
    source.write_bytes(_department_book([["measures[1]", "", "第一条"], [key, "", "x"]]))
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    assert f"部门.xlsx 工作表“部门” 第 6 行 第 1 列: 警告: 键“{key[:60]}" in err and "此行未导入" in err
    assert "内部错误" not in err


def test_only_unreadable_department_keys_import_nothing(tmp_path, capsys):
    from import_corpus import xlsx_package, xlsx_row

    source = tmp_path / "部门.xlsx"
    source.write_bytes(xlsx_package({"部门": xlsx_row(1, ["键", "名称", "内容"]) + xlsx_row(2, ["title.x.y", "", "x"])
                                     + xlsx_row(3, [".".join(["a"] * 3000), "", "x"])}))
    err = _refused(capsys, source, tmp_path / "data", "没有导入任何内容")
    assert err.count("看不懂") == 2


def test_cells_beyond_the_bounds_are_reported_not_read(tmp_path, capsys):
    from import_corpus import xlsx_package, xlsx_row

    from perfdoc.io.xlsx_reader import MAX_COLUMNS, MAX_ROWS

    source = tmp_path / "远处.xlsx"
    source.write_bytes(xlsx_package({"部门": "".join(xlsx_row(i, row) for i, row in enumerate(
        [["键", "名称", "内容"], ["department", "", "某单位"], ["year", "", "2024"], ["title", "", "标题"]], 1))
        + xlsx_row(5, ["x"], first_column=MAX_COLUMNS + 1) + xlsx_row(MAX_ROWS + 5, ["measures[1]", "", "远处"])}))
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    assert "远处.xlsx 工作表“部门”: 警告: 工作表超出读取上限（65536 行、256 列" in err
    assert "measures" not in (tmp_path / "data" / "department.yaml").read_text(encoding="utf-8")


_ENTITY = '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/hostname">]>'


def _damaged_books() -> dict[str, bytes]:
    import io
    import zipfile

    from import_corpus import xlsx_package, xlsx_row

    book = xlsx_package({"Sheet1": xlsx_row(1, ["项目编码", "一级指标", "二级指标"])})

    def rewrite(part: str, change: Any) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(book)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                data = old.read(info)
                new.writestr(info.filename, change(data) if info.filename == part else data)
        return out.getvalue()

    def flip_deflate(content: bytes) -> bytes:
        """One byte of the sheet's compressed data changed: the zip directory is intact, the part is not."""
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            info = package.getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        middle = start + info.compress_size // 2
        return content[:middle] + bytes([content[middle] ^ 0xFF]) + content[middle + 1:]

    def renamed(content: bytes, old: str, new: str) -> bytes:
        """Every part and every mention of `old` renamed `new`: a worksheet that is no .xml by name."""
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(content)) as package, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new_package:
            for info in package.infolist():
                new_package.writestr(info.filename.replace(old, new), package.read(info).replace(old.encode(), new.encode()))
        return out.getvalue()

    return {
        "entity-in-a-part-not-named-xml": renamed(
            xlsx_package({"Sheet1": xlsx_row(1, ["项目编码", "&secret;", "二级指标"])},
                         prolog={"xl/worksheets/sheet1.xml": _ENTITY}), "sheet1.xml", "sheet1.dat"),
        "truncated-part": rewrite("xl/worksheets/sheet1.xml", lambda data: data[: len(data) // 2]),
        "malformed-workbook": rewrite("xl/workbook.xml", lambda data: data.replace(b"<sheets>", b"<sheets><")),
        "bad-row-number": rewrite("xl/worksheets/sheet1.xml", lambda data: data.replace(b'r="1"', b'r="x"', 1)),
        "damaged-deflate": flip_deflate(book),
        "external-entity": xlsx_package({"Sheet1": xlsx_row(1, ["项目编码", "&secret;", "二级指标"])},
                                        prolog={"xl/worksheets/sheet1.xml": _ENTITY}),
        "entity-in-shared-strings": xlsx_package({"Sheet1": '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'},
                                                 shared_strings="<si><t>&secret;</t></si>",
                                                 prolog={"xl/sharedStrings.xml": _ENTITY}),
    }


@pytest.mark.parametrize("damage", ["truncated-part", "malformed-workbook", "bad-row-number", "damaged-deflate",
                                    "external-entity", "entity-in-shared-strings", "entity-in-a-part-not-named-xml"])
def test_a_damaged_or_hostile_workbook_is_refused_naming_the_file(tmp_path, capsys, damage):
    source = tmp_path / f"{damage}.xlsx"
    source.write_bytes(_damaged_books()[damage])
    err = _refused(capsys, source, tmp_path / "data", "不是可读的 Excel 工作簿（.xlsx）")
    if "entity" in damage:
        assert "DOCTYPE" in err


def test_a_word_file_with_a_doctype_is_refused_before_parsing(tmp_path, capsys):
    from import_corpus import docx_package, docx_table

    source = tmp_path / "实体.docx"
    source.write_bytes(docx_package(docx_table([[("项目编码", ""), ("&secret;", "")]], 2), prolog=_ENTITY))
    _refused(capsys, source, tmp_path / "data", "不是可读的 Word 文档（.docx）", "word/document.xml 含有 DOCTYPE")


def test_a_field_named_twice_in_a_sentence_imports(tmp_path, capsys):
    """A local profile (in the target's data/profiles/) whose 用途 sentence names {budget} twice."""
    import yaml

    profile_text = (REPO / "profiles" / "hebei-2023.yaml").read_text(encoding="utf-8").replace(
        "预算数 {budget} 万元。其中", "预算数 {budget} 万元（合计 {budget} 万元）。其中")
    assert "合计 {budget}" in profile_text
    source_data = tmp_path / "source" / "data"
    shutil.copytree(REPO / "examples" / "hebei-2023" / "data", source_data)
    for folder in (source_data, tmp_path / "data"):
        (folder / "profiles").mkdir(parents=True, exist_ok=True)
        (folder / "profiles" / "twice.yaml").write_text(profile_text, encoding="utf-8")
    department = yaml.safe_load((source_data / "department.yaml").read_text(encoding="utf-8"))
    (source_data / "department.yaml").write_text(
        (source_data / "department.yaml").read_text(encoding="utf-8") + ("\nprofile: twice\n" if "profile" not in department else ""),
        encoding="utf-8")
    original = _load(source_data)
    assert original.profile.name == "twice"
    source = tmp_path / "twice.docx"
    source.write_bytes(render_docx(layout_of(original)[1], fixed_fonts()))
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"), "--profile", "twice")
    assert code == 0, err
    assert _cells(_load(tmp_path / "data")) == _cells(original)
    assert "不符合" not in err


def test_a_field_named_twice_must_read_the_same_both_times():
    template = "预算数 {budget} 万元（合计 {budget} 万元）。{use}"
    parsed = parse_sentence(template, "预算数 38 万元（合计 38 元）。运维")
    assert parsed is not None and parsed.values == {"budget": Decimal("38"), "use": "运维"}
    assert parsed.slips == [("budget", "元", "万元")]
    assert parse_sentence(template, "预算数 38 万元（合计 40 万元）。运维") is None


# -- --force leaves projects/ exactly the imported set (issue 19, noticed earlier) -------------------


def test_force_removes_project_files_of_an_earlier_import(tmp_path, capsys, seed_sources):
    department, projects = seed_sources
    first, second = tmp_path / "first.docx", tmp_path / "second.docx"
    first.write_bytes(hand_made_docx(department, projects[:3], merged=True, two_tables=False, messy_text=False))
    second.write_bytes(hand_made_docx(department, projects[2:4], merged=True, two_tables=False, messy_text=False))
    data = tmp_path / "data"
    assert _import(capsys, str(first), "--data", str(data))[0] == 0
    (data / "projects" / "手写.yml").write_text("code: x\n", encoding="utf-8")
    (data / "projects" / "说明.txt").write_text("不是项目文件", encoding="utf-8")
    code, err = _import(capsys, str(second), "--data", str(data), "--force")
    assert code == 0, err
    assert sorted(p.name for p in (data / "projects").iterdir()) == sorted(
        [f"{p['code']}.yaml" for p in projects[2:4]] + ["说明.txt"])
    removed = next(line for line in err.splitlines() if line.startswith("已删除本次没有导入的"))
    assert "3 个旧项目文件" in removed and all(f"{p['code']}.yaml" in removed for p in projects[:2]) and "手写.yml" in removed


def test_stale_project_files_alone_refuse_an_import_without_force(tmp_path, capsys, seed_sources):
    department, projects = seed_sources
    source = tmp_path / "a.docx"
    source.write_bytes(hand_made_docx(department, projects[:1], merged=True, two_tables=False, messy_text=False))
    (tmp_path / "data" / "projects").mkdir(parents=True)
    (tmp_path / "data" / "projects" / "142009999.yaml").write_text("code: x\n", encoding="utf-8")
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 1 and "数据文件已存在，未写入任何文件" in err and "142009999.yaml" in err
    assert sorted(p.name for p in (tmp_path / "data").rglob("*")) == ["142009999.yaml", "projects"]


def test_a_failed_write_with_force_removes_nothing(tmp_path, capsys, seed_sources, monkeypatch):
    import perfdoc.build.output as output
    from perfdoc.diagnostics import UserError, unlocated

    department, projects = seed_sources
    first, second = tmp_path / "first.docx", tmp_path / "second.docx"
    first.write_bytes(hand_made_docx(department, projects[:2], merged=True, two_tables=False, messy_text=False))
    second.write_bytes(hand_made_docx(department, projects[2:3], merged=True, two_tables=False, messy_text=False))
    data = tmp_path / "data"
    assert _import(capsys, str(first), "--data", str(data))[0] == 0
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def full_disk(outputs: Any, data_dir: Any = None) -> None:
        raise UserError(unlocated("写入失败（No space left on device）"))

    monkeypatch.setattr(output, "write_all_or_nothing", full_disk)
    code, err = _import(capsys, str(second), "--data", str(data), "--force")
    assert code == 1 and "No space left on device" in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


# -- the bombs, in a child limited to 1 GB of address space ------------------------------------------------


def _bombs() -> dict[str, bytes]:
    from import_corpus import docx_package, docx_table, xlsx_package, xlsx_row

    laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>"
    return {
        "span-4000000000.docx": docx_package(docx_table([[("项目编码", ""), ("1", "4000000000")]], 6)),
        "span-superscript.docx": docx_package(docx_table([[("项目编码", ""), ("1", "²")]], 6)),
        "far-cell.xlsx": xlsx_package({"Sheet1": '<dimension ref="A1:XFD1048576"/>'
                                       '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'}),
        "huge-index.xlsx": xlsx_package({"部门": xlsx_row(1, ["键", "名称", "内容"])
                                         + xlsx_row(2, ["measures[100000000]", "", "x"])}),
        "billion-laughs.xlsx": xlsx_package({"Sheet1": xlsx_row(1, ["项目编码", "&lol9;", "二级指标"])},
                                            prolog={"xl/worksheets/sheet1.xml": laughs}),
        "billion-laughs.docx": docx_package(docx_table([[("项目编码", ""), ("&lol9;", "")]], 2), prolog=laughs),
    }


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.slow
@pytest.mark.parametrize("bomb", ["span-4000000000.docx", "span-superscript.docx", "far-cell.xlsx", "huge-index.xlsx",
                                  "billion-laughs.xlsx", "billion-laughs.docx"])
def test_an_import_bomb_costs_little_and_is_refused(tmp_path, bomb):
    import sys
    import time

    source = tmp_path / bomb
    source.write_bytes(_bombs()[bomb])
    assert source.stat().st_size < 10_000
    started = time.monotonic()
    run = subprocess.run([sys.executable, str(REPO / "build.py"), "import", str(source), "--data", str(tmp_path / "data")],
                         capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory, stdin=subprocess.DEVNULL)
    assert time.monotonic() - started < 10, run.stderr
    assert run.returncode == 1, run.stderr
    assert bomb in run.stderr and "内部错误" not in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "data").exists()


@settings(max_examples=60, deadline=None)  # small: it runs in the quick loop
@given(st.lists(st.tuples(st.text(alphabet="ab.[]0123456789", max_size=24) | st.sampled_from(ODD_KEYS[:5]),
                          st.text(max_size=3)), max_size=8))
def test_any_department_sheet_keys_give_values_or_notes_never_a_crash(rows):
    from perfdoc.data.schema import MAX_LIST_ITEMS
    from perfdoc.io.xlsx_reader import XlsxResult, _department_sheet, _Sheet

    result = XlsxResult()
    data, _profile = _department_sheet(_Sheet("部门", ["键", "名称", "内容"], [(i, [k, None, v]) for i, (k, v) in enumerate(rows, 2)]),
                                       "x.xlsx", result)
    lists = [value for value in data.values() if isinstance(value, list)]
    assert all(len(value) <= MAX_LIST_ITEMS for value in lists)
    assert len(result.notes) <= len(rows)


def test_amounts_come_back_from_the_workbook_with_the_decimals_written(tmp_path, capsys):
    """135.00, 20.1, 1174 and 0.50 (and a weight 12.50) come back exactly so: the cells' display formats say how
    many decimals were written; before, 135.00 came back as 135 and the rebuilt PDF differed."""
    from builders import WRITTEN_AMOUNTS, written_decimals_document

    from perfdoc.io.xlsx_reader import read_xlsx
    from perfdoc.render.xlsx import render_xlsx

    original = written_decimals_document()
    content = render_xlsx(original)
    result = read_xlsx(content, "导出.xlsx", None, [original.profile])
    read = {record.key: record.data for record in result.records}
    assert {code: (str(data["budget"]), str(data["fiscal_funds"])) for code, data in read.items()} == {
        code: (amount, amount) for code, amount in WRITTEN_AMOUNTS.items()}
    assert {str(data["indicators"]["产出指标"]["数量指标"][0]["weight"]) for data in read.values()} == {"12.50"}
    source = tmp_path / "导出.xlsx"
    source.write_bytes(content)
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    assert "\nbudget: 135.00" in (tmp_path / "data" / "projects" / "142001001.yaml").read_text(encoding="utf-8")
    assert _cells(_load(tmp_path / "data")) == _cells(original)  # what build prints: the same cells


@pytest.mark.parametrize(("stored", "number_format", "read"), [
    (135, "#,##0.00", "135.00"), (135.0, "0.00", "135.00"), (20.1, "#,##0.0", "20.1"), (20.1, "0.00", "20.10"),
    (1174, "#,##0", "1174"), (0.5, "#,##0.00", "0.50"), (0.5, "0", "0.5"), (7, "0.0000", "7.0000"),
    (135, "General", "135"), (20.1, None, "20.1"),  # no decimals said: as stored
    (0.5, "0.00%", "0.5"), (12.5, "#,##0.00_ ", "12.5"), (3, "0.00;[Red]-0.00", "3"),  # other shapes: as stored
    (3.456, "0.00", "3.456"),  # more decimals than shown: all kept, never rounded
    (1e30, "0.00", "1000000000000000019884624838656"),  # beyond Decimal's 28 digits: as stored
])
def test_a_number_cell_reads_as_written_with_the_decimals_its_plain_format_shows(stored, number_format, read):
    from perfdoc.data.text import amount_text
    from perfdoc.io.xlsx_reader import written_number

    assert amount_text(written_number(stored, number_format)) == read


def test_a_number_whose_style_the_workbook_lacks_reads_as_stored(tmp_path, capsys):
    from import_corpus import xlsx_package, xlsx_row

    from perfdoc.io.xlsx_reader import XlsxResult, _sheets

    content = xlsx_package({"Sheet1": xlsx_row(1, ["项目编码", "一级指标", "二级指标"])
                            + '<row r="2"><c r="A2" s="99"><v>135</v></c><c r="B2" s="99"><v>0.5</v></c></row>'})
    [sheet] = _sheets(content, "x.xlsx", XlsxResult())
    assert sheet.rows == [(2, [Decimal("135"), Decimal("0.5")])]


def test_summary_table_comes_back_from_the_workbook_as_true(tmp_path, capsys):
    """The export writes summary_table as a TRUE cell; import used to write it back as the text "True"."""
    from perfdoc.render.xlsx import render_xlsx

    data = tmp_path / "source"
    shutil.copytree(REPO / "examples" / "hebei-2023" / "data", data)
    (data / "department.yaml").write_text((data / "department.yaml").read_text(encoding="utf-8") + "summary_table: true\n",
                                          encoding="utf-8")
    original = _load(data)
    assert original.department.summary_table
    source = tmp_path / "导出.xlsx"
    source.write_bytes(render_xlsx(original))
    code, err = _import(capsys, str(source), "--data", str(tmp_path / "data"))
    assert code == 0, err
    assert _load(tmp_path / "data").department.summary_table is True
    assert "\nsummary_table: true\n" in (tmp_path / "data" / "department.yaml").read_text(encoding="utf-8")
