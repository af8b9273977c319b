"""Stage 4b — the PDF: the same HTML, laid out by WeasyPrint, with chosen fonts and no surprises.

- Fonts are chosen and checked for coverage first (perfdoc.render.fonts), so no glyph becomes a box.
- WeasyPrint may read only the templates folder and the user's font folder: YAML text is data,
  and even a URL smuggled into the HTML cannot read /etc/passwd or reach the network.
- Same input, same bytes: no time stamps, a PDF identifier derived from the content.

Two ways to the PDF, both on plain values (which pieces are cached, which process lays out which
piece, Ctrl-C: perfdoc.build.pdf and perfdoc.build.workers):
- pieces: each piece laid out and drawn on its own (layout_and_draw), then assembled
  (assemble_pieces) — perfdoc.render.pdf_pieces, inside WeasyPrint;
- whole: the whole document laid out once and written through WeasyPrint's public API only
  (whole_document_pdf), for a WeasyPrint the pieces are not tested on, or what pieces cannot draw.
"""

from __future__ import annotations

import atexit
import ctypes.util
import functools
import hashlib
import json
import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from perfdoc.looks import PAGE_NUMBER_LOOK
from perfdoc.render.fonts import ROLES_OF_TEXT, FontSet, font_identity
from perfdoc.render.html import TEMPLATES_DIR, font_face_rules
from perfdoc.render.pdf_pieces import DrawnPiece, assemble, draw
from perfdoc.render.readback import Layout, text_by_style
from perfdoc.render.weasy_input import weasy_html

PAGE_NUMBER_TEXT = "— 0123456789 —"


def harfbuzz_subset_available() -> bool:
    """WeasyPrint subsets fonts with HarfBuzz only when libharfbuzz-subset is installed."""
    return ctypes.util.find_library("harfbuzz-subset") is not None


def text_by_role(layout: Layout) -> dict[str, str]:
    """All text the PDF draws, by the font role that draws it (perfdoc.render.fonts.ROLES_OF_TEXT)."""
    texts: dict[str, str] = {PAGE_NUMBER_LOOK.role: PAGE_NUMBER_TEXT}
    for style, text in text_by_style(layout).items():
        for role in ROLES_OF_TEXT.get(style, ()):
            texts[role] = texts.get(role, "") + text
    return texts


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


def _quiet_weasyprint() -> None:
    # WeasyPrint logs refused fetches and font fallbacks as warnings; the checks before this
    # stage have already said what matters, in the user's language.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def layout_pdf(html: str, fonts: FontSet, templates_dir: Path = TEMPLATES_DIR):
    """WeasyPrint's layout of the HTML: pages, boxes, bookmarks (the slow stage)."""
    _quiet_weasyprint()
    fetcher = restricted_url_fetcher(allowed_dirs(fonts, templates_dir))
    return weasy_html(html, base_url=str(templates_dir), url_fetcher=fetcher).render(
        font_config=font_config_for(fonts, templates_dir))


@functools.lru_cache(maxsize=1)
def _font_config(identity: str, rules: str, allowed: tuple[Path, ...]) -> Any:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    if rules:
        CSS(string=rules, font_config=font_config, url_fetcher=restricted_url_fetcher(list(allowed)))
    return font_config


def font_config_for(fonts: FontSet, templates_dir: Path) -> Any:
    """One WeasyPrint font configuration per process for a set of fonts, shared by every piece.

    WeasyPrint copies each @font-face file into a temporary folder of its configuration (80 MB
    for the Noto CJK faces as a --fonts folder) and keeps loaded faces in it: one configuration
    per piece copied them once per piece. Keyed by the files' identity (size, time), so a face
    replaced on disk is loaded afresh (serve); emptied at exit, which removes the copies.
    """
    identity = json.dumps(font_identity(fonts), ensure_ascii=False)
    return _font_config(identity, font_face_rules(fonts), tuple(allowed_dirs(fonts, templates_dir)))


def release_font_configs() -> None:
    """Let go of this process's font configuration, which removes WeasyPrint's copies of the
    user's font files once it is collected (a worker process ends without exit handlers)."""
    _font_config.cache_clear()


atexit.register(release_font_configs)


def allowed_dirs(fonts: FontSet, templates_dir: Path) -> list[Path]:
    """What WeasyPrint may read: the templates folder and the folders the chosen faces come from
    (the user's font folder, Windows' fonts under WSL)."""
    return [templates_dir, *fonts.font_dirs]


def pdf_identifier(whole_html: str) -> bytes:
    """The PDF's identifier, from its content: same input, same bytes."""
    return hashlib.sha256(whole_html.encode("utf-8")).hexdigest()[:32].encode("ascii")


# Laying a piece out again where a page begins inside a merged cell (page_breaks): a few times at
# most; what is left after that (a caption that cannot fit any way) is drawn as it falls.
MAX_BREAK_PASSES = 6
Breaks = dict[str, frozenset[int]]


def page_breaks(laid_out: Any, breaks: Breaks) -> Breaks:
    """Where the pages of a laid-out piece begin inside a table's body, by table key: the body rows
    (0-based) at which a row group goes on onto a new page; and the cuts of `breaks` kept only where
    they still begin a page (a taller caption may have moved the page's first row).

    Each <tbody> carries `data-rows="<table key>:<its first body row>"` (project_table.html.j2).
    Reads WeasyPrint's boxes: the pieces path only (pdf_pieces.pieces_path_problem checks them)."""
    from weasyprint.formatting_structure.boxes import TableBox, TableRowBox, TableRowGroupBox

    found: dict[str, set[int]] = {key: set() for key in breaks}
    rows_before: dict[tuple[str, int], int] = {}  # a group's rows on earlier pages
    for page in laid_out.pages:
        for table in page._page_box.descendants():
            if not isinstance(table, TableBox):
                continue
            first_of_page = True
            for group in table.children:
                if not isinstance(group, TableRowGroupBox) or group.element is None:
                    continue
                marker = group.element.get("data-rows")
                if not marker or ":" not in marker:
                    continue
                key, _, start_text = marker.partition(":")
                start = int(start_text)
                rows = sum(1 for row in group.children if isinstance(row, TableRowBox))
                earlier = rows_before.get((key, start))
                if earlier is not None:  # this group began on an earlier page: it goes on here
                    found.setdefault(key, set()).add(start + earlier)
                elif first_of_page and start in breaks.get(key, ()):
                    found.setdefault(key, set()).add(start)  # a cut that still begins the page
                rows_before[(key, start)] = (earlier or 0) + rows
                first_of_page = False
    return {key: frozenset(rows) for key, rows in found.items() if rows}


def layout_with_breaks(html: str, fonts: FontSet, templates_dir: Path = TEMPLATES_DIR,
                       again: Callable[[Breaks], str] | None = None) -> Any:
    """WeasyPrint's layout of the HTML, laid out again (`again`) with merged cells cut where its
    pages begin inside them, until the cuts and the page breaks agree (layout_and_draw)."""
    laid_out = layout_pdf(html, fonts, templates_dir)
    breaks: Breaks = {}
    for _ in range(MAX_BREAK_PASSES if again is not None else 0):
        found = page_breaks(laid_out, breaks)
        if found == breaks:
            break
        breaks = found
        laid_out = layout_pdf(again(breaks), fonts, templates_dir)  # type: ignore[misc]
    return laid_out


def layout_and_draw(html: str, fonts: FontSet, templates_dir: Path,
                    again: Callable[[Breaks], str] | None = None) -> DrawnPiece:
    """One piece laid out and drawn. Runs in a worker process too, so it takes plain values.

    `again` renders the piece's HTML with the merged cells cut where pages begin (render_html's
    `breaks`): where a page begins inside a merged 一级, 二级 or side-label cell, the piece is laid
    out again with that cell cut there and its caption repeated on the new page, so each part shows
    it (a cell split by WeasyPrint draws its caption once, at the top of its first part)."""
    return draw(layout_with_breaks(html, fonts, templates_dir, again))


def assemble_pieces(pieces: Sequence[DrawnPiece], numbers: DrawnPiece, whole_html: str, fonts: FontSet,
                    templates_dir: Path) -> bytes:
    """The drawn pieces in order, numbered by `numbers`, as the PDF of `whole_html`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return assemble(pieces, numbers, identifier=pdf_identifier(whole_html),
                        font_config=font_config_for(fonts, templates_dir),
                        url_fetcher=restricted_url_fetcher(allowed_dirs(fonts, templates_dir)))


def whole_document_pdf(whole_html: str, fonts: FontSet, templates_dir: Path,
                       again: Callable[[Breaks], str] | None = None) -> bytes:
    """The PDF through WeasyPrint's public API alone: the whole document laid out once
    (`HTML(…).render(…)`, WeasyPrint's own HTML parser) and written (`write_pdf`).

    No internal of WeasyPrint is touched, so any release that keeps its documented API builds
    it. The whole document's CSS (style.css.j2 with piece=False) numbers the pages and mirrors
    the margins itself. Slower than pieces for a rebuild (everything is laid out again), and
    the same bytes for the same input (an identifier from the content, no time stamps).

    With `again` (given only where WeasyPrint's boxes may be read: the pieces path's internals are
    all there, the public path was taken for another reason), merged cells cut by a page are laid
    out again with their caption repeated, as in the pieces (layout_with_breaks); without it, a cut
    cell shows its caption once, on its first part.
    """
    import weasyprint

    _quiet_weasyprint()
    if again is not None:
        laid_out = layout_with_breaks(whole_html, fonts, templates_dir, again)
    else:
        fetcher = restricted_url_fetcher(allowed_dirs(fonts, templates_dir))
        laid_out = weasyprint.HTML(string=whole_html, base_url=str(templates_dir), url_fetcher=fetcher).render(
            font_config=font_config_for(fonts, templates_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return laid_out.write_pdf(pdf_identifier=pdf_identifier(whole_html))
