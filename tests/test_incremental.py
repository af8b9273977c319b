"""Incremental builds: reuse what did not change, never serve what did, same bytes as a cold build."""

from __future__ import annotations

import shutil
from pathlib import Path

import pdfplumber
import pypdf
import pytest
from conftest import REPO, STEM, edit_file, run_cli

pytestmark = pytest.mark.slow  # every test here runs whole builds

def _outputs(out: Path) -> dict[str, bytes]:
    return {ext: (out / f"{STEM}.{ext}").read_bytes() for ext in ("html", "pdf", "docx", "xlsx")}


def _cache_entries(out: Path) -> set[str]:
    return {p.name for p in (out / ".perfdoc-cache").rglob("*.bin")}


def _build(data: Path, out: Path, *extra: str):
    result = run_cli("build", "--data", str(data), "--out", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize(("code", "old", "new"), [
    ("142001001", "budget: 1174", "budget: 1175"),  # the first project
    ("142001010", "budget: 10 ", "budget: 12 "),  # one in the middle
    ("142001019", "budget: 135", "budget: 136"),  # the last
])
def test_incremental_output_is_byte_identical_to_a_cold_build(data_copy, tmp_path, pinned_fonts, code, old, new):
    """One value changed: only that project's piece is laid out again (the other 18 pieces and the
    page numbers come from the cache), and every output equals a cold build's, byte for byte.
    With --fonts, so the faces reloaded at assembly come through @font-face too."""
    fonts = ("--fonts", str(pinned_fonts))
    out = tmp_path / "incremental"
    _build(data_copy, out, *fonts)
    before = _cache_entries(out)
    edit_file(data_copy / "projects" / f"{code}.yaml", old, new)
    _build(data_copy, out, *fonts)
    # that project's piece, and the PDF, DOCX and XLSX they make
    assert len(_cache_entries(out) - before) == 4, _cache_entries(out) - before
    cold = tmp_path / "cold"
    _build(data_copy, cold, "--no-cache", *fonts)
    assert _outputs(out) == _outputs(cold)
    assert not (cold / ".perfdoc-cache").exists()
    amount = new.split()[1]
    with pdfplumber.open(out / f"{STEM}.pdf") as pdf:
        assert any(f"预算数 {amount} 万元" in (p.extract_text() or "") for p in pdf.pages)
        assert len(pdf.pages) == 24
    reader = pypdf.PdfReader(out / f"{STEM}.pdf")
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN" and reader.metadata.title == STEM


def test_a_project_that_grows_a_page_moves_the_rest_without_laying_them_out(data_copy, tmp_path, pinned_fonts):
    """The first project gets a page longer: the pieces after it land one page later (their odd
    and even sides swap) and are reused as they are; numbers, sides and outline still come out
    as in a cold build."""
    fonts = ("--fonts", str(pinned_fonts))
    out = tmp_path / "incremental"
    _build(data_copy, out, *fonts)
    before = _cache_entries(out)
    path = data_copy / "projects" / "142001001.yaml"
    text = path.read_text(encoding="utf-8")
    use = next(line for line in text.splitlines() if line.startswith("use: "))
    path.write_text(text.replace(use, use + "（补充说明）" * 120, 1), encoding="utf-8")
    _build(data_copy, out, *fonts)
    # that piece, the page numbers for the new page count, and the PDF, DOCX and XLSX
    assert len(_cache_entries(out) - before) == 5, _cache_entries(out) - before
    cold = tmp_path / "cold"
    _build(data_copy, cold, "--no-cache", *fonts)
    assert _outputs(out) == _outputs(cold)
    reader = pypdf.PdfReader(out / f"{STEM}.pdf")
    assert len(reader.pages) == 25
    assert reader.pages[-1].extract_text().strip().splitlines()[-1] == "— 25 —"


def test_no_change_rebuild_writes_nothing_and_says_so(data_copy, tmp_path):
    out = tmp_path / "out"
    first = _build(data_copy, out)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    again = _build(data_copy, out)
    assert "已是最新" in again.stderr
    assert "142001010" in again.stderr  # the warnings are shown again, not hidden
    assert again.stderr.startswith(first.stderr)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()} == stamps
    (out / f"{STEM}.pdf").write_bytes(b"damaged")  # an output changed behind perfdoc's back
    repaired = _build(data_copy, out)
    assert "已是最新" not in repaired.stderr and (out / f"{STEM}.pdf").read_bytes().startswith(b"%PDF")


def test_template_change_invalidates_every_part(data_copy, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    out = tmp_path / "out"
    _build(data_copy, out, "--templates", str(templates))
    edit_file(templates / "project_table.html.j2", "{% else %}{{ c.text }}{% endif -%}",
          "{% else %}{{ c.text }}{% if c.text == '绩效目标' %}（年度）{% endif %}{% endif -%}")
    _build(data_copy, out, "--templates", str(templates))
    with pdfplumber.open(out / f"{STEM}.pdf") as pdf:
        cells = ["".join(c.split()) for p in pdf.pages for t in p.extract_tables() for r in t for c in r if c]
    assert cells.count("绩效目标（年度）") == 18


def test_profile_change_invalidates_the_tables(data_copy, tmp_path):
    out = tmp_path / "out"
    _build(data_copy, out)
    profile = (REPO / "profiles" / "hebei-2023.yaml").read_text(encoding="utf-8")
    reordered = profile.replace("[数量指标, 质量指标,", "[质量指标, 数量指标,")
    assert reordered != profile
    (data_copy / "profiles").mkdir()  # a local profile of the same name is used instead of perfdoc's
    (data_copy / "profiles" / "hebei-2023.yaml").write_text(reordered, encoding="utf-8")
    _build(data_copy, out)
    html = (out / f"{STEM}.html").read_text(encoding="utf-8")
    first = html.index('data-bookmark="142001001 ')
    assert html.index(">质量指标<", first) < html.index(">数量指标<", first)
    with pdfplumber.open(out / f"{STEM}.pdf") as pdf:
        rows = [r for t in pdf.pages[6].extract_tables() for r in t]
    level2 = [c for r in rows for c in r if c in ("数量指标", "质量指标")]
    assert level2 == ["质量指标", "数量指标"]


def test_font_setting_change_renders_afresh(data_copy, tmp_path):
    kai = next(Path("/usr/share/fonts").rglob("LXGWWenKai-Regular.ttf"), None)
    out = tmp_path / "out"
    _build(data_copy, out)
    before = _cache_entries(out)
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    if kai is None:  # any installed face will do: what matters is that the setting changed
        kai = next(p for p in Path("/usr/share/fonts").rglob("*") if p.suffix in (".ttf", ".otf", ".ttc"))
    shutil.copy(kai, fonts / kai.name)
    _build(data_copy, out, "--fonts", str(fonts))
    assert len(_cache_entries(out) - before) >= 3  # every PDF part and the DOCX rendered again
