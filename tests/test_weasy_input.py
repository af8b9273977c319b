"""perfdoc.render.weasy_input: the fast way into WeasyPrint gives the tree and the PDF the plain way gives.

Trees are compared with tinyhtml5's (WeasyPrint's parser) node by node: tag, attributes in order,
text, tail. Layouts are compared as PDF bytes, the user-agent stylesheet trim as computed styles.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import tinyhtml5
import weasyprint
from builders import REPO, fixed_fonts, seed_document
from weasyprint.css import get_all_computed_styles
from weasyprint.css.properties import INITIAL_VALUES

from perfdoc.build.pipeline import load_document
from perfdoc.render import weasy_input
from perfdoc.render.html import TEMPLATES_DIR, render_html
from perfdoc.render.pdf import restricted_url_fetcher
from perfdoc.render.weasy_input import parse_like_tinyhtml5, trimmed_ua_css, weasy_html

EXAMPLES = sorted(path.parent.name for path in (REPO / "examples").glob("*/data"))


def _pdf(laid_out) -> bytes:
    """A laid-out document's PDF with a fixed identifier, so two layouts compare byte for byte."""
    return laid_out.write_pdf(pdf_identifier=b"0" * 32)


def tree(element: ET.Element) -> tuple:
    return (element.tag, list(element.attrib.items()), element.text, element.tail, [tree(c) for c in element])


def tinyhtml5_tree(html: str) -> tuple:
    return tree(tinyhtml5.parse(html, namespace_html_elements=False))


@cache
def example_html(name: str) -> str:
    document, checked = load_document(REPO / "examples" / name / "data")
    assert document is not None, [d.format() for d in checked.errors]
    return render_html(document, fixed_fonts())


def both_ways(html: str) -> tuple[weasyprint.HTML, weasyprint.HTML]:
    fetcher = restricted_url_fetcher([TEMPLATES_DIR])
    fast = weasy_html(html, base_url=str(TEMPLATES_DIR), url_fetcher=fetcher)
    plain = weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR), url_fetcher=fetcher)
    return fast, plain


def test_seed_tree_is_tinyhtml5s():
    html = render_html(seed_document(), fixed_fonts())
    fast = parse_like_tinyhtml5(html)
    assert fast is not None, "the seed's markup should take the fast path"
    assert tree(fast) == tinyhtml5_tree(html)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_tree_is_tinyhtml5s(name):
    html = example_html(name)
    fast = parse_like_tinyhtml5(html)
    assert fast is not None
    assert tree(fast) == tinyhtml5_tree(html)


PAGE = '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n' \
       '<style>\np {{ margin: 0 }}\n</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n'


@pytest.mark.parametrize("title, body, tail", [
    ("t", '<p class="body">a &amp; b &lt; c &#39;d&#39; &#x4E00;</p>', ""),
    ("a &amp; b", '<p class="body" data-bookmark="line one\nline\ttwo">x</p>', "\n\n  "),
    ("t", '<table>\n<colgroup><col style="width: 8mm"><col></colgroup>\n<tbody>\n<tr><td rowspan="2">a'
          '</td><th colspan="2"><span class="x">b</span> c</th></tr>\n</tbody>\n</table>', ""),
    ("t", "", "\n"),
    ("t", "<section><div><h1>x</h1> <h2>y</h2><h3>z</h3></div></section>", "\r\n"),
])
def test_accepted_markup_gives_tinyhtml5s_tree(title, body, tail):
    """Entities, newlines in attribute values, whitespace after </body> and </html>, tables."""
    html = PAGE.format(title=title, body=body) + tail
    fast = parse_like_tinyhtml5(html)
    assert fast is not None
    assert tree(fast) == tinyhtml5_tree(html)


@pytest.mark.parametrize("body", [
    "<p>unclosed",  # not well-formed
    "<p><div>x</div></p>",  # HTML closes the <p> at the <div>
    "<table><tr><td>x</td></tr></table>",  # HTML adds a <tbody>
    "<table>x<tbody></tbody></table>",  # HTML moves the text before the table
    "<p>a<br>b</p>",  # a tag outside the content model
    "<p>&nbsp;</p>",  # an entity XML does not know
    "<p>&#150;</p>",  # HTML reads it as windows-1252 (–), XML as a C1 control
    "<!-- note --><p>x</p>",  # comments
    '<p CLASS="x">x</p>',  # HTML lower-cases names
    '<p class="a" class="b">x</p>',  # HTML keeps the first, XML refuses
    "<h1><h2>x</h2></h1>",  # HTML closes the <h1>
])
def test_unforeseen_markup_takes_the_plain_path(body):
    html = PAGE.format(title="t", body=body)
    assert parse_like_tinyhtml5(html) is None
    assert type(weasy_html(html, base_url=str(TEMPLATES_DIR), url_fetcher=None)) is weasyprint.HTML


def test_style_with_markup_characters_takes_the_plain_path():
    """<style> is raw text in HTML: '&' or '<' there would be read differently by XML."""
    html = PAGE.format(title="t", body="<p>x</p>").replace("margin: 0", 'content: "&amp;"')
    assert parse_like_tinyhtml5(html) is None


def test_other_weasyprint_version_takes_the_plain_path(monkeypatch):
    html = PAGE.format(title="t", body="<p>x</p>")
    assert type(weasy_html(html, base_url=str(TEMPLATES_DIR), url_fetcher=None)) is not weasyprint.HTML
    monkeypatch.setattr(weasy_input, "VERIFIED_WEASYPRINT_MAJOR", "69")
    assert type(weasy_html(html, base_url=str(TEMPLATES_DIR), url_fetcher=None)) is weasyprint.HTML


def computed_styles(document_html: weasyprint.HTML) -> list[dict[str, Any]]:
    style_for = get_all_computed_styles(document_html)
    return [{name: style_for(element.etree_element)[name] for name in INITIAL_VALUES}
            for element in document_html.wrapper_element.iter_subtree()]


def test_trimmed_user_agent_sheet_gives_the_same_computed_styles():
    """Every element of a real document, every property: the trim dropped nothing that applies."""
    fast, plain = both_ways(example_html("department-2023"))
    assert fast.etree_element is not plain.etree_element
    assert computed_styles(fast) == computed_styles(plain)


def test_trimmed_user_agent_sheet_is_smaller_and_keeps_what_perfdoc_uses():
    trimmed = trimmed_ua_css(keep_notes=False)
    assert "td, th { display: table-cell }" in trimmed
    assert "h1 { bookmark-level: 1 }" in trimmed
    assert "footnote-call" not in trimmed and "blockquote" not in trimmed
    assert "::footnote-call" in trimmed_ua_css(keep_notes=True)


@pytest.mark.slow  # a whole layout or a running server: the slow layer
def test_small_document_lays_out_to_the_same_pdf():
    fast, plain = both_ways(example_html("department-2023"))
    assert type(fast) is not weasyprint.HTML
    assert _pdf(fast.render()) == _pdf(plain.render())


def test_footnotes_keep_their_user_agent_styles():
    """A document that makes footnotes gets the ::footnote-* rules, and the same PDF."""
    html = PAGE.format(title="t", body='<p>text<span style="float: footnote">note</span></p>')
    fast, plain = both_ways(html)
    assert type(fast) is not weasyprint.HTML and fast._may_have_notes
    assert _pdf(fast.render()) == _pdf(plain.render())


def test_user_stylesheets_keep_the_footnote_styles():
    html = PAGE.format(title="t", body="<p>text<span>note</span></p>")
    fast, plain = both_ways(html)
    assert not fast._may_have_notes
    footnote = weasyprint.CSS(string="span { float: footnote }")
    assert _pdf(fast.render(stylesheets=[footnote])) == _pdf(plain.render(stylesheets=[footnote]))


@pytest.mark.slow
def test_seed_pdf_and_styles_are_identical(pinned_fonts: Path):
    from perfdoc.render.fonts import choose_fonts

    html = render_html(seed_document(), choose_fonts(pinned_fonts))
    fast, plain = both_ways(html)
    assert type(fast) is not weasyprint.HTML
    assert computed_styles(fast) == computed_styles(plain)
    assert _pdf(fast.render()) == _pdf(plain.render())
