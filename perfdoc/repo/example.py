"""The example a new department repository starts with: one department file and one project that
check and build as they are, for any table format, every value marked 示例 (text says it, numbers
carry a comment), so staff see the shape of their own table and know what is still to be replaced.

The values are made from the profile (which header fields and indicator columns its table shows, its
一级 → 二级 indicators, its spending-plan checkpoints), so a new or local format gets an example too.
Files are written as the importer writes them (perfdoc.io.writer): schema line, key order, comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perfdoc.data.profile import DEFAULT_PROFILE, Profile
from perfdoc.io.writer import DEPARTMENT_ORDER, project_order, yaml_text

EXAMPLE_CODE = "100001001"
NUMBER_NOTE = "示例数值，请改为本单位的数"


@dataclass(frozen=True)
class SampleRow:
    """One 三级指标 as a person would think it: name, how it compares, the figure, its unit."""

    name: str
    nature: str  # ≥ ≤ = > < or 定性
    value: str
    unit: str = ""
    description: str = ""


# A plausible row for each 二级指标 the shipped formats use (an office-equipment project); any other
# 二级 gets a generic row.
SAMPLE_ROWS = {
    "数量指标": SampleRow("示例：购置办公设备数量", "=", "20", "台", "示例：全年购置的电脑、打印机等设备台数"),
    "质量指标": SampleRow("示例：设备验收合格率", "=", "100", "%", "示例：验收合格的设备占购置设备的比例"),
    "时效指标": SampleRow("示例：设备到位时间", "定性", "6月底前", "", "示例：全部设备安装到位的时间"),
    "成本指标": SampleRow("示例：单台设备平均价格", "≤", "0.6", "万元", "示例：购置总价除以台数"),
    "经济成本指标": SampleRow("示例：单台设备平均价格", "≤", "0.6", "万元", "示例：购置总价除以台数"),
    "社会成本指标": SampleRow("示例：对群众办事的不利影响", "定性", "无", "", "示例：更换设备期间窗口不停办"),
    "生态环境成本指标": SampleRow("示例：对环境的不利影响", "定性", "无", "", "示例：旧设备按规定回收处置"),
    "经济效益指标": SampleRow("示例：节约设备维修费用", "≥", "2", "万元", "示例：与上年相比节约的维修费用"),
    "社会效益指标": SampleRow("示例：窗口办事效率", "定性", "明显提高", "", "示例：群众办事等候时间缩短"),
    "生态效益指标": SampleRow("示例：节能型设备占比", "≥", "80", "%", "示例：获节能认证的设备占购置设备的比例"),
    "可持续影响指标": SampleRow("示例：设备使用年限", "≥", "5", "年", "示例：设备正常使用的年限"),
    "可持续性影响": SampleRow("示例：设备使用年限", "≥", "5", "年", "示例：设备正常使用的年限"),
    "服务对象满意度指标": SampleRow("示例：使用人员满意度", "≥", "90", "%", "示例：年底问卷调查的满意比例"),
}

PROJECT_TEXT = {
    "name": "示例项目：办公设备购置",
    "use": "示例：用于购置办公电脑、打印机等设备，替换使用满 6 年的旧设备。",
    "department_in_charge": "示例主管部门",
    "implementing_unit": "示例单位",
    "attribute": "延续项目",
    "leader": "示例：负责人姓名",
}
PROJECT_AMOUNTS = {"budget": Decimal(50), "fiscal_funds": Decimal(50), "other_funds": Decimal(0),
                   "medium_term_budget": Decimal(150), "medium_term_fiscal_funds": Decimal(150),
                   "medium_term_other_funds": Decimal(0)}
EXAMPLE_FILE = "示例项目"  # the example project's file name where its table has no code (the name is its key)
TABLE_TEXT = {"duties": "示例：本单位的主要职责（按“三定”方案填写）。"}
TABLE_AMOUNTS = {"budget": Decimal(500), "fiscal_funds": Decimal(480), "other_funds": Decimal(20)}


def _row(sample: SampleRow, shown: dict[str, bool], weight: int | None) -> dict[str, Any]:
    """The sample in the fields the table shows: `≥` `90` `%` in columns of their own, or joined
    into the value (`≥90%`) where the table has only a value column."""
    operator = sample.nature if sample.nature not in ("定性", "=") else ""
    value = sample.value
    if "nature" not in shown:
        value = operator + value
    if "unit" not in shown:
        value += sample.unit
    row: dict[str, Any] = {"name": sample.name}
    extra = {
        "description": sample.description or f"{sample.name}的说明",
        "nature": sample.nature,
        "value": value,
        "unit": sample.unit or None,
        "weight": Decimal(weight) if weight is not None else None,
        "direction": "反向" if sample.nature in ("≤", "<") else "正向",
        "value_type": "定性" if sample.nature == "定性" else "定量",
        "basis": "示例：年度工作计划",
        "explanation": "示例：指标的含义与计算方法",
        "scoring": "示例：达到目标值得满分，未达到按完成比例计分",
        "remark": "示例",
    }
    for key in shown:
        if key != "name" and extra.get(key) is not None:
            row[key] = extra[key]
    return row


def _weights(count: int) -> list[int]:
    """Whole weights adding up to 100 (a table with a 权重 column is checked for that)."""
    base, rest = divmod(100, count)
    return [base + (1 if i < rest else 0) for i in range(count)]


def _indicators(profile: Profile) -> dict[str, dict[str, list[dict[str, Any]]]]:
    shown = profile.indicator_fields()
    level2s = [(level1, level2) for level1, names in profile.levels for level2 in names]
    weights = _weights(len(level2s)) if "weight" in shown else [None] * len(level2s)
    indicators: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for (level1, level2), weight in zip(level2s, weights, strict=True):
        sample = SAMPLE_ROWS.get(level2, SampleRow(f"示例：{level2}", "定性", "达到预期", "", f"示例：{level2}的说明"))
        indicators.setdefault(level1, {})[level2] = [_row(sample, shown, weight)]
    return indicators


def _amount_comments(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str | int, ...], str]:
    return {(*prefix, key): NUMBER_NOTE for key, value in data.items() if isinstance(value, Decimal)}


def _spending_plan(profile: Profile) -> dict[str, Decimal]:
    """A cumulative plan that rises evenly to 100 % at the last checkpoint."""
    points = profile.checkpoints
    return {point: Decimal(round(100 * (i + 1) / len(points))) for i, point in enumerate(points)}


def example_project(profile: Profile, year: int) -> tuple[dict[str, Any], dict[tuple[str | int, ...], str]]:
    """The example project's data for a project table format, and its comments."""
    data: dict[str, Any] = {"code": EXAMPLE_CODE} if profile.uses_code else {}
    fields = profile.record_fields
    choices: list[str] = []
    for key in profile.header_fields():
        field = fields[key]
        if key == "code":
            continue
        if key == "period":
            data[key] = f"{year}年1月—{year}年12月"
        elif key == "medium_term_period":
            data[key] = f"{year}年—{year + 2}年"
        elif field.kind == "amount":
            data[key] = PROJECT_AMOUNTS.get(key, Decimal(0))
        elif field.choices:
            data[key] = PROJECT_TEXT[key] if PROJECT_TEXT.get(key) in field.choices else field.choices[0]
            choices.append(key)
        else:
            data[key] = PROJECT_TEXT.get(key, f"示例：{key}")
    data.setdefault("name", PROJECT_TEXT["name"])
    comments = _amount_comments(data)
    comments.update({(key,): f"示例：可选 {'、'.join(fields[key].choices)}" for key in choices})
    if profile.uses_code:
        comments[("code",)] = "示例编码：改为预算系统里的项目编码，文件名随之改为 <编码>.yaml"
    if profile.plan:
        data["spending_plan"] = _spending_plan(profile)
        comments[("spending_plan",)] = "示例：累计支出百分比，逐期不减，最后为 100"
    for block in profile.blocks:
        target = data if block.source == "annual" else data.setdefault(block.source, {})
        span = "年度" if block.source == "annual" else "实施期内"
        target["goal"] = f"示例：{span}完成办公设备更新，设备验收合格率 100%，窗口办事效率明显提高。"
        target["indicators"] = _indicators(profile)
    return data, comments


def example_department(profile: Profile, year: int) -> tuple[dict[str, Any], dict[tuple[str | int, ...], str]]:
    """The department file: its text, and the department-wide table when `profile` is that table's format."""
    data: dict[str, Any] = {
        "department": "示例单位",
        "year": year,
        "title": f"{year}年部门预算绩效目标",
        "overall_target": [f"示例：{year}年，我单位围绕主要职责和年度重点工作，……（一、总体绩效目标：每项一段）"],
        "sub_targets": [{"heading": "示例：分项目标的标题",
                         "target": "示例：这一项要达到的目标。",
                         "indicators": "示例：衡量这一项的绩效指标，如“办结率达 100%”。"}],
        "measures": ["示例：保障措施，如“严格预算执行，按季度开展绩效运行监控”。"],
    }
    comments: dict[tuple[str | int, ...], str] = {
        ("department",): "示例：改为本单位名称（与标题一起组成输出文件名）",
        ("year",): "预算年度",
    }
    if profile.table == "project":
        if profile.name != DEFAULT_PROFILE:
            data["profile"] = profile.name
        return data, comments
    table: dict[str, Any] = {"profile": profile.name}
    for key in profile.header_fields():
        if key in TABLE_AMOUNTS:
            table[key] = TABLE_AMOUNTS[key]
        elif key != "department":
            table[key] = TABLE_TEXT.get(key, f"示例：{key}")
    table["goal"] = "示例：年度总体绩效目标。"
    table["indicators"] = _indicators(profile)
    data["department_table"] = table
    comments.update(_amount_comments(table, ("department_table",)))
    return data, comments


def example_files(profile: Profile, year: int) -> dict[str, bytes]:
    """`department.yaml` and, for a project table format, `projects/<code>.yaml` (paths under data/)."""
    header = [f"示例：由 perfdoc init 生成（表格格式 {profile.name}）。写着“示例”的值都要改成本单位的内容",
              "（grep -rn 示例 data 列出还没改的），然后运行 perfdoc check。"]
    department, comments = example_department(profile, year)
    files = {"department.yaml": yaml_text(department, order=DEPARTMENT_ORDER, schema="../schema.json",
                                          header=header, comments=comments).encode()}
    if profile.table == "project":
        project, comments = example_project(profile, year)
        files[f"projects/{EXAMPLE_CODE if profile.uses_code else EXAMPLE_FILE}.yaml"] = yaml_text(
            project, order=project_order(profile), schema="../../schema.json",
            header=[f"{profile.table_title}：示例项目（由 perfdoc init 生成）。复制本文件即可新增项目，"
                    "或用 perfdoc new <编码> --name <名称> 生成空白骨架。"],
            comments=comments).encode()
    return files
