"""Stage 4b — the PDF: the same HTML, laid out by WeasyPrint, with chosen fonts and no surprises.

- Fonts are chosen and checked for coverage first (perfdoc.fonts), so no glyph becomes a box.
- WeasyPrint may read only the templates folder and the user's font folder: YAML text is data,
  and even a URL smuggled into the HTML cannot read /etc/passwd or reach the network.
- Same input, same bytes: no time stamps, a PDF identifier derived from the content.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import hashlib
import importlib
import io
import logging
import multiprocessing
import multiprocessing.pool
import multiprocessing.resource_tracker
import os
import signal
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from .cache import BuildCache, cache_key, font_identity
from .diagnostics import UserError
from .fonts import FontSet
from .layout import Layout, text_by_style
from .loader import LoadedFile
from .model import Document, Part, Project
from .progress import Progress
from .render_html import TEMPLATES_DIR, render_html
from .weasy_input import weasy_html

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
    allowed = [templates_dir] + ([fonts.user_dir] if fonts.user_dir else [])
    # WeasyPrint logs refused fetches and font fallbacks as warnings; the checks before this
    # stage have already said what matters, in the user's language.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasy_html(html, base_url=str(templates_dir), url_fetcher=restricted_url_fetcher(allowed)).render()


def write_pdf(laid_out, html: str) -> bytes:
    """PDF bytes; the identifier is derived from the HTML, so the same input gives the same file."""
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return laid_out.write_pdf(pdf_identifier=identifier)


def render_part(html: str, fonts: FontSet, templates_dir: Path) -> tuple[bytes, int]:
    """One part's PDF and its page count. Runs in a worker process too, so it takes plain values."""
    laid_out = layout_pdf(html, fonts, templates_dir)
    return write_pdf(laid_out, html), len(laid_out.pages)


# How worker processes start: spawn everywhere, so the path tested on Linux is the one macOS and
# Windows take (they cannot fork), and no worker is forked from a parent running threads (which
# can deadlock; Python 3.12 warns). The price is a fresh interpreter per worker, importing
# perfdoc and WeasyPrint once per build: ~0.1–0.3 s more than fork on two cores.
START_METHOD = "spawn"


@dataclass
class PartJob:
    part: Part
    pages: int  # known from the cache or an earlier pass, else an estimate
    pages_measured: bool = False  # `pages` is a real count, not an estimate
    pages_key: str = ""  # where the part's real page count is cached
    first_page: int = 1
    html: str = ""
    key: str = ""
    pdf: bytes | None = None


def _lines(text: str, per_line: float) -> int:
    return max(1, -(-len(text) // max(1, int(per_line))))


def _estimate_front_pages(document: Document) -> int:
    """Lines of 28 characters, 22 to a page: title (3 lines with the gap), headings, paragraphs."""
    d = document.department
    paragraphs = [*d.overall_target, *(f"（{m.number}）{m.text}" for m in d.measures)]
    for t in d.sub_targets:
        paragraphs += [f"（{t.number}）{t.heading}", "绩效目标：" + t.target, "绩效指标：" + t.indicators]
    lines = 3 + 3 + sum(_lines("  " + text, 28) for text in paragraphs)  # title, the three 一、 headings
    return -(-lines // 22)


def _estimate_table_pages(project: Project) -> int:
    """The tables' height from how their cells wrap (characters per line from each cell's width,
    五号 being 3.7 mm a character) against the 225 mm text block. Cells spanning several rows
    (一级, 二级) are left out: their rows are at least one line high anyway."""
    line, pad = 4.8, 1.6  # mm: 五号 at line-height 1.3; cell padding
    height = 0.0
    for table in project.tables:
        for row in table.cell_widths():
            lines = max((_lines(cell.text, (width - 1) / 3.7) for cell, width in row if cell.rowspan == 1), default=1)
            height += lines * line + pad
    return 1 if height <= 225 else 1 + -(-int(height - 225) // 205)


def _estimate_pages(part: Part, document: Document) -> int:
    """Before anything is laid out (an error here costs time, never correctness)."""
    pages = sum(_estimate_table_pages(p) for p in part.projects)
    return pages + (_estimate_front_pages(document) if part.front else 0)


def render_document_pdf(document: Document, fonts: FontSet, whole_html: str, lang: str, templates_dir: Path,
                        cache: BuildCache, progress: Progress, projects_per_part: int,
                        start_method: str | None = None) -> bytes:
    """The PDF: from the cache where nothing changed, else laid out, in parts when long.

    Why parts: WeasyPrint holds a whole document's boxes in memory (2.6 GB and rising for 1000
    projects), and a part is what the cache keeps and a worker process lays out. A short document,
    the seed included, is one part: one layout, one set of font subsets, no merging. Each part
    embeds its own font subsets, so a long document's PDF is larger than one laid out whole.
    """
    fonts_id = font_identity(fonts)
    parts = document.parts(projects_per_part)
    if len(parts) == 1:
        def lay_out_whole() -> bytes:
            progress.step(f"PDF 排版（{len(document.projects)} 个项目）")
            return render_part(whole_html, fonts, templates_dir)[0]

        return cache.get_or_make(cache_key("pdf", whole_html, fonts_id), lay_out_whole)

    def place(job: PartJob, first_page: int) -> None:
        job.first_page, job.pdf = first_page, None
        job.html = render_html(document, fonts, part=job.part, first_page=first_page, templates_dir=templates_dir)
        job.key = cache_key("pdf-part", job.html, fonts_id)
        job.pdf = cache.get(job.key)

    jobs = []
    for part in parts:  # a part's page count does not depend on where it starts: keyed without it
        pages_key = cache_key("pages", render_html(document, fonts, part=part, templates_dir=templates_dir), fonts_id)
        known = cache.get_json(pages_key)
        measured = isinstance(known, int)
        jobs.append(PartJob(part, known if isinstance(known, int) else _estimate_pages(part, document),
                            pages_measured=measured, pages_key=pages_key))

    def replace_all() -> None:
        first = 1
        for job in jobs:
            if job.first_page != first or not job.html:
                place(job, first)
            first += job.pages

    def finished(job: PartJob, pdf: bytes, pages: int) -> None:
        job.pdf = pdf
        cache.put(job.key, pdf)
        cache.put_json(job.pages_key, pages)
        job.pages, job.pages_measured = pages, True  # when it differs from the estimate, the parts after it move

    pdfs = _lay_out_in_order(jobs, replace_all, finished, fonts, templates_dir, progress, len(document.projects),
                             start_method)
    return merge_parts(pdfs, lang=lang or "zh-CN")


WORKERS = 2  # the machines this runs on have two cores
WORKER_CHECK_SECONDS = 0.5  # how often a wait for a part checks that the workers are alive


def _lay_out_in_order(jobs: list[PartJob], replace_all: Callable[[], None],
                      finished: Callable[[PartJob, bytes, int], None], fonts: FontSet, templates_dir: Path,
                      progress: Progress, total_projects: int, start_method: str | None = None) -> list[bytes]:
    """Every part's PDF: those not cached laid out two at a time, in document order.

    Each part starts where the parts before it end, as far as that is known: exact page counts for
    parts done, estimates for the rest. When a part turns out longer or shorter than estimated,
    only the parts already started after it at the wrong page are laid out again (at most the
    one other worker's), not the rest of the document.

    The workers serve the whole build. They start at once when some part was never laid out (its
    page count is an estimate), so their start-up overlaps placing the parts; else with the first
    part that turns out to need laying out (a fully cached document starts none). However this
    ends — done, an error, Ctrl-C — the pool is terminated on the way out: no worker outlives the
    build or finishes a part nobody wants.
    """
    running: dict[int, tuple[multiprocessing.pool.AsyncResult, str]] = {}  # job index → (result, key started with)
    stale: list[multiprocessing.pool.AsyncResult] = []  # results no longer wanted, still occupying a worker
    done = 0
    pool: multiprocessing.pool.Pool | None = None
    worker_pids: set[int] = set()
    on_exit = contextlib.ExitStack()

    def workers() -> multiprocessing.pool.Pool:
        nonlocal pool, worker_pids
        if pool is None:
            method = start_method or START_METHOD  # read at run time: a test may set START_METHOD
            others = _child_pids()
            with _interrupts_held(method):  # until the pool is in on_exit, which terminates it
                pool = on_exit.enter_context(_start_pool(method))
            worker_pids = _child_pids() - others
        return pool

    def wait_for(result: multiprocessing.pool.AsyncResult) -> None:
        """A worker killed meanwhile (out of memory …) took its part with it, and the pool, which
        replaces the worker but not the part, would wait for that part for ever: stop instead."""
        while not result.ready():
            result.wait(WORKER_CHECK_SECONDS)
            if not worker_pids <= _child_pids():
                per_part = max(len(job.part.projects) for job in jobs)
                raise UserError("错误: PDF 排版的工作进程意外退出（可能内存不足，被系统终止）：请关闭其他程序后重试，"
                                f"或用 --projects-per-part 减少每段的项目数（现为每段 {per_part} 个）")

    with on_exit:
        if not all(job.pages_measured for job in jobs):
            workers()
        while True:
            replace_all()
            for index, (_result, key) in list(running.items()):
                if key != jobs[index].key:  # started at a page that is no longer right
                    stale.append(running.pop(index)[0])
            stale = [r for r in stale if not r.ready()]
            pdfs = [job.pdf for job in jobs if job.pdf is not None]
            if len(pdfs) == len(jobs):
                return pdfs
            busy = len(running) + len(stale)
            for index, job in enumerate(jobs):
                if busy >= WORKERS:
                    break
                if job.pdf is None and index not in running:
                    running[index] = (workers().apply_async(render_part, (job.html, fonts, templates_dir)), job.key)
                    busy += 1
            if not running:  # every worker busy with an unwanted part: wait for one to free up
                wait_for(stale[0])
                continue
            index = min(running)
            result, _ = running.pop(index)
            wait_for(result)
            pdf, pages = result.get()
            finished(jobs[index], pdf, pages)
            done += len(jobs[index].part.projects)
            progress.step(f"PDF 排版：{done}/{total_projects} 个项目")


def _child_pids() -> set[int]:
    """This process's live multiprocessing children (the pool's workers among them)."""
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


def _start_pool(start_method: str) -> multiprocessing.pool.Pool:
    """Worker processes for the parts. Everything they get is pickled (html, FontSet, Path) and
    they set up their own state, so every start method works, including spawn."""
    context = multiprocessing.get_context(start_method)
    return context.Pool(processes=min(WORKERS, os.cpu_count() or 1), initializer=_init_worker)


def _init_worker() -> None:
    """Ctrl-C belongs to the parent, which terminates the pool: a worker that took it too would
    print its own traceback (`Process SpawnPoolWorker-1: …`) under the parent's one-line message.

    The worker was born with SIGINT blocked (`_interrupts_held`), so a Ctrl-C during its start-up
    waits here and is dropped by SIG_IGN. WeasyPrint (~0.4 s to import) is imported now, while
    the parent is still placing the parts (`_lay_out_in_order`), not in the first part's time.
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


def merge_parts(pdfs: list[bytes], *, lang: str) -> bytes:
    """One PDF from the parts: pages in order, one outline, the first part's metadata, fixed ID.

    Each part opens with the projects' level-1 bookmark again (its own copy of the wrapper), so
    a level-1 title seen before is the same chapter continuing: its items join the one parent.
    Bookmarks keep their destination on the page (WeasyPrint's /XYZ left, top), not just the page.
    """
    import pypdf
    from pypdf.generic import (
        ArrayObject,
        ByteStringObject,
        Fit,
        IndirectObject,
        NameObject,
        TextStringObject,
    )

    writer = pypdf.PdfWriter()
    parents: dict[str, IndirectObject] = {}
    current_top: IndirectObject | None = None
    offset = 0
    for pdf in pdfs:
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        writer.append(reader, import_outline=False)
        for level, item in _flat_outline(reader.outline, 1):
            page = reader.get_destination_page_number(item)
            if page is None:  # a bookmark to no page of this part: nowhere to go in the whole either
                continue
            page += offset
            fit = Fit(fit_type=item.typ, fit_args=tuple(item.dest_array[2:]))
            if level == 1:
                if title_seen := parents.get(item.title):
                    current_top = title_seen
                else:
                    current_top = parents[item.title] = writer.add_outline_item(title=item.title, page_number=page,
                                                                                 fit=fit)
            else:
                writer.add_outline_item(title=item.title, page_number=page, parent=current_top, fit=fit)
        offset += len(reader.pages)
    first = pypdf.PdfReader(io.BytesIO(pdfs[0]))
    writer.add_metadata({k: v for k, v in (first.metadata or {}).items()})
    writer._root_object[NameObject("/Lang")] = TextStringObject(lang)
    identifier = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in pdfs)).digest()[:16]
    writer._ID = ArrayObject([ByteStringObject(identifier), ByteStringObject(identifier)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _flat_outline(items: list, level: int) -> Iterator[tuple[int, Any]]:
    """(level, destination) in document order; pypdf nests an item's children as a list after it."""
    for item in items:
        if isinstance(item, list):
            yield from _flat_outline(item, level + 1)
        else:
            yield level, item
