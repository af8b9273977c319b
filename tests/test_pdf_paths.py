"""The PDF's two paths (perfdoc.build.pdf): pieces, reaching inside WeasyPrint 70, and WeasyPrint's
public API, which any release that keeps its documented API can take.

- The gate (pieces_path_problem) trusts the pieces path here, and names what an upgrade changed.
- Forced with PERFDOC_PDF_PATH=public, the public path reads as the pieces path on the seed and
  on an example of each profile: pages, text, outline, page numbers, mirrored margins.
- What pieces cannot draw (an image or a gradient in --templates CSS, hostile round 2 #13)
  builds through the public path with a note, exit 0, instead of exit 3.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pdfplumber
import pypdf
import pytest
from builders import make_document, make_project
from conftest import REPO, target_outputs

from perfdoc.build.cache import BuildCache
from perfdoc.build.pdf import PATH_VARIABLE, public_path_reason, render_document_pdf
from perfdoc.build.progress import QUIET
from perfdoc.diagnostics import UserError
from perfdoc.looks import PAGE
from perfdoc.render.html import render_html
from perfdoc.render.pdf_pieces import EVEN_PAGE_SHIFT_PT, TESTED_RELEASES, pieces_path_problem
from perfdoc.resources import TEMPLATES_DIR

PUBLIC_NOTE = "提示: PDF 用 WeasyPrint 的公开接口整体排版（原因："


@pytest.fixture
def fresh_gate():
    """pieces_path_problem() is worked out once per process: afresh for this test, and again after."""
    pieces_path_problem.cache_clear()
    yield
    pieces_path_problem.cache_clear()


# ---------------------------------------------------------------------------------------------
# The gate


def test_the_pieces_path_is_trusted_on_the_tested_releases(fresh_gate):
    assert pieces_path_problem() is None


@pytest.mark.parametrize("module_name, attribute", [
    ("weasyprint.text.fonts", "get_pango_font_key"),
    ("weasyprint.pdf.stream", "Stream"),
    ("weasyprint.text.fonts", "FontConfiguration"),
])
def test_an_internal_gone_in_an_upgrade_is_named(fresh_gate, monkeypatch, module_name, attribute):
    """An upgrade simulated by taking the internal away from WeasyPrint's module."""
    import importlib

    monkeypatch.delattr(importlib.import_module(module_name), attribute)
    reason = pieces_path_problem()
    assert reason is not None and reason.startswith("WeasyPrint 的内部接口") and attribute in reason


def test_a_reshaped_internal_is_named(fresh_gate, monkeypatch):
    """The Font constructor of an older WeasyPrint (pango_font, hb_face) is not the one used."""
    import weasyprint.pdf.fonts

    class OlderFont:
        def __init__(self, pango_font, hb_face):
            self.to_unicode, self.widths, self.missing, self.hash = {}, {}, {}, ""

    monkeypatch.setattr(weasyprint.pdf.fonts, "Font", OlderFont)
    assert "Font(pango_font, description, font_size)" in (pieces_path_problem() or "")


@pytest.mark.parametrize("module_name, version, series", [("weasyprint", "71.0", "70.x"), ("pydyf", "0.14.0", "0.13.x")])
def test_an_untested_release_is_named(fresh_gate, monkeypatch, module_name, version, series):
    import importlib

    monkeypatch.setattr(importlib.import_module(module_name), "__version__", version)
    assert pieces_path_problem() == (f"已安装的 {module_name} {version} 不是逐段排版测试过的 {series}"
                                     f"（{module_name} {version} is not the tested {series}）")


def test_the_tested_releases_are_the_ones_pyproject_pins():
    """pyproject.toml lets pip install only the releases the pieces path is tested on."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for name, series in TESTED_RELEASES.items():
        lowest = ".".join(map(str, series))
        above = ".".join(map(str, (*series[:-1], series[-1] + 1)))
        assert f"{name}>={lowest},<{above}" in declared


# ---------------------------------------------------------------------------------------------
# Choosing the path, in memory


def test_the_environment_forces_the_public_path_with_a_note(monkeypatch, fonts):
    monkeypatch.setenv(PATH_VARIABLE, "public")
    document = make_document(make_project("142001001"))
    pdf = render_document_pdf(document, fonts, render_html(document, fonts), TEMPLATES_DIR, BuildCache(None), QUIET)
    assert pdf.note == ("PDF 用 WeasyPrint 的公开接口整体排版（原因：环境变量 PERFDOC_PDF_PATH=public 指定"
                        "（forced by PERFDOC_PDF_PATH=public））")
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    assert [page.extract_text().strip().splitlines()[-1] for page in reader.pages] == ["— 1 —", "— 2 —"]


def test_a_wrong_path_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv(PATH_VARIABLE, "pubilc")
    with pytest.raises(UserError, match="PERFDOC_PDF_PATH 的值 “pubilc” 无效"):
        public_path_reason()


def test_without_the_variable_the_gate_decides(monkeypatch):
    monkeypatch.delenv(PATH_VARIABLE, raising=False)
    monkeypatch.setattr("perfdoc.build.pdf.pieces_path_problem", lambda: "测试（test）")
    assert public_path_reason() == "测试（test）"
    monkeypatch.setattr("perfdoc.build.pdf.pieces_path_problem", lambda: None)
    assert public_path_reason() is None


# ---------------------------------------------------------------------------------------------
# Public path = pieces path, read back (full builds)


def _build(data: Path, out: Path, fonts: Path, *extra: str, public: bool = False,
           templates: Path | None = None) -> tuple[Path, str]:
    """A CLI build; the PDF and what the build said (warnings left out)."""
    env = {key: value for key, value in os.environ.items() if key != PATH_VARIABLE}
    if public:
        env[PATH_VARIABLE] = "public"
    args = ["build", "--data", str(data), "--out", str(out), "--fonts", str(fonts), *extra]
    if templates is not None:
        args += ["--templates", str(templates)]
    proc = subprocess.run([sys.executable, str(REPO / "build.py"), *args], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    said = "\n".join(line for line in proc.stderr.splitlines() if "警告" not in line)
    if (data / "evaluation").is_dir():  # the self-evaluation's PDF: a stage document through both paths
        (pdf,) = (p for p in out.glob("*.pdf") if p.stem.endswith("自评表"))
    else:
        (pdf,) = target_outputs(out, "pdf")
    return pdf, said


def _outline(reader: pypdf.PdfReader, items=None) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            found += _outline(reader, item)
        else:
            found.append((item.title, reader.get_destination_page_number(item)))
    return found


def _read(pdf: Path) -> dict:
    """What the comparison looks at, page by page: text, the page number's word and where it
    stands, the left edge of the table's rules (None on a page without a table)."""
    texts, numbers, table_lefts = [], [], []
    with pdfplumber.open(pdf) as document:
        for index, page in enumerate(document.pages, start=1):
            texts.append(page.extract_text())
            bottom = [w for w in page.extract_words() if w["top"] > page.height * 0.85 and w["text"] == str(index)]
            assert len(bottom) == 1, f"page {index}: {bottom}"
            numbers.append((round(bottom[0]["x0"], 1), round(bottom[0]["top"], 1)))
            rules = [shape["x0"] for shape in (*page.rects, *page.lines)]
            table_lefts.append(round(min(rules), 2) if rules else None)
            dashes = re.findall(r"— (\d+) —", texts[-1])
            assert dashes and dashes[-1] == str(index), f"page {index} is not numbered “— {index} —”"
        width = document.pages[0].width
    return {"texts": texts, "numbers": numbers, "table_lefts": table_lefts, "width": width,
            "outline": _outline(pypdf.PdfReader(pdf))}


PROFILE_EXAMPLES = sorted(path.parent.parent.name for path in (REPO / "examples").glob("*/data/department.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["seed", *PROFILE_EXAMPLES])
def test_the_public_path_reads_as_the_pieces_path(tmp_path, pinned_fonts, name):
    data = REPO / "data" if name == "seed" else REPO / "examples" / name / "data"
    pieces_pdf, pieces_said = _build(data, tmp_path / "pieces", pinned_fonts, "--no-cache")
    public_pdf, public_said = _build(data, tmp_path / "public", pinned_fonts, "--no-cache", public=True)
    assert PUBLIC_NOTE not in pieces_said
    assert public_said.count(PUBLIC_NOTE) == 1 and "PERFDOC_PDF_PATH=public" in public_said
    pieces, public = _read(pieces_pdf), _read(public_pdf)
    assert len(public["texts"]) == len(pieces["texts"]) >= 1
    assert public["texts"] == pieces["texts"]
    assert public["outline"] == pieces["outline"] and public["outline"]
    # Page numbers: odd pages on the right, even pages on the left, at the same place.
    assert public["numbers"] == pieces["numbers"]
    for number, (x, _top) in enumerate(public["numbers"], start=1):
        assert (x > public["width"] / 2) == (number % 2 == 1), f"page {number}'s number at x={x}"
    # Mirrored margins: the table's left edge moves by outer − inner on even pages.
    assert public["table_lefts"] == pieces["table_lefts"]
    odd = {left for number, left in enumerate(public["table_lefts"], start=1) if left is not None and number % 2}
    even = {left for number, left in enumerate(public["table_lefts"], start=1) if left is not None and not number % 2}
    # (Every data set here has tables on odd and on even pages.)
    assert len(odd) == len(even) == 1, (odd, even)
    (odd_left,), (even_left,) = odd, even
    assert round(even_left - odd_left, 1) == round(EVEN_PAGE_SHIFT_PT, 1) != 0
    assert round(even_left * 25.4 / 72, 1) == PAGE.outer_mm and round(odd_left * 25.4 / 72, 1) == PAGE.inner_mm


@pytest.mark.slow
def test_the_public_path_gives_the_same_bytes_twice(tmp_path, pinned_fonts):
    first, _ = _build(REPO / "examples" / "hebei-2023" / "data", tmp_path / "one", pinned_fonts, "--no-cache",
                      public=True)
    second, _ = _build(REPO / "examples" / "hebei-2023" / "data", tmp_path / "two", pinned_fonts, "--no-cache",
                       public=True)
    assert first.read_bytes() == second.read_bytes()


# ---------------------------------------------------------------------------------------------
# Hostile round 2, #13: images and gradients in the user's templates

@pytest.mark.slow
def test_templates_with_an_image_and_a_gradient_build_through_the_public_path(tmp_path, pinned_fonts):
    from PIL import Image

    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    Image.new("RGB", (8, 8), (200, 30, 30)).save(templates / "seal.png")
    with (templates / "style.css.j2").open("a", encoding="utf-8") as css:
        css.write('h1.doc-title { background: url("seal.png") no-repeat right top; }\n'
                  "h2.heading-1 { background-image: linear-gradient(#ffffff, #dddddd); }\n")
    cache = tmp_path / "cache"
    for out in ("cold", "cached"):  # the second build knows from the cache that pieces cannot draw it
        pdf, said = _build(REPO / "data", tmp_path / out, pinned_fonts, "--cache-dir", str(cache), templates=templates)
        assert said.count(PUBLIC_NOTE) == 1, said
        assert "逐段排版画不了的内容：图片、图案或渐变（images, patterns or shadings）" in said
        reader = pypdf.PdfReader(pdf)
        used = _resources_used(reader.pages[0]["/Resources"])
        assert "/Image" in used, "the template's image is not in the PDF"
        assert "/Shading" in used, "the gradient is not in the PDF"
        assert len(reader.pages) == 24


def _resources_used(resources, seen: set | None = None) -> set[str]:
    """The kinds of resources a page draws with, through patterns and form XObjects:
    "/Image" for an image XObject, "/Shading" for a gradient."""
    seen = set() if seen is None else seen
    found: set[str] = set()
    resources = resources.get_object()
    if id(resources) in seen:
        return found
    seen.add(id(resources))
    if resources.get("/Shading"):
        found.add("/Shading")
    for kind in ("/XObject", "/Pattern"):
        for item in (resources.get(kind) or {}).values():
            item = item.get_object()
            if item.get("/Subtype") == "/Image":
                found.add("/Image")
            if "/Shading" in item:
                found.add("/Shading")
            if "/Resources" in item:
                found |= _resources_used(item["/Resources"], seen)
    return found
