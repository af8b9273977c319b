"""Long documents in parts: merging real WeasyPrint PDFs, parts laid out by spawned workers, the
page estimates that place the parts, and Ctrl-C during a parts build."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pypdf
import pytest
from builders import indicator, make_department, make_project, profile
from conftest import DATA, REPO

from perfdoc.model import Document, Part, Project
from perfdoc.render_pdf import _estimate_pages, _estimate_table_pages, merge_parts

# ---------------------------------------------------------------------------------------------
# merge_parts on small PDFs laid out for real

CSS = """
@page { size: A6; margin: 10mm }
.chapter { bookmark-level: 1; bookmark-label: attr(data-bookmark); break-before: page }
.section { bookmark-level: 2; bookmark-label: attr(data-bookmark); break-before: page }
.chapter:first-child { break-before: auto }
.heading { bookmark-level: 2; bookmark-label: attr(data-bookmark) }
"""


def _tiny_pdf(title: str, body: str, page_size: str = "A6") -> bytes:
    """A PDF with bookmarks as the templates make them: divs labelled by data-bookmark."""
    import weasyprint

    html = (f'<html lang="zh-CN"><head><title>{title}</title><meta name="author" content="{title} author">'
            f"<style>{CSS.replace('A6', page_size)}</style></head><body>{body}</body></html>")
    return weasyprint.HTML(string=html).write_pdf(pdf_identifier=hashlib.sha256(html.encode()).hexdigest()[:32].encode())


def _chapter(title: str, *sections: str, text: str = "") -> str:
    inner = "".join(f'<div class="section" data-bookmark="{s}"><p>{s.split()[-1]}</p></div>' for s in sections)
    return f'<div class="chapter" data-bookmark="{title}">{f"<p>{text}</p>" if text else ""}{inner}</div>'


@pytest.fixture(scope="module")
def parts() -> list[bytes]:
    """Three parts cut like a long document: the front and the first projects, then projects only,
    the projects' level-1 bookmark repeated in every part (as templates/document.html.j2 does)."""
    return [
        _tiny_pdf("first part", _chapter("一、总体绩效目标", text="front1")
                  + _chapter("二、分项绩效目标", text='front2</p><p class="heading" data-bookmark="（一）甲">sub1')
                  + _chapter("项目支出绩效目标表", "P1 project1", "P2 project2")),
        _tiny_pdf("second part", _chapter("项目支出绩效目标表", "P3 project3", "P4 project4")),
        _tiny_pdf("third part", _chapter("项目支出绩效目标表", "P5 project5"), page_size="A5"),
    ]


def _reader(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def _outline(reader: pypdf.PdfReader, items=None, level: int = 1) -> list[tuple[int, str, int]]:
    """(level, title, 0-based page) for every bookmark, in order."""
    found = []
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            found += _outline(reader, item, level + 1)
        else:
            found.append((level, item.title, reader.get_destination_page_number(item)))
    return found


def _tops(items) -> list[float]:
    """Where on its page each bookmark points, in order."""
    return [top for item in items for top in (_tops(item) if isinstance(item, list) else [float(item["/Top"])])]


def _page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text().strip() for page in _reader(pdf).pages]


def test_merged_pages_are_the_parts_pages_in_order(parts):
    merged = merge_parts(parts, lang="zh-CN")
    assert _page_texts(merged) == [text for part in parts for text in _page_texts(part)]
    assert _page_texts(merged)[:3] == ["front1", "front2\nsub1", "project1"]
    sizes = [tuple(page.mediabox) for part in parts for page in _reader(part).pages]
    assert [tuple(page.mediabox) for page in _reader(merged).pages] == sizes  # the A5 part stays A5
    assert len(_reader(merged).pages) == sum(len(_reader(part).pages) for part in parts)


def test_merged_outline_continues_a_chapter_across_parts(parts):
    """The projects' level-1 bookmark, repeated at the top of each part, is one parent in the
    merged outline, with every project under it at its page in the merged document."""
    outline = _outline(_reader(merge_parts(parts, lang="zh-CN")))
    assert outline == [
        (1, "一、总体绩效目标", 0),
        (1, "二、分项绩效目标", 1),
        (2, "（一）甲", 1),
        (1, "项目支出绩效目标表", 2),
        (2, "P1 project1", 2),
        (2, "P2 project2", 3),
        (2, "P3 project3", 4),  # the second part's first page
        (2, "P4 project4", 5),
        (2, "P5 project5", 6),
    ]
    assert _page_texts(merge_parts(parts, lang="zh-CN"))[4] == "project3"


def test_merged_bookmarks_keep_their_position_on_the_page(parts):
    """A bookmark jumps to its heading, as in a document laid out whole, not just to the page."""
    first, second, third = (_tops(_reader(part).outline) for part in parts)
    assert first[2] < first[1]  # （一） is below its chapter's first paragraph, on the same page
    # the later parts' repeated chapter bookmark is merged into the first one
    assert _tops(_reader(merge_parts(parts, lang="zh-CN")).outline) == first + second[1:] + third[1:]


def test_merged_metadata_comes_from_the_first_part_and_names_the_language(parts):
    merged = _reader(merge_parts(parts, lang="zh-CN"))
    first = _reader(parts[0]).metadata
    assert merged.metadata is not None and first is not None
    assert dict(merged.metadata) == dict(first)
    assert merged.metadata.title == "first part"
    assert merged.trailer["/Root"]["/Lang"] == "zh-CN"
    assert _reader(merge_parts(parts, lang="en")).trailer["/Root"]["/Lang"] == "en"


def test_merging_is_deterministic_and_the_identifier_comes_from_the_parts(parts):
    merged = merge_parts(parts, lang="zh-CN")
    assert merge_parts(list(parts), lang="zh-CN") == merged
    identifier = _reader(merged).trailer["/ID"]
    expected = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()[:16]
    assert [i.original_bytes for i in identifier] == [expected, expected]
    assert _reader(parts[0]).trailer["/ID"][0].original_bytes != expected
    reordered = _reader(merge_parts([parts[1], parts[0], parts[2]], lang="zh-CN")).trailer["/ID"]
    assert reordered[0].original_bytes != expected


def test_one_part_merges_to_the_same_pages_and_outline(parts):
    merged = merge_parts(parts[:1], lang="zh-CN")
    assert _page_texts(merged) == _page_texts(parts[0])
    assert _outline(_reader(merged)) == _outline(_reader(parts[0]))


# ---------------------------------------------------------------------------------------------
# Page estimates: where a part starts before the parts before it are laid out


def _project(rows: int, description: str = "描述" * 10) -> Project:
    return make_project("142001999", name="测试项目", budget="12.5", use="用途" * 20, goal="目标" * 30, indicators={
        "产出指标": {"数量指标": [indicator(f"指标{i}", description, "≥90%", "计划标准") for i in range(rows)]}})


def test_table_page_estimate_grows_with_the_table():
    estimates = [_estimate_table_pages(_project(rows)) for rows in (1, 10, 30, 60, 120)]
    assert estimates[0] == 1  # one row: one page
    assert estimates == sorted(estimates)  # more rows never fewer pages
    assert estimates[-1] >= 4  # 120 rows of two lines each: well over three pages of 225 mm
    assert _estimate_table_pages(_project(20, "短")) <= _estimate_table_pages(_project(20, "很长的描述" * 20))


def _document(paragraphs: int, projects: tuple[Project, ...]) -> Document:
    department = make_department(overall_target=["总体目标文字" * 15 for _ in range(paragraphs)],
                                 sub_targets=[{"heading": "分项", "target": "目标", "indicators": "指标"}],
                                 measures=["措施"])
    return Document(department, projects, profile())


def test_part_estimate_adds_the_front_only_to_the_first_part():
    projects = (_project(1), _project(40), _project(5))
    tables = sum(_estimate_table_pages(p) for p in projects)
    short, long = _document(1, projects), _document(60, projects)
    assert _estimate_pages(Part(False, projects), long) == tables
    assert _estimate_pages(Part(True, projects), short) == tables + 1  # a few lines of front: one page
    assert _estimate_pages(Part(True, projects), long) >= tables + 60 * 4 // 22  # 60 paragraphs of 4 lines


# ---------------------------------------------------------------------------------------------
# Parts laid out by spawned workers equal the document laid out whole


@pytest.mark.slow
def test_parts_laid_out_by_spawned_workers_read_as_the_whole_document(tmp_path):
    """Forced to `spawn` (what macOS and Windows have) even on Linux: everything the workers get
    must pickle and they must set themselves up; the merged PDF reads page by page as the whole."""
    from perfdoc.cache import BuildCache
    from perfdoc.fonts import choose_fonts
    from perfdoc.layout import read_layout
    from perfdoc.pipeline import load_document
    from perfdoc.progress import QUIET
    from perfdoc.render_html import TEMPLATES_DIR, render_html
    from perfdoc.render_pdf import render_document_pdf

    document, _ = load_document(DATA)
    assert document is not None
    fonts = choose_fonts(None)
    html = render_html(document, fonts)
    lang = read_layout(html).lang

    def render(projects_per_part: int) -> bytes:
        return render_document_pdf(document, fonts, html, lang, TEMPLATES_DIR, BuildCache(None), QUIET,
                                   projects_per_part, start_method="spawn")

    assert all(1 <= _estimate_table_pages(p) <= 2 for p in document.projects)  # the seed's tables: 1–2 pages
    whole, in_parts = render(100), render(5)
    assert len(document.parts(5)) == 4
    assert _page_texts(in_parts) == _page_texts(whole)
    assert _outline(_reader(in_parts)) == _outline(_reader(whole))
    assert _tops(_reader(in_parts).outline) == _tops(_reader(whole).outline)  # each bookmark at its heading
    assert _reader(in_parts).metadata == _reader(whole).metadata


# ---------------------------------------------------------------------------------------------
# Ctrl-C during a parts build (hostile #18)


def _group_processes(group: int) -> list[tuple[int, str]]:
    """Live (not zombie) processes of a process group, with their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # exited while we looked
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == group and state != "Z":
            found.append((int(entry.name), cmdline))
    return found


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def long_data(tmp_path_factory) -> Path:
    """150 projects (bench/generate.py): in parts of 3, layout runs for about ten seconds."""
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench" / "generate.py")
    assert spec and spec.loader
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    data = tmp_path_factory.mktemp("long") / "data"
    generate.generate(150, data)
    return data


def _interfere_with_a_parts_build(data: Path, out: Path, delay: float, act) -> tuple[int, list[str]]:
    """Start a parts build in its own process group (as a terminal runs a job), wait `delay`
    seconds after its first worker appears, call `act(group, worker_pids)`; return the exit
    status and what it said (the generated data's warnings aside), once no process is left."""
    build = subprocess.Popen([sys.executable, str(REPO / "build.py"), "build", "--data", str(data),
                              "--out", str(out), "--projects-per-part", "3", "--no-cache"],
                             cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    group = build.pid

    def workers() -> list[int]:  # whatever the start method: Python, not the build itself
        return [pid for pid, cmdline in _group_processes(group)
                if pid != build.pid and "python" in cmdline and "resource_tracker" not in cmdline]

    try:
        assert _wait_for(workers, 60), "the build never started its workers"
        time.sleep(delay)
        assert build.poll() is None, "the build finished before it could be interfered with"
        act(group, workers())
        _, stderr = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            os.killpg(group, signal.SIGKILL)
            build.wait()
    assert _wait_for(lambda: not _group_processes(group), 10), _group_processes(group)
    return build.returncode, [line for line in stderr.splitlines() if "警告" not in line]


proc_table = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")


@pytest.mark.slow
@proc_table
@pytest.mark.parametrize("delay", [0.03, 0.06, 0.1, 0.15, 2.0])
def test_ctrl_c_in_a_parts_build_stops_cleanly(long_data, tmp_path, delay):
    """Ctrl-C reaches the whole foreground process group, workers included: one line, exit 130,
    no worker tracebacks, no process left behind, nothing half-written.

    `delay` after the first worker appears: within a tenth of a second the workers are still
    starting Python (the window where a Ctrl-C used to kill one mid-import with a traceback);
    after two seconds they are laying out parts."""
    out = tmp_path / "out"
    status, said = _interfere_with_a_parts_build(long_data, out, delay,
                                                 lambda group, workers: os.killpg(group, signal.SIGINT))
    assert status == 130, said
    assert said == ["已中断（interrupted）"]  # no `Process SpawnPoolWorker-1:`, no traceback
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.slow
@proc_table
def test_a_worker_killed_mid_build_stops_the_build_with_a_message(long_data, tmp_path):
    """The out-of-memory killer takes a worker and the part it was laying out: the build stops
    with a Chinese message and exit 1 instead of waiting for that part for ever."""
    out = tmp_path / "out"
    status, said = _interfere_with_a_parts_build(long_data, out, 2.0,
                                                 lambda group, workers: os.kill(workers[0], signal.SIGKILL))
    assert status == 1, said
    assert len(said) == 1 and "PDF 排版的工作进程意外退出" in said[0] and "--projects-per-part" in said[0], said
    assert not out.exists() or list(out.iterdir()) == []
