"""Table formats as data: every shipped profile's example, and a new profile written by following
the guide in docs/profiles.md literally, built for real and read back cell by cell from the PDF and the DOCX.

The expected cells are worked out here from the raw YAML of the data and of the profile, not from
perfdoc's own grid (perfdoc.render.tables), so a mistake there cannot hide behind itself.
"""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pdfplumber
import pytest
from conftest import DATA, REPO, run_cli, run_cli_in_process, squash, target_outputs
from docx.oxml.ns import qn

from perfdoc.data.loader import load_yaml_file
from perfdoc.data.profile import PROFILES_DIR

EXAMPLES = REPO / "examples"
SHIPPED = ("hebei-2023", "longterm-88", "core-2021", "department-2023", "anhui-2025", "medium-annual")
STAGE_LAYOUTS = ("national-evaluation", "national-monitoring", "sichuan-evaluation")  # table: evaluation | monitoring


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _profile(name: str, data_dir: Path) -> dict[str, Any]:
    """The profile file's data, with a `base` merged in the simple way the guide's profiles use."""
    local = data_dir / "profiles" / f"{name}.yaml"
    data = load_yaml_file(local if local.is_file() else PROFILES_DIR / f"{name}.yaml").data
    assert isinstance(data, dict) and "base" not in data, "these tests read complete profiles"
    return data


def _joined(row: dict[str, Any], keys: list[str]) -> str:
    parts = [_text(row.get(k)) for k in keys if row.get(k) is not None and not (k == "nature" and row.get(k) == "定性"
                                                                               and len(keys) > 1)]
    return "".join(parts)


class Expected:
    """What one record's tables must show: whole rows, and indicator rows by their columns."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []  # rows that must appear as they are (empty cells left out)
        self.tails: list[list[str]] = []  # indicator rows: a table row must end with these cells
        self.anywhere: set[str] = set()  # merged captions: 一级 and 二级 names, the side label
        self.lines: list[str] = []  # the lines above and below the table (each part, filled in)


def with_year(text: str, year: int | None) -> str:
    """`{year}`, `{year+2}`, `{year-1}` worked out, written here independently of perfdoc's own."""
    if year is None:
        return text
    return re.sub(r"\{year(?:([+-])(\d+))?\}",
                  lambda m: str(year + (int(m.group(2)) * (1 if m.group(1) == "+" else -1) if m.group(1) else 0)), text)


def _fill(template: str, record: dict[str, Any], department: str = "") -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: department if m.group(1) == "department" and "department" not in record
                  else _text(record.get(m.group(1))), template)


def expected_cells(profile: dict[str, Any], record: dict[str, Any], year: int | None = None,
                   department: str = "") -> Expected:
    expected = Expected()
    keep = lambda cells: [squash(c) for c in cells if squash(c)]  # noqa: E731 - one-line helper
    y = lambda text: with_year(text, year)  # noqa: E731
    for row in profile["header"]:
        if isinstance(row, dict):
            plan = row["plan"]
            expected.rows.append(keep([y(plan["label"]), *plan["checkpoints"]]))
            values = record.get("spending_plan") or {}
            expected.rows.append(keep([f"{_text(values.get(p))}%" for p in plan["checkpoints"] if values.get(p) is not None]))
            continue
        cells = []
        for cell in row:
            if "label" in cell:
                cells.append(y(cell["label"]))
            elif "field" in cell:
                cells.append(_text(record.get(cell["field"])))
            else:
                cells.append(_fill(y(cell["text"]), record))
        expected.rows.append(keep(cells))
    level_labels = profile.get("level_labels", ["一级指标", "二级指标"])
    blocks = profile["blocks"]
    sources = [record if block.get("source", "annual") == "annual" else record.get(block["source"]) or {} for block in blocks]
    columns = [block.get("columns") or profile["columns"] for block in blocks]
    if profile.get("side_label"):
        expected.anywhere.add(squash(profile["side_label"]["label"]))
    for key in ("above", "below"):
        for line in profile.get(key) or []:
            expected.lines += [squash(_fill(y(line[part]), record, department))
                               for part in ("left", "center", "right") if line.get(part)]
    if profile.get("layout") == "side_by_side":
        if any(block.get("goal") for block in blocks):
            expected.rows.append(keep([y(profile.get("goals_label", "总体目标")), *(y(b.get("goal", "")) for b in blocks)]))
            expected.rows.append(keep([_text(source.get("goal")) for source in sources]))
        expected.rows.append(keep([*level_labels, *(y(b["title"]) for b in blocks)]))
        expected.rows.append(keep([c["label"] for block_columns in columns for c in block_columns]))
        for level1, level2s in profile["levels"].items():
            for level2 in level2s:
                found = [((source.get("indicators") or {}).get(level1) or {}).get(level2) for source in sources]
                if all(rows is None for rows in found):
                    continue
                expected.anywhere |= {squash(level1), squash(level2)}
                for i in range(max([len(rows or []) for rows in found] + [1])):
                    tail = []
                    for rows, block_columns in zip(found, columns, strict=True):
                        row = (rows or [])[i] if i < len(rows or []) else None
                        tail += ["" if row is None else _joined(row, c.get("fields") or [c["field"]]) for c in block_columns]
                    if any(tail):
                        expected.tails.append(keep(tail))
        return expected
    for block, source, block_columns in zip(blocks, sources, columns, strict=True):
        if block.get("goal"):
            expected.rows.append(keep([y(block["goal"]), _text(source.get("goal"))]))
        if block.get("title"):
            expected.rows.append(keep([y(block["title"])]))
        head = keep([*level_labels, *(y(c["label"]) for c in block_columns)])
        # With a side label the head row starts with its cell: pdfplumber reads the tall cell's text there.
        (expected.tails if profile.get("side_label") else expected.rows).append(head)
        for level1, level2s in (source.get("indicators") or {}).items():
            expected.anywhere.add(squash(level1))
            for level2, rows in level2s.items():
                expected.anywhere.add(squash(level2))
                for row in rows or []:
                    keys = [c.get("fields") or [c["field"]] for c in block_columns]
                    expected.tails.append(keep([_joined(row, k) for k in keys]))
    return expected


def pdf_rows(path: Path) -> list[list[str]]:
    with pdfplumber.open(path) as pdf:
        return [[squash(c) for c in row if squash(c)] for page in pdf.pages for t in page.extract_tables() for row in t]


def docx_rows(path: Path) -> list[list[str]]:
    rows = []
    for table in docx.Document(str(path)).tables:
        for tr in table._tbl.tr_lst:
            cells = []
            for tc in tr.tc_lst:
                merge = tc.tcPr.find(qn("w:vMerge")) if tc.tcPr is not None else None
                if merge is not None and merge.get(qn("w:val")) in (None, "continue"):
                    continue
                cells.append(squash("".join(t.text or "" for t in tc.iter(qn("w:t")))))
            rows.append([c for c in cells if c])
    return rows


def assert_shows(rows: list[list[str]], expected: Expected, what: str, text: str | None = None) -> None:
    """`text`: the whole document's text, where merged captions are looked for when they are not a cell
    of their own (pdfplumber sees no cell in a merged caption that a page break cuts open)."""
    for row in expected.rows:
        assert row in rows, f"{what}: row {row} not found"
    for tail in expected.tails:
        assert any(r[-len(tail):] == tail for r in rows if len(r) >= len(tail)), f"{what}: indicator row {tail} not found"
    cells = {c for r in rows for c in r}
    missing = {c for c in expected.anywhere - cells if text is None or not _in_order(c, text)}
    assert not missing, f"{what}: captions missing: {missing}"
    if text is not None:
        assert all(line in text for line in expected.lines), f"{what}: lines above/below missing: {expected.lines}"


def _in_order(caption: str, text: str) -> bool:
    """The caption's characters stand in `text` in order (a wrapped caption's lines are interleaved
    with its neighbours' in the extracted text)."""
    rest = iter(text)
    return all(char in rest for char in caption)


def pdf_text(path: Path) -> str:
    with pdfplumber.open(path) as pdf:
        return squash("".join(page.extract_text() or "" for page in pdf.pages))


def docx_text(path: Path) -> str:
    """The DOCX's paragraphs (outside tables), whitespace removed: where the lines above and below are."""
    return squash("".join(p.text for p in docx.Document(str(path)).paragraphs))


def records(data_dir: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(profile, record) for the department-wide table and each project of a data folder."""
    department = load_yaml_file(data_dir / "department.yaml").data
    found = []
    if department.get("department_table"):
        table = dict(department["department_table"], department=department["department"])
        found.append((_profile(table.get("profile", "department-2023"), data_dir), table))
    profile = _profile(department.get("profile", "hebei-2023"), data_dir)
    for path in sorted((data_dir / "projects").glob("*.yaml")) if (data_dir / "projects").is_dir() else []:
        found.append((profile, load_yaml_file(path).data))
    return found


def build_and_compare(data_dir: Path, out: Path, pinned_fonts: Path, cwd: Path = REPO) -> tuple[Path, Path]:
    result = run_cli("build", "--data", str(data_dir), "--out", str(out), "--fonts", str(pinned_fonts), cwd=cwd)
    assert result.returncode == 0, result.stderr
    [pdf], [docx_file] = target_outputs(out, "pdf"), target_outputs(out, "docx")
    in_pdf, in_docx, text = pdf_rows(pdf), docx_rows(docx_file), pdf_text(pdf)
    department = load_yaml_file(data_dir / "department.yaml").data
    for profile, record in records(data_dir):
        expected = expected_cells(profile, record, department["year"], department["department"])
        assert expected.tails, "every example shows indicators"
        name = record.get("code") or record.get("name") or record["department"]
        assert_shows(in_pdf, expected, f"PDF {name}", text)
        assert_shows(in_docx, expected, f"DOCX {name}")
        assert all(line in docx_text(docx_file) for line in expected.lines), f"DOCX {name}: {expected.lines}"
    return pdf, docx_file


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_profile_example_builds_and_reads_back(name, tmp_path, pinned_fonts):
    from test_docx_valid import assert_word_valid

    data_dir = EXAMPLES / name / "data"
    department = load_yaml_file(data_dir / "department.yaml").data
    used = {department.get("profile", "hebei-2023"), (department.get("department_table") or {}).get("profile", "")}
    assert name in used or name == "department-2023" and department.get("department_table")
    _, docx_file = build_and_compare(data_dir, tmp_path / "out", pinned_fonts)
    assert_word_valid(docx_file)


def test_each_example_checks_clean_and_its_schema_is_current():
    """No error and no warning in any example; examples/X/schema.json is what `schema` writes."""
    for name in SHIPPED:
        data_dir = EXAMPLES / name / "data"
        result = run_cli_in_process("check", "--data", str(data_dir))
        assert result.returncode == 0 and "0 个错误，0 个警告" in result.stderr, (name, result.stderr)
        schema = EXAMPLES / name / "schema.json"
        before = schema.read_text(encoding="utf-8")
        scratch = Path(str(schema) + ".check")
        try:
            result = run_cli_in_process("schema", "--data", str(data_dir), "--output", str(scratch))
            assert result.returncode == 0, result.stderr
            assert scratch.read_text(encoding="utf-8") == before, f"{schema} is stale: python3 build.py schema --data {data_dir}"
        finally:
            scratch.unlink(missing_ok=True)


def test_profiles_command_lists_shipped_and_local_formats(tmp_path):
    data = tmp_path / "data"
    (data / "profiles").mkdir(parents=True)
    (data / "profiles" / "mine.yaml").write_text("name: 本单位格式\ndescription: 只换了时间节点\nbase: hebei-2023\n"
                                                 "checkpoints: [6月底, 12月底]\n", encoding="utf-8")
    result = run_cli_in_process("profiles", "--data", str(data))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [*sorted(SHIPPED + STAGE_LAYOUTS), "mine"]
    assert "本地" in lines[-1] and "本单位格式：只换了时间节点" in lines[-1]
    kinds = {line.split("\t")[0]: line.split("\t")[1] for line in lines}
    assert kinds["national-evaluation"] == kinds["sichuan-evaluation"] == "[自带，自评表]"
    assert kinds["national-monitoring"] == "[自带，监控表]"
    assert "evaluation_profile" in result.stderr
    assert all("\t[自带" in line for line in lines[:-1])


# ---------------------------------------------------------------------------------------------
# The guide "为本省/本单位写一个格式" in docs/profiles.md, followed step by step


def guide_steps() -> list[tuple[str, str]]:
    """The guide's code blocks in order: ("sh", commands) or ("yaml", file text with its path comment)."""
    page = (REPO / "docs" / "profiles.md").read_text(encoding="utf-8")
    section = page.split("\n## 为本省/本单位写一个格式", 1)[1].split("\n## ", 1)[0]
    return [(lang, textwrap_dedent(body)) for lang, body in re.findall(r"```(sh|yaml)\n(.*?)```", section, re.S)]


def textwrap_dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)


def test_the_guide_is_found_where_the_docs_keep_it():
    """The slow test below follows these steps; here, cheaply, that they are still where it looks."""
    assert [lang for lang, _ in guide_steps()] == ["sh", "yaml", "yaml", "sh", "yaml", "sh"]


@pytest.mark.slow
def test_profiles_guide_for_a_new_format_works_as_written(tmp_path, pinned_fonts):
    """Columns unlike any shipped profile: no description, a 绩效标准 column, 实施期 in the header,
    two indicators under one 二级, an empty 二级 printed as a row."""
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    shutil.copy(DATA / "department.yaml", work / "data" / "department.yaml")
    steps = guide_steps()
    assert [lang for lang, _ in steps] == ["sh", "yaml", "yaml", "sh", "yaml", "sh"]
    for lang, body in steps:
        if lang == "yaml":
            first, _, content = body.partition("\n")
            target = work / first.removeprefix("# ").split("（")[0].strip()
            mode = "a" if "加在末尾" in first else "w"
            with target.open(mode, encoding="utf-8") as stream:
                stream.write(content)
            continue
        for command in body.strip().splitlines():
            words = command.split("#")[0].split()
            if words[:2] == ["mkdir", "-p"]:
                (work / words[2]).mkdir(parents=True, exist_ok=True)
                continue
            assert words[:2] == ["python3", "build.py"], command
            args = [*words[2:], *(["--fonts", str(pinned_fonts)] if words[2:3] in ([], ["build"]) else [])]
            result = run_cli(*args, cwd=work)
            assert result.returncode == 0, (command, result.stderr)
            if words[2:3] == ["check"]:
                assert "0 个错误" in result.stderr, result.stderr
    assert (work / "schema.json").is_file()
    out = work / "build"
    [pdf], [docx_file] = target_outputs(out, "pdf"), target_outputs(out, "docx")
    profile = _profile("本市格式", work / "data")
    record = load_yaml_file(work / "data" / "projects" / "150001001.yaml").data
    expected = expected_cells(profile, record)
    for rows, what, text in ((pdf_rows(pdf), "PDF", pdf_text(pdf)), (docx_rows(docx_file), "DOCX", None)):
        assert_shows(rows, expected, what, text)
        assert ["实施期", "2024年1月—2024年12月"] in rows
        assert ["一级指标", "二级指标", "三级指标", "指标值", "绩效标准"] in rows  # no 绩效指标描述 column
        assert ["补贴发放人数", "≥360人", "民政部门核定名单"] in [r[-3:] for r in rows]
        assert ["上门服务次数", "≥4300人次", "服务合同"] in rows  # second row under 数量指标: merged cells left out
        assert ["质量指标"] in rows  # the empty 二级, printed as a row of its own
        assert ["老人居家养老保障水平", "明显提升", "年度工作计划"] in [r[-3:] for r in rows]
    assert "资金支出计划" not in "".join(c for r in pdf_rows(pdf) for c in r)
