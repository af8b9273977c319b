"""One definition per fact: every field is declared once in perfdoc.data.fields, and the schema,
the model, the scaffold, the import writer, the diff and the XLSX all agree with it.

Each test reads what one consumer produces (not its source) and compares it with the declaration,
so a field added, renamed or relabelled in one place only is caught here.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from builders import REPO, make_document, profile

from perfdoc.data.fields import (
    DEPARTMENT_FIELDS,
    DEPARTMENT_TABLE_FIELDS,
    INDICATOR_FIELDS,
    PROJECT_FIELDS,
    SECTION_FIELDS,
    SUB_TARGET_FIELDS,
)
from perfdoc.data.model import Indicator, build_department, build_document, build_project
from perfdoc.data.schema import build_schema
from perfdoc.io.writer import DEPARTMENT_ORDER, ORDERS, PROJECT_ORDER
from perfdoc.render.xlsx import department_rows, indicator_sheet, summary_sheet
from perfdoc.review.diff import compare
from perfdoc.review.scaffold import project_skeleton

SHIPPED = ("hebei-2023", "longterm-88", "core-2021")

FULL_DEPARTMENT = {
    "department": "某局", "year": 2024, "title": "2024年部门预算绩效目标", "profile": "hebei-2023",
    "output_name": "某局文件", "fonts_dir": "fonts", "overall_target": ["总体一段"],
    "sub_targets": [{"heading": "分项", "target": "目标", "indicators": "指标"}], "measures": ["措施一段"],
    "summary_table": True,
}


def test_the_department_schema_is_the_declared_fields_in_order():
    department = build_schema(profile())["$defs"]["department"]
    assert list(department["properties"]) == list(DEPARTMENT_FIELDS)
    assert department["required"] == [key for key, field in DEPARTMENT_FIELDS.items() if field.required]
    for key, field in DEPARTMENT_FIELDS.items():
        if field.kind != "record":  # the department-wide table is titled by its own profile
            assert department["properties"][key]["title"] == field.label, key
            assert department["properties"][key]["description"].startswith(field.help), key
    item = department["properties"]["sub_targets"]["items"]
    assert list(item["properties"]) == list(SUB_TARGET_FIELDS) == item["required"]


@pytest.mark.parametrize("name", SHIPPED)
def test_project_and_indicator_schemas_name_only_declared_fields(name):
    shape = profile(name)
    schema = build_schema(shape)["$defs"]
    structure = {"spending_plan", "goal", "indicators", "long_term"}
    assert set(schema["project"]["properties"]) - structure <= set(PROJECT_FIELDS)
    assert list(schema["indicator"]["properties"]) == list(INDICATOR_FIELDS)
    labels = shape.field_labels()
    for key, field in PROJECT_FIELDS.items():
        if key in schema["project"]["properties"]:
            assert schema["project"]["properties"][key]["title"] == labels.get(("record", key), field.label)


def test_the_department_table_schema_is_its_declared_fields():
    table = build_schema(profile())["$defs"]["department"]["properties"]["department_table"]
    assert set(table["properties"]) - {"profile", "goal", "indicators", "spending_plan", "long_term"} \
        == set(DEPARTMENT_TABLE_FIELDS) - {"department"}


def test_an_indicator_holds_exactly_the_declared_fields_in_their_order():
    row = {key: Decimal(10) if field.kind == "percent" else f"{key}值" for key, field in INDICATOR_FIELDS.items()}
    indicator = build_project({"code": "142001001", "name": "x", "budget": 1, "fiscal_funds": 1, "use": "u",
                               "spending_plan": {"3月底": 25, "6月底": 50, "10月底": 75, "12月底": 100}, "goal": "g",
                               "indicators": {"产出指标": {"数量指标": [dict(reversed(row.items()))]}}},
                              profile(), "p.yaml").blocks[0].rows[0].indicator
    assert list(indicator.as_dict()) == list(INDICATOR_FIELDS)
    assert indicator.get("weight") == Decimal(10) and indicator.name == "name值"
    with pytest.raises(KeyError):
        Indicator(()).get("not_a_field")


def test_the_import_writer_writes_keys_in_the_declared_order():
    assert DEPARTMENT_ORDER == tuple(DEPARTMENT_FIELDS)
    assert PROJECT_ORDER[:len(PROJECT_FIELDS)] == tuple(PROJECT_FIELDS)
    assert ORDERS["indicator"] == tuple(INDICATOR_FIELDS)
    assert ORDERS["sub_targets"] == tuple(SUB_TARGET_FIELDS)


def _full_document():
    from pathlib import Path

    department = build_department(FULL_DEPARTMENT, Path("/data/department.yaml"))
    document = make_document()
    return build_document(department, list(document.projects), document.profile)


def test_the_workbook_captions_are_the_declared_labels():
    document = _full_document()
    captions = {key: caption for key, caption, _ in department_rows(document)}
    for key in ("department", "year", "title", "profile", "output_name", "fonts_dir", "summary_table"):
        assert captions[key] == DEPARTMENT_FIELDS[key].label
    assert captions["overall_target[1]"].startswith(DEPARTMENT_FIELDS["overall_target"].label)
    assert captions["measures[1]"].startswith(DEPARTMENT_FIELDS["measures"].label)
    for key, field in SUB_TARGET_FIELDS.items():
        assert captions[f"sub_targets[1].{key}"].endswith(field.label)
    assert set(captions) <= {*DEPARTMENT_FIELDS, "overall_target[1]", "measures[1]",
                             *(f"sub_targets[1].{key}" for key in SUB_TARGET_FIELDS)}
    headers = [column.header for column in summary_sheet(document).columns]
    assert headers[:2] == [PROJECT_FIELDS["code"].label, PROJECT_FIELDS["name"].label]
    assert {h for h in headers[2:] if "资金支出计划" not in h and h != "绩效目标"} <= {f.label for f in PROJECT_FIELDS.values()}
    indicator_headers = {column.header for column in indicator_sheet(document).columns}
    assert {f.label for f in INDICATOR_FIELDS.values() if f.key in ("name", "description", "value", "basis")} \
        <= indicator_headers


def test_the_diff_and_the_headings_use_the_declared_labels():
    old = _full_document()
    changed = {**FULL_DEPARTMENT, "year": 2025, "title": "新标题", "overall_target": ["改了"],
               "sub_targets": [{"heading": "新分项", "target": "新目标", "indicators": "新指标"}], "measures": ["改了"]}
    from pathlib import Path

    new = build_document(build_department(changed, Path("/data/department.yaml")), list(old.projects), old.profile)
    places = {change.where for change in compare(old, new, "旧", "新").department}
    assert places == {DEPARTMENT_FIELDS["year"].label, DEPARTMENT_FIELDS["title"].label,
                      f"{DEPARTMENT_FIELDS['overall_target'].label} 第1段", f"{DEPARTMENT_FIELDS['measures'].label}（一）",
                      *(f"{DEPARTMENT_FIELDS['sub_targets'].label}（一）{f.label}" for f in SUB_TARGET_FIELDS.values())}
    headings = old.department.headings
    assert list(headings) == list(SECTION_FIELDS)
    assert headings["sub_targets"] == f"二、{DEPARTMENT_FIELDS['sub_targets'].label}"


@pytest.mark.parametrize("name", SHIPPED)
def test_the_scaffold_names_each_field_with_its_label(name):
    shape = profile(name)
    text = project_skeleton("150001001", "新项目", shape)
    labels = shape.field_labels()
    for key in shape.header_fields():
        if key not in ("code", "name"):
            line = next(line for line in text.splitlines() if line.startswith(f"{key}:"))
            assert labels.get(("record", key), PROJECT_FIELDS[key].label) in line, line



def test_a_profiles_own_fields_reach_the_schema_the_writer_the_workbook_and_the_diff():
    """`fields:` of a profile (anhui-2025: 项目来源 with choices, 项目期): declared there once, and every
    consumer takes label and choices from the declaration."""
    from perfdoc.build.pipeline import load_document
    from perfdoc.io.writer import project_order

    shape = profile("anhui-2025")
    own = {key: field for key, field in shape.record_fields.items() if key not in PROJECT_FIELDS}
    assert set(own) == {"source", "term"} and own["source"].choices and own["source"].kind == "choice"
    schema = build_schema(shape)["$defs"]["project"]["properties"]
    for key, field in own.items():
        assert schema[key]["title"] == field.label
    assert schema["source"]["enum"] == list(own["source"].choices)
    order = project_order(shape)
    assert order[:len(PROJECT_FIELDS)] == tuple(PROJECT_FIELDS) and set(own) <= set(order[:len(shape.record_fields)])
    document, _ = load_document(REPO / "examples" / "anhui-2025" / "data")
    assert document is not None
    headers = [column.header for column in summary_sheet(document).columns]
    assert {field.label for field in own.values()} <= set(headers)
    from dataclasses import replace

    project = document.projects[0]
    changed = replace(project, facts=tuple((k, "2年" if k == "term" else v) for k, v in project.facts))
    diff = compare(document, replace(document, projects=(changed, *document.projects[1:])), "旧", "新")
    assert [(f.label, f.old, f.new) for f in diff.projects[0].fields] == [(own["term"].label, "1年", "2年")]


# ---------------------------------------------------------------------------------------------
# The stage files (data/evaluation/, data/monitoring/)


@pytest.mark.parametrize("stage", ["evaluation", "monitoring"])
def test_the_stage_schemas_and_skeletons_are_the_declared_fields_in_order(stage):
    from builders import stage_project

    from perfdoc.data.fields import STAGES, stage_text
    from perfdoc.data.schema import stage_schema
    from perfdoc.data.scoring import NATIONAL
    from perfdoc.review.stage_scaffold import stage_skeleton

    _, fields, indicator_fields = STAGES[stage]
    period = "1—6月"
    schema = stage_schema(profile(), stage, period)["$defs"]
    assert list(schema[stage]["properties"]) == [*fields, "indicators"]
    assert list(schema[f"{stage}_indicator"]["properties"]) == list(indicator_fields)
    for key, field in fields.items():
        assert schema[stage]["properties"][key]["title"] == stage_text(field.label, period), key
        assert schema[stage]["properties"][key]["description"].startswith(stage_text(field.help, period)), key
    for key, field in indicator_fields.items():
        assert schema[f"{stage}_indicator"]["properties"][key]["title"] == stage_text(field.label, period), key
    text = stage_skeleton(stage_project(), stage, NATIONAL)
    top = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
    assert top == [*fields, "indicators"]
    first_entry = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith("        ")]
    assert first_entry[:len(indicator_fields)] == list(indicator_fields)


def test_the_stage_diff_labels_are_the_declared_labels():
    from builders import make_document, make_evaluation, make_monitoring, stage_project
    from test_stages import FILLED, ON_TRACK

    from perfdoc.data.fields import (
        EVALUATION_FIELDS,
        EVALUATION_INDICATOR_FIELDS,
        MONITORING_FIELDS,
        MONITORING_INDICATOR_FIELDS,
        stage_text,
    )
    from perfdoc.data.stage_check import StageCheck
    from perfdoc.review.diff import compare

    empty = {"indicators": {}}
    before = StageCheck(evaluations=[make_evaluation(empty)[0]], monitorings=[make_monitoring(empty)[0]])
    after = StageCheck(evaluations=[make_evaluation(FILLED)[0]], monitorings=[make_monitoring(ON_TRACK)[0]])
    document = make_document(stage_project())
    diff = compare(document, document, "旧", "新", old_stages=before, new_stages=after)
    derived = {"执行率", "预算执行率得分", "1—7月执行率", "预计全年执行率"}
    for change in diff.stages:
        fields, indicator_fields = ((EVALUATION_FIELDS, EVALUATION_INDICATOR_FIELDS) if change.stage == "evaluation"
                                    else (MONITORING_FIELDS, MONITORING_INDICATOR_FIELDS))
        declared = {stage_text(f.label, "1—7月") for f in fields.values()} | derived
        assert {c.label for c in change.fields} <= declared
        row_labels = {c.label for row in change.rows for c in row.changes}
        assert row_labels and row_labels <= {stage_text(f.label, "1—7月") for f in indicator_fields.values()}
