"""The shape of the data, defined once: every field a table can show, with its label, kind and help.

A profile (perfdoc.data.profile) chooses which of these fields its table shows and under which label;
the JSON Schema, the model, the scaffold and the diff all ask this module what a field is. So one
project file can be rendered by any profile that has the fields it needs: the data keeps amounts,
operators, units and weights as separate fields, and the profile decides how they are printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal[
    "text", "code", "amount", "percent", "choice",  # the values of a table (a project, the department-wide table)
    "year", "profile", "file_name", "paragraphs", "sections", "record", "switch",  # the department file's own
    "points", "choices",  # the stage files' own: a weight or score (分), several of a fixed set (偏差原因)
]


@dataclass(frozen=True)
class Field:
    key: str  # the YAML key
    label: str  # the usual Chinese label (a profile may print another)
    kind: FieldKind
    help: str  # what to write: shown by editors (schema description) and in the scaffold
    choices: tuple[str, ...] = ()
    long: bool = False  # long text: left-aligned in a cell, wraps
    example: str = ""  # a value as a user would write it (docs, editors' hover)
    required: bool = False  # for the department file; a table's required fields come from its profile

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
    Field("medium_term_fiscal_funds", "中期财政拨款", "amount", "中期资金总额中的财政拨款（实施期合计）。"),
    Field("medium_term_other_funds", "中期其他资金", "amount", "中期资金总额中财政拨款以外的资金（实施期合计）。"),
    Field("medium_term_period", "中期", "text", "中期（实施期）的起止，如“2024年—2026年”。"),
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

# The department file (department.yaml), in the order a person writes it (and import writes it).
DEPARTMENT_FIELDS = _fields(
    Field("department", "部门（单位）名称", "text", "部门或单位的全称，印在标题第一行。", example="唐山市公安局海港经济开发区分局",
          required=True),
    Field("year", "预算年度", "year", "预算年度，2000–2100 之间的整数。", example="2023", required=True),
    Field("title", "文件标题", "text", "标题第二行。", example="2023年部门预算绩效目标", required=True),
    Field("profile", "表格格式", "profile", "项目支出绩效目标表的格式名（profiles/ 下的文件名，不带 .yaml）。",
          example="hebei-2023"),
    Field("output_name", "输出文件名", "file_name", "生成的 PDF/DOCX 文件名（不含扩展名），不能含 / \\ : * ? \" < > | 和控制字符；"
          "默认为“部门名称+文件标题”。", example="海港分局2023年绩效目标"),
    Field("fonts_dir", "字体目录", "text", "放有自备字体（如仿宋_GB2312）的文件夹，相对本文件所在目录。", example="fonts"),
    Field("overall_target", "总体绩效目标", "paragraphs", "标题“一、总体绩效目标”下的段落，每项一段；可省略（只报表格）。"),
    Field("sub_targets", "分项绩效目标", "sections", "每项一个分项（标题、绩效目标、绩效指标），按顺序编号（一）（二）…；可省略。"),
    Field("measures", "目标规划及保障措施", "paragraphs", "每项一段，按顺序编号（一）（二）…；可省略。"),
    Field("department_table", "部门整体支出绩效目标表", "record", "部门整体支出绩效目标表（可选）：放在部门文字之后、项目表之前。"),
    Field("summary_table", "项目汇总表", "switch", "true：在部门文字之后、项目表之前加一张项目汇总表（编码、名称、金额及合计、"
          "资金支出计划）；默认不加。", example="true"),
)

# The department's text sections, in the order they are printed; each is numbered 一、二、三、 over
# the sections a department writes (all are optional).
SECTION_FIELDS = ("overall_target", "sub_targets", "measures")

# One item of sub_targets (分项绩效目标).
SUB_TARGET_FIELDS = _fields(
    Field("heading", "标题", "text", "分项标题，编号（一）（二）…自动生成，不要手写。", example="打好政治安全保卫战"),
    Field("target", "绩效目标", "text", "“绩效目标：”后的文字。", long=True),
    Field("indicators", "绩效指标", "text", "“绩效指标：”后的文字。", long=True),
)

# Department-file values that only say how to build (not printed as text): the XLSX keeps them as written.
DEPARTMENT_SETTINGS = ("output_name", "fonts_dir")

# The goal + indicators of one block live at the top of a project file (`goal`, `indicators`) for
# the annual block, and under `long_term:` for a 长期 (实施期) block.
BLOCK_SOURCES = ("annual", "long_term")

# Keys of a record's file that are its structure, not fields: a profile cannot declare a field of these names.
STRUCTURE_KEYS = ("spending_plan", "goal", "indicators", "long_term", "profile")


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


# ---------------------------------------------------------------------------------------------
# The year's later stages: one file per project and stage, beside the targets (data/evaluation/<编码>.yaml,
# data/monitoring/<编码>.yaml). Each indicator is named by its 一级 → 二级 → 三级 path, as in the
# project file (perfdoc.data.model.numbered_key: a repeated 三级 name is `名称（第2个）`).

# The monitoring period as the rules name it (perfdoc.data.scoring.ScoringRules.monitoring_period,
# 1—7月 nationally); labels and help containing it are filled in by stage_text().
PERIOD = "{period}"

DEVIATION_CAUSES = ("经费保障", "制度保障", "人员保障", "硬件条件保障", "其他")  # 监控表's 偏差原因分析 columns
LIKELIHOODS = ("确定能", "有可能", "完全不可能")  # 完成目标可能性

_CODE_HELP = "所属项目的编码（projects/ 里的项目文件），写成带引号的文字，与本文件名相同。"

# The year-end self-evaluation (项目支出绩效自评表, 财预〔2020〕10号), one file: evaluation/<编码>.yaml.
EVALUATION_FIELDS = _fields(
    Field("code", "项目编码", "code", _CODE_HELP, example='"142001001"'),
    Field("initial_budget", "年初预算数", "amount", "年初批复的预算数；骨架里已按绩效目标表的预算数填好。", example="61.53"),
    Field("annual_budget", "全年预算数", "amount", "年中调整后的全年预算数；执行率 = 全年执行数 ÷ 全年预算数。", example="61.53"),
    Field("executed", "全年执行数", "amount", "全年实际支出。", example="52.30"),
    Field("execution_reason", "执行率偏低的原因", "text", "执行率低于 90%（评分规则的 execution_floor）时必填：为什么没有支出、"
          "结余资金怎样处理。", long=True, example="合同约定的尾款 9.23 万元在验收后的次年 1 月支付"),
    Field("goal_achieved", "实际完成情况", "text", "年度总体目标实际完成得怎样（预期目标就是绩效目标表的 goal，不用再写）。",
          long=True, example="全年运维正常，系统可用率 99.5%"),
    # The 自评表's 项目资金 rows under 年度资金总额 (其中：当年财政拨款 / 上年结转资金 / 其他资金): optional,
    # printed where the table has those rows, never scored (the rate and score are the total's).
    *(Field(f"{source}_{amount}", f"{source_label}{amount_label}", "amount",
            f"{source_label}的{amount_label}（万元，可以不写）：自评表“项目资金”中“{source_label}”一行。", example=example)
      for source, source_label in (("fiscal", "当年财政拨款"), ("carryover", "上年结转资金"), ("other", "其他资金"))
      for amount, amount_label, example in (("initial_budget", "年初预算数", "61.53"), ("annual_budget", "全年预算数", "61.53"),
                                            ("executed", "全年执行数", "52.30"))),
)

# One indicator of a self-evaluation: indicators → 一级 → 二级 → 三级 name → these fields.
EVALUATION_INDICATOR_FIELDS = _fields(
    Field("actual", "实际完成值", "text", "与指标值同一单位的实际值，如“93%”“183人”；只写数字时按指标值的单位计。"
          "定性指标写明档次：达成、基本达成、部分达成、未达成（可以接着写说明）。", example="93%"),
    Field("weight", "分值", "points", "该指标的分值，只写数字；不写时按评分规则把一级指标的分值（产出 50、效益 30、满意度 10）"
          "平均分给其下的三级指标。预算执行率另占 10 分，合计应为 100。", example="16.67"),
    Field("score", "得分", "points", "一般不写：按公式计算。评审另行给分（扣分）时才写，并在 score_reason 写明理由。",
          example="12"),
    Field("score_reason", "评分理由", "text", "手工给出得分（score）的理由。", long=True, example="台账不全，酌情扣 4 分"),
    Field("deviation", "偏差原因分析及改进措施", "text", "实际完成值未达到指标值时必填。", long=True,
          example="两名辅警年中离职，已于 10 月补招"),
)

# The mid-year monitoring (项目支出绩效目标执行监控表, 财预〔2019〕136号), one file: monitoring/<编码>.yaml.
MONITORING_FIELDS = _fields(
    Field("code", "项目编码", "code", _CODE_HELP, example='"142001001"'),
    Field("initial_budget", "年初预算数", "amount", "年初批复的预算数；骨架里已按绩效目标表的预算数填好。", example="61.53"),
    Field("executed_to_date", f"{PERIOD}执行数", "amount", f"{PERIOD}实际支出；执行率 = 执行数 ÷ 年初预算数。", example="30.10"),
    Field("forecast", "全年预计执行数", "amount", "预计到年底的支出。", example="61.53"),
    Field("execution_reason", "执行偏差原因", "text", "预计全年执行率低于 90% 时必填：原因和纠偏措施。", long=True,
          example="设备采购延至下一年度"),
    Field("progress", f"{PERIOD}实际完成情况", "text", f"年度总体目标到{PERIOD}底完成得怎样。", long=True,
          example="运维合同已签订，前 7 个月系统运行正常"),
)

# One indicator of a monitoring: indicators → 一级 → 二级 → 三级 name → these fields.
MONITORING_INDICATOR_FIELDS = _fields(
    Field("done", f"{PERIOD}实际完成值", "text", f"到{PERIOD}底已完成的值，与指标值同一单位。", example="98%"),
    Field("expected", "全年预计完成值", "text", "预计到年底达到的值，与指标值同一单位；定性指标写达成、基本达成……",
          example="≥95%"),
    Field("causes", "偏差原因", "choices", "全年预计完成值达不到指标值时勾选原因，可多选。", choices=DEVIATION_CAUSES,
          example="[经费保障, 其他]"),
    Field("deviation", "偏差原因说明", "text", "偏差的具体原因和纠偏措施（选了“其他”时必填）。", long=True,
          example="供应商更换，系统停运两周"),
    Field("likelihood", "完成目标可能性", "choice", "到年底能否达到指标值。", choices=LIKELIHOODS, example="有可能"),
    Field("remark", "备注", "text", "其他说明。", long=True),
)

# stage → (its name, the file's fields, an indicator's fields); the folder is the stage's key.
STAGES = {
    "evaluation": ("绩效自评", EVALUATION_FIELDS, EVALUATION_INDICATOR_FIELDS),
    "monitoring": ("绩效运行监控", MONITORING_FIELDS, MONITORING_INDICATOR_FIELDS),
}


def stage_text(text: str, period: str) -> str:
    """A stage field's label or help with the monitoring period filled in (`1—7月执行数`)."""
    return text.replace(PERIOD, period)


# ---------------------------------------------------------------------------------------------
# What a 自评表 or 监控表 prints (a profile with `table: evaluation` or `table: monitoring`): in its
# header and footer cells (`field:`), the project's values, the stage file's, and the values perfdoc
# works out (执行率, 得分, 总分); in its indicator columns, the target's fields, the stage file's and
# the score. Declared once here: the profile reference (perfdoc.data.profile_schema) lists them,
# perfdoc.render.stage_tables fills them in, and a test checks that the two agree.

_GOAL = Field("goal", "预期目标", "text", "绩效目标表的年度目标（项目文件的 goal），一字不差。", long=True)
_TARGET = Field("target", "年度指标值", "text", "指标性质、指标值、度量单位合在一格，如“≥95%”：计分所读的指标值。")
_SHARED_PROJECT_VALUES = (*PROJECT_FIELDS.values(), _GOAL)


def _stage_own(fields: dict[str, Field]) -> tuple[Field, ...]:
    return tuple(f for key, f in fields.items() if key != "code")


EVALUATION_TABLE_VALUES = _fields(
    *_SHARED_PROJECT_VALUES,
    *_stage_own(EVALUATION_FIELDS),
    Field("execution_weight", "预算执行率的分值", "points", "评分规则给预算执行率的分值（全国 10 分）。"),
    Field("execution_rate", "执行率", "text", "全年执行数 ÷ 全年预算数，百分数保留两位小数，如“82.00%”。"),
    Field("execution_score", "预算执行率得分", "points", "执行率 × 分值，最多得满分（见评分规则）。"),
    *(Field(f"{source}_rate", f"{label}执行率", "text", f"{label}的全年执行数 ÷ 全年预算数，如“100.00%”；没写时空着。")
      for source, label in (("fiscal", "当年财政拨款"), ("carryover", "上年结转资金"), ("other", "其他资金"))),
    Field("indicator_weight", "指标分值合计", "points", "各三级指标的分值之和（全国 90 分）。"),
    Field("indicator_score", "指标得分合计", "points", "各三级指标印出的得分之和。"),
    Field("weight_total", "分值合计", "points", "预算执行率的分值加各指标的分值（应为 100）。"),
    Field("total", "总分", "points", "预算执行率得分加各指标得分：印出的各项得分之和。"),
)

EVALUATION_TABLE_COLUMNS = _fields(
    *(f for key, f in INDICATOR_FIELDS.items() if key != "weight"),
    _TARGET,
    *EVALUATION_INDICATOR_FIELDS.values(),
)

MONITORING_TABLE_VALUES = _fields(
    *_SHARED_PROJECT_VALUES,
    *_stage_own(MONITORING_FIELDS),
    Field("monitoring_period", "监控期", "text", "评分规则的监控期，如“1—7月”。"),
    Field("rate_to_date", f"{PERIOD}执行率", "text", f"{PERIOD}执行数 ÷ 年初预算数，如“58.00%”。"),
    Field("forecast_rate", "全年预计执行率", "text", "全年预计执行数 ÷ 年初预算数，如“100.00%”。"),
)

MONITORING_TABLE_COLUMNS = _fields(
    *(f for key, f in INDICATOR_FIELDS.items() if key != "remark"),
    _TARGET,
    *MONITORING_INDICATOR_FIELDS.values(),
)

# table kind → (what its header and footer cells may print, what its indicator columns may print)
STAGE_TABLE_FIELDS = {
    "evaluation": (EVALUATION_TABLE_VALUES, EVALUATION_TABLE_COLUMNS),
    "monitoring": (MONITORING_TABLE_VALUES, MONITORING_TABLE_COLUMNS),
}
# The values perfdoc works out rather than reads (the reference marks them 算出).
COMPUTED_VALUES = frozenset({"execution_weight", "execution_rate", "execution_score", "fiscal_rate", "carryover_rate",
                             "other_rate", "indicator_weight", "indicator_score", "weight_total", "total", "target",
                             "monitoring_period", "rate_to_date", "forecast_rate"})
# Indicator values a column can show as ticks, one column a choice (`mark:`): 偏差原因, 完成目标可能性.
MARKABLE = {"causes": DEVIATION_CAUSES, "likelihood": LIKELIHOODS}
