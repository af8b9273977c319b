"""The build, as one readable function: load → validate → model → render → write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .cache import BuildCache, cache_key, font_identity
from .fonts import FontSet, check_coverage, check_source_glyphs, choose_fonts
from .layout import Layout, read_layout
from .loader import LoadedFile
from .model import Document, build_department, build_document, build_project
from .options import BuildOptions
from .output import refuse_data_dir, write_atomically
from .progress import QUIET, Progress
from .render_docx import render_docx
from .render_html import render_html
from .render_pdf import harfbuzz_subset_available, render_document_pdf, role_of_value, text_by_role
from .validator import CheckedData, check_data


def load_document(data_dir: Path) -> tuple[Document | None, CheckedData]:
    """Validated data as a Document, or None when any file has errors (all reported in `checked`)."""
    checked = check_data(data_dir)
    if checked.errors or checked.profile is None or checked.department is None:
        return None, checked
    department = build_department(checked.department.data, checked.department.path)
    projects = [build_project(p.data, checked.profile, p.display) for p in checked.projects]
    return build_document(department, projects, checked.profile), checked


@dataclass(frozen=True)
class BuildResult:
    written: list[Path]
    notes: list[str]  # things the user should know that are not errors (font fallbacks …)


def build_notes(fonts: FontSet) -> list[str]:
    notes = fonts.fallback_notes()
    if not harfbuzz_subset_available():
        notes.append("未安装 libharfbuzz-subset0：PDF 字体子集化将慢约 10 秒（sudo apt-get install libharfbuzz-subset0）")
    return notes


def build(document: Document, options: BuildOptions, sources: list[LoadedFile] = (),
          progress: Progress = QUIET) -> BuildResult:
    """Render the document and write every output atomically.

    Nothing is written until every output has rendered, so a failure leaves the previous
    build's files as they were. Rendered pieces come from the cache when their inputs are
    unchanged (perfdoc.cache), so a rebuild after a small edit redoes only what changed.
    """
    cache_dir = options.resolved_cache_dir
    for folder in (options.out_dir, cache_dir):
        refuse_data_dir(folder, options.data_dir)
    cache = BuildCache.for_options(options)
    fonts = choose_fonts(options.fonts_dir or document.department.fonts_dir)
    check_source_glyphs(fonts, list(sources), role_of_value)  # names file:line of a bad character
    html = render_html(document, fonts, templates_dir=options.templates_dir)
    layout = read_layout(html)
    check_coverage(fonts, text_by_role(layout))
    pdf = render_document_pdf(document, fonts, html, layout.lang, options.templates_dir, cache, progress,
                              options.projects_per_part)
    progress.step("DOCX")
    docx = render_cached_docx(layout, html, fonts, options.reference_docx, cache)
    progress.finish()

    stem = document.department.output_name
    outputs = {options.out_dir / f"{stem}.html": html.encode("utf-8"), options.out_dir / f"{stem}.pdf": pdf,
               options.out_dir / f"{stem}.docx": docx}
    for target, content in outputs.items():
        write_atomically(target, content, data_dir=options.data_dir)
    return BuildResult(list(outputs), build_notes(fonts))


def render_cached_docx(layout: Layout, html: str, fonts: FontSet, reference: Path | None,
                       cache: BuildCache) -> bytes:
    reference_bytes = reference.read_bytes() if reference and reference.is_file() else b""
    key = cache_key("docx", html, font_identity(fonts), reference_bytes)
    return cache.get_or_make(key, lambda: render_docx(layout, fonts, reference))
