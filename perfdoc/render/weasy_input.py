"""The HTML handed to WeasyPrint, made cheaper to lay out without changing one byte of the PDF.

WeasyPrint parses HTML with tinyhtml5 (pure Python, ~65 ms for the seed) and cascades its whole
HTML5 user-agent stylesheet against every element (~90 ms for the seed). perfdoc's HTML comes
from its own templates and uses a dozen tags, so:

- Parse: the markup is turned into XML (void tags closed, attribute whitespace kept as character
  references) and read by the C XML parser, then the few whitespace texts the HTML5 tree builder
  places differently are moved. That is only the same tree as tinyhtml5's for markup whose HTML5
  parse is trivial, so the result is checked against a content model (which tag may hold which,
  where text may be) and any surprise — a tag, entity, comment or nesting not foreseen, or markup
  that is not well-formed — falls back to WeasyPrint's own parser, silently.
- User-agent stylesheet: only on that checked tree, the rules whose selectors need a tag or an
  attribute the content model does not allow are dropped (derived from WeasyPrint's own
  html5_ua.css, never written by hand), and so are the footnote/note pseudo-element rules when no
  stylesheet of the document can make a footnote or a note (their styles are read for nothing
  else; computing them for every element was two thirds of the user-agent cost).

Checked for WeasyPrint 70.x only: another version takes the plain path.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import weasyprint

VERIFIED_WEASYPRINT_MAJOR = "70"

PHRASING = frozenset({"span"})
FLOW = PHRASING | {"section", "div", "h1", "h2", "h3", "p", "table"}
# Which tags each tag may hold for the HTML5 tree builder to give exactly the nesting the XML has:
# no element here closes another implicitly (no block inside a <p> or heading, no <tr> straight
# in a <table>, no heading in a heading), and no table part is implied.
ALLOWED_CHILDREN: dict[str, frozenset[str]] = {
    "head": frozenset({"meta", "title", "style"}),
    "body": FLOW,
    "section": FLOW,
    "div": FLOW,
    "h1": PHRASING,
    "h2": PHRASING,
    "h3": PHRASING,
    "p": PHRASING,
    "span": PHRASING,
    "table": frozenset({"colgroup", "thead", "tbody"}),
    "colgroup": frozenset({"col"}),
    "thead": frozenset({"tr"}),
    "tbody": frozenset({"tr"}),
    "tr": frozenset({"td", "th"}),
    "td": FLOW,
    "th": FLOW,
    "title": frozenset(),
    "style": frozenset(),
    "meta": frozenset(),
    "col": frozenset(),
}
KNOWN_TAGS = frozenset(ALLOWED_CHILDREN) | {"html"}
VOID_TAGS = ("meta", "col")
# Where the HTML5 tree builder moves non-whitespace text elsewhere (foster parenting, out of the
# head): only whitespace may stand there.
WHITESPACE_ONLY = frozenset({"html", "head", "table", "colgroup", "thead", "tbody", "tr"})
KNOWN_ATTRIBUTES = frozenset({"lang", "charset", "name", "content", "class", "style", "colspan", "rowspan",
                              "data-bookmark", "data-rows"})
HTML_WHITESPACE = " \t\n\f\r"

_DOCTYPE = re.compile(r"\s*<!DOCTYPE html>", re.IGNORECASE)
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)([^<>]*)>")
_QUOTED_WHITESPACE = re.compile(r"[\t\n]")
# Character references read alike by HTML and XML (numeric ones outside C0/C1 controls).
_REFERENCE = re.compile(r"&(?:amp|lt|gt|quot|apos|#(?:[0-9]+|[xX][0-9a-fA-F]+));")
_RAW_TEXT = re.compile(r"<(style|title)\b[^>]*>(.*?)</\1>", re.DOTALL)
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9-]*\Z")
_NUMERIC = re.compile(r"&#([xX]?)([0-9a-fA-F]+);")


def weasy_html(html: str, *, base_url: str, url_fetcher: Any) -> weasyprint.HTML:
    """Like weasyprint.HTML(string=html, base_url=…, url_fetcher=…), faster for perfdoc's markup."""
    import weasyprint

    tree = parse_like_tinyhtml5(html) if weasyprint.__version__.split(".")[0] == VERIFIED_WEASYPRINT_MAJOR else None
    if tree is None:
        return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=url_fetcher)
    return _checked_html_class()(tree, base_url=base_url, url_fetcher=url_fetcher,
                                 may_have_notes=_may_make_notes(tree))


def parse_like_tinyhtml5(html: str) -> ET.Element | None:
    """The tree tinyhtml5 gives (tags not namespaced), or None when that cannot be promised."""
    html = html.replace("\r\n", "\n").replace("\r", "\n")  # as the HTML tokenizer does first
    doctype = _DOCTYPE.match(html)
    if doctype is None or "<!--" in html or "<![" in html or "<?" in html or not _references_alike(html):
        return None
    for _tag, raw_text in _RAW_TEXT.findall(html):
        if "<" in raw_text or ("&" in raw_text and _tag == "style"):  # CSS is raw text in HTML, parsed in XML
            return None
    end = html.rfind("</html>")
    if end < 0 or html[end + len("</html>"):].strip(HTML_WHITESPACE):
        return None
    after_html = html[end + len("</html>"):]
    try:
        root = ET.fromstring(_TAG.sub(_xml_tag, html[doctype.end():end + len("</html>")]))
    except ET.ParseError:
        return None
    if not _as_html5_would_nest(root):
        return None
    head, body = root
    # The HTML5 tree builder drops whitespace before <head>, and puts what follows </body> or
    # </html> at the end of <body>.
    root.text = None
    trailing = (body.tail or "") + after_html
    body.tail = None
    if trailing:
        if len(body):
            body[-1].tail = (body[-1].tail or "") + trailing
        else:
            body.text = (body.text or "") + trailing
    return root


def _references_alike(html: str) -> bool:
    """Every & starts a reference that HTML and XML both read as the same character."""
    if html.count("&") != len(_REFERENCE.findall(html)):
        return False
    for hexadecimal, digits in _NUMERIC.findall(html):
        code = int(digits, 16 if hexadecimal else 10)
        if code < 0x20 and code not in (0x09, 0x0A) or 0x7F <= code <= 0x9F:  # HTML remaps C1
            return False
    return True


def _xml_tag(match: re.Match[str]) -> str:
    """A start tag as XML: void tags closed, tabs and newlines in values kept (XML would make
    them spaces)."""
    name, rest = match.groups()
    rest = re.sub(r'"[^"]*"', lambda value: _QUOTED_WHITESPACE.sub(
        lambda c: f"&#{ord(c.group())};", value.group()), rest)
    if name in VOID_TAGS and not rest.endswith("/"):
        rest += "/"
    return f"<{name}{rest}>"


def _blank(text: str | None) -> bool:
    return not text or not text.strip(HTML_WHITESPACE)


def _as_html5_would_nest(root: ET.Element) -> bool:
    """The XML tree is one the HTML5 tree builder would build alike from the same markup."""
    if root.tag != "html" or [child.tag for child in root] != ["head", "body"] or not _attributes_known(root):
        return False
    if not (_blank(root.text) and _blank(root[0].tail) and _blank(root[1].tail)):
        return False
    for parent in root.iter():
        if parent is root:
            continue
        allowed = ALLOWED_CHILDREN.get(parent.tag) if isinstance(parent.tag, str) else None
        if allowed is None or not _attributes_known(parent):
            return False
        whitespace_only = parent.tag in WHITESPACE_ONLY
        if whitespace_only and not _blank(parent.text):
            return False
        for child in parent:
            if child.tag not in allowed or (whitespace_only and not _blank(child.tail)):
                return False
    return True


def _attributes_known(element: ET.Element) -> bool:
    """Lower-case names the content model foresees (HTML lower-cases names, XML does not)."""
    return all(name in KNOWN_ATTRIBUTES and _ATTRIBUTE_NAME.match(name) for name in element.attrib)


def _may_make_notes(tree: ET.Element) -> bool:
    """Could the document's own CSS (the <style> element, style attributes) make a footnote or a
    note? Only then are the ::footnote-* and ::note-* styles ever read."""
    css = "".join((element.text or "") if element.tag == "style" else element.get("style", "")
                  for element in tree.iter())
    return "footnote" in css.lower() or "note(" in css.lower()


@functools.cache
def _checked_html_class() -> type:
    """weasyprint.HTML for a tree already parsed and checked (built on first use: WeasyPrint is
    imported lazily, it takes ~0.4 s)."""
    import cssselect2
    import weasyprint
    from weasyprint.urls import URLFetcher, ensure_url

    class CheckedHTML(weasyprint.HTML):
        """What HTML.__init__ sets, from our tree; the user-agent stylesheet trimmed to it."""

        def __init__(self, tree: ET.Element, *, base_url: str | None, url_fetcher: Any,
                     may_have_notes: bool, media_type: str = "print") -> None:
            # No <base> in the content model: the base URL is the one given, as HTML.__init__ finds.
            self.base_url = ensure_url(base_url) if base_url is not None else None
            self.url_fetcher = url_fetcher if url_fetcher is not None else URLFetcher()
            self.media_type = media_type
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(tree, content_language=None)
            self.etree_element = self.wrapper_element.etree_element
            self._may_have_notes = may_have_notes

        def render(self, font_config: Any = None, counter_style: Any = None, color_profiles: Any = None,
                   **options: Any) -> Any:
            # A user stylesheet could make footnotes or notes: then their styles are kept.
            if options.get("stylesheets"):
                self._may_have_notes = True
            return super().render(font_config, counter_style, color_profiles, **options)

        def _ua_stylesheets(self, forms: bool = False) -> list:
            if forms:
                return super()._ua_stylesheets(forms)
            return [trimmed_ua_stylesheet(keep_notes=self._may_have_notes)]

    return CheckedHTML


NOTE_PSEUDO_ELEMENTS = frozenset({"footnote-call", "footnote-marker", "note-call", "note-marker", "note-callback"})


@functools.cache
def trimmed_ua_stylesheet(*, keep_notes: bool) -> weasyprint.CSS:
    """WeasyPrint's html5_ua.css without the selectors no element of the content model can match."""
    import weasyprint
    from weasyprint.css.counters import CounterStyle

    # The @counter-style rules reach the cascade through HTML._ua_counter_style, not this sheet.
    return weasyprint.CSS(string=trimmed_ua_css(keep_notes=keep_notes), counter_style=CounterStyle())


def trimmed_ua_css(*, keep_notes: bool) -> str:
    """The text of html5_ua.css, rule by rule, keeping each selector that could match (in order:
    the cascade's order among the selectors kept is unchanged)."""
    from importlib.resources import files

    import cssselect2.parser
    import tinycss2

    source = files("weasyprint").joinpath("css", "html5_ua.css").read_text(encoding="utf-8")
    kept: list[str] = []
    for rule in tinycss2.parse_stylesheet(source, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule":
            if rule.lower_at_keyword != "counter-style":
                kept.append(rule.serialize())
        elif rule.type == "qualified-rule":
            selectors = [tinycss2.serialize(part).strip() for part in _split_commas(rule.prelude)]
            could_match = [text for text in selectors
                           if _could_match(cssselect2.parser.parse(text), keep_notes=keep_notes)]
            if could_match:
                kept.append(f"{', '.join(could_match)} {{{tinycss2.serialize(rule.content)}}}")
        else:  # a parse error in WeasyPrint's own sheet: keep it, whatever it does
            kept.append(rule.serialize())
    return "\n".join(kept)


def _split_commas(tokens: list) -> list[list]:
    parts: list[list] = [[]]
    for token in tokens:
        if token.type == "literal" and token.value == ",":
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _could_match(selectors: Any, *, keep_notes: bool) -> bool:
    """False only when a selector surely needs a tag or attribute outside the content model, or
    is a footnote/note pseudo-element not wanted; anything not understood could match."""
    for selector in selectors:
        if selector.pseudo_element in NOTE_PSEUDO_ELEMENTS and not keep_notes:
            continue
        if _node_could_match(selector.parsed_tree):
            return True
    return False


def _node_could_match(node: Any) -> bool:
    import cssselect2.parser as p

    if isinstance(node, p.CombinedSelector):
        return _node_could_match(node.left) and _node_could_match(node.right)
    if isinstance(node, p.CompoundSelector):
        return all(_node_could_match(simple) for simple in node.simple_selectors)
    if isinstance(node, p.LocalNameSelector):
        return node.lower_local_name in KNOWN_TAGS
    if isinstance(node, p.AttributeSelector):
        return node.lower_name in KNOWN_ATTRIBUTES
    if isinstance(node, p.IDSelector):
        return "id" in KNOWN_ATTRIBUTES
    if isinstance(node, p.PseudoClassSelector) and node.name in ("link", "any-link", "local-link", "visited"):
        return False  # <a>, <area>, <link> only: none in the content model
    if isinstance(node, (p.MatchesAnySelector, p.SpecificityAdjustmentSelector)):
        return any(_node_could_match(selector.parsed_tree) for selector in node.selector_list)
    return True
