"""The PDF, rendered for real by WeasyPrint and read back with pdfplumber / pypdf."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pdfplumber
import pypdf
import pytest
from conftest import DATA, STEM, edit_file, run_cli, run_cli_in_process, squash

from perfdoc.build.pipeline import load_document


@pytest.fixture(scope="module")
def seed_pages(seed_build) -> list[str]:
    with pdfplumber.open(seed_build / f"{STEM}.pdf") as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def page_tables(pdf_path: Path) -> dict[str, list[list[str | None]]]:
    """code → the rows of that project's table as pdfplumber reads the ruled grid (None: merged)."""
    found: dict[str, list[list[str | None]]] = {}
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages:
            rows = [[None if c is None else squash(c) for c in row]
                    for table in page.extract_tables() for row in table]
            if rows and rows[0][0] == "项目编码":
                assert rows[0][1] not in found, "a seed table must fit on one page"
                found[rows[0][1]] = rows
    return found


def test_every_project_table_has_its_cells_in_order(seed_build):
    document, _ = load_document(DATA)
    tables = page_tables(seed_build / f"{STEM}.pdf")
    assert list(tables) == [p.code for p in document.projects]
    for project in document.projects:
        rows = [[c for c in row if c is not None] for row in tables[project.code]]
        assert rows[0] == ["项目编码", project.code, "预算项目名称", squash(project.name)]
        assert rows[1] == ["项目资金主要用途", squash(f"预算数 {project.budget_text} 万元。其中：财政资金 "
                                                f"{project.fiscal_funds_text} 万元。{project.fact('use')}")]
        assert rows[2] == ["资金支出计划（%）", *[p.label for p in project.spending_plan]]
        assert rows[3] == [p.text for p in project.spending_plan]
        assert rows[4] == ["绩效目标", squash(project.goal)]
        assert rows[5] == ["一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据"]
        body = rows[6:]
        assert len(body) == len(project.indicator_rows) == 9
        for got, row in zip(body, project.indicator_rows, strict=True):
            expected = ([row.level1] if row.level1_span else []) + ([row.level2] if row.level2_span else [])
            expected += [squash(row.indicator.get(key)) for key in ("name", "description", "value", "basis")]
            assert got == expected, (project.code, got, expected)


def test_each_project_starts_a_page_and_merged_cells_are_drawn_once(seed_build):
    with pdfplumber.open(seed_build / f"{STEM}.pdf") as pdf:
        project_pages = [p for p in pdf.pages if p.extract_tables()]
        assert len(project_pages) == 18
        for page in project_pages:
            first_word = page.extract_words()[0]
            assert first_word["text"] == "项目" and first_word["top"] < 37 * 72 / 25.4 + 12
            cells = [squash(c) for t in page.extract_tables() for row in t for c in row if c]
            # 一级 cells span their group: drawn once per table, not once per row.
            for level1 in ("产出指标", "效果指标", "满意度指标"):
                assert cells.count(level1) == 1, (level1, cells)
            assert cells.count("资金支出计划（%）") == 1


def test_outline_metadata_and_language(seed_build):
    reader = pypdf.PdfReader(seed_build / f"{STEM}.pdf")
    titles: list[str] = []

    def walk(items):
        for item in items:
            walk(item) if isinstance(item, list) else titles.append(item.title)

    walk(reader.outline)
    for title in ("一、总体绩效目标", "二、分项绩效目标", "三、目标规划及保障措施", "项目支出绩效目标表",
                  "（一）政治建警，基层党建。", "142001001 劳务派遣工资", "142001019 执法办案中心信息化升级改造项目"):
        assert title in titles
    assert sum(1 for t in titles if re.match(r"1420010\d\d ", t)) == 18
    meta = reader.metadata
    assert meta.title == STEM and meta.author == "唐山市公安局海港经济开发区分局"
    assert "/CreationDate" not in meta and "/ModDate" not in meta
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"


def test_same_input_gives_identical_bytes(seed_build, pinned_fonts, tmp_path):
    result = run_cli("build", "--out", str(tmp_path), "--fonts", str(pinned_fonts))
    assert result.returncode == 0
    assert (tmp_path / f"{STEM}.pdf").read_bytes() == (seed_build / f"{STEM}.pdf").read_bytes()
    assert (tmp_path / f"{STEM}.html").read_bytes() == (seed_build / f"{STEM}.html").read_bytes()
    assert (tmp_path / f"{STEM}.docx").read_bytes() == (seed_build / f"{STEM}.docx").read_bytes()


@pytest.mark.skipif(not shutil.which("pdffonts"), reason="pdffonts (poppler-utils) not installed")
def test_fonts_are_embedded_subsets_and_every_character_maps_to_text(seed_build, seed_pages):
    listing = subprocess.run(["pdffonts", str(seed_build / f"{STEM}.pdf")], capture_output=True,
                             text=True, check=True).stdout.splitlines()[2:]
    assert listing
    for line in listing:
        name, emb, sub, uni = line.split()[0], *line.split()[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), line
        assert re.match(r"[A-Z]{6}\+", name), line
    text = "".join(seed_pages)
    assert "\ufffd" not in text and "\x00" not in text
    document, _ = load_document(DATA)
    used = {ch for p in document.projects for row in p.indicator_rows for ch in row.indicator.get("description")}
    assert used - set(text) - {" "} == set()


@pytest.mark.slow
def test_yaml_text_is_rendered_literally_and_fetches_nothing(data_copy, tmp_path):
    hostile = '<img src="file:///etc/passwd"></td>{{ 7*7 }}'
    edit_file(data_copy / "projects" / "142001001.yaml", "goal: 按月工资表，及时支付工资保险费用",
          f"goal: '{hostile}'")
    out = tmp_path / "out"
    result = run_cli("build", "--data", str(data_copy), "--out", str(out))
    assert result.returncode == 0, result.stderr
    html = (out / f"{STEM}.html").read_text(encoding="utf-8")
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;&lt;/td&gt;{{ 7*7 }}" in html
    with pdfplumber.open(out / f"{STEM}.pdf") as pdf:
        text = squash("".join(page.extract_text() or "" for page in pdf.pages))
    assert squash(hostile) in text
    assert "root:x:0" not in text


def test_url_fetcher_refuses_files_outside_the_allowed_folders(tmp_path):
    from perfdoc.render.pdf import RefusedFetch, restricted_url_fetcher

    fetch = restricted_url_fetcher([tmp_path])
    with pytest.raises(RefusedFetch):
        fetch.fetch("file:///etc/passwd")
    with pytest.raises(RefusedFetch):
        fetch.fetch(f"file://{tmp_path}/../../etc/passwd")
    with pytest.raises(RefusedFetch):
        fetch.fetch("http://127.0.0.1/x.png")
    (tmp_path / "ok.css").write_text("p{}")
    assert fetch.fetch((tmp_path / "ok.css").as_uri())


@pytest.mark.slow
def test_long_table_repeats_its_header_and_never_splits_a_row(data_copy, pinned_fonts, tmp_path):
    row = ("      - name: 指标{n}\n        description: 第{n}行的绩效指标描述，写得足够长以便换行，"
           "检查同一行不会被拆到两页上去。\n        value: '{n} 项'\n        basis: 年度计划\n")
    rows = "".join(row.format(n=n) for n in range(1, 61))
    edit_file(data_copy / "projects" / "142001001.yaml", "    质量指标:\n", rows + "    质量指标:\n")
    out = tmp_path / "out"
    assert run_cli("build", "--data", str(data_copy), "--out", str(out), "--fonts", str(pinned_fonts)).returncode == 0
    with pdfplumber.open(out / f"{STEM}.pdf") as pdf:
        pages = [p.extract_text() or "" for p in pdf.pages]
        cells = [[squash(c) for t in p.extract_tables() for row in t for c in row if c] for p in pdf.pages]
    first = next(i for i, text in enumerate(pages) if "142001001" in text)
    span = [first]
    while "142001002" not in pages[span[-1] + 1]:
        span.append(span[-1] + 1)
    assert len(span) >= 3, "60 extra rows must run over several pages"
    for index in span:
        assert "二级指标 三级指标 绩效指标描述" in pages[index], index
        assert cells[index].count("指标值确定依据") == 1, index
    for n in range(1, 61):
        needle = f"第{n}行的绩效指标描述，写得足够长以便换行，检查同一行不会被拆到两页上去。"
        holding = [i for i in span if needle in cells[i]]
        assert len(holding) == 1, (n, holding)


def test_missing_glyph_stops_the_build_and_names_the_character(data_copy, tmp_path):
    edit_file(data_copy / "projects" / "142001001.yaml", "name: 劳务派遣工资", "name: 劳务派遣工资\ue000")
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{STEM}.pdf").write_bytes(b"previous build")
    result = run_cli_in_process("build", "--data", str(data_copy), "--out", str(out))  # stops before layout
    assert result.returncode == 1
    assert "U+E000" in result.stderr and "fonts-noto-cjk" in result.stderr
    assert re.search(r"142001001\.yaml:4:\d+: 错误: name: ", result.stderr)
    assert "Traceback" not in result.stderr
    assert (out / f"{STEM}.pdf").read_bytes() == b"previous build"
    assert sorted(p.name for p in out.iterdir() if p.name != ".perfdoc-cache") == [f"{STEM}.pdf"]


def test_build_refuses_to_write_into_the_data_folder(data_copy):
    before = sorted(p.relative_to(data_copy) for p in data_copy.rglob("*"))
    result = run_cli_in_process("build", "--data", str(data_copy), "--out", str(data_copy / "out"))
    assert result.returncode == 1 and "从不往数据目录里写文件" in result.stderr
    assert sorted(p.relative_to(data_copy) for p in data_copy.rglob("*")) == before


def _tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder`, hidden ones included: its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_build_of_the_shipped_data_leaves_data_untouched(pinned_fonts, tmp_path):
    """The real data/ folder, built and checked in place: no file added, changed or touched."""
    before = _tree(DATA)
    assert run_cli("build", "--data", str(DATA), "--out", str(tmp_path / "out"), "--fonts", str(pinned_fonts)).returncode == 0
    assert run_cli("check", "--data", str(DATA), "--lint").returncode == 0
    assert _tree(DATA) == before
