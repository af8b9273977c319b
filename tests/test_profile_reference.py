"""The profile reference (docs/profiles.md, 格式文件的每个键) is generated from the profile schema, and a
profile written from that reference alone works.

After changing a key's description, default or example in perfdoc/data/profile_schema.py, write the
page again with `python3 -m pytest tests/test_profile_reference.py --update-golden`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from builders import REPO
from conftest import run_cli, target_outputs
from jsonschema import Draft202012Validator

from perfdoc.data.model import build_department, build_document, build_project
from perfdoc.data.profile import load_profile
from perfdoc.data.profile_schema import (
    PROFILE_SCHEMA,
    REFERENCE_END,
    REFERENCE_START,
    REFERENCE_TABLES,
    examples_of,
    reference_markdown,
)
from perfdoc.render.tables import project_tables, record_captions

PAGE = REPO / "docs" / "profiles.md"


def _section(page: str) -> str:
    start, end = page.index(REFERENCE_START) + len(REFERENCE_START), page.index(REFERENCE_END)
    return page[start:end].strip("\n")


def test_the_reference_in_the_docs_is_the_one_the_schema_gives(request):
    """The section between the markers is reference_markdown(), byte for byte; --update-golden writes it."""
    page = PAGE.read_text(encoding="utf-8")
    generated = reference_markdown().strip("\n")
    if request.config.getoption("--update-golden"):
        start, end = page.index(REFERENCE_START) + len(REFERENCE_START), page.index(REFERENCE_END)
        PAGE.write_text(page[:start] + "\n\n" + generated + "\n\n" + page[end:], encoding="utf-8")
        return
    assert _section(page) == generated, \
        "docs/profiles.md 的键表与 perfdoc/data/profile_schema.py 不一致：python3 -m pytest tests/test_profile_reference.py --update-golden"


def _documented_keys() -> dict[str, set[str]]:
    """The keys each table of the page's reference lists, by its heading."""
    tables: dict[str, set[str]] = {}
    heading = ""
    for line in _section(PAGE.read_text(encoding="utf-8")).splitlines():
        if line.startswith("### "):
            heading = line[4:]
            tables[heading] = set()
        elif found := re.match(r"\| `([a-z0-9_]+)` \|", line):
            tables[heading].add(found.group(1))
    return tables


def test_every_key_has_a_meaning_a_type_and_an_example_and_every_example_is_valid():
    """No key without its words; each example, as the page prints it, passes the key's own schema."""
    documented = _documented_keys()
    for table in REFERENCE_TABLES:
        assert set(table["properties"]) == documented[table["x-reference"]], table["x-reference"]
        examples = examples_of(table)
        for key, schema in table["properties"].items():
            assert schema.get("title") and schema.get("description"), key
            assert key in examples, f"{key}: no example"
            value = yaml.safe_load(examples[key])
            assert isinstance(value, dict) and key in value, (key, examples[key])
            errors = list(Draft202012Validator(schema).iter_errors(value[key]))
            assert not errors, (key, examples[key], [e.message for e in errors])
    assert "不印在表上" in PROFILE_SCHEMA["properties"]["title"]["description"]  # what `title` does


# ---------------------------------------------------------------------------------------------
# A profile written from the reference alone: a header cell spanning three rows, the vertical
# 绩效指标 label, lines above and below with a field and the year

FROM_THE_REFERENCE = """\
name: 照键表写的格式
description: 跨行表头、竖排标签、表上表下的文字
title: 项目支出绩效目标表
grid: [7, 23, 24, 30, 22, 50]
above:
  - {center: 项目支出绩效目标表, title: true}
  - {center: "（{year}年度）"}
  - {left: "项目责任人：{leader}", right: 单位：万元}
below:
  - {left: "注：本表由{department}填报。"}
fields:
  source: {label: 项目来源, choices: [本级申报项目, 上级转移支付项目]}
header:
  - - {label: 项目名称, span: 2}
    - {field: name, span: 4}
  - - {label: 项目来源, span: 2}
    - {field: source, span: 4}
  - - {label: 项目资金（万元）, span: 2, rowspan: 3}
    - {label: 年度资金总额, span: 2}
    - {field: budget, span: 2}
  - - {label: 其中：财政拨款, span: 2}
    - {field: fiscal_funds, span: 2}
  - - {label: 其他资金, span: 2}
    - {field: other_funds, span: 2, optional: true}
blocks:
  - {source: annual, goal: "年度目标（{year}年）"}
side_label: {label: 绩效指标}
level_labels: [一级指标, 二级指标]
columns:
  - {label: 三级指标, field: name, span: 2}
  - {label: 指标值, fields: [nature, value, unit]}
levels: {产出指标: [数量指标, 质量指标], 满意度指标: [服务对象满意度指标]}
empty_level2: omit
"""

PROJECT = {
    "name": "乡村学校少年宫运行", "source": "本级申报项目", "leader": "陈一帆",
    "budget": Decimal("48.6"), "fiscal_funds": Decimal("45"), "other_funds": Decimal("3.6"),
    "goal": "保障12所乡村学校少年宫全年开放，开展课外活动。",
    "indicators": {"产出指标": {"数量指标": [{"name": "开放少年宫", "nature": "=", "value": "12", "unit": "所"},
                                            {"name": "开展活动", "nature": "≥", "value": "480", "unit": "场次"}],
                                "质量指标": [{"name": "活动安全事故", "nature": "=", "value": "0", "unit": "起"}]},
                   "满意度指标": {"服务对象满意度指标": [{"name": "学生满意度", "nature": "≥", "value": "90", "unit": "%"}]}},
}


def test_the_profile_uses_only_keys_the_reference_lists():
    """Every key written in FROM_THE_REFERENCE is one the page documents, in the table it belongs to."""
    documented = {key for keys in _documented_keys().values() for key in keys}
    data = yaml.safe_load(FROM_THE_REFERENCE)

    def keys(node: Any, parent: str = "") -> set[str]:
        if isinstance(node, dict):
            own = set() if parent in ("levels", "fields") else set(node)
            return own | {k for key, value in node.items() for k in keys(value, key)}
        if isinstance(node, list):
            return {k for item in node for k in keys(item, parent)}
        return set()

    used = keys(data)
    assert used - documented == set(), used - documented
    assert {"rowspan", "side_label", "above", "below", "fields", "choices"} <= used


@pytest.fixture
def reference_profile(tmp_path: Path):
    path = tmp_path / "data" / "profiles" / "参考.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(FROM_THE_REFERENCE, encoding="utf-8")
    return load_profile(path)


def test_every_cell_of_the_profile_written_from_the_reference(reference_profile):
    """In memory: the cells the table gets, every one of them, with spans; the lines above and below."""
    project = build_project(PROJECT, reference_profile, "projects/少年宫.yaml")
    facts, grid = project_tables(project, reference_profile, 2025)
    cells = [[(c.text, c.colspan, c.rowspan) for c in row.cells] for row in facts.rows]
    assert cells == [
        [("项目名称", 2, 1), ("乡村学校少年宫运行", 4, 1)],
        [("项目来源", 2, 1), ("本级申报项目", 4, 1)],
        [("项目资金（万元）", 2, 3), ("年度资金总额", 2, 1), ("48.6", 2, 1)],
        [("其中：财政拨款", 2, 1), ("45", 2, 1)],
        [("其他资金", 2, 1), ("3.6", 2, 1)],
        [("年度目标（2025年）", 1, 1), ("保障12所乡村学校少年宫全年开放，开展课外活动。", 5, 1)],
    ]
    assert [[(c.text, c.colspan, c.rowspan) for c in row.cells] for row in grid.rows] == [
        [("", 1, 1), ("一级指标", 1, 1), ("二级指标", 1, 1), ("三级指标", 2, 1), ("指标值", 1, 1)],
        [("绩效指标", 1, 4), ("产出指标", 1, 3), ("数量指标", 1, 2), ("开放少年宫", 2, 1), ("=12所", 1, 1)],
        [("开展活动", 2, 1), ("≥480场次", 1, 1)],
        [("质量指标", 1, 1), ("活动安全事故", 2, 1), ("=0起", 1, 1)],
        [("满意度指标", 1, 1), ("服务对象满意度指标", 1, 1), ("学生满意度", 2, 1), ("≥90%", 1, 1)],
    ]
    assert grid.head[0].cells[0].open_bottom and grid.groups[0][0].cells[0].open_top  # one tall cell
    assert len(grid.groups) == 1  # a rowspan over every row: one row group
    captions = record_captions(reference_profile, dict(project.facts), 2025, "某县教育局")
    assert [line.parts for line in captions.above] == [("", "项目支出绩效目标表", ""), ("", "（2025年度）", ""),
                                                       ("项目责任人：陈一帆", "", "单位：万元")]
    assert captions.above[0].title and [line.parts for line in captions.below] == [("注：本表由某县教育局填报。", "", "")]


@pytest.mark.slow
def test_the_profile_written_from_the_reference_builds_and_every_cell_reads_back(tmp_path, pinned_fonts):
    """Built for real: every cell read back from the PDF (pdfplumber) and the DOCX (python-docx), the
    lines above and below in both, and the DOCX is valid OOXML."""
    from test_docx_valid import assert_word_valid
    from test_formats import docx_rows, docx_text, pdf_rows, pdf_text

    from perfdoc.data.yaml_text import text_scalar

    data = tmp_path / "data"
    (data / "projects").mkdir(parents=True)
    (data / "profiles").mkdir()
    (data / "profiles" / "参考.yaml").write_text(FROM_THE_REFERENCE, encoding="utf-8")
    (data / "department.yaml").write_text("department: 某县教育局\nyear: 2025\ntitle: 2025年部门预算绩效目标\nprofile: 参考\n",
                                          encoding="utf-8")
    lines = [f"{key}: {text_scalar(value) if isinstance(value, str) else value}"
             for key, value in PROJECT.items() if key != "indicators"]
    lines.append("indicators:")
    for level1, level2s in PROJECT["indicators"].items():
        lines.append(f"  {level1}:")
        for level2, rows in level2s.items():
            lines.append(f"    {level2}:")
            for row in rows:
                lines += [f"      - {key}: {text_scalar(value)}" if i == 0 else f"        {key}: {text_scalar(value)}"
                          for i, (key, value) in enumerate(row.items())]
    (data / "projects" / "少年宫.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    built = run_cli("build", "--data", str(data), "--out", str(out), "--fonts", str(pinned_fonts))
    assert built.returncode == 0, built.stderr
    [pdf], [docx_file] = target_outputs(out, "pdf"), target_outputs(out, "docx")
    rows_in_pdf, rows_in_docx = pdf_rows(pdf), docx_rows(docx_file)
    for rows, what in ((rows_in_pdf, "PDF"), (rows_in_docx, "DOCX")):
        for row in (["项目名称", "乡村学校少年宫运行"], ["项目来源", "本级申报项目"], ["项目资金（万元）", "年度资金总额", "48.6"],
                    ["其中：财政拨款", "45"], ["其他资金", "3.6"], ["年度目标（2025年）", "保障12所乡村学校少年宫全年开放，开展课外活动。"],
                    ["开展活动", "≥480场次"], ["质量指标", "活动安全事故", "=0起"],
                    ["满意度指标", "服务对象满意度指标", "学生满意度", "≥90%"]):
            assert row in rows, (what, row, rows)
        assert ["产出指标", "数量指标", "开放少年宫", "=12所"] in [r[-4:] for r in rows], (what, rows)
        assert ["一级指标", "二级指标", "三级指标", "指标值"] in [r[-4:] for r in rows], (what, rows)
    assert rows_in_docx.count(["绩效指标", "产出指标", "数量指标", "开放少年宫", "=12所"]) == 1  # the tall cell, once
    for text in (pdf_text(pdf), docx_text(docx_file)):
        for line in ("项目支出绩效目标表", "（2025年度）", "项目责任人：陈一帆", "单位：万元", "注：本表由某县教育局填报。"):
            assert line in text, (line, text[:200])
    assert_word_valid(docx_file)


def test_a_document_built_on_the_reference_profile_is_a_document(reference_profile):
    """The project keyed by its file name: the profile prints no code and asks for none."""
    department = build_department({"department": "某县教育局", "year": 2025, "title": "t"}, REPO / "data" / "department.yaml")
    project = build_project(PROJECT, reference_profile, "projects/少年宫.yaml")
    document = build_document(department, [project], reference_profile)
    assert not reference_profile.uses_code and document.projects[0].code == "少年宫"
    assert document.projects[0].title == "乡村学校少年宫运行"
