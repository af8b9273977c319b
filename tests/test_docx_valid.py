"""The DOCX is valid OOXML that Microsoft Word opens without "unreadable content / repair".

`assert_word_valid` asks openxml-audit (an independent validator of the ECMA-376 schemas plus
Word's observed repair rules); the child-order tests below catch the usual regression, an element
appended out of schema order, without it.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import docx
import pytest
from conftest import DATA, STEM
from docx.shared import Pt
from lxml import etree
from openxml_audit import AppPrediction, FileFormat, OpenXmlValidator, predict

from perfdoc.build.pipeline import load_document
from perfdoc.render.docx import render_docx
from perfdoc.render.fonts import FontSet, choose_fonts
from perfdoc.render.html import render_html
from perfdoc.render.readback import Layout, read_layout

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@functools.cache
def _validator() -> OpenXmlValidator:
    return OpenXmlValidator(file_format=FileFormat.OFFICE_2019, max_errors=0)


def assert_word_valid(path: Path) -> None:
    """Fail, listing every finding, unless openxml-audit finds no error and predicts a clean open in Word.

    The same check as `openxml-audit -f office2019 -m 0 PATH`, through its Python API.
    """
    result = _validator().validate(path)
    verdict = predict(result)
    findings = "\n".join(str(error) for error in result.errors)
    assert result.error_count == 0, f"{verdict.headline}\n{findings}"
    assert verdict.prediction is AppPrediction.OPENS_CLEAN, f"{verdict.headline}\n{findings}"


@pytest.fixture(scope="module")
def shipped_layout() -> tuple[Layout, FontSet]:
    """The shipped data rendered to a layout in memory, as the build does before the DOCX."""
    document, checked = load_document(DATA)
    assert document is not None, checked.errors
    fonts = choose_fonts(None)
    return read_layout(render_html(document, fonts)), fonts


@pytest.fixture(scope="module")
def shipped_docx(shipped_layout: tuple[Layout, FontSet]) -> bytes:
    layout, fonts = shipped_layout
    return render_docx(layout, fonts)


@pytest.mark.slow  # the whole seed document through openxml-audit (~1.5 s); the parts of it stay fast
def test_shipped_document_rendered_in_memory_is_word_valid(shipped_docx: bytes, tmp_path: Path) -> None:
    path = tmp_path / "shipped.docx"
    path.write_bytes(shipped_docx)
    assert_word_valid(path)


@pytest.mark.slow  # a whole layout or a running server: the slow layer
def test_document_on_a_python_docx_reference_is_word_valid(shipped_layout: tuple[Layout, FontSet],
                                                           tmp_path: Path) -> None:
    # python-docx's own output carries a stale stylesWithEffects part: the reference is not valid
    # itself, and its styles of the same names as ours must survive untouched.
    reference = docx.Document()
    body = reference.styles.add_style("正文", 1)
    body.font.size = Pt(12)
    body.font.bold = True
    body.paragraph_format.space_after = Pt(6)
    reference.styles.add_style("项目表格", 3)
    reference.save(str(tmp_path / "reference.docx"))
    layout, fonts = shipped_layout
    path = tmp_path / "on-reference.docx"
    path.write_bytes(render_docx(layout, fonts, tmp_path / "reference.docx"))
    assert_word_valid(path)
    assert docx.Document(str(path)).styles["正文"].font.size == Pt(12)


def test_assert_word_valid_reports_a_misplaced_element(tmp_path: Path) -> None:
    """The helper itself can fail: a minimal package whose w:snapToGrid follows w:spacing."""
    path = tmp_path / "misplaced.docx"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("[Content_Types].xml", MINIMAL_CONTENT_TYPES)
        package.writestr("_rels/.rels", MINIMAL_RELS)
        package.writestr("word/document.xml", MINIMAL_DOCUMENT.format(
            ppr='<w:spacing w:after="0"/><w:snapToGrid w:val="0"/>'))
    with pytest.raises(AssertionError, match="snapToGrid"):
        assert_word_valid(path)


MINIMAL_CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
MINIMAL_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>')
MINIMAL_DOCUMENT = (
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    '<w:p><w:pPr>{ppr}</w:pPr><w:r><w:t>正文</w:t></w:r></w:p></w:body></w:document>')


# Child order of the property elements perfdoc and python-docx's template write, copied from
# ECMA-376 Part 1 (wml.xsd) independently of perfdoc.render.docx.CHILD_ORDER.
SCHEMA_ORDER = {
    "pPr": ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "widowControl", "numPr", "pBdr", "tabs",
            "autoSpaceDE", "autoSpaceDN", "snapToGrid", "spacing", "ind", "contextualSpacing", "jc",
            "outlineLvl", "rPr"],
    "rPr": ["rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "color", "spacing", "kern", "sz", "szCs",
            "u", "lang"],
    "tblPr": ["tblStyle", "tblW", "jc", "tblInd", "tblBorders", "tblLayout", "tblCellMar", "tblLook"],
    "trPr": ["cantSplit", "tblHeader"],
    "tcPr": ["tcW", "gridSpan", "vMerge", "tcBorders", "vAlign"],
    "sectPr": ["footerReference", "pgSz", "pgMar", "cols", "titlePg", "docGrid"],
}
OURS = {"pPr": {"pStyle", "keepNext", "pageBreakBefore", "autoSpaceDE", "autoSpaceDN", "snapToGrid", "spacing",
                "ind", "jc", "outlineLvl"},
        "rPr": {"rFonts", "b", "bCs", "spacing", "sz", "szCs", "lang"}}


def _out_of_order(part: bytes) -> list[str]:
    """Every property element whose known children break the schema's order, as readable lines."""
    wrong = []
    for kind, order in SCHEMA_ORDER.items():
        for element in etree.fromstring(part).iter(f"{W}{kind}"):
            names = [etree.QName(child).localname for child in element]
            positions = [order.index(name) for name in names if name in order]
            if positions != sorted(positions):
                wrong.append(f"{kind}: {names}")
    return wrong


def test_properties_in_styles_and_body_follow_schema_order(shipped_docx: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(shipped_docx)) as package:
        for name in ("word/styles.xml", "word/document.xml", "word/footer1.xml", "word/footer2.xml"):
            assert _out_of_order(package.read(name)) == [], name
        styles = etree.fromstring(package.read("word/styles.xml"))
    body = next(style for style in styles.iter(f"{W}style") if style.get(f"{W}styleId") == "正文")
    for kind in ("pPr", "rPr"):
        names = [etree.QName(child).localname for child in body.find(f"{W}{kind}")]
        assert set(names) <= OURS[kind], names  # a new child needs its place in SCHEMA_ORDER first
    rpr = [etree.QName(child).localname for child in body.find(f"{W}rPr")]
    assert rpr.index("rFonts") < rpr.index("b") < rpr.index("sz") < rpr.index("lang")
    ppr = [etree.QName(child).localname for child in body.find(f"{W}pPr")]
    assert ppr.index("autoSpaceDE") < ppr.index("snapToGrid") < ppr.index("spacing") < ppr.index("jc")


def test_settings_order_and_no_stale_template_parts(shipped_docx: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(shipped_docx)) as package:
        names = set(package.namelist())
        content_types = package.read("[Content_Types].xml").decode("utf-8")
        rels = package.read("word/_rels/document.xml.rels").decode("utf-8") + package.read("_rels/.rels").decode()
        settings = [etree.QName(child).localname for child in etree.fromstring(package.read("word/settings.xml"))]
    assert "word/stylesWithEffects.xml" not in names and "stylesWithEffects" not in content_types + rels
    assert "docProps/thumbnail.jpeg" not in names and "thumbnail" not in rels
    # mirrorMargins belongs before proofState and defaultTabStop, not at the end.
    assert settings.index("mirrorMargins") < settings.index("proofState") < settings.index("evenAndOddHeaders")


@pytest.mark.slow
def test_shipped_build_is_word_valid(seed_build: Path) -> None:
    assert_word_valid(seed_build / f"{STEM}.docx")
