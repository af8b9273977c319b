"""Stage 4c — the DOCX: the same layout as the PDF, as a Word document a person can keep editing.

Input is the Layout read back from the rendered HTML (perfdoc.render.readback), so the DOCX says exactly
what the PDF says. What Word needs beyond that is decided here, once:

- styles named for what they are (文件标题, 一级标题, 二级标题, 正文, 表格标签, 表格文字,
  表格长文字, 页码, and the table style 项目表格); a reference .docx can supply its own;
- East Asian fonts through `w:rFonts w:eastAsia` and `w:lang w:eastAsia="zh-CN"` (python-docx's
  `font.name` sets only the Latin slots, and its template says ja-JP);
- tables written as WordprocessingML: `w:gridSpan`, `w:vMerge` restart/continue with nothing in
  the continued cells, `w:tblHeader` on the indicator header, `w:cantSplit` on every row, fixed
  widths on the grid and every cell, so Word, WPS and LibreOffice agree;
- footers with a PAGE field, `— N —`, odd pages right and even pages left;
- fixed zip times and core-property dates, so the same input gives the same bytes;
- every property element at its schema position (CHILD_ORDER) and no stale parts of python-docx's
  template (stylesWithEffects, thumbnail), so Word opens the file without "unreadable content".
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from docx import Document as open_docx
from docx.document import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph as WordParagraph
from lxml import etree

from perfdoc.diagnostics import UserError, display_path, unlocated
from perfdoc.looks import BODY_LINE_PT, CELL_LOOKS, PAGE, PAGE_NUMBER_LOOK, PARAGRAPH_LOOKS, TABLE, TextLook
from perfdoc.render.fonts import FontChoice, FontSet
from perfdoc.render.readback import Cell, Layout, Paragraph, Row, Table

TWIPS_PER_MM = 1440 / 25.4
FIXED_TIME = datetime(2000, 1, 1, tzinfo=UTC)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Word 2010's copy of styles.xml in python-docx's template: it goes stale as soon as styles.xml
# changes, and Word then reports unreadable content. Word rebuilds it when it needs one.
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
# Theme-font attributes of w:rFonts: where present, Word takes them over the named fonts.
THEME_FONT_ATTRIBUTES = ("asciiTheme", "eastAsiaTheme", "hAnsiTheme", "cstheme")

TABLE_STYLE = "项目表格"
SPACER_STYLE = "表格间隔"
ALIGNMENT = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}


def _twips(mm: float) -> int:
    return round(mm * TWIPS_PER_MM)


# Child order of every element this module writes into, after the WordprocessingML schema
# (ECMA-376 Part 1, wml.xsd; python-docx's CT_* classes use the same sequences). Word rejects a
# child out of this order as unreadable content, so nothing is ever appended blindly.
CHILD_ORDER: dict[str, tuple[str, ...]] = {
    "w:styles": ("w:docDefaults", "w:latentStyles", "w:style"),
    "w:docDefaults": ("w:rPrDefault", "w:pPrDefault"),
    "w:rPrDefault": ("w:rPr",),
    "w:style": (
        "w:name", "w:aliases", "w:basedOn", "w:next", "w:link", "w:autoRedefine", "w:hidden",
        "w:uiPriority", "w:semiHidden", "w:unhideWhenUsed", "w:qFormat", "w:locked", "w:personal",
        "w:personalCompose", "w:personalReply", "w:rsid", "w:pPr", "w:rPr", "w:tblPr", "w:trPr",
        "w:tcPr", "w:tblStylePr",
    ),
    "w:pPr": (
        "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl",
        "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
        "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE",
        "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
        "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection",
        "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr",
        "w:sectPr", "w:pPrChange",
    ),
    "w:rPr": (
        "w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike",
        "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid",
        "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz",
        "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign",
        "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath",
        "w:rPrChange",
    ),
    "w:tblPr": (
        "w:tblStyle", "w:tblpPr", "w:tblOverlap", "w:bidiVisual", "w:tblStyleRowBandSize",
        "w:tblStyleColBandSize", "w:tblW", "w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders",
        "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription",
        "w:tblPrChange",
    ),
    "w:tblBorders": ("w:top", "w:left", "w:bottom", "w:right", "w:insideH", "w:insideV"),
    "w:tblCellMar": ("w:top", "w:left", "w:bottom", "w:right"),
    "w:trPr": (
        "w:cnfStyle", "w:divId", "w:gridBefore", "w:gridAfter", "w:wBefore", "w:wAfter",
        "w:cantSplit", "w:trHeight", "w:tblHeader", "w:tblCellSpacing", "w:jc", "w:hidden",
        "w:ins", "w:del", "w:trPrChange",
    ),
    "w:tcPr": (
        "w:cnfStyle", "w:tcW", "w:gridSpan", "w:hMerge", "w:vMerge", "w:tcBorders", "w:shd",
        "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark",
        "w:headers", "w:cellIns", "w:cellDel", "w:cellMerge", "w:tcPrChange",
    ),
    "w:tcBorders": ("w:top", "w:left", "w:bottom", "w:right", "w:insideH", "w:insideV", "w:tl2br",
                    "w:tr2bl"),
    "w:sectPr": (
        "w:headerReference", "w:footerReference", "w:footnotePr", "w:endnotePr", "w:type",
        "w:pgSz", "w:pgMar", "w:paperSrc", "w:pgBorders", "w:lnNumType", "w:pgNumType", "w:cols",
        "w:formProt", "w:vAlign", "w:noEndnote", "w:titlePg", "w:textDirection", "w:bidi",
        "w:rtlGutter", "w:docGrid", "w:printerSettings", "w:sectPrChange",
    ),
    "w:settings": (
        "w:writeProtection", "w:view", "w:zoom", "w:removePersonalInformation",
        "w:removeDateAndTime", "w:doNotDisplayPageBoundaries", "w:displayBackgroundShape",
        "w:printPostScriptOverText", "w:printFractionalCharacterWidth", "w:printFormsData",
        "w:embedTrueTypeFonts", "w:embedSystemFonts", "w:saveSubsetFonts", "w:saveFormsData",
        "w:mirrorMargins", "w:alignBordersAndEdges", "w:bordersDoNotSurroundHeader",
        "w:bordersDoNotSurroundFooter", "w:gutterAtTop", "w:hideSpellingErrors",
        "w:hideGrammaticalErrors", "w:activeWritingStyle", "w:proofState", "w:formsDesign",
        "w:attachedTemplate", "w:linkStyles", "w:stylePaneFormatFilter", "w:stylePaneSortMethod",
        "w:documentType", "w:mailMerge", "w:revisionView", "w:trackRevisions", "w:doNotTrackMoves",
        "w:doNotTrackFormatting", "w:documentProtection", "w:autoFormatOverride",
        "w:styleLockTheme", "w:styleLockQFSet", "w:defaultTabStop", "w:autoHyphenation",
        "w:consecutiveHyphenLimit", "w:hyphenationZone", "w:doNotHyphenateCaps", "w:showEnvelope",
        "w:summaryLength", "w:clickAndTypeStyle", "w:defaultTableStyle", "w:evenAndOddHeaders",
        "w:bookFoldRevPrinting", "w:bookFoldPrinting", "w:bookFoldPrintingSheets",
        "w:drawingGridHorizontalSpacing", "w:drawingGridVerticalSpacing",
        "w:displayHorizontalDrawingGridEvery", "w:displayVerticalDrawingGridEvery",
        "w:doNotUseMarginsForDrawingGridOrigin", "w:drawingGridHorizontalOrigin",
        "w:drawingGridVerticalOrigin", "w:doNotShadeFormData", "w:noPunctuationKerning",
        "w:characterSpacingControl", "w:printTwoOnOne", "w:strictFirstAndLastChars",
        "w:noLineBreaksAfter", "w:noLineBreaksBefore", "w:savePreviewPicture",
        "w:doNotValidateAgainstSchema", "w:saveInvalidXml", "w:ignoreMixedContent",
        "w:alwaysShowPlaceholderText", "w:doNotDemarcateInvalidXml", "w:saveXmlDataOnly",
        "w:useXSLTWhenSaving", "w:saveThroughXslt", "w:showXMLTags", "w:alwaysMergeEmptyNamespace",
        "w:updateFields", "w:hdrShapeDefaults", "w:footnotePr", "w:endnotePr", "w:compat",
        "w:docVars", "w:rsids", "m:mathPr", "w:attachedSchema", "w:themeFontLang",
        "w:clrSchemeMapping", "w:doNotIncludeSubdocsInStats", "w:doNotAutoCompressPictures",
        "w:forceUpgrade", "w:captions", "w:readModeInkLockDown", "w:smartTagType",
        "sl:schemaLibrary", "w:shapeDefaults", "w:doNotEmbedSmartTags", "w:decimalSymbol",
        "w:listSeparator",
    ),
}
_SUCCESSORS: dict[tuple[str, str], frozenset[str]] = {
    (qn(parent), qn(tag)): frozenset(qn(later) for later in order[index + 1:])
    for parent, order in CHILD_ORDER.items()
    for index, tag in enumerate(order)
}


def _set(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    """Child `tag` of `parent` with these w:* attributes, created at its schema position if missing.

    The one way this module adds a property element: a KeyError here means CHILD_ORDER lacks the
    pair, which a test catches, rather than an element Word would call unreadable.
    """
    child = parent.find(qn(tag))
    if child is None:
        successors = _SUCCESSORS[(parent.tag, qn(tag))]
        child = _element(tag)
        following = next((c for c in parent if c.tag in successors), None)
        if following is None:
            parent.append(child)
        else:
            following.addprevious(child)
    for name, value in attrs.items():
        child.set(qn(f"w:{name}"), value)
    return child


def _east_asian_font(rpr: etree._Element, font: FontChoice) -> None:
    fonts = _set(rpr, "w:rFonts", ascii=font.family, hAnsi=font.family, eastAsia=font.family, cs=font.family)
    for name in THEME_FONT_ATTRIBUTES:
        fonts.attrib.pop(qn(f"w:{name}"), None)
    _set(rpr, "w:lang", val="zh-CN", eastAsia="zh-CN", bidi="ar-SA")


@dataclass(frozen=True)
class ParagraphLook:
    font: FontChoice
    size_pt: float
    bold: bool = False
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT
    first_line_indent_pt: float = 0
    line_exact_pt: float | None = None
    line_multiple: float | None = None
    space_after_pt: float = 0
    char_spacing_pt: float = 0
    outline_level: int | None = None
    keep_with_next: bool = False


def _paragraph_look(look: TextLook, fonts: FontSet) -> ParagraphLook:
    """A look of perfdoc.looks (shared with the CSS) as Word style settings."""
    font = fonts[look.role]
    exact = look.line if look.line_is_exact and isinstance(look.line, float | int) else None
    multiple = 1.0 if look.line == "single" else None if exact is not None else float(look.line)
    return ParagraphLook(font, look.size_pt, bold=font.bold if look.bold is None else look.bold,
                         align=ALIGNMENT[look.align], first_line_indent_pt=look.first_line_indent_pt,
                         line_exact_pt=exact, line_multiple=multiple, char_spacing_pt=look.char_spacing_pt,
                         outline_level=look.outline_level, keep_with_next=look.keep_with_next)


def _looks(fonts: FontSet) -> dict[str, ParagraphLook]:
    """The Word styles: every look of perfdoc.looks by its style name, and the spacer between tables."""
    styles = {look.word_style: _paragraph_look(look, fonts)
              for look in (*PARAGRAPH_LOOKS.values(), *CELL_LOOKS.values(), PAGE_NUMBER_LOOK)}
    styles[SPACER_STYLE] = ParagraphLook(fonts["fangsong"], 1, line_exact_pt=1)
    return styles


def _define_paragraph_style(document: WordDocument, name: str, look: ParagraphLook) -> None:
    """Create style `name` unless the (reference) document already has it: the user's wins."""
    if name in [s.name for s in document.styles]:
        return
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Normal"]
    style.quick_style = True
    font = style.font
    font.size = Pt(look.size_pt)
    font.bold = look.bold
    _east_asian_font(style.element.get_or_add_rPr(), look.font)
    if look.char_spacing_pt:
        _set(style.element.get_or_add_rPr(), "w:spacing", val=str(round(look.char_spacing_pt * 20)))
    fmt = style.paragraph_format
    fmt.alignment = look.align
    fmt.first_line_indent = Pt(look.first_line_indent_pt) if look.first_line_indent_pt else Pt(0)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(look.space_after_pt)
    fmt.keep_with_next = look.keep_with_next or None
    if look.line_exact_pt is not None:
        from docx.enum.text import WD_LINE_SPACING

        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(look.line_exact_pt)
    elif look.line_multiple is not None:
        fmt.line_spacing = look.line_multiple
    ppr = style.element.get_or_add_pPr()
    _set(ppr, "w:snapToGrid", val="0")
    # No automatic extra space between Chinese and Latin text or digits: the PDF adds none, and
    # it would push `（%）` and the 28-character lines out of their widths.
    _set(ppr, "w:autoSpaceDE", val="0")
    _set(ppr, "w:autoSpaceDN", val="0")
    if look.outline_level is not None:
        _set(ppr, "w:outlineLvl", val=str(look.outline_level))


def _define_table_style(document: WordDocument) -> None:
    if TABLE_STYLE in [s.name for s in document.styles]:
        return
    style = document.styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.TABLE)
    tblpr = _set(style.element, "w:tblPr")
    borders = _set(tblpr, "w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        _set(borders, f"w:{edge}", val="single", sz=str(round(TABLE.rule_pt * 8)), space="0", color="000000")
    margins = _set(tblpr, "w:tblCellMar")
    for edge, mm in (("top", TABLE.padding_top_mm), ("left", TABLE.padding_side_mm),
                     ("bottom", TABLE.padding_top_mm), ("right", TABLE.padding_side_mm)):
        _set(margins, f"w:{edge}", w=str(_twips(mm)), type="dxa")


def _document_defaults(document: WordDocument, fonts: FontSet) -> None:
    """docDefaults and Normal: Chinese language and the body face, so nothing falls back to ja-JP."""
    defaults = _set(document.styles.element, "w:docDefaults")
    _east_asian_font(_set(_set(defaults, "w:rPrDefault"), "w:rPr"), fonts["fangsong"])
    _east_asian_font(document.styles["Normal"].element.get_or_add_rPr(), fonts["fangsong"])


def _page_setup(document: WordDocument) -> None:
    """A4, GB/T 9704 margins mirrored for double-sided printing, 22 lines a page."""
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE.width_mm), Mm(PAGE.height_mm)
    section.top_margin, section.bottom_margin = Mm(PAGE.top_mm), Mm(PAGE.bottom_mm)
    section.left_margin, section.right_margin = Mm(PAGE.inner_mm), Mm(PAGE.outer_mm)  # mirrorMargins
    section.header_distance, section.footer_distance = Mm(15), Mm(21.6)
    grid = _set(section._sectPr, "w:docGrid", type="lines", linePitch=str(round(BODY_LINE_PT * 20)))
    grid.attrib.pop(qn("w:charSpace"), None)
    settings = document.settings.element
    _set(settings, "w:mirrorMargins")
    document.settings.odd_and_even_pages_header_footer = True
    # The template says Japanese: East Asian theme fonts would resolve to Japanese faces.
    _set(settings, "w:themeFontLang", eastAsia="zh-CN")


def _page_number_paragraph(paragraph: WordParagraph, align: WD_ALIGN_PARAGRAPH) -> None:
    """`— N —` with N a PAGE field, indented one character from the outer edge."""
    paragraph.style = "页码"
    paragraph.alignment = align
    indent = Pt(PAGE.page_number_indent_pt)
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        paragraph.paragraph_format.right_indent = indent
    else:
        paragraph.paragraph_format.left_indent = indent
    paragraph.add_run("— ")
    paragraph.add_run()._r.append(_element("w:fldChar", fldCharType="begin"))
    instr = _element("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    paragraph.add_run()._r.append(instr)
    paragraph.add_run()._r.append(_element("w:fldChar", fldCharType="separate"))
    paragraph.add_run("1")  # shown until the field is updated
    paragraph.add_run()._r.append(_element("w:fldChar", fldCharType="end"))
    paragraph.add_run(" —")


def _footers(document: WordDocument) -> None:
    section = document.sections[0]
    for footer, align in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                          (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        for run in list(paragraph.runs):
            run._r.getparent().remove(run._r)
        _page_number_paragraph(paragraph, align)


def _element(tag: str, **attrs: str) -> etree._Element:
    element = OxmlElement(tag)
    for name, value in attrs.items():
        element.set(qn(f"w:{name}"), value)
    return element


def _cell_style(cell: Cell) -> str:
    return CELL_LOOKS[cell.style].word_style


def _paragraph_xml(style: str, text: str, *, keep_with_next: bool = False, page_break_before: bool = False,
                   space_after_twips: int | None = None) -> etree._Element:
    p = OxmlElement("w:p")
    ppr = _element("w:pPr")
    _set(ppr, "w:pStyle", val=style)
    if keep_with_next:
        _set(ppr, "w:keepNext")
    if page_break_before:
        _set(ppr, "w:pageBreakBefore")
    if space_after_twips is not None:
        _set(ppr, "w:spacing", after=str(space_after_twips))
    p.append(ppr)
    if text:
        r = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = text
        if text != text.strip():
            t.set(qn("xml:space"), "preserve")
        r.append(t)
        p.append(r)
    return p


def _grid_rows(table: Table) -> list[list[tuple[Cell, int, str]]]:
    """HTML rows (colspan/rowspan) → Word rows: (cell, grid span, part), `part` being `only` (no
    merge), `first` (w:vMerge restart), `middle` or `last` (w:vMerge continuing the cell above)."""
    columns = len(table.column_widths_mm)
    continuing: dict[tuple[int, int], tuple[Cell, int]] = {}  # (row, col) → (the merged cell, rows left)
    result = []
    for r, row in enumerate(table.rows):
        cells = iter(row.cells)
        out: list[tuple[Cell, int, str]] = []
        col = 0
        while col < columns:
            if (r, col) in continuing:
                merged, left = continuing.pop((r, col))
                out.append((merged, merged.colspan, "last" if left == 1 else "middle"))
                col += merged.colspan
                continue
            cell = next(cells, None)
            if cell is None:
                raise UserError(unlocated(f"模板错误: 表格 {table.style} 第 {r + 1} 行的单元格不足 {columns} 列"))
            for below in range(1, cell.rowspan):
                continuing[(r + below, col)] = (cell, cell.rowspan - below)
            out.append((cell, cell.colspan, "first" if cell.rowspan > 1 else "only"))
            col += cell.colspan
        if col != columns or next(cells, None) is not None:
            raise UserError(unlocated(f"模板错误: 表格 {table.style} 第 {r + 1} 行的单元格超出 {columns} 列"))
        result.append(out)
    return result


def _table_xml(table: Table, *, keep_together: bool) -> etree._Element:
    widths = [_twips(mm) for mm in table.column_widths_mm]
    tbl = OxmlElement("w:tbl")
    tblpr = _element("w:tblPr")
    _set(tblpr, "w:tblStyle", val=TABLE_STYLE)
    _set(tblpr, "w:tblW", w=str(sum(widths)), type="dxa")
    _set(tblpr, "w:tblLayout", type="fixed")
    # No conditional formatting: only noHBand (0x0200) and noVBand (0x0400) set. The bitmask alone
    # is what every Word since 2007 reads; the 2010 attribute form is not in Word 2007's schema.
    _set(tblpr, "w:tblLook", val="0600")
    tbl.append(tblpr)
    grid = _element("w:tblGrid")
    for width in widths:
        grid.append(_element("w:gridCol", w=str(width)))
    tbl.append(grid)
    rows = _grid_rows(table)
    for r, (row, placed) in enumerate(zip(table.rows, rows, strict=True)):
        tbl.append(_row_xml(row, placed, widths, keep_with_next=keep_together and r < len(rows) - 1))
    return tbl


def _row_xml(row: Row, placed: list[tuple[Cell, int, str]], widths: list[int], *, keep_with_next: bool) -> etree._Element:
    tr = OxmlElement("w:tr")
    trpr = _element("w:trPr")
    _set(trpr, "w:cantSplit")
    if row.repeat_header:
        _set(trpr, "w:tblHeader")
    tr.append(trpr)
    col = 0
    for cell, span, part in placed:
        continued = part in ("middle", "last")
        tc = OxmlElement("w:tc")
        tcpr = _element("w:tcPr")
        _set(tcpr, "w:tcW", w=str(sum(widths[col:col + span])), type="dxa")
        if span > 1:
            _set(tcpr, "w:gridSpan", val=str(span))
        if continued:
            _set(tcpr, "w:vMerge")
        elif part == "first":
            _set(tcpr, "w:vMerge", val="restart")
        # A cell continuing into the one above or below draws no rule there (the side label's
        # head and body cells); the facts' last row joins the indicator grid below: one rule, not two.
        no_top = cell.open_top and part in ("only", "first")
        no_bottom = row.style == "last" or (cell.open_bottom and part in ("only", "last"))
        if no_top or no_bottom:
            borders = _set(tcpr, "w:tcBorders")
            if no_top:
                _set(borders, "w:top", val="nil")
            if no_bottom:
                _set(borders, "w:bottom", val="nil")
        _set(tcpr, "w:vAlign", val="center")
        tc.append(tcpr)
        if continued:
            tc.append(_paragraph_xml("表格文字", "", keep_with_next=keep_with_next))
        else:
            tc.append(_paragraph_xml(_cell_style(cell), cell.text, keep_with_next=keep_with_next))
        tr.append(tc)
        col += span
    return tr


def _caption_xml(paragraph: Paragraph, *, page_break_before: bool) -> etree._Element:
    """A line above or below a table: one part aligned where it belongs, or left, centre and right
    parts separated by tabs at a centre stop and a right stop on the text block's width."""
    style = PARAGRAPH_LOOKS[paragraph.style].word_style
    parts = paragraph.parts or ("", paragraph.text, "")
    written = [i for i, part in enumerate(parts) if part]
    p = _paragraph_xml(style, "" if len(written) > 1 else paragraph.text, page_break_before=page_break_before)
    ppr = p.find(qn("w:pPr"))
    if len(written) == 1:
        _set(ppr, "w:jc", val=("left", "center", "right")[written[0]])
        return p
    width = _twips(PAGE.text_width_mm)
    tabs = _set(ppr, "w:tabs")
    tabs.append(_element("w:tab", val="center", pos=str(width // 2)))
    tabs.append(_element("w:tab", val="right", pos=str(width)))
    _set(ppr, "w:jc", val="left")
    for i, part in enumerate(parts):
        if i:
            run = OxmlElement("w:r")
            run.append(OxmlElement("w:tab"))
            p.append(run)
        if part:
            run = OxmlElement("w:r")
            text = OxmlElement("w:t")
            text.text = part
            text.set(qn("xml:space"), "preserve")
            run.append(text)
            p.append(run)
    return p


def _body(document: WordDocument, layout: Layout) -> None:
    sect_pr = document.element.body.find(qn("w:sectPr"))
    last_title_line = _last_title_line(layout)
    for section in layout.sections:
        # Each record's tables (and the lines above them) start a page, except right after the
        # title of a tables-only document.
        first_table = "follows-title" not in section.style.split()
        for block in section.blocks:
            if isinstance(block, Paragraph) and block.parts is not None:  # a line above or below a table
                sect_pr.addprevious(_caption_xml(block, page_break_before=first_table))
                first_table = False
            elif isinstance(block, Paragraph):
                # One blank line between title and text.
                space_after = round(BODY_LINE_PT * 20) if block is last_title_line else None
                sect_pr.addprevious(_paragraph_xml(PARAGRAPH_LOOKS[block.style].word_style, block.text,
                                                   space_after_twips=space_after))
            else:
                # A spacer paragraph before each table: it carries the page break that starts a
                # project, and keeps the two tables of one project from fusing into one in Word
                # (which would bury the repeating header row in the middle of a table).
                sect_pr.addprevious(_paragraph_xml(SPACER_STYLE, "", keep_with_next=True,
                                                   page_break_before=first_table))
                sect_pr.addprevious(_table_xml(block, keep_together=True))
                first_table = False


def _last_title_line(layout: Layout) -> Paragraph | None:
    lines = [b for s in layout.sections for b in s.blocks if isinstance(b, Paragraph) and b.style == "doc-title-line"]
    return lines[-1] if lines else None


def _clear_body(document: WordDocument) -> None:
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)


def _core_properties(document: WordDocument, layout: Layout) -> None:
    props = document.core_properties
    props.title, props.author, props.subject, props.keywords = (
        layout.title, layout.author, layout.subject, layout.keywords)
    props.language = layout.lang or "zh-CN"
    props.last_modified_by = "perfdoc"
    props.comments = ""
    props.revision = 1
    props.created = props.modified = FIXED_TIME
    props.last_printed = FIXED_TIME


def _drop_stale_template_parts(document: WordDocument) -> None:
    """Parts of python-docx's template that would contradict this document.

    stylesWithEffects must mirror styles.xml or Word repairs the file; the thumbnail is a blank
    US-Letter page. Both are optional: without their relationships, python-docx saves neither
    part nor its content-type override.
    """
    for rels, reltype in ((document.part.rels, STYLES_WITH_EFFECTS), (document.part.package.rels, RT.THUMBNAIL)):
        for rid in [rid for rid, rel in rels.items() if rel.reltype == reltype]:
            del rels[rid]


def _deterministic_zip(data: bytes) -> bytes:
    """python-docx stamps the current time on every zip entry; rewrite them with a fixed one."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def render_docx(layout: Layout, fonts: FontSet, reference: Path | None = None) -> bytes:
    """The DOCX bytes for `layout`; styles from `reference` (a .docx) where it defines them."""
    if reference is not None:
        try:
            document = open_docx(str(reference))
        except Exception as exc:  # python-docx raises several kinds for a file that is not a DOCX
            raise UserError(unlocated(f"参考文档 {display_path(reference)} 无法作为 DOCX 打开（{exc}）")) from exc
        _clear_body(document)
    else:
        document = open_docx()
        _clear_body(document)
    _document_defaults(document, fonts)
    for name, look in _looks(fonts).items():
        _define_paragraph_style(document, name, look)
    _define_table_style(document)
    _page_setup(document)
    _footers(document)
    _body(document, layout)
    _core_properties(document, layout)
    _drop_stale_template_parts(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return _deterministic_zip(buffer.getvalue())
