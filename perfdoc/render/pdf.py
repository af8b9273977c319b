"""Stage 4b — the PDF: the same HTML, laid out by WeasyPrint, with chosen fonts and no surprises.

- Fonts are chosen and checked for coverage first (perfdoc.render.fonts), so no glyph becomes a box.
- WeasyPrint may read only the templates folder and the user's font folder: YAML text is data,
  and even a URL smuggled into the HTML cannot read /etc/passwd or reach the network.
- Same input, same bytes: no time stamps, a PDF identifier derived from the content.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes.util
import functools
import gc
import hashlib
import importlib
import json
import logging
import multiprocessing
import multiprocessing.pool
import multiprocessing.resource_tracker
import os
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from perfdoc.build.cache import BuildCache, cache_key, font_identity
from perfdoc.build.progress import Progress
from perfdoc.data.loader import LoadedFile
from perfdoc.data.model import Document
from perfdoc.diagnostics import UserError, unlocated
from perfdoc.looks import PARAGRAPH_LOOKS
from perfdoc.render.fonts import FontSet
from perfdoc.render.html import TEMPLATES_DIR, font_face_rules, render_html, render_page_numbers_html
from perfdoc.render.pdf_pieces import DrawnPiece, assemble, draw
from perfdoc.render.readback import Layout, text_by_style
from perfdoc.render.weasy_input import weasy_html

# Which font role draws the text of each class (the classes are the templates'; the CSS in
# templates/style.css.j2 gives them these same roles).
ROLE_OF_STYLE = {**{style: look.role for style, look in PARAGRAPH_LOOKS.items()}, "table": "fangsong"}
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
    # WeasyPrint logs refused fetches and font fallbacks as warnings; the checks before this
    # stage have already said what matters, in the user's language.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    fetcher = restricted_url_fetcher(_allowed_dirs(fonts, templates_dir))
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
    return _font_config(identity, font_face_rules(fonts), tuple(_allowed_dirs(fonts, templates_dir)))


atexit.register(_font_config.cache_clear)


# Laying a piece out again where a page begins inside a merged cell (page_breaks): a few times at
# most; what is left after that (a caption that cannot fit any way) is drawn as it falls.
MAX_BREAK_PASSES = 6
Breaks = dict[str, frozenset[int]]


def page_breaks(laid_out: Any, breaks: Breaks) -> Breaks:
    """Where the pages of a laid-out piece begin inside a table's body, by table key: the body rows
    (0-based) at which a row group goes on onto a new page; and the cuts of `breaks` kept only where
    they still begin a page (a taller caption may have moved the page's first row).

    Each <tbody> carries `data-rows="<table key>:<its first body row>"` (project_table.html.j2)."""
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


def layout_and_draw(html: str, fonts: FontSet, templates_dir: Path,
                    again: Callable[[Breaks], str] | None = None) -> DrawnPiece:
    """One piece laid out and drawn. Runs in a worker process too, so it takes plain values.

    `again` renders the piece's HTML with the merged cells cut where pages begin (render_html's
    `breaks`): where a page begins inside a merged 一级, 二级 or side-label cell, the piece is laid
    out again with that cell cut there and its caption repeated on the new page, so each part shows
    it (a cell split by WeasyPrint draws its caption once, at the top of its first part)."""
    return draw(layout_with_breaks(html, fonts, templates_dir, again))


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


@dataclass(frozen=True)
class PieceJob:
    """What a worker needs to lay one piece out: its HTML, and how to render it again with cuts."""

    html: str
    document: Document
    part: int  # which of document.pieces()


def _again(job: PieceJob, fonts: FontSet, templates_dir: Path) -> Callable[[Breaks], str]:
    part = job.document.pieces()[job.part]
    return functools.partial(_render_with_breaks, job.document, fonts, part, templates_dir)


def _render_with_breaks(document: Document, fonts: FontSet, part: Any, templates_dir: Path, breaks: Breaks) -> str:
    return render_html(document, fonts, part=part, piece=True, templates_dir=templates_dir, breaks=breaks)


def _lay_out_pieces(jobs: list[PieceJob], fonts: FontSet, templates_dir: Path) -> list[DrawnPiece]:
    """A worker's share: its pieces in order (a list, so one round trip carries them all).

    The worker is terminated with the pool, without running exit handlers: its font
    configuration is let go here, which removes WeasyPrint's copies of the user's font files."""
    try:
        return [layout_and_draw(job.html, fonts, templates_dir, _again(job, fonts, templates_dir)) for job in jobs]
    finally:
        _font_config.cache_clear()
        gc.collect()  # the configuration sits in reference cycles of the laid-out boxes


# How worker processes start: spawn everywhere, so the path tested on Linux is the one macOS and
# Windows take (they cannot fork), and no worker is forked from a parent running threads (which
# can deadlock; Python 3.12 warns). The price is a fresh interpreter per worker, importing
# perfdoc and WeasyPrint (~0.4 s) once per build.
START_METHOD = "spawn"
# A worker helps when there is more to lay out than its start-up costs (~0.5 s, while this process
# imports WeasyPrint too): from about 8 pieces (~50 ms each for the seed's tables; a one-value
# rebuild has one). It takes the later half, this process one piece more: the front matter it
# starts with is the slowest piece (measured on the seed: head starts of 0–2 pieces were best).
PIECES_WORTH_A_WORKER = 8
WORKER_HEAD_START = 1


def render_document_pdf(document: Document, fonts: FontSet, whole_html: str, templates_dir: Path,
                        cache: BuildCache, progress: Progress, start_method: str | None = None) -> bytes:
    """The PDF: from the cache where nothing changed, else assembled from pieces (perfdoc.render.pdf_pieces).

    Each piece — the front matter, then each project's table — is cached by its own HTML; only
    the pieces whose HTML changed are laid out again, whatever the document's length, and the
    assembly is the same for a cold build and a rebuild, so both give the same bytes.
    """
    fonts_id = font_identity(fonts)

    def assemble_document() -> bytes:
        htmls = [render_html(document, fonts, part=part, piece=True, templates_dir=templates_dir)
                 for part in document.pieces()]
        keys = [cache_key("pdf-piece", html, fonts_id) for html in htmls]
        pieces = [_cached_piece(cache, key) for key in keys]
        missing = [index for index, piece in enumerate(pieces) if piece is None]
        jobs = [PieceJob(htmls[i], document, i) for i in missing]
        drawn = _lay_out_missing(jobs, fonts, templates_dir, progress, interrupts, start_method)
        for index, piece in zip(missing, drawn, strict=True):
            pieces[index] = piece
            cache.put(keys[index], piece.to_bytes())
        complete = [piece for piece in pieces if piece is not None]
        page_count = sum(len(piece.pages) for piece in complete)
        numbers_html = render_page_numbers_html(whole_html, page_count)
        numbers_key = cache_key("pdf-page-numbers", numbers_html, fonts_id)
        numbers = _cached_piece(cache, numbers_key)
        if numbers is None:
            numbers = layout_and_draw(numbers_html, fonts, templates_dir)
            cache.put(numbers_key, numbers.to_bytes())
        progress.step(f"PDF 组装（{page_count} 页）")
        identifier = hashlib.sha256(whole_html.encode("utf-8")).hexdigest()[:32].encode("ascii")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return assemble(complete, numbers, identifier=identifier, font_config=font_config_for(fonts, templates_dir),
                            url_fetcher=restricted_url_fetcher(_allowed_dirs(fonts, templates_dir)))

    with InterruptsKept() as interrupts:
        return cache.get_or_make(cache_key("pdf", whole_html, fonts_id), assemble_document)


class InterruptsKept:
    """Ctrl-C still raises KeyboardInterrupt at once, but this process lays out pieces itself, and
    WeasyPrint frees fonts in finalizers (`__del__`), where Python prints an exception and drops
    it: an interrupt landing there would be lost and the build would go on. So it is remembered
    too, and raised again between pieces and on the way out. (Only the main thread can set a
    handler; serve's background builds end with their process.)"""

    def __init__(self) -> None:
        self.noticed = False
        self._previous: Any = None

    def __enter__(self) -> InterruptsKept:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def _on_interrupt(self, signum: int, frame: object) -> None:
        self.noticed = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.noticed:
            raise KeyboardInterrupt

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        if kind is None:
            self.check()


def _cached_piece(cache: BuildCache, key: str) -> DrawnPiece | None:
    raw = cache.get(key)
    return DrawnPiece.from_bytes(raw) if raw is not None else None


WORKERS = 2  # the machines this runs on have two cores
WORKER_CHECK_SECONDS = 0.5  # how often a wait for the worker checks that it is alive


def _lay_out_missing(jobs: list[PieceJob], fonts: FontSet, templates_dir: Path, progress: Progress,
                     interrupts: InterruptsKept, start_method: str | None = None) -> list[DrawnPiece]:
    """The pieces not in the cache, laid out and drawn, in order.

    This process lays them out itself; with many of them (a cold build), a worker process takes
    the last ones at the same time, on the other core. However this ends — done, an error,
    Ctrl-C — the worker is terminated on the way out: none outlives the build.
    """
    total = len(jobs)
    helpers = min(WORKERS, os.cpu_count() or 1) - 1
    own = total if total < PIECES_WORTH_A_WORKER or helpers < 1 else WORKER_HEAD_START + (total - WORKER_HEAD_START) // 2
    done: list[DrawnPiece] = []
    with contextlib.ExitStack() as on_exit:
        theirs = None
        if own < total:
            method = start_method or START_METHOD  # read at run time: a test may set START_METHOD
            others = _child_pids()
            with _interrupts_held(method):  # until the pool is in on_exit, which terminates it
                pool = on_exit.enter_context(_start_pool(method, helpers))
            worker_pids = _child_pids() - others
            theirs = pool.apply_async(_lay_out_pieces, (jobs[own:], fonts, templates_dir))
        for job in jobs[:own]:
            interrupts.check()
            done.append(layout_and_draw(job.html, fonts, templates_dir, _again(job, fonts, templates_dir)))
            progress.step(f"PDF 排版：{len(done)}/{total} 段")
        if theirs is not None:
            _wait_for_worker(theirs, worker_pids)
            done += theirs.get()
            progress.step(f"PDF 排版：{total}/{total} 段")
    return done


def _wait_for_worker(result: multiprocessing.pool.AsyncResult, worker_pids: set[int]) -> None:
    """A worker killed meanwhile (out of memory …) took its pieces with it, and the pool, which
    replaces the worker but not the task, would wait for them for ever: stop instead."""
    while not result.ready():
        result.wait(WORKER_CHECK_SECONDS)
        if not worker_pids <= _child_pids():
            raise UserError(unlocated("PDF 排版的工作进程意外退出（可能内存不足，被系统终止）：请关闭其他程序后重试"))


def _allowed_dirs(fonts: FontSet, templates_dir: Path) -> list[Path]:
    return [templates_dir, *fonts.font_dirs]


def _child_pids() -> set[int]:
    """This process's live multiprocessing children (the pool's workers among them)."""
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


def _start_pool(start_method: str, processes: int) -> multiprocessing.pool.Pool:
    """Worker processes for pieces. Everything they get is pickled (html, FontSet, Path) and
    they set up their own state, so every start method works, including spawn."""
    context = multiprocessing.get_context(start_method)
    return context.Pool(processes=processes, initializer=_init_worker)


def _init_worker() -> None:
    """Ctrl-C belongs to the parent, which terminates the pool: a worker that took it too would
    print its own traceback (`Process SpawnPoolWorker-1: …`) under the parent's one-line message.

    The worker was born with SIGINT blocked (`_interrupts_held`), so a Ctrl-C during its start-up
    waits here and is dropped by SIG_IGN. WeasyPrint (~0.4 s to import) is imported now: the
    pool's task waits for it, while the parent lays out its own pieces meanwhile.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    importlib.import_module("weasyprint")


@contextlib.contextmanager
def _interrupts_held(start_method: str) -> Iterator[None]:
    """Hold SIGINT (POSIX) while worker processes are created: they inherit the blocked mask, so
    none can take a Ctrl-C before `_init_worker` ignores it; the parent gets a held one on exit."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks; the initializer suffices
        yield
        return
    if start_method != "fork":
        # Spawned pools need multiprocessing's resource tracker, and starting it unblocks SIGINT
        # on its way out: start it before the hold, not inside it.
        multiprocessing.resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
