"""The build's PDF: from the cache where nothing changed, else from pieces, else through
WeasyPrint's public API — with one note saying when and why.

Pieces (perfdoc.render.pdf_pieces): each piece — the front matter, then each project's table — is
cached by its own HTML; only the pieces whose HTML changed are laid out again, whatever the
document's length, some of them by a worker process (perfdoc.build.workers). The assembly is the
same for a cold build and a rebuild, so both give the same bytes.

The public path (perfdoc.render.pdf.whole_document_pdf): the whole document laid out once and
written by WeasyPrint's documented API. The build takes it, and says so in one note
(`提示: PDF 用 WeasyPrint 的公开接口整体排版（原因：…）`), when
- the installed WeasyPrint or pydyf is not a release the pieces path is tested on, or an internal
  it uses is missing or changed (perfdoc.render.pdf_pieces.pieces_path_problem): an upgrade
  cannot break a build;
- a piece draws what assembly cannot replay (PieceNotDrawable: an image or a gradient in a
  user's --templates CSS); remembered in the cache, so a rebuild goes there at once;
- the environment variable PERFDOC_PDF_PATH is `public`: forces it, for tests and for anyone an
  upgrade hits before perfdoc knows of it. Unset, empty or `auto`: chosen as above.
The two paths' cache entries have keys of their own ("pdf" and "pdf-public").
"""

from __future__ import annotations

import functools
import gc
import os
from dataclasses import dataclass
from pathlib import Path

from perfdoc.build.cache import BuildCache, cache_key
from perfdoc.build.progress import Progress
from perfdoc.build.workers import InterruptsKept, share_with_a_worker
from perfdoc.data.model import Document
from perfdoc.data.stage_document import StageDocument
from perfdoc.diagnostics import UserError, unlocated
from perfdoc.render.fonts import FontSet, font_identity
from perfdoc.render.html import render_html, render_page_numbers_html
from perfdoc.render.pdf import assemble_pieces, layout_and_draw, release_font_configs, whole_document_pdf
from perfdoc.render.pdf_pieces import DrawnPiece, PieceNotDrawable, pieces_path_problem

PATH_VARIABLE = "PERFDOC_PDF_PATH"


@dataclass(frozen=True)
class DocumentPdf:
    content: bytes
    public_reason: str | None = None  # why WeasyPrint's public path was taken; None: from pieces

    @property
    def note(self) -> str | None:
        """What the user is told about the path, when it is not the usual one."""
        if self.public_reason is None:
            return None
        return f"PDF 用 WeasyPrint 的公开接口整体排版（原因：{self.public_reason}）"


def public_path_reason() -> str | None:
    """Why this build must take the public path before it starts, or None for pieces."""
    chosen = os.environ.get(PATH_VARIABLE, "").strip()
    if chosen == "public":
        return f"环境变量 {PATH_VARIABLE}=public 指定（forced by {PATH_VARIABLE}=public）"
    if chosen not in ("", "auto"):
        raise UserError(unlocated(f"环境变量 {PATH_VARIABLE} 的值 “{chosen}” 无效：只能是 public 或 auto"
                                  f"（{PATH_VARIABLE} must be public or auto）"))
    return pieces_path_problem()


def render_document_pdf(document: Document | StageDocument, fonts: FontSet, whole_html: str, templates_dir: Path,
                        cache: BuildCache, progress: Progress, start_method: str | None = None) -> DocumentPdf:
    """The document's PDF, by the path this machine and this document allow (see the module)."""
    fonts_id = font_identity(fonts)
    reason = public_path_reason()
    with InterruptsKept() as interrupts:
        if reason is None:
            refused_key = cache_key("pdf-pieces-refused", whole_html, fonts_id)
            refused = cache.get(refused_key)
            if refused is not None:
                reason = refused.decode("utf-8")
            else:
                try:
                    return DocumentPdf(cache.get_or_make(
                        cache_key("pdf", whole_html, fonts_id),
                        lambda: _from_pieces(document, fonts, whole_html, templates_dir, cache, progress, interrupts,
                                             start_method)))
                except PieceNotDrawable as exc:
                    reason = exc.reason
                    cache.put(refused_key, reason.encode("utf-8"))
        progress.step("PDF 整体排版（WeasyPrint 公开接口）")
        boxes_readable = pieces_path_problem() is None  # then cut merged cells repeat their caption here too
        again = functools.partial(_whole_with_breaks, document, fonts, templates_dir) if boxes_readable else None
        content = cache.get_or_make(cache_key("pdf-public", whole_html, fonts_id, boxes_readable),
                                    lambda: whole_document_pdf(whole_html, fonts, templates_dir, again))
        return DocumentPdf(content, reason)


def _from_pieces(document: Document | StageDocument, fonts: FontSet, whole_html: str, templates_dir: Path, cache: BuildCache,
                 progress: Progress, interrupts: InterruptsKept, start_method: str | None) -> bytes:
    """The PDF assembled from its pieces: those in the cache, the others laid out now."""
    fonts_id = font_identity(fonts)
    htmls = [render_html(document, fonts, part=part, piece=True, templates_dir=templates_dir)
             for part in document.pieces()]
    keys = [cache_key("pdf-piece", html, fonts_id) for html in htmls]
    pieces = [_cached_piece(cache, key) for key in keys]
    missing = [index for index, piece in enumerate(pieces) if piece is None]
    drawn = share_with_a_worker(
        [PieceJob(htmls[i], document, i) for i in missing],
        functools.partial(_lay_out_piece, fonts=fonts, templates_dir=templates_dir),
        functools.partial(_lay_out_pieces, fonts=fonts, templates_dir=templates_dir), interrupts,
        lambda done, total: progress.step(f"PDF 排版：{done}/{total} 段"), preload=("weasyprint",),
        start_method=start_method)
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
    return assemble_pieces(complete, numbers, whole_html, fonts, templates_dir)


@dataclass(frozen=True)
class PieceJob:
    """What laying one piece out needs: its HTML, and the document and part to render it again
    with merged cells cut where pages begin (perfdoc.render.pdf.layout_and_draw). Plain values, so
    a worker process gets it whole."""

    html: str
    document: Document | StageDocument
    part: int  # which of document.pieces()


def _lay_out_piece(job: PieceJob, fonts: FontSet, templates_dir: Path) -> DrawnPiece:
    part = job.document.pieces()[job.part]
    again = functools.partial(render_html, job.document, fonts, part=part, piece=True, templates_dir=templates_dir)
    return layout_and_draw(job.html, fonts, templates_dir, lambda breaks: again(breaks=breaks))


def _lay_out_pieces(jobs: list[PieceJob], fonts: FontSet, templates_dir: Path) -> list[DrawnPiece]:
    """A worker's share: its pieces in order (a list, so one round trip carries them all).

    The worker is terminated with the pool, without running exit handlers: its font
    configuration is let go here, which removes WeasyPrint's copies of the user's font files."""
    try:
        return [_lay_out_piece(job, fonts, templates_dir) for job in jobs]
    finally:
        release_font_configs()
        gc.collect()  # the configuration sits in reference cycles of the laid-out boxes


def _whole_with_breaks(document: Document | StageDocument, fonts: FontSet, templates_dir: Path, breaks: dict[str, frozenset[int]]) -> str:
    return render_html(document, fonts, templates_dir=templates_dir, breaks=breaks)


def _cached_piece(cache: BuildCache, key: str) -> DrawnPiece | None:
    raw = cache.get(key)
    return DrawnPiece.from_bytes(raw) if raw is not None else None
