"""Rendering for real, fast: a golden HTML snapshot of the seed, and one small in-memory document
laid out by WeasyPrint and written by python-docx, read back cell by cell."""

from __future__ import annotations

import io

import docx
import pdfplumber
import pypdf
import pytest
from builders import indicator, layout_of, make_document, make_project, seed_document
from conftest import squash
from docx.oxml.ns import qn

from perfdoc.build.options import TEMPLATES_DIR


def test_seed_html_matches_the_golden_snapshot(golden):
    """Any change to the templates, the CSS or the model shows here as a reviewable diff.
    After an intended change: python3 -m pytest tests/test_render_fast.py --update-golden"""
    html, _ = layout_of(seed_document())
    golden("seed.html", html)


@pytest.fixture(scope="module")
def small_document():
    return make_document(
        make_project("142001001", name="甲项目", budget="12.5", fiscal_funds="10", plan=(None, 50, 80, 100),
                     indicators={"产出指标": {"数量指标": [indicator("人数", "派遣人数", "183人", "服务协议"),
                                                      indicator("次数", "培训次数", "≥4次", "计划")]},
                                 "满意度指标": {"服务对象满意度指标": [indicator("满意度", "群众满意度", "≥95%", "调查")]}}),
        make_project("142001002", name="乙项目", budget=3))




def test_small_document_pdf_tables_read_back(small_document, fonts):
    from perfdoc.build.cache import BuildCache
    from perfdoc.build.pdf import render_document_pdf
    from perfdoc.build.progress import QUIET
    from perfdoc.render.html import render_html

    html = render_html(small_document, fonts)
    pdf = render_document_pdf(small_document, fonts, html, TEMPLATES_DIR, BuildCache(None), QUIET).content
    assert pdf.startswith(b"%PDF") and len(pypdf.PdfReader(io.BytesIO(pdf)).pages) >= 3  # front, a page per project
    with pdfplumber.open(io.BytesIO(pdf)) as reader:
        rows = [[squash(c) for c in row if c] for page in reader.pages for t in page.extract_tables() for row in t]
    first = rows.index(["项目编码", "142001001", "预算项目名称", "甲项目"])
    assert rows[first + 1] == ["项目资金主要用途", squash("预算数 12.5 万元。其中：财政资金 10 万元。主要用于测试。")]
    assert rows[first + 3] == ["50%", "80%", "100%"]  # 3月底 left blank
    assert ["产出指标", "数量指标", "人数", "派遣人数", "183人", "服务协议"] in rows
    assert ["次数", "培训次数", "≥4次", "计划"] in rows  # under the merged 一级 and 二级 cells
    assert ["项目编码", "142001002", "预算项目名称", "乙项目"] in rows


def test_small_document_docx_has_native_merges(small_document, fonts):
    from perfdoc.render.docx import render_docx

    _, layout = layout_of(small_document, fonts)
    document = docx.Document(io.BytesIO(render_docx(layout, fonts)))
    grid = document.tables[1]._tbl
    merges = [[None if tc.tcPr.find(qn("w:vMerge")) is None else tc.tcPr.find(qn("w:vMerge")).get(qn("w:val"))
               for tc in tr.tc_lst[:2]] for tr in grid.tr_lst[1:]]
    assert merges == [["restart", "restart"], [None, None], [None, None]]  # second row continues both
    texts = [["".join(t.text or "" for t in tc.iter(qn("w:t"))) for tc in tr.tc_lst] for tr in grid.tr_lst]
    assert texts[2] == ["", "", "次数", "培训次数", "≥4次", "计划"]
    assert grid.tr_lst[0].trPr.find(qn("w:tblHeader")) is not None
