"""The JSON Schema (2020-12) of both data files, generated from a profile.

`schema.json` at the top of the repository is this schema for the default profile; editors use it
through the `# yaml-language-server: $schema=...` line of each data file. `python build.py schema`
rewrites it, and a test fails when it is out of date. The build itself validates with the schema of
the profile the department chose, so a custom profile needs no hand-written schema.
"""

from __future__ import annotations

import json
from typing import Any

from .profile import Profile

SCHEMA_ID = "https://perfdoc.invalid/schema.json"
# Every pattern ends in `(?!\n)$`: JSON Schema patterns are searched, and Python's `$` also matches
# before a final newline, so `code: |` (a block scalar, "142001001\n") would pass a bare `...$`.
# The lookahead changes nothing for ECMA-262 engines (editors), where `$` is the end of the text.
CODE_PATTERN = r"^[0-9]{6,20}(?!\n)$"
PROFILE_NAME_PATTERN = r"^[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}(?!\n)$"
OUTPUT_NAME_PATTERN = r"^[^/\\:*?\"<>|\x00-\x1f\x7f]{1,120}(?!\n)$"
MAX_LIST_ITEMS = 999  # 分项目标 / 保障措施 are numbered （一）…（九百九十九）: model.chinese_number covers it
MAX_AMOUNT = 100_000_000  # 万元, i.e. one trillion yuan: anything larger is a typing slip


def _text(title: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "title": title, "description": description, **extra}


def _amount(title: str, description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": MAX_AMOUNT, "multipleOf": 0.01, "title": title,
            "description": description + "单位：万元，最多两位小数，只写数字（如 345.52）。"}


def _indicator_row() -> dict[str, Any]:
    return {
        "type": "object",
        "title": "三级指标（表格中的一行）",
        "additionalProperties": False,
        "required": ["name", "description", "value", "basis"],
        "properties": {
            "name": _text("三级指标", "三级指标名称，如“辅警人数”。"),
            "description": _text("绩效指标描述", "对该指标的说明，如“劳务派遣人员人数”。"),
            "value": _text("指标值", "目标值，尽量写明数值与单位，如“183 人”“≥95%”“每月底”。"),
            "basis": _text("指标值确定依据", "如“年度计划”“上级文件”“服务协议”。"),
        },
    }


def build_schema(profile: Profile) -> dict[str, Any]:
    """The whole schema: `$defs/project` and `$defs/department`; the root picks one by shape."""
    row_list = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/indicator"},
                "description": "该二级指标下的三级指标，每项一行。"}
    indicators = {
        "type": "object",
        "title": "绩效指标",
        "description": "一级指标 → 二级指标 → 三级指标列表。名称来自指标体系配置：" + profile.name,
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
    plan = {
        "type": "object",
        "title": "资金支出计划（%）",
        "description": "各时间节点的累计支出百分比（只写数字，如 25；原表空着的留空）。应逐期不减，最后达到 100。",
        "additionalProperties": False,
        "required": list(profile.checkpoints),
        "properties": {
            point: {"type": ["number", "null"], "minimum": 0, "maximum": 100,
                    "title": f"{point}累计支出（%）", "description": f"截至{point}累计支出占预算的百分比，0–100。"}
            for point in profile.checkpoints
        },
    }
    project = {
        "type": "object",
        "title": "项目支出绩效目标表",
        "description": "一个预算项目，文件名应为 <项目编码>.yaml。",
        "additionalProperties": False,
        "required": ["code", "name", "budget", "fiscal_funds", "use", "spending_plan", "goal", "indicators"],
        "properties": {
            "code": _text("项目编码", "预算项目编码，6–20 位数字，写成带引号的文字（如 \"142001001\"），与文件名相同。",
                          pattern=CODE_PATTERN),
            "name": _text("预算项目名称", "如“劳务派遣工资”。"),
            "budget": _amount("预算数", "项目预算总额。"),
            "fiscal_funds": _amount("财政资金", "预算数中的财政资金（“其中：财政资金”），不大于预算数。"),
            "use": _text("项目资金主要用途", "用途说明，接在自动生成的“预算数 X 万元。其中：财政资金 Y 万元。”之后。"),
            "spending_plan": plan,
            "goal": _text("绩效目标", "项目的年度绩效目标。"),
            "indicators": indicators,
        },
    }
    sub_target = {
        "type": "object",
        "title": "分项绩效目标",
        "additionalProperties": False,
        "required": ["heading", "target", "indicators"],
        "properties": {
            "heading": _text("标题", "分项标题，编号（一）（二）…自动生成，不要手写。"),
            "target": _text("绩效目标", "“绩效目标：”后的文字。"),
            "indicators": _text("绩效指标", "“绩效指标：”后的文字。"),
        },
    }
    paragraphs = {"type": "array", "minItems": 1, "items": _text("段落", "一段文字。")}
    department = {
        "type": "object",
        "title": "部门预算绩效目标（部门文字部分）",
        "additionalProperties": False,
        "required": ["department", "year", "title", "overall_target", "sub_targets", "measures"],
        "properties": {
            "department": _text("部门（单位）名称", "如“唐山市公安局海港经济开发区分局”。"),
            "year": {"type": "integer", "minimum": 2000, "maximum": 2100, "title": "预算年度", "description": "如 2023。"},
            "title": _text("文件标题", "如“2023年部门预算绩效目标”。"),
            "profile": _text("指标体系配置", "profiles/ 下的配置名（不带 .yaml），默认 default。",
                             pattern=PROFILE_NAME_PATTERN),
            "output_name": _text("输出文件名", "生成的 PDF/DOCX 文件名（不含扩展名），不能含 / \\ : * ? \" < > | 和控制字符；"
                                 "默认为“部门名称+文件标题”。",
                                 pattern=OUTPUT_NAME_PATTERN),
            "fonts_dir": _text("字体目录", "放有自备字体（如仿宋_GB2312）的文件夹，相对本文件所在目录。"),
            "overall_target": {**paragraphs, "title": "一、总体绩效目标", "description": "每项一段。"},
            "sub_targets": {"type": "array", "minItems": 1, "maxItems": MAX_LIST_ITEMS, "items": sub_target,
                            "title": "二、分项绩效目标", "description": "按顺序编号（一）（二）…"},
            "measures": {**paragraphs, "maxItems": MAX_LIST_ITEMS, "title": "三、目标规划及保障措施", "description": "每项一段，按顺序编号（一）（二）…"},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "perfdoc 数据文件（部门预算绩效目标）",
        "description": "data/department.yaml 与 data/projects/<项目编码>.yaml 的格式。",
        "$defs": {"project": project, "department": department, "indicator": _indicator_row()},
        "if": {"type": "object", "required": ["code"]},
        "then": {"$ref": "#/$defs/project"},
        "else": {"$ref": "#/$defs/department"},
    }


def schema_text(profile: Profile) -> str:
    """schema.json as written to disk: stable key order, UTF-8 Chinese kept readable."""
    return json.dumps(build_schema(profile), ensure_ascii=False, indent=2) + "\n"
