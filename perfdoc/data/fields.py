"""The shape of the data, defined once: every field a table can show, with its label, kind and help.

A profile (perfdoc.data.profile) chooses which of these fields its table shows and under which label;
the JSON Schema, the model, the scaffold and the diff all ask this module what a field is. So one
project file can be rendered by any profile that has the fields it needs: the data keeps amounts,
operators, units and weights as separate fields, and the profile decides how they are printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["text", "code", "amount", "percent", "choice"]


@dataclass(frozen=True)
class Field:
    key: str  # the YAML key
    label: str  # the usual Chinese label (a profile may print another)
    kind: FieldKind
    help: str  # what to write: shown by editors (schema description) and in the scaffold
    choices: tuple[str, ...] = ()
    long: bool = False  # long text: left-aligned in a cell, wraps

    @property
    def align(self) -> str:
        return "left" if self.long else "center"


def _fields(*fields: Field) -> dict[str, Field]:
    return {f.key: f for f in fields}


# What a project table can say about the project itself (the header block).
PROJECT_FIELDS = _fields(
    Field("code", "项目编码", "code", "预算项目编码，6–20 位数字，写成带引号的文字（如 \"142001001\"），与文件名相同。"),
    Field("name", "项目名称", "text", "预算项目名称，如“劳务派遣工资”。", long=True),
    Field("budget", "预算数", "amount", "项目预算总额（年度资金总额）。"),
    Field("fiscal_funds", "财政资金", "amount", "预算数中的财政资金（财政拨款），不大于预算数。"),
    Field("other_funds", "其他资金", "amount", "预算数中财政资金以外的资金（自有资金、其他资金）。"),
    Field("medium_term_budget", "中期资金总额", "amount", "实施期内的资金总额（中期资金）。"),
    Field("use", "项目资金主要用途", "text", "资金用途说明。", long=True),
    Field("department_in_charge", "主管部门", "text", "主管部门名称。", long=True),
    Field("implementing_unit", "实施单位", "text", "项目实施单位名称。", long=True),
    Field("attribute", "项目属性", "choice", "新增项目或延续项目。", choices=("新增", "延续", "新增项目", "延续项目")),
    Field("period", "实施期", "text", "项目起止时间，如“2023年1月—2025年12月”。"),
    Field("leader", "项目负责人", "text", "项目负责人姓名。"),
)

# What the department-wide table (部门整体支出绩效目标表) says about the department.
DEPARTMENT_TABLE_FIELDS = _fields(
    Field("department", "部门（单位）名称", "text", "取自部门文件的 department。", long=True),
    Field("duties", "部门（单位）职责", "text", "部门的主要职责。", long=True),
    Field("budget", "年度预算", "amount", "部门年度预算总额。"),
    Field("fiscal_funds", "财政拨款", "amount", "其中财政拨款。"),
    Field("other_funds", "其他资金", "amount", "其中其他资金。"),
)

# One 三级指标 (a row of the indicator grid).
INDICATOR_FIELDS = _fields(
    Field("name", "三级指标", "text", "三级指标名称，如“辅警人数”。"),
    Field("description", "绩效指标描述", "text", "对该指标的说明，如“劳务派遣人员人数”。", long=True),
    Field("nature", "指标性质", "choice", "指标值与目标的关系：≥、≤、=、>、< 或 定性。",
          choices=("≥", "≤", "=", ">", "<", "定性")),
    Field("value", "指标值", "text", "目标值，如“183 人”“≥95%”“每月底”；有“度量单位”列时只写数。"),
    Field("unit", "度量单位", "text", "如“人”“%”“次”。"),
    Field("weight", "权重", "percent", "该指标的权重（分值或百分比，只写数字）。"),
    Field("direction", "指标方向", "choice", "正向（越大越好）或反向（越小越好）。", choices=("正向", "反向")),
    Field("value_type", "指标值类型", "choice", "定量或定性。", choices=("定量", "定性")),
    Field("basis", "指标值确定依据", "text", "如“年度计划”“上级文件”“服务协议”。"),
    Field("explanation", "指标解释", "text", "指标的含义与计算方法。", long=True),
    Field("scoring", "评（扣）分标准", "text", "如何评分或扣分。", long=True),
    Field("remark", "备注", "text", "其他说明。", long=True),
)

# The goal + indicators of one block live at the top of a project file (`goal`, `indicators`) for
# the annual block, and under `long_term:` for a 长期 (实施期) block.
BLOCK_SOURCES = ("annual", "long_term")


def indicator_text(row: dict[str, object], keys: tuple[str, ...]) -> str:
    """Indicator fields shown in one cell: `≥` + `95` + `%` → `≥95%`. Joined with a value, 定性 shows
    nothing (the value says it); in a 指标性质 column of its own it is printed."""
    parts = []
    for key in keys:
        value = row.get(key)
        if value is None or (key == "nature" and value == "定性" and len(keys) > 1):
            continue
        parts.append(str(value))
    return "".join(parts)
