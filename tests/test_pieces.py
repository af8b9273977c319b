"""The PDF from pieces (perfdoc.render.pdf_pieces): each piece laid out and drawn on its own, then
assembled, reads exactly as WeasyPrint's own layout of the whole document — pages, numbers,
odd/even margins, outline, metadata — and a drawn piece survives the cache unchanged."""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pdfplumber
import pypdf
import pytest
from builders import indicator, make_department, make_document, make_project, seed_document
from conftest import REPO

from perfdoc.build.cache import BuildCache
from perfdoc.build.pdf import render_document_pdf
from perfdoc.build.progress import QUIET
from perfdoc.data.model import Document
from perfdoc.diagnostics import UserError
from perfdoc.render.html import render_html
from perfdoc.render.pdf import layout_and_draw, layout_with_breaks
from perfdoc.render.pdf_pieces import EVEN_PAGE_SHIFT_PT, DrawnPiece, PieceNotDrawable, draw
from perfdoc.resources import TEMPLATES_DIR


def _long_project(code: str, name: str, rows: int) -> object:
    """A project whose indicator grid runs over a page when `rows` is large."""
    return make_project(code, name=name, indicators={
        "产出指标": {"数量指标": [indicator(f"指标{i}", "较长的绩效指标描述" * 4, f"{i}次", "年度计划") for i in range(rows)]},
        "满意度指标": {"服务对象满意度指标": [indicator("满意度", value="≥95%")]}})


@pytest.fixture(scope="module")
def mixed_document() -> Document:
    """Front matter, a three-page project, then short ones: the later pieces start on even and odd pages."""
    return make_document(make_project("142001001", name="甲项目"), _long_project("142001002", "乙项目", 40),
                         make_project("142001003", name="丙项目"), make_project("142001004", name="丁项目"))


def _reader(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def _outline(reader: pypdf.PdfReader, items=None, level: int = 1) -> list[tuple]:
    """(level, title, 0-based page, left, top) of every bookmark, in order."""
    found: list[tuple] = []
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            found += _outline(reader, item, level + 1)
        else:
            found.append((level, item.title, reader.get_destination_page_number(item),
                          round(float(item["/Left"]), 2), round(float(item["/Top"]), 2)))
    return found


def _page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text().strip() for page in _reader(pdf).pages]


def _whole_by_weasyprint(document: Document, fonts) -> bytes:
    """WeasyPrint's own layout of the whole document in one go (with merged cells cut where its pages
    begin inside them, as every piece is): what assembly must equal."""
    return layout_with_breaks(render_html(document, fonts), fonts, TEMPLATES_DIR,
                              lambda breaks: render_html(document, fonts, breaks=breaks)).write_pdf()


def _assembled(document: Document, fonts) -> bytes:
    pdf = render_document_pdf(document, fonts, render_html(document, fonts), TEMPLATES_DIR, BuildCache(None), QUIET)
    assert pdf.public_reason is None  # the pieces path, here where it is tested
    return pdf.content


@pytest.fixture(scope="module")
def mixed_pdfs(mixed_document, fonts) -> tuple[bytes, bytes]:
    """(WeasyPrint's whole-document PDF, the PDF assembled from pieces) of mixed_document."""
    return _whole_by_weasyprint(mixed_document, fonts), _assembled(mixed_document, fonts)


def test_pieces_are_the_front_then_each_project(mixed_document):
    pieces = mixed_document.pieces()
    assert [(p.front, [x.code for x in p.projects], p.continues_tables) for p in pieces] == [
        (True, [], False), (False, ["142001001"], False), (False, ["142001002"], True),
        (False, ["142001003"], True), (False, ["142001004"], True)]


def test_a_first_project_that_follows_the_title_stays_in_the_front_piece():
    document = make_document(make_project("142001001"), make_project("142001002"),
                             department=make_department(overall_target=[], sub_targets=[], measures=[]))
    assert document.first_project_follows_title
    pieces = document.pieces()
    assert [(p.front, [x.code for x in p.projects], p.continues_tables) for p in pieces] == [
        (True, ["142001001"], False), (False, ["142001002"], True)]


def test_assembled_pdf_reads_as_weasyprints_whole_document(mixed_pdfs):
    whole, assembled = mixed_pdfs
    texts = _page_texts(assembled)
    assert len(texts) == 7  # front, 甲, 乙 over three pages, 丙 (an even page), 丁
    assert texts == _page_texts(whole)  # the page numbers "— N —" included
    assert [t.splitlines()[-1] for t in texts] == [f"— {n} —" for n in range(1, 8)]
    # Every bookmark on its page at its place: 丙 lands on an even page, so its piece was moved
    # over by the margins' difference, exactly where WeasyPrint put it laid out whole.
    assert _outline(_reader(assembled)) == _outline(_reader(whole))
    lefts = {title: left for _, title, _, left, _ in _outline(_reader(assembled))}
    assert round(lefts["142001003 丙项目"] - lefts["142001004 丁项目"], 2) == round(EVEN_PAGE_SHIFT_PT, 2) != 0
    assembled_reader, whole_reader = _reader(assembled), _reader(whole)
    assert assembled_reader.metadata == whole_reader.metadata
    assert assembled_reader.trailer["/Root"]["/Lang"] == "zh-CN"
    assert [p.mediabox for p in assembled_reader.pages] == [p.mediabox for p in whole_reader.pages]


def test_a_merged_caption_cut_by_a_page_break_is_printed_on_every_page(mixed_pdfs, fonts):
    """乙 runs over three pages with 40 rows under one 一级 and one 二级: each page's part of the merged
    cells shows 产出指标 and 数量指标 (the piece was laid out again with the cells cut where the pages
    begin), and each caption is drawn once a page, beside its rows, not at the top of a cut cell."""
    _, assembled = mixed_pdfs
    with pdfplumber.open(io.BytesIO(assembled)) as pdf:
        pages = [page for page in pdf.pages if "指标0" in page.extract_text() or "指标39" in page.extract_text()
                 or "指标2" in page.extract_text()]
        parts = pages[:3]
        assert len(parts) == 3
        for page in parts:
            words = page.extract_words()
            level1 = [w for w in words if w["text"].startswith("产出")]
            level2 = [w for w in words if w["text"] == "数量指标"]
            rows = [w for w in words if w["text"].startswith("指标") and w["text"][2:].isdigit()]
            assert len(level1) == 1 and len(level2) == 1, page.page_number
            # Centred beside this page's rows, which stand above and below it.
            assert min(r["top"] for r in rows) < level2[0]["top"] < max(r["top"] for r in rows), page.page_number
    html = render_html(_long_project_document(), fonts, breaks={"1": frozenset({25})})
    assert html.count(">产出<") + html.count(">产出指标<") >= 2  # the cut repeats the caption


def _long_project_document() -> Document:
    return make_document(_long_project("142001002", "乙项目", 40))


def test_assembly_embeds_each_font_once(mixed_pdfs):
    """One subset per face for the whole document, as WeasyPrint writes it, not one per piece."""
    def font_files(pdf: bytes) -> list[str]:
        reader = _reader(pdf)
        names = set()
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                names.add(font.get_object()["/BaseFont"])
        return sorted(names)

    whole, assembled = mixed_pdfs
    assert font_files(assembled) == font_files(whole)
    assert len(assembled) < len(whole) * 1.05


def test_a_drawn_piece_survives_the_cache_unchanged(mixed_document, fonts):
    html = render_html(mixed_document, fonts, part=mixed_document.pieces()[2], piece=True)
    piece = layout_and_draw(html, fonts, TEMPLATES_DIR)
    assert len(piece.pages) == 3 and piece.fonts and all(f.to_unicode and f.widths for f in piece.fonts)
    assert DrawnPiece.from_bytes(piece.to_bytes()) == piece
    assert [b[1] for page in piece.pages for b in page.bookmarks] == ["142001002 乙项目"]  # no second 项目支出绩效目标表


def test_a_cache_entry_of_another_format_version_is_drawn_again():
    from perfdoc.render.pdf_pieces import FORMAT_VERSION, DrawnPage, FontUse

    piece = DrawnPiece((DrawnPage(10.0, 20.0, {"top": 0}, b"q\nQ", ((1, "项目", (1.5, 2.5), "open"),)),),
                       (FontUse(7, "Noto Serif CJK SC 14px", "ABCDEF", {5: "项"}, {5: 1000.0}),))
    raw = piece.to_bytes()
    assert DrawnPiece.from_bytes(raw) == piece
    older = raw.replace(f'"version": {FORMAT_VERSION}'.encode(), f'"version": {FORMAT_VERSION + 1}'.encode(), 1)
    assert older != raw and DrawnPiece.from_bytes(older) is None


@pytest.mark.slow  # a whole layout or a running server: the slow layer
def test_assembly_is_deterministic(mixed_document, fonts, mixed_pdfs):
    assert _assembled(mixed_document, fonts) == mixed_pdfs[1]


PIXEL_PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/"
             "PchI7wAAAABJRU5ErkJggg==")


@pytest.mark.parametrize("markup", [f'<img src="{PIXEL_PNG}">', '<a href="https://example.org">link</a>',
                                    '<p style="opacity: 0.5">half</p>'])
def test_what_assembly_cannot_replay_stops_the_build(markup):
    """Templates only draw text, rules and fills; anything else must not reach a wrong PDF."""
    import weasyprint

    with pytest.raises(PieceNotDrawable):
        draw(weasyprint.HTML(string=f"<html><body><p>text</p>{markup}</body></html>").render())


# ---------------------------------------------------------------------------------------------
# The seed: pixel for pixel as WeasyPrint's whole-document layout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_seed_assembled_from_pieces_looks_exactly_like_the_whole_layout(tmp_path, fonts):
    from PIL import Image, ImageChops

    document = seed_document()
    whole, assembled = _whole_by_weasyprint(document, fonts), _assembled(document, fonts)
    assert _page_texts(assembled) == _page_texts(whole)
    assert _outline(_reader(assembled)) == _outline(_reader(whole))
    images = {}
    for name, pdf in (("whole", whole), ("assembled", assembled)):
        (tmp_path / f"{name}.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "40", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)], check=True)
        images[name] = sorted(tmp_path.glob(f"{name}-*.png"))
    assert len(images["whole"]) == len(images["assembled"]) == 24
    for first, second in zip(images["whole"], images["assembled"], strict=True):
        difference = ImageChops.difference(Image.open(first).convert("L"), Image.open(second).convert("L"))
        assert difference.getbbox() is None, f"{second.name} differs at {difference.getbbox()}"


@pytest.mark.slow
def test_pieces_laid_out_by_a_spawned_worker_give_the_same_bytes(fonts, monkeypatch):
    """Forced to `spawn` (what macOS and Windows have): what the worker gets must pickle and it
    must set itself up; its pieces assemble to the same bytes as pieces laid out here."""
    from perfdoc.build import workers

    document = seed_document()
    monkeypatch.setattr(workers, "START_METHOD", "spawn")
    with_worker = _assembled(document, fonts)
    monkeypatch.setattr(workers, "PIECES_WORTH_A_WORKER", 10_000)
    here = _assembled(document, fonts)
    assert with_worker == here


@pytest.mark.slow
def test_a_build_with_its_own_fonts_leaves_no_font_copies_behind(tmp_path, pinned_fonts):
    """WeasyPrint copies @font-face files (the --fonts folder) into a temporary folder of its font
    configuration: one configuration per process, let go before the worker is ended and at exit,
    so a cold build (which uses a worker) leaves nothing in the temporary folder."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.run([sys.executable, str(REPO / "build.py"), "build", "--out", str(tmp_path / "out"),
                           "--fonts", str(pinned_fonts), "--no-cache"], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, "TMPDIR": str(scratch)}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert list(scratch.iterdir()) == []


def test_page_numbers_document_has_one_page_per_page(fonts):
    from perfdoc.render.html import render_page_numbers_html

    document = make_document(make_project("142001001"))
    numbers = layout_and_draw(render_page_numbers_html(render_html(document, fonts), 5), fonts, TEMPLATES_DIR)
    assert len(numbers.pages) == 5
    assert numbers.metadata["title"] == "测试分局2023年部门预算绩效目标" and numbers.metadata["lang"] == "zh-CN"


def test_templates_that_number_every_piece_are_refused(tmp_path, fonts):
    """A copy of the templates from before pieces would print a second, wrong number on each page."""
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    css = (templates / "style.css.j2").read_text(encoding="utf-8")
    (templates / "style.css.j2").write_text(css.replace("{% if not piece %}", "{% if true %}"), encoding="utf-8")
    document = make_document(make_project("142001001"))
    render_html(document, fonts, templates_dir=templates)  # the whole document is fine
    with pytest.raises(UserError, match=r"style\.css\.j2:1:1: 错误: 逐段排版 PDF 时样式表仍在印页码"):
        render_html(document, fonts, part=document.pieces()[1], piece=True, templates_dir=templates)


def test_html_without_body_cannot_be_numbered():
    from perfdoc.render.html import render_page_numbers_html

    with pytest.raises(UserError, match="<body>"):
        render_page_numbers_html("<html><head></head></html>", 3)



# ---------------------------------------------------------------------------------------------
# Ctrl-C and a killed worker during a long build (hostile #18)


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
    """150 projects (bench/generate.py): the worker lays out half the pieces, for several seconds."""
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench" / "generate.py")
    assert spec and spec.loader
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    data = tmp_path_factory.mktemp("long") / "data"
    generate.generate(150, data)
    return data


def _as_a_terminal_job() -> None:
    """A terminal's foreground job takes Ctrl-C: the default handler, even when these tests run
    where SIGINT is ignored and inherited (nohup, background jobs, some CI runners). A build started
    with SIGINT ignored keeps ignoring it, as a background job should."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interfere_with_a_long_build(data: Path, out: Path, delay: float, act) -> tuple[int, list[str]]:
    """Start a build in its own process group (as a terminal runs a job), wait `delay`
    seconds after its first worker appears, call `act(group, worker_pids)`; return the exit
    status and what it said (the generated data's warnings aside), once no process is left."""
    build = subprocess.Popen([sys.executable, str(REPO / "build.py"), "build", "--data", str(data),
                              "--out", str(out), "--no-cache"],
                             cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True, preexec_fn=_as_a_terminal_job)
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
def test_ctrl_c_in_a_long_build_stops_cleanly(long_data, tmp_path, delay):
    """Ctrl-C reaches the whole foreground process group, workers included: one line, exit 130,
    no worker tracebacks, no process left behind, nothing half-written.

    `delay` after the first worker appears: within a tenth of a second the workers are still
    starting Python (the window where a Ctrl-C used to kill one mid-import with a traceback);
    after two seconds it is laying out pieces."""
    out = tmp_path / "out"
    status, said = _interfere_with_a_long_build(long_data, out, delay,
                                                 lambda group, workers: os.killpg(group, signal.SIGINT))
    assert status == 130, said
    assert said == ["已中断（interrupted）"]  # no `Process SpawnPoolWorker-1:`, no traceback
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.slow
@proc_table
def test_a_worker_killed_mid_build_stops_the_build_with_a_message(long_data, tmp_path):
    """The out-of-memory killer takes the worker and the pieces it was laying out: the build stops
    with a Chinese message and exit 1 instead of waiting for those pieces for ever."""
    out = tmp_path / "out"
    status, said = _interfere_with_a_long_build(long_data, out, 2.0,
                                                 lambda group, workers: os.kill(workers[0], signal.SIGKILL))
    assert status == 1, said
    assert len(said) == 1 and "PDF 排版的工作进程意外退出" in said[0], said
    assert not out.exists() or list(out.iterdir()) == []


def test_the_retired_parts_option_is_accepted_with_a_note(tmp_path, capsys):
    """Scripts written for the parts build keep working: the option is ignored, and says so."""
    from perfdoc.cli import main

    status = main(["build", "--data", str(tmp_path / "nothing-here"), "--out", str(tmp_path / "out"),
                   "--projects-per-part", "6"])
    said = capsys.readouterr().err
    assert "--projects-per-part 已不需要，忽略" in said
    assert status == 1 and "nothing-here" in said  # then the build goes on as always (here: no data)
