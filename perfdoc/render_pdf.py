"""Stage 4b — the PDF: the same HTML, laid out by WeasyPrint, with chosen fonts and no surprises.

- Fonts are chosen and checked for coverage first (perfdoc.fonts), so no glyph becomes a box.
- WeasyPrint may read only the templates folder and the user's font folder: YAML text is data,
  and even a URL smuggled into the HTML cannot read /etc/passwd or reach the network.
- Same input, same bytes: no time stamps, a PDF identifier derived from the content.
"""

from __future__ import annotations

import ctypes.util
import hashlib
import logging
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

from .fonts import FontSet
from .loader import LoadedFile
from .layout import Layout, text_by_style
from .render_html import TEMPLATES_DIR

# Which font role draws the text of each class (the classes are the templates'; the CSS in
# templates/style.css.j2 gives them these same roles).
ROLE_OF_STYLE = {
    "doc-title-line": "xiaobiaosong",
    "heading-1": "heiti",
    "heading-2": "kaiti",
    "body": "fangsong",
    "table": "fangsong",
}
PAGE_NUMBER_TEXT = "— 0123456789 —"


def role_of_value(loaded: LoadedFile, path: tuple) -> str:
    """The font role that draws a data value: where the templates place that field."""
    if loaded.path.name == "department.yaml":
        if path[:1] in (("department",), ("title",)):
            return "xiaobiaosong"
        if len(path) == 3 and path[0] == "sub_targets" and path[2] == "heading":
            return "kaiti"
    return "fangsong"


def harfbuzz_subset_available() -> bool:
    """WeasyPrint subsets fonts with HarfBuzz only when libharfbuzz-subset is installed."""
    return ctypes.util.find_library("harfbuzz-subset") is not None


def text_by_role(layout: Layout) -> dict[str, str]:
    texts: dict[str, str] = {"songti": PAGE_NUMBER_TEXT}
    for style, text in text_by_style(layout).items():
        role = ROLE_OF_STYLE.get(style)
        if role:
            texts[role] = texts.get(role, "") + text
    return texts


def font_faces(fonts: FontSet) -> list[dict[str, str]]:
    """@font-face rules for faces that come from the user's font folder."""
    return [{"family": choice.family, "url": Path(choice.face.file).resolve().as_uri(),
             "weight": "bold" if choice.face.bold else "normal"}
            for choice in fonts.choices if choice.face.from_user_dir]


class RefusedFetch(ValueError):
    pass


def restricted_url_fetcher(allowed_dirs: list[Path]):
    """A WeasyPrint URL fetcher that serves only files under `allowed_dirs`; all else is refused."""
    from weasyprint.urls import URLFetcher

    roots = [d.resolve() for d in allowed_dirs]

    class RestrictedURLFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if any(path.is_relative_to(root) for root in roots):
                    return super().fetch(url, headers)
            raise RefusedFetch(f"perfdoc: refused to fetch {url}")

    return RestrictedURLFetcher(allowed_protocols=("file",))


def layout_pdf(html: str, fonts: FontSet, templates_dir: Path = TEMPLATES_DIR):
    """WeasyPrint's layout of the HTML: pages, boxes, bookmarks (the slow stage)."""
    import weasyprint

    allowed = [templates_dir] + ([fonts.user_dir] if fonts.user_dir else [])
    # WeasyPrint logs refused fetches and font fallbacks as warnings; the checks before this
    # stage have already said what matters, in the user's language.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint.HTML(string=html, base_url=str(templates_dir),
                           url_fetcher=restricted_url_fetcher(allowed)).render()


def write_pdf(laid_out, html: str) -> bytes:
    """PDF bytes; the identifier is derived from the HTML, so the same input gives the same file."""
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return laid_out.write_pdf(pdf_identifier=identifier)


def render_pdf(html: str, fonts: FontSet, templates_dir: Path = TEMPLATES_DIR) -> bytes:
    return write_pdf(layout_pdf(html, fonts, templates_dir), html)
