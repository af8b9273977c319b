"""The shipped data is the whole seed document, and it validates against schema.json."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from conftest import DATA, REPO, run_cli_in_process
from jsonschema import Draft202012Validator

from perfdoc.build.pipeline import load_document
from perfdoc.data.loader import load_yaml_file
from perfdoc.data.profile import DEFAULT_PROFILE, load_profile, profile_path
from perfdoc.data.schema import schema_text
from perfdoc.data.validate import validate_against_schema

# The text extraction of the real 2023 submission data/ reproduces, kept in the repository so this
# test runs in any clone (docs/internals.md says why it lives under tests/).
SEED = REPO / "tests" / "seed" / "000_f2299d1a3a71a255.txt"
SEED_CODES = [f"1420010{n:02d}" for n in range(1, 20) if n != 4]


def _schema() -> dict:
    return json.loads((REPO / "schema.json").read_text(encoding="utf-8"))


def test_shipped_data_is_the_whole_seed_document():
    document, checked = load_document(DATA)
    assert document is not None, [d.format() for d in checked.errors]
    assert [p.code for p in document.projects] == SEED_CODES
    assert document.total_budget == Decimal("1987.8")
    assert all(len(p.indicator_rows) == 9 for p in document.projects)
    assert len(document.department.sub_targets) == 7
    assert len(document.department.measures) == 10
    assert document.department.name == "唐山市公安局海港经济开发区分局"


def test_project_names_and_amounts_match_the_seed_text():
    """Every project's code, name and budget line stand in the seed extraction as printed."""
    seed = SEED.read_text(encoding="utf-8")
    document, _ = load_document(DATA)
    for project in document.projects:
        assert f"{project.code} 预算项目名称 {project.name}" in seed
        assert f"预算数 {project.budget_text}" in seed.replace("预算数 8万元", "预算数 8 万元")


# The extraction wraps text at the page's and the cells' line ends, so values are compared with all
# white space removed. The two corrections the data's comments explain are the only differences:
# `95^%以上` is an extraction artefact of 95%以上, and the extraction kept no document title.
SEED_CORRECTIONS = {"95^%以上": "95%以上"}
TITLE_NOT_IN_EXTRACTION = "2023年部门预算绩效目标"


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _seed_flat() -> str:
    flat = _flat(SEED.read_text(encoding="utf-8"))
    for extracted, corrected in SEED_CORRECTIONS.items():
        flat = flat.replace(extracted, corrected)
    return flat


def _texts(value: Any) -> list[str]:
    """Every text and number inside a YAML value, in order."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return [] if value is None else [str(value)]


def test_every_value_of_every_project_stands_in_its_table_of_the_seed_text():
    """Name, use, goal and every cell of every indicator row, read in the seed table of that project."""
    flat = _seed_flat()
    starts = [flat.index(f"{code}预算项目名称") for code in SEED_CODES]
    for code, start, end in zip(SEED_CODES, starts, [*starts[1:], len(flat)], strict=True):
        table = flat[start:end]
        data = load_yaml_file(DATA / "projects" / f"{code}.yaml").data
        texts = [data["name"], data["use"], data["goal"], *_texts(data["indicators"])]
        missing = [text for text in texts if _flat(text) not in table]
        assert not missing, (code, missing)


def test_spending_plans_are_the_seed_text_rows():
    """The plan row under 3月底 6月底 10月底 12月底, blanks included (`%` alone is an empty cell)."""
    seed = SEED.read_text(encoding="utf-8")
    for code in SEED_CODES:
        table = seed[seed.index(f"{code} 预算项目名称"):]
        row = re.search(r"3月底 6月底 10月底 12月底\s*\n(.*\S)", table).group(1)
        cells = re.sub(r"(\d+) %", r"\1%", row).split()  # `100 %`: a value wrapped before its sign
        expected = [None if cell == "%" else Decimal(cell.removesuffix("%")) for cell in cells]
        plan = load_yaml_file(DATA / "projects" / f"{code}.yaml").data["spending_plan"]
        assert list(plan.values()) == expected, code


def test_department_text_is_the_seed_text():
    """Every paragraph of the department's text stands in the seed, the title only in the data."""
    flat = _seed_flat()
    department = load_yaml_file(DATA / "department.yaml").data
    assert department["title"] == TITLE_NOT_IN_EXTRACTION and _flat(TITLE_NOT_IN_EXTRACTION) not in flat
    texts = [department["department"], *_texts({k: v for k, v in department.items() if k != "title"})]
    missing = [text for text in texts if _flat(text) not in flat]
    assert not missing, missing


def test_schema_json_is_a_valid_schema_and_up_to_date():
    schema = _schema()
    Draft202012Validator.check_schema(schema)
    generated = schema_text(load_profile(profile_path(DEFAULT_PROFILE)))
    assert (REPO / "schema.json").read_text(encoding="utf-8") == generated, \
        "schema.json is stale: run `python build.py schema`"


def test_every_shipped_file_validates_and_starts_with_the_schema_modeline():
    schema = _schema()
    files = [DATA / "department.yaml", *sorted((DATA / "projects").glob("*.yaml"))]
    assert len(files) == 19
    for path in files:
        first_line = path.read_text(encoding="utf-8").splitlines()[0]
        assert first_line.startswith("# yaml-language-server: $schema=")
        target = (path.parent / first_line.split("$schema=", 1)[1]).resolve()
        assert target == (REPO / "schema.json").resolve()
        loaded = load_yaml_file(path)
        kind = "department" if path.name == "department.yaml" else "project"
        assert validate_against_schema(loaded, schema, kind) == []


def test_root_schema_dispatches_on_file_shape():
    """Editors validate with the root schema: a project file with a wrong type is caught there too."""
    validator = Draft202012Validator(_schema())
    loaded = load_yaml_file(DATA / "projects" / "142001001.yaml")
    data = json.loads(json.dumps(loaded.data, default=float))
    data["code"] = "142001001"
    assert not list(validator.iter_errors(data))
    data["budget"] = "很多"
    assert any(e.validator == "type" for e in validator.iter_errors(data))


def test_schema_command_follows_the_data_folders_profile(tmp_path):
    """`schema --data DIR` writes the schema of DIR's profile beside DIR, where the modelines point."""
    import shutil


    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / "profiles").mkdir()
    (data / "profiles" / "mine.yaml").write_text(
        "name: 本单位格式\ncheckpoints: [6月底, 12月底]\nlevels:\n  产出指标: [数量指标]\n  成本指标: [经济成本指标]\n",
        encoding="utf-8")
    department = data / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8") + "profile: mine\n", encoding="utf-8")
    result = run_cli_in_process("schema", "--data", str(data))
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "schema.json").read_text(encoding="utf-8"))
    text = json.dumps(written, ensure_ascii=False)
    assert "经济成本指标" in text and "9月底" not in text and "10月底" not in text
    assert "效果指标" not in text
