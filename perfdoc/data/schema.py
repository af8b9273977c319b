"""The JSON Schema (2020-12) of both data files, generated from a profile.

`schema.json` at the top of the repository is this schema for the default profile; editors use it
through the `# yaml-language-server: $schema=...` line of each data file. `python build.py schema`
rewrites it, and a test fails when it is out of date. The build itself validates with the schema of
the profile the department chose, so a custom profile needs no hand-written schema.
"""

from __future__ import annotations

import json
from typing import Any

from perfdoc.data.fields import (
    DEPARTMENT_FIELDS,
    INDICATOR_FIELDS,
    PROJECT_FIELDS,
    STAGES,
    SUB_TARGET_FIELDS,
    Field,
    stage_text,
)
from perfdoc.data.profile import DEFAULT_PROFILE, Block, Profile, load_profile, profile_path
from perfdoc.data.scoring import NATIONAL

DEFAULT_DEPARTMENT_TABLE_PROFILE = "department-2023"

SCHEMA_ID = "https://perfdoc.invalid/schema.json"
# Every pattern ends in `(?!\n)$`: JSON Schema patterns are searched, and Python's `$` also matches
# before a final newline, so `code: |` (a block scalar, "142001001\n") would pass a bare `...$`.
# The lookahead changes nothing for ECMA-262 engines (editors), where `$` is the end of the text.
CODE_PATTERN = r"^[0-9]{6,20}(?!\n)$"
PROFILE_NAME_PATTERN = r"^[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}(?!\n)$"
OUTPUT_NAME_PATTERN = r"^[^/\\:*?\"<>|\x00-\x1f\x7f]{1,120}(?!\n)$"
MAX_LIST_ITEMS = 999  # 分项目标 / 保障措施 are numbered （一）…（九百九十九）: model.chinese_number covers it
MAX_AMOUNT = 100_000_000  # 万元, i.e. one trillion yuan: anything larger is a typing slip
# What to do about a 二级 written as `[]` in a table that does not print empty ones.
EMPTY_LEVEL2_HINT = ("没有三级指标的二级指标就删去这个键（不写的二级不印）；要在表里印一行空的，表格格式要写 "
                     "empty_level2: row（如在数据目录的 profiles/ 下写一个只有 base: {profile} 和 empty_level2: row 两行的格式，"
                     "见 docs/profiles.md）")


def _text(title: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "title": title, "description": description, **extra}


def _amount(title: str, description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": MAX_AMOUNT, "multipleOf": 0.01, "title": title,
            "description": description + "单位：万元，最多两位小数，只写数字（如 345.52）。"}


def _field_schema(field: Field, label: str) -> dict[str, Any]:
    """A field's schema from its kind (perfdoc.data.fields), titled with the label the profile prints."""
    if field.kind == "amount":
        return _amount(label, field.help)
    if field.kind == "percent":
        return {"type": "number", "minimum": 0, "maximum": 100, "title": label, "description": field.help + "只写数字。"}
    if field.kind == "choice":
        return {"type": "string", "enum": list(field.choices), "title": label,
                "description": field.help + "可选：" + "、".join(field.choices)}
    if field.kind == "code":
        return _text(label, field.help, pattern=CODE_PATTERN)
    if field.kind == "points":
        return {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.01, "title": label,
                "description": field.help + "最多两位小数。"}
    if field.kind == "choices":
        return {"type": "array", "uniqueItems": True, "items": {"enum": list(field.choices)}, "title": label,
                "description": field.help + "可选：" + "、".join(field.choices) + "（写成 [经费保障, 其他]）"}
    return _text(label, field.help)


def _may_be_empty(schema: dict[str, Any]) -> dict[str, Any]:
    """A field the table does not require may be written and left empty (`unit:`), as in the scaffold."""
    empty = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        empty["enum"] = [*schema["enum"], None]
    return empty


def indicator_row_schema(profile: Profile) -> dict[str, Any]:
    shown = profile.indicator_fields()
    labels = profile.field_labels()
    properties = {}
    for key, field in INDICATOR_FIELDS.items():
        schema = _field_schema(field, labels.get(("indicator", key), field.label))
        properties[key] = schema if shown.get(key) else _may_be_empty(schema)
    return {
        "type": "object",
        "title": "三级指标（表格中的一行）",
        "additionalProperties": False,
        "required": [key for key, required in shown.items() if required],
        "properties": properties,
    }


def _block_schema(profile: Profile, block: Block, title: str, row_ref: str) -> dict[str, Any]:
    """A goal and its indicators: 一级 → 二级 → rows, names from the profile."""
    allow_empty = profile.empty_level2 == "row" or block.optional
    row_list: dict[str, Any] = {"type": "array", "minItems": 0 if allow_empty else 1, "items": {"$ref": f"#/$defs/{row_ref}"},
                                "description": "该二级指标下的三级指标，每项一行。"}
    if not allow_empty:
        row_list["x-hints"] = {"minItems": EMPTY_LEVEL2_HINT.format(profile=profile.name)}
    indicators = {
        "type": "object",
        "title": f"{title}绩效指标",
        "description": "一级指标 → 二级指标 → 三级指标列表。名称来自表格格式：" + profile.title,
        "additionalProperties": False,
        "properties": {
            level1: {
                "type": "object",
                "title": level1,
                "description": f"一级指标“{level1}”下的二级指标。",
                "additionalProperties": False,
                "properties": {level2: {**row_list, "title": level2} for level2 in level2s},
            }
            for level1, level2s in profile.levels
        },
    }
    goal = _text(block.goal_label or "绩效目标", f"{title}绩效目标。")
    required = [] if block.optional else (["goal"] if block.goal_label else []) + ["indicators"]
    return {"goal": goal, "indicators": indicators, "required": required}


def _plan_schema(profile: Profile) -> dict[str, Any]:
    return {
        "type": "object",
        "title": profile.plan.label if profile.plan else "资金支出计划（%）",
        "description": "各时间节点的累计支出百分比（只写数字，如 25；原表空着的留空）。应逐期不减，最后达到 100。",
        "additionalProperties": False,
        "required": list(profile.checkpoints),
        "properties": {
            point: {"type": ["number", "null"], "minimum": 0, "maximum": 100,
                    "title": f"{point}累计支出（%）", "description": f"截至{point}累计支出占预算的百分比，0–100。"}
            for point in profile.checkpoints
        },
    }


def record_schema(profile: Profile, *, row_ref: str = "indicator", skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema of one record (a project file, or the department_table section) for `profile`."""
    labels = profile.field_labels()
    shown = profile.header_fields()
    properties: dict[str, Any] = {}
    for key, field in profile.record_fields.items():
        if key not in skip:
            schema = _field_schema(field, labels.get(("record", key), field.label))
            properties[key] = schema if shown.get(key) or key in ("code", "name") else _may_be_empty(schema)
    required = [key for key, needed in shown.items() if needed and key not in skip]
    if profile.table == "project":
        # A project is known by its name, and by its code when the table prints it or the profile
        # asks for it; otherwise its file name is its key (perfdoc.data.profile.Profile.uses_code).
        identity = ["code", "name"] if profile.uses_code else ["name"]
        required = [*identity, *(key for key in required if key not in ("code", "name"))]
    if profile.plan:
        properties["spending_plan"] = _plan_schema(profile)
        required.append("spending_plan")
    block_titles = {"annual": "年度", "long_term": "长期"}
    for block in profile.blocks:
        block_schema = _block_schema(profile, block, block_titles[block.source] if len(profile.blocks) > 1 else "",
                                     row_ref)
        if block.source == "annual":
            properties["goal"], properties["indicators"] = block_schema["goal"], block_schema["indicators"]
            required += block_schema["required"]
        else:
            properties[block.source] = {
                "type": "object", "title": block.title or "长期目标与指标", "additionalProperties": False,
                "description": "实施期（长期）的绩效目标（goal）与绩效指标（indicators）。",
                "required": block_schema["required"],
                "properties": {"goal": block_schema["goal"], "indicators": block_schema["indicators"]}}
            if not block.optional:
                required.append(block.source)
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


def _described(field: Field) -> str:
    return field.help + (f"例如：{field.example}" if field.example else "")


def _department_field_schema(field: Field, department_table: dict[str, Any]) -> dict[str, Any]:
    """A department-file field's schema from its kind (perfdoc.data.fields.DEPARTMENT_FIELDS)."""
    label, description = field.label, _described(field)
    if field.kind == "year":
        return {"type": "integer", "minimum": 2000, "maximum": 2100, "title": label, "description": description}
    if field.kind == "profile":
        return _text(label, f"{description}默认 {DEFAULT_PROFILE}。", pattern=PROFILE_NAME_PATTERN)
    if field.kind == "file_name":
        return _text(label, description, pattern=OUTPUT_NAME_PATTERN)
    if field.kind == "paragraphs":
        return {"type": "array", "minItems": 1, "maxItems": MAX_LIST_ITEMS, "items": _text("段落", "一段文字。"),
                "title": label, "description": description}
    if field.kind == "sections":
        item = {"type": "object", "title": label, "additionalProperties": False, "required": list(SUB_TARGET_FIELDS),
                "properties": {key: _text(sub.label, _described(sub)) for key, sub in SUB_TARGET_FIELDS.items()}}
        return {"type": "array", "minItems": 1, "maxItems": MAX_LIST_ITEMS, "items": item, "title": label,
                "description": description}
    if field.kind == "record":
        return department_table
    if field.kind == "switch":
        return {"type": "boolean", "title": label, "description": description}
    return _text(label, description)


def _stage_schemas(profile: Profile, stage: str, period: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stage file's schema and one indicator's: every field may be left empty (a skeleton's are),
    `check` lists what is still to fill in. Indicators: 一级 → 二级 (the profile's names) → 三级 name."""
    name, fields, indicator_fields = STAGES[stage]

    def described(field: Field) -> dict[str, Any]:
        field = Field(field.key, stage_text(field.label, period), field.kind, stage_text(field.help, period),
                      field.choices, field.long, field.example)
        schema = _field_schema(field, field.label)
        if field.kind == "amount":  # what was spent is known to the 元: 万元 with four decimals (89.974)
            schema.update(multipleOf=0.0001, description=schema["description"].replace("最多两位小数", "最多四位小数（到元）"))
        if field.example:
            schema["description"] += f"例如：{field.example}"
        return schema

    indicator = {"type": ["object", "null"], "title": f"三级指标的{name}", "additionalProperties": False,
                 "properties": {key: _may_be_empty(described(field)) for key, field in indicator_fields.items()}}
    names = {"type": ["object", "null"], "additionalProperties": {"$ref": f"#/$defs/{stage}_indicator"},
             "description": "三级指标名称（与项目文件一字不差；同一二级指标下重名的第二个写作“名称（第2个）”）→ 各项。"}
    indicators = {
        "type": "object", "title": "绩效指标", "additionalProperties": False,
        "description": "一级指标 → 二级指标 → 三级指标名称 → 各项；指标与项目文件的年度指标一一对应。",
        "properties": {level1: {"type": ["object", "null"], "title": level1, "additionalProperties": False,
                                "properties": {level2: {**names, "title": level2} for level2 in level2s}}
                       for level1, level2s in profile.levels},
    }
    properties = {key: described(field) if key == "code" else _may_be_empty(described(field))
                  for key, field in fields.items()}
    record = {"type": "object", "title": f"{name}（{stage}/<项目编码>.yaml）", "additionalProperties": False,
              "description": f"一个项目的{name}，文件名应为 <项目编码>.yaml，放在数据目录的 {stage}/ 下。",
              "required": ["code", "indicators"], "properties": {**properties, "indicators": indicators}}
    return record, indicator


def stage_schema(profile: Profile, stage: str, period: str = NATIONAL.monitoring_period) -> dict[str, Any]:
    """The schema `check` validates a stage file with: `$defs/<stage>` and its indicator, as in schema.json."""
    record, indicator = _stage_schemas(profile, stage, period)
    return {"$defs": {stage: record, f"{stage}_indicator": indicator}}


def stage_keys(stage: str) -> list[str]:
    """The keys only this stage's files have: the schema's root tells the files apart by them."""
    others = {key for other, (_, fields, _) in STAGES.items() if other != stage for key in fields}
    return [key for key in STAGES[stage][1] if key not in others and key not in PROJECT_FIELDS]


def build_schema(profile: Profile, table_profile: Profile | None = None,
                 period: str = NATIONAL.monitoring_period) -> dict[str, Any]:
    """The whole schema: `$defs/project`, `$defs/department`, `$defs/evaluation`, `$defs/monitoring`;
    the root picks one by shape (a stage file by a key only it has, the department file by its
    `department`, else a project).

    `table_profile` is the format of the department-wide table (department_table); without one,
    that section is checked against the shipped department format.
    """
    if table_profile is None:
        table_profile = load_profile(profile_path(DEFAULT_DEPARTMENT_TABLE_PROFILE))
    project = {
        **record_schema(profile),
        "title": profile.table_title,
        "description": f"一个预算项目（表格格式：{profile.title}），"
                       + ("文件名应为 <项目编码>.yaml。" if profile.uses_code else "文件名（不含 .yaml）就是项目的键。"),
    }
    department_table = record_schema(table_profile, row_ref="department_indicator", skip=("department",))
    department_table["properties"]["profile"] = _text(
        "表格格式", f"部门整体支出绩效目标表的格式名，默认 {DEFAULT_DEPARTMENT_TABLE_PROFILE}。", pattern=PROFILE_NAME_PATTERN)
    department_table.update(title=table_profile.table_title, description=DEPARTMENT_FIELDS["department_table"].help)
    department = {
        "type": "object",
        "title": "部门预算绩效目标（部门文件）",
        "additionalProperties": False,
        "required": [key for key, field in DEPARTMENT_FIELDS.items() if field.required],
        "properties": {key: _department_field_schema(field, department_table) for key, field in DEPARTMENT_FIELDS.items()},
    }
    evaluation, evaluation_indicator = _stage_schemas(profile, "evaluation", period)
    monitoring, monitoring_indicator = _stage_schemas(profile, "monitoring", period)
    # The department file always has `department`; a project file never has it (a project's code may
    # be left out when its table does not print it); a stage file has a key only that kind of file has.
    by_shape = {"if": {"type": "object", "required": ["department"]}, "then": {"$ref": "#/$defs/department"},
                "else": {"$ref": "#/$defs/project"}}
    for stage in reversed(STAGES):
        by_shape = {"if": {"type": "object", "anyOf": [{"required": [key]} for key in stage_keys(stage)]},
                    "then": {"$ref": f"#/$defs/{stage}"}, "else": by_shape}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "perfdoc 数据文件（部门预算绩效目标）",
        "description": "data/department.yaml、data/projects/<项目编码>.yaml，以及 data/evaluation/、data/monitoring/ 下"
                       "绩效自评、绩效运行监控文件的格式。",
        "$defs": {"project": project, "department": department, "indicator": indicator_row_schema(profile),
                  "department_indicator": indicator_row_schema(table_profile),
                  "evaluation": evaluation, "evaluation_indicator": evaluation_indicator,
                  "monitoring": monitoring, "monitoring_indicator": monitoring_indicator},
        **by_shape,
    }


def schema_text(profile: Profile, table_profile: Profile | None = None,
                period: str = NATIONAL.monitoring_period) -> str:
    """schema.json as written to disk: stable key order, UTF-8 Chinese kept readable."""
    return json.dumps(build_schema(profile, table_profile, period), ensure_ascii=False, indent=2) + "\n"
