"""The DOCX, written for real by python-docx and read back through python-docx and its XML."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile

import docx
import pytest
from conftest import STEM, run_cli, squash
from docx.oxml.ns import qn
from test_pdf import page_tables

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def document(seed_build):
    return docx.Document(str(seed_build / f"{STEM}.docx"))


def _grid_text(table) -> list[list[str | None]]:
    """Rows as the grid shows them: text where a cell starts, None where a merge covers it."""
    rows = []
    for tr in table._tbl.tr_lst:
        row: list[str | None] = []
        for tc in tr.tc_lst:
            vmerge = tc.tcPr.find(qn("w:vMerge")) if tc.tcPr is not None else None
            continued = vmerge is not None and vmerge.get(qn("w:val")) in (None, "continue")
            text = "".join(t.text or "" for t in tc.iter(qn("w:t")))
            row.append(None if continued else squash(text))
            row += [None] * (tc.grid_span - 1)
        rows.append(row)
    return rows


def _project_tables(document) -> dict[str, list[list[str | None]]]:
    tables = document.tables
    assert len(tables) % 2 == 0
    found = {}
    for info, grid in zip(tables[0::2], tables[1::2], strict=True):
        rows = _grid_text(info) + _grid_text(grid)
        found[rows[0][1]] = rows
    return found


def test_docx_and_pdf_tables_have_identical_cells(document, seed_build):
    docx_tables = _project_tables(document)
    pdf_tables = page_tables(seed_build / f"{STEM}.pdf")
    assert len(docx_tables) == 18
    assert list(docx_tables) == list(pdf_tables)
    for code, rows in docx_tables.items():
        # pdfplumber cannot tell an empty cell from none: compare blanks as blanks.
        assert [[c or None for c in r] for r in rows] == [[c or None for c in r] for r in pdf_tables[code]], code


def test_merges_are_word_native(document):
    for grid in document.tables[1::2]:
        trs = grid._tbl.tr_lst
        first_column = [tr.tc_lst[0].tcPr.find(qn("w:vMerge")) for tr in trs[1:]]
        values = [None if m is None else m.get(qn("w:val")) for m in first_column]
        # 一级: 产出 restarts and 3 continue, 效果 restarts and 3 continue, 满意度 one row
        assert values == ["restart", None, None, None, "restart", None, None, None, None], values
        for tr in trs:
            for tc in tr.tc_lst:
                merge = tc.tcPr.find(qn("w:vMerge"))
                if merge is not None and merge.get(qn("w:val")) is None:
                    paragraphs = tc.findall(qn("w:p"))
                    assert len(paragraphs) == 1 and not list(paragraphs[0].iter(qn("w:t")))
        spans = [tc.grid_span for tc in trs[0].tc_lst]
        assert spans == [1, 1, 1, 2, 1, 1]  # 绩效指标描述 spans two grid columns


def test_header_repeats_and_rows_never_split(document):
    for index, table in enumerate(document.tables):
        trs = table._tbl.tr_lst
        for r, tr in enumerate(trs):
            trpr = tr.trPr
            assert trpr is not None and trpr.find(qn("w:cantSplit")) is not None
            is_header = trpr.find(qn("w:tblHeader")) is not None
            assert is_header == (index % 2 == 1 and r == 0), (index, r)


def test_fixed_widths_on_grid_and_every_cell(document):
    for table in document.tables:
        tbl = table._tbl
        assert tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        grid = [int(c.get(qn("w:w"))) for c in tbl.tblGrid.findall(qn("w:gridCol"))]
        assert abs(sum(grid) - 156 * 1440 / 25.4) < 10
        for tr in tbl.tr_lst:
            col = 0
            for tc in tr.tc_lst:
                width = tc.tcPr.find(qn("w:tcW"))
                assert width.get(qn("w:type")) == "dxa"
                assert int(width.get(qn("w:w"))) == sum(grid[col:col + tc.grid_span])
                col += tc.grid_span
            assert col == len(grid)


def _style_has_east_asian_font(style) -> bool:
    while style is not None:
        rpr = style.element.rPr
        fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
        if fonts is not None and fonts.get(qn("w:eastAsia")):
            return True
        style = style.base_style
    return False


def test_chinese_text_always_has_an_east_asian_font_and_zh_cn(document, seed_build):
    paragraphs = list(document.paragraphs)
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                paragraphs += cell.paragraphs
    for section in document.sections:
        paragraphs += section.footer.paragraphs + section.even_page_footer.paragraphs
    checked = 0
    for paragraph in paragraphs:
        for run in paragraph.runs:
            if CJK.search(run.text) or "—" in run.text:
                direct = run._r.rPr is not None and run._r.rPr.find(qn("w:rFonts")) is not None
                assert direct or _style_has_east_asian_font(paragraph.style), (paragraph.style.name, run.text)
                checked += 1
    assert checked > 500
    with zipfile.ZipFile(seed_build / f"{STEM}.docx") as package:
        styles = package.read("word/styles.xml").decode("utf-8")
    assert 'w:eastAsia="zh-CN"' in styles and "ja-JP" not in styles


def test_styles_are_named_for_what_they_are(document):
    names = {s.name for s in document.styles}
    assert {"文件标题", "一级标题", "二级标题", "正文", "表格标签", "表格文字", "表格长文字", "页码", "项目表格"} <= names
    used = {p.style.name for p in document.paragraphs if p.text}
    assert {"文件标题", "一级标题", "二级标题", "正文"} <= used
    assert all(t.style.name == "项目表格" for t in document.tables)
    assert document.styles["一级标题"].element.pPr.find(qn("w:outlineLvl")) is not None


def test_footers_hold_page_fields_odd_right_even_left(document):
    assert document.settings.odd_and_even_pages_header_footer
    section = document.sections[0]
    for footer, align in ((section.footer, "right"), (section.even_page_footer, "left")):
        xml = footer._element.xml
        assert "PAGE" in xml and 'w:fldCharType="begin"' in xml
        paragraph = footer.paragraphs[0]
        assert paragraph.text.startswith("— ") and paragraph.text.endswith(" —")
        assert paragraph.alignment is not None and paragraph.alignment.name.lower() == align


def test_page_setup_a4_gbt9704(document):
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(x.mm) for x in (section.top_margin, section.bottom_margin, section.left_margin,
                                  section.right_margin)] == [37, 35, 28, 26]


def test_reference_docx_styles_win(tmp_path, seed_build):
    reference = docx.Document()
    style = reference.styles.add_style("正文", 1)
    style.font.size = docx.shared.Pt(12)
    reference.save(str(tmp_path / "reference.docx"))
    out = tmp_path / "out"
    result = run_cli("build", "--out", str(out), "--reference-docx", str(tmp_path / "reference.docx"))
    assert result.returncode == 0, result.stderr
    built = docx.Document(str(out / f"{STEM}.docx"))
    assert built.styles["正文"].font.size == docx.shared.Pt(12)
    assert built.styles["一级标题"].font.size == docx.shared.Pt(16)


def test_bad_reference_docx_is_a_clear_error(tmp_path):
    (tmp_path / "bad.docx").write_text("not a zip")
    result = run_cli("build", "--out", str(tmp_path / "out"), "--reference-docx", str(tmp_path / "bad.docx"))
    assert result.returncode == 1 and "参考文档" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (libreoffice-writer-nogui) not installed")
def test_libreoffice_lays_it_out_like_the_pdf(seed_build, tmp_path):
    shutil.copy(seed_build / f"{STEM}.docx", tmp_path / "doc.docx")
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(tmp_path / "doc.docx")],
                   check=True, capture_output=True, timeout=180, stdin=subprocess.DEVNULL)
    ours = page_tables(seed_build / f"{STEM}.pdf")
    theirs = page_tables(tmp_path / "doc.pdf")
    assert list(theirs) == list(ours)
    for code in ours:
        assert [[c or None for c in r] for r in theirs[code]] == [[c or None for c in r] for r in ours[code]], code
