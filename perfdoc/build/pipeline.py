"""The build, as one readable function: load → validate → model → render → write."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from perfdoc.build.cache import BuildCache, cache_key
from perfdoc.build.pdf import render_document_pdf
from perfdoc.render.fonts import FontSet, check_coverage, check_source_glyphs, choose_fonts, font_identity, role_of_value
from perfdoc.render.readback import Layout, read_layout
from perfdoc.data.loader import LoadedFile
from perfdoc.data.model import Document, build_department, build_document, build_project
from perfdoc.data.stage_document import StageDocument, stage_document
from perfdoc.build.options import BuildOptions
from perfdoc.build.output import write_all_or_nothing
from perfdoc.build.preflight import preflight
from perfdoc.build.progress import QUIET, Progress
from perfdoc.render.docx import render_docx
from perfdoc.render.html import render_html
from perfdoc.render.pdf import harfbuzz_subset_available, text_by_role
from perfdoc.render.stage_xlsx import render_stage_xlsx, stage_xlsx_cache_parts
from perfdoc.render.xlsx import render_xlsx, xlsx_cache_parts
from perfdoc.data.validate import CheckedData, check_data


def load_document(data_dir: Path) -> tuple[Document | None, CheckedData]:
    """Validated data as a Document, or None when any file has errors (all reported in `checked`)."""
    checked = check_data(data_dir)
    if checked.errors or checked.profile is None or checked.department is None:
        return None, checked
    department = build_department(checked.department.data, checked.department.path, checked.table_profile)
    projects = [build_project(p.data, checked.profile, p.display) for p in checked.projects]
    return build_document(department, projects, checked.profile), checked


def stage_documents(document: Document, checked: CheckedData) -> list[StageDocument]:
    """The monitoring and the self-evaluation documents, each where its folder holds files that joined
    their projects (perfdoc.data.stage_check), in the layout the targets' profile names."""
    found = []
    for stage, records in (("monitoring", checked.stages.monitorings), ("evaluation", checked.stages.evaluations)):
        layout = checked.stages.layouts.get(stage)
        if records and layout is not None:
            found.append(stage_document(stage, document.department, layout, list(records), document.profile.uses_code))
    return found


def stage_sources(checked: CheckedData) -> list[LoadedFile]:
    """The stage files, for the glyph check (a character no font has names its file:line)."""
    return [loaded for files in checked.stages.files.values() for loaded in files]


@dataclass(frozen=True)
class BuildResult:
    written: list[Path]
    notes: list[str]  # things the user should know that are not errors (font fallbacks …)
    # SHA-256 of the bytes this build wrote to each file: what the no-change record vouches for
    # (never re-read from disk, where another build may have written since).
    digests: dict[Path, str]


def build_notes(fonts: FontSet) -> list[str]:
    notes = fonts.fallback_notes()
    if not harfbuzz_subset_available():
        notes.append("未安装 libharfbuzz-subset0：PDF 字体子集化将慢约 10 秒（sudo apt-get install libharfbuzz-subset0）")
    return notes


def build(document: Document, options: BuildOptions, sources: Sequence[LoadedFile] = (),
          progress: Progress = QUIET, stages: Sequence[StageDocument] = ()) -> BuildResult:
    """Render the document and replace all of its outputs, or none of them.

    The output and cache folders and the reference DOCX are checked before layout starts
    (perfdoc.build.preflight), so a wrong path costs no rendering time. Nothing is written until every
    output has rendered, and then all outputs are replaced together (perfdoc.build.output), so a
    failure leaves the previous build's files as they were. Rendered pieces come from the cache
    when their inputs are unchanged (perfdoc.build.cache), so a rebuild after a small edit redoes only
    what changed.

    `stages`: the monitoring and self-evaluation documents (stage_documents), written beside the
    targets' files under their own names, in the same all-or-nothing write.
    """
    stems = [document.department.output_name, *(stage.output_name for stage in stages)]
    outputs = [options.out_dir / f"{stem}.{ext}" for stem in stems for ext in ("html", "pdf", "docx", "xlsx")]
    checked = preflight(options, outputs)
    if not checked.use_cache:  # the cache folder cannot be written: build without it (a note says so)
        options = replace(options, use_cache=False)
    cache = BuildCache.for_options(options)
    fonts = choose_fonts(options.fonts_dir or document.department.fonts_dir)
    check_source_glyphs(fonts, list(sources), role_of_value)  # names file:line of a bad character
    html = render_html(document, fonts, templates_dir=options.templates_dir)
    layout = read_layout(html, options.templates_dir)
    check_coverage(fonts, text_by_role(layout))
    rendered: list[bytes] = []
    notes: list[str] = []
    try:  # the progress line is closed however this ends (Ctrl-C included), so a message starts a line
        pdf = render_document_pdf(document, fonts, html, options.templates_dir, cache, progress)
        progress.step("DOCX")
        docx = render_cached_docx(layout, html, fonts, options.reference_docx, cache)
        progress.step("XLSX")
        xlsx = render_cached_xlsx(document, cache)
        rendered += [html.encode("utf-8"), pdf.content, docx, xlsx]
        notes += [pdf.note] if pdf.note else []
        for stage in stages:
            rendered += render_stage(stage, fonts, options, cache, progress)
    finally:
        progress.finish()

    contents = dict(zip(outputs, rendered, strict=True))
    write_all_or_nothing(contents, data_dir=options.data_dir)
    cache.prune()
    digests = {path: hashlib.sha256(content).hexdigest() for path, content in contents.items()}
    return BuildResult(outputs, [*checked.notes, *build_notes(fonts), *notes], digests)


def render_stage(stage: StageDocument, fonts: FontSet, options: BuildOptions, cache: BuildCache,
                 progress: Progress) -> list[bytes]:
    """One stage document's HTML, PDF, DOCX and XLSX, each through the cache as the targets' are."""
    progress.step(stage.profile.table_title)
    html = render_html(stage, fonts, templates_dir=options.templates_dir)
    layout = read_layout(html, options.templates_dir)
    check_coverage(fonts, text_by_role(layout))
    pdf = render_document_pdf(stage, fonts, html, options.templates_dir, cache, progress)
    docx = render_cached_docx(layout, html, fonts, options.reference_docx, cache)
    xlsx = cache.get_or_make(cache_key("stage-xlsx", *stage_xlsx_cache_parts(stage)), lambda: render_stage_xlsx(stage))
    return [html.encode("utf-8"), pdf.content, docx, xlsx]


def render_cached_docx(layout: Layout, html: str, fonts: FontSet, reference: Path | None,
                       cache: BuildCache) -> bytes:
    reference_bytes = reference.read_bytes() if reference and reference.is_file() else b""
    key = cache_key("docx", html, font_identity(fonts), reference_bytes)
    return cache.get_or_make(key, lambda: render_docx(layout, fonts, reference))


def render_cached_xlsx(document: Document, cache: BuildCache) -> bytes:
    """The workbook, keyed by its sheets' content (model data under the profile's columns)."""
    return cache.get_or_make(cache_key("xlsx", *xlsx_cache_parts(document)), lambda: render_xlsx(document))
