"""Every key a profile file may have, declared once: its type, default, meaning and a small example.

PROFILE_SCHEMA is the JSON Schema a profile is checked against (perfdoc.data.profile), and the same
declaration is the reference users read: `reference_markdown()` writes the section "格式文件的每个键"
of docs/profiles.md from it, and tests/test_profile_reference.py fails when the page and the schema
differ (`python3 -m pytest tests/test_profile_reference.py --update-golden` writes the page again).

Each key carries, beside its JSON Schema type:
- `title`: its short Chinese name, which messages open with;
- `description`: what it does, in the words of the reference;
- `default`: the value when it is not written (shown in the reference; the loader applies it);
- `x-example`: a one-line YAML example as a user writes it (flow style), shown in the reference;
- `x-hints`: a hint added to the message of one JSON Schema keyword (`required`, `minItems` …),
  so that a mistake is explained where it is made (perfdoc.data.schema_check).
Objects that get a table of their own in the reference name it with `x-reference` (a heading).
"""

from __future__ import annotations

from typing import Any

from perfdoc.data.fields import BLOCK_SOURCES, COMPUTED_VALUES, MARKABLE, STAGE_TABLE_FIELDS

_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
_SPAN: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 40}


def _key(schema: dict[str, Any], title: str, description: str, example: str = "", default: Any = None,
         **extra: Any) -> dict[str, Any]:
    declared = {**schema, "title": title, "description": description, **extra}
    if example:
        declared["x-example"] = example
    if default is not None:
        declared["default"] = default
    return declared


YEAR_HELP = ("可以写 `{year}`（部门文件的预算年度），也可以加减年数，如 `{year+2}`、`{year-1}`")

CELL: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "minProperties": 1, "title": "表头单元格",
    "x-reference": "表头单元格（header 每一行里的每一格）",
    "properties": {
        "label": _key(_TEXT, "标签", "印出的标签文字（加粗），如“项目名称”。" + YEAR_HELP + "。",
                      "{label: 项目名称}"),
        "field": _key(_TEXT, "字段", "印出数据里一个字段的值：项目文件的字段（见 data-format.md 的“每个字段”），"
                      "或本格式在 `fields` 里声明的字段。", "{field: name, span: 3}"),
        "text": _key(_TEXT, "由字段组成的句子", "印出一句由字段拼成的话：`{字段名}` 处换成该字段的值，"
                     "也可写 `{year}`。", '{text: "预算数 {budget} 万元。{use}", span: 6}'),
        "span": _key(_SPAN, "占几列", "这一格横向占 grid 的几列。", "{label: 实施单位, span: 2}", default=1),
        "rowspan": _key(_SPAN, "占几行", "这一格向下占表头的几行（合并单元格）；下面几行在它所占的列上不再写格，"
                        "其余格依次排在它右边。不能与别的格重叠，不能超出表头的最后一行或 grid 的右边。",
                        "{label: 项目资金（万元）, rowspan: 3}", default=1),
        "optional": _key({"type": "boolean"}, "可以不填", "`field` 或 `text` 用到的字段在数据里可以不写（格子留空）；"
                         "不写这个键时，表头印出的字段都是必填的。", "{field: other_funds, optional: true}", default=False),
    },
}

PLAN: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["plan"], "title": "资金支出计划行",
    "x-hints": {"required": "header 的每一项要么是一行单元格（以“- -”开头的列表），要么是资金支出计划（`- plan: …`）"},
    "properties": {"plan": {
        "type": "object", "additionalProperties": False, "required": ["label", "checkpoints"],
        "title": "资金支出计划行", "x-reference": "资金支出计划行（header 里的 `plan:`）",
        "description": "资金支出计划：标签跨两行，右边上一行是时间节点，下一行是各节点的累计百分比（数据的 spending_plan）。",
        "properties": {
            "label": _key(_TEXT, "标签", "左边的标签。", "{label: 资金支出计划（%）}"),
            "checkpoints": _key({"type": "array", "minItems": 1, "items": _TEXT}, "时间节点",
                                "时间节点，按表中顺序；数据的 spending_plan 以它们为键。",
                                "{checkpoints: [3月底, 6月底, 9月底, 12月底]}"),
            "label_span": _key(_SPAN, "标签占几列", "标签横向占 grid 的几列；时间节点平分其余的列。",
                               "{label_span: 2}", default=1),
        }}},
}

ROW: dict[str, Any] = {"type": "array", "minItems": 1, "items": CELL, "title": "一行单元格"}

COLUMN: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["label"], "title": "指标列",
    "x-reference": "指标列（columns 的每一项，也是 blocks 里 columns 的每一项）",
    "properties": {
        "label": _key(_TEXT, "列标签", "这一列在指标表头里的标签。" + YEAR_HELP + "。", "{label: 三级指标, field: name}"),
        "field": _key(_TEXT, "字段", "这一列印出的指标字段（name、value、unit … 见 data-format.md）。",
                      "{label: 指标值, field: value}"),
        "fields": _key({"type": "array", "minItems": 1, "items": _TEXT}, "合并显示的字段",
                       "几个指标字段合在一格显示，如 `[nature, value, unit]` 印成“≥95%”；与 `field` 二者选一。",
                       "{label: 指标值, fields: [nature, value, unit]}"),
        "span": _key(_SPAN, "占几列", "这一列占 grid 的几列。", "{label: 绩效指标描述, field: description, span: 2}",
                     default=1),
        "optional": _key({"type": "boolean"}, "可以不填", "这一列的字段在数据里可以不写。",
                         "{label: 备注, field: remark, optional: true}", default=False),
        "group": _key(_TEXT, "列组的标签", "自评表、监控表：挨在一起、group 相同的几列上方再印一行标签（指标表头成两行），"
                      "如监控表的“偏差原因分析”“完成目标可能性”。", "{label: 经费保障, field: causes, mark: 经费保障, group: 偏差原因分析}"),
        "mark": _key(_TEXT, "打勾的值", "监控表：这一列是打勾的列，指标的 `field`（" + "、".join(MARKABLE) + "）含这个值时印“√”，"
                     "否则空着；如偏差原因的“经费保障”、完成目标可能性的“确定能”。", "{label: 确定能, field: likelihood, mark: 确定能}"),
    },
}

BLOCK: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "title": "目标与指标块",
    "x-reference": "目标与指标块（blocks 的每一项）",
    "properties": {
        "source": _key({"enum": list(BLOCK_SOURCES)}, "数据来源",
                       "块的数据在项目文件的哪里：`annual` 是顶层的 `goal` 与 `indicators`；`long_term` 是 `long_term:` "
                       "之下的 `goal` 与 `indicators`（长期、中期或实施期目标）。每个 source 只用一次。",
                       "{source: long_term}", default="annual"),
        "goal": _key(_TEXT, "目标行标签", "目标行的标签，如“年度目标”“中期目标（{year}年—{year+2}年）”；不写就没有目标行。"
                     + YEAR_HELP + "。", "{goal: 年度目标}"),
        "title": _key(_TEXT, "块的标题", "上下排列时：目标行之后、指标之前的整行标题，如“长期绩效指标”；左右并排时："
                      "印在这一块各列之上（并排时必须写）。" + YEAR_HELP + "。", "{title: 年度绩效指标}"),
        "goal_span": _key(_SPAN, "目标行标签占几列", "上下排列时，目标行的标签横向占 grid 的几列。", "{goal_span: 2}",
                          default=1),
        "optional": _key({"type": "boolean"}, "可以为空",
                         "这一块的目标和指标在数据里可以整块不写：表里照样印出块的标签和表头，格子留空，"
                         "`check` 不因这一块缺少一级、二级指标而警告。", "{optional: true}", default=False),
        "columns": _key({"type": "array", "minItems": 1, "items": COLUMN}, "这一块的指标列",
                        "这一块自己的指标列（写法同顶层的 columns），如并排的两块列不同时；不写就用顶层的 columns。",
                        "{columns: [{label: 三级指标, field: name}, {label: 指标值, field: value}]}"),
    },
}

FIELD: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "title": "表头字段",
    "x-reference": "表头字段（fields 的每一项：键是字段名）",
    "properties": {
        "label": _key(_TEXT, "名称", "字段的中文名称：编辑器的提示、`new` 生成的骨架、导出的 Excel 的列名都用它。"
                      "新字段必须写；已有字段（如 attribute）可以不写。", "{label: 项目来源}"),
        "help": _key(_TEXT, "填写说明", "填什么：编辑器悬停时显示，`new` 的骨架里写在注释中。", "{help: 如“3年”}"),
        "choices": _key({"type": "array", "minItems": 1, "items": _TEXT}, "可选的值",
                        "只能填这几个值之一（给已有的选择字段如 attribute 换一套值，也用它）。",
                        "{choices: [本级申报项目, 上级转移支付项目]}"),
        "required": _key({"type": "boolean"}, "必填", "表头没有印它也必须填写；表头印出的字段本来就必填。"
                         "`code: {required: true}` 要求每个项目都写项目编码。", "{required: true}", default=False),
    },
}

LINE: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "minProperties": 1, "title": "表外文字的一行",
    "x-reference": "表外文字的一行（above、below 的每一项）",
    "properties": {
        "left": _key(_TEXT, "靠左的文字", "这一行靠左的部分。可写 `{字段名}`、`{department}`（部门名称）和 " + YEAR_HELP + "。含 { } 的文字写在 { } 里时要加引号。",
                     '{left: "单位（盖章）：{department}", right: 单位：万元}'),
        "center": _key(_TEXT, "居中的文字", "这一行居中的部分（写法同 left）。", '{center: "（{year}年度）"}'),
        "right": _key(_TEXT, "靠右的文字", "这一行靠右的部分（写法同 left）。", "{right: 单位：万元}"),
        "title": _key({"type": "boolean"}, "标题行", "这一行用标题的样子印（小标宋，小二号，居中）。",
                      "{center: 项目支出绩效目标表, title: true}", default=False),
    },
}

SIDE_LABEL: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["label"], "title": "竖排标签",
    "x-reference": "竖排标签（side_label）",
    "properties": {
        "label": _key(_TEXT, "标签", "指标表左边的一格，纵向跨过指标表头和全部指标行；列窄时文字一字一行，即竖排。",
                      "{label: 绩效指标}"),
        "span": _key(_SPAN, "占几列", "这一格占 grid 的几列（从最左一列起）；指标表的一级、二级和指标列排在它右边。",
                     "{label: 绩效指标, span: 1}", default=1),
    },
}

PROFILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "表格格式（profile）",
    "additionalProperties": False,
    "x-reference": "顶层的键",
    "properties": {
        "name": _key(_TEXT, "格式名称", "格式的中文名称，`python3 build.py profiles` 列出它；不写就是文件名。",
                     "name: 安徽省项目支出绩效目标表（2025）"),
        "description": _key(_TEXT, "说明", "一句说明，`python3 build.py profiles` 显示它。", "description: 项目来源、项目期；竖排“绩效指标”"),
        "base": _key(_TEXT, "以哪个格式为基础", "先取那个格式的全部键，再用本文件写了的键替换（只写不同之处）。"
                     "只有旧式的 name、checkpoints、levels 三个键的文件以 hebei-2023 为基础。", "base: hebei-2023"),
        "table": _key({"enum": ["project", "department", "evaluation", "monitoring"]}, "表格种类",
                      "`project`：每个项目一张的项目支出绩效目标表；`department`：部门整体支出绩效目标表（部门文件的 "
                      "department_table）；`evaluation`：每个项目一张的项目支出绩效自评表（evaluation/ 的文件）；"
                      "`monitoring`：项目支出绩效目标执行监控表（monitoring/ 的文件）。后两种只写 grid、header、columns、"
                      "footer 和表外文字：指标和它们的次序取自项目的绩效目标，表头、表尾的格能印的值见下面“自评表、监控表能印的值”。",
                      "table: evaluation", default="project"),
        "title": _key(_TEXT, "表格的名称", "**不印在表上**：它是 PDF 书签（目录）里这组表的名字，也写进文档属性（描述）。"
                      "要在每张表上方印标题，用 `above`。", "title: 项目支出绩效目标表",
                      default="项目支出绩效目标表（department 表为 部门整体支出绩效目标表）"),
        "grid": _key({"type": "array", "minItems": 2, "maxItems": 40,
                      "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 200, "title": "列宽"}},
                     "网格列宽（mm）", "表格网格各列的宽度，按比例缩放到 156 mm 版心宽；表头各行、目标行和指标列都排在这个网格上，"
                     "每列缩放后至少能放下一个五号字。", "grid: [20, 26, 50, 30, 30]"),
        "header": _key({"type": "array", "title": "表头各行",
                        "items": {"if": {"type": "object"}, "then": PLAN, "else": ROW}},
                       "表头各行", "表头，自上而下每项一行：一行是单元格的列表（见下面“表头单元格”），加上上面各行向下跨入的格，"
                       "正好占满 grid 的列数；或者是一个 `plan:`（资金支出计划，占两行）。",
                       "header: [[{label: 项目名称}, {field: name, span: 4}]]"),
        "checkpoints": _key({"type": "array", "minItems": 1, "items": _TEXT}, "资金支出计划的时间节点",
                            "简写：只换基础格式的资金支出计划时间节点（与 base 一起用）。",
                            "checkpoints: [3月底, 6月底, 9月底, 12月底]"),
        "blocks": _key({"type": "array", "minItems": 1, "maxItems": 2, "items": BLOCK}, "目标与指标块",
                       "目标与指标的块，一个或两个（如长期/中期与年度），见下面“目标与指标块”。",
                       "blocks: [{source: annual, goal: 年度目标}]"),
        "layout": _key({"enum": ["stacked", "side_by_side"]}, "两个块怎样排",
                       "`stacked`：上下排列，每块有自己的目标行和指标表；`side_by_side`：左右并排，两块共用一级、二级指标列，"
                       "各块的指标列并排、各自的 title 印在上方，同一个二级指标下的行一一对齐（行少的一块留空格），"
                       "两块的目标并排印在指标表之上。", "layout: side_by_side", default="stacked"),
        "goals_label": _key(_TEXT, "并排目标的标签", "左右并排时，两块目标左边的标签。", "goals_label: 总体目标",
                            default="总体目标"),
        "level_labels": _key({"type": "array", "minItems": 2, "maxItems": 2, "items": _TEXT}, "一级、二级指标列的标签",
                             "指标表头里一级、二级两列的标签。", "level_labels: [一级指标, 二级指标]",
                             default=["一级指标", "二级指标"]),
        "columns": _key({"type": "array", "minItems": 1, "items": COLUMN}, "指标列",
                        "一级、二级两列之后的指标列，见下面“指标列”。竖排标签、一级、二级两列与指标列的 span 之和"
                        "（并排时是两块指标列之和）正好等于 grid 的列数。", "columns: [{label: 三级指标, field: name}]"),
        "levels": _key({"type": "object", "minProperties": 1,
                        "additionalProperties": {"type": "array", "minItems": 1, "items": _TEXT, "title": "二级指标",
                                                 "x-hints": {"minItems": "每个一级指标下至少写一个二级指标"}}},
                       "一级指标 → 二级指标", "一级指标和其下的二级指标，按表中顺序；数据里的 indicators 用这些名称。",
                       "levels: {产出指标: [数量指标, 质量指标], 满意度指标: [服务对象满意度指标]}"),
        "empty_level2": _key({"enum": ["omit", "row"]}, "没有三级指标的二级指标",
                             "`omit`：数据里不写的二级指标不印，写成 `[]` 是错误；`row`：写成 `[]` 的二级指标印一行空的。",
                             "empty_level2: row", default="omit"),
        "scoring": _key(_TEXT, "评分规则", "绩效自评和运行监控用哪套评分规则：数据目录 `scoring/` 下的文件名（不带 .yaml），"
                        "只写与全国规则不同的键；不写就是全国默认的 `national`（见 yearly-cycle.md）。",
                        "scoring: 本省", default="national"),
        "side_label": _key(SIDE_LABEL, "竖排标签", "指标表左边纵向跨过全部指标行的一格，如安徽表的“绩效指标”，见下面“竖排标签”。",
                           "side_label: {label: 绩效指标}"),
        "above": _key({"type": "array", "items": LINE}, "表上方的文字",
                      "每张表上方的几行文字（表名、年度、单位），每项一行，见下面“表外文字的一行”。",
                      'above: [{center: 项目支出绩效目标表, title: true}, {center: "（{year}年度）"}]'),
        "below": _key({"type": "array", "items": LINE}, "表下方的文字",
                      "每张表下方的几行文字（填报人、注），写法同 above。", "below: [{left: 填报人：, right: 联系电话：}]"),
        "footer": _key({"type": "array", "items": ROW, "title": "表尾各行"}, "表尾各行",
                       "自评表、监控表：指标行之后的几行，写法同 header 的一行单元格（可以跨行跨列），如“总分”一行。",
                       "footer: [[{label: 总分, span: 6}, {field: weight_total}, {field: total}, {label: 　, span: 2}]]"),
        "level1_format": _key(_TEXT, "一级指标怎样印", "自评表：一级指标格里印的字，`{name}` 是一级指标，`{points}` 是它的分值合计，"
                              "如“产出指标(50分)”。", "level1_format: \"{name}({points}分)\"", default="{name}"),
        "number_style": _key({"enum": ["fixed", "trimmed"]}, "分数怎样印",
                             "自评表：`fixed` 按评分规则的小数位数印（8.00、12.50）；`trimmed` 去掉末尾的 0（8、12.5），如有的地方手填的表。",
                             "number_style: trimmed", default="fixed"),
        "evaluation_profile": _key(_TEXT, "自评表的格式", "项目表：绩效自评（evaluation/）用哪个 `table: evaluation` 的格式印。",
                                   "evaluation_profile: sichuan-evaluation", default="national-evaluation"),
        "monitoring_profile": _key(_TEXT, "监控表的格式", "项目表：运行监控（monitoring/）用哪个 `table: monitoring` 的格式印。",
                                   "monitoring_profile: national-monitoring", default="national-monitoring"),
        "fields": _key({"type": "object", "propertyNames": {
                            "pattern": "^[a-z][a-z0-9_]{0,39}(?!\\n)$", "title": "字段名",
                            "description": "字段名只能用小写英文字母、数字和 _，以字母开头（如 source、project_term）"},
                        "additionalProperties": FIELD}, "表头字段",
                       "本格式自己的表头字段（如“项目来源”“项目期”），或给已有字段换一套可选的值、要求必填；"
                       "键是数据里的字段名（小写英文字母、数字和 _），见下面“表头字段”。有 base 时与基础格式的 fields 逐个字段合并。",
                       "fields: {source: {label: 项目来源, choices: [本级申报项目, 上级转移支付项目]}}"),
    },
}

# The object schemas with a table of their own, in the reference's order.
REFERENCE_TABLES: tuple[dict[str, Any], ...] = (PROFILE_SCHEMA, CELL, PLAN["properties"]["plan"], BLOCK, COLUMN, FIELD,
                                                LINE, SIDE_LABEL)
REFERENCE_START = "<!-- 以下由 perfdoc/data/profile_schema.py 生成（python3 -m pytest tests/test_profile_reference.py --update-golden），请勿手改 -->"
REFERENCE_END = "<!-- 生成的部分到此为止 -->"

_TYPE_WORDS = {"string": "文字", "integer": "整数", "number": "数字", "boolean": "true 或 false", "array": "列表",
               "object": "映射"}


def type_words(schema: dict[str, Any]) -> str:
    """A key's type as the reference states it: 文字, 整数 1–40, `annual` 或 `long_term`, 列表（文字）…"""
    if "enum" in schema:
        return " 或 ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type", "object")
    words = _TYPE_WORDS.get(kind, kind)
    if kind == "integer" and "minimum" in schema:
        words += f" {schema['minimum']}–{schema['maximum']}"
    if kind == "array":
        items = schema.get("items", {})
        inner = items.get("title") or type_words(items) if isinstance(items, dict) and "if" not in items else "见说明"
        words += f"（{inner}）"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        words += f"（{schema['additionalProperties'].get('title', '')}）"
    return words


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(schema: dict[str, Any]) -> str:
    if "default" not in schema:
        return "—"
    value = schema["default"]
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    if isinstance(value, str) and "（" in value:
        return _cell(value)
    return f"`{value}`"


def reference_markdown() -> str:
    """The reference section's body: one table per object kind, every key with type, default, meaning, example."""
    parts = []
    for table in REFERENCE_TABLES:
        parts.append(f"### {table['x-reference']}\n")
        parts.append("| 键 | 类型 | 默认 | 含义 | 例子 |\n|---|---|---|---|---|")
        for key, schema in table["properties"].items():
            example = f"`{_cell(schema['x-example'])}`" if schema.get("x-example") else "—"
            parts.append(f"| `{key}` | {_cell(type_words(schema))} | {_default(schema)} | {_cell(schema['description'])} "
                         f"| {example} |")
        parts.append("")
    parts.append(stage_values_markdown())
    return "\n".join(parts)


STAGE_VALUE_TITLES = {"evaluation": "自评表（`table: evaluation`）", "monitoring": "监控表（`table: monitoring`）"}


def stage_values_markdown() -> str:
    """The values a 自评表 / 监控表 can print, from perfdoc.data.fields (STAGE_TABLE_FIELDS): what
    `field:` in a header or footer cell, and `field`/`fields` of an indicator column, may name."""
    parts = ["### 自评表、监控表能印的值\n",
             "`table: evaluation` 和 `table: monitoring` 的格式里，表头和表尾单元格的 `field:`、指标列的 `field`/`fields` "
             "只能写下面的值。项目文件里的值取自绩效目标（项目表的字段），带“算出”的由 perfdoc 按评分规则算出。\n"]
    for table, (values, columns) in STAGE_TABLE_FIELDS.items():
        for what, fields in (("表头、表尾单元格", values), ("指标列", columns)):
            parts.append(f"#### {STAGE_VALUE_TITLES[table]}的{what}\n")
            parts.append("| 值 | 名称 | 含义 |\n|---|---|---|")
            for key, field in fields.items():
                computed = "（算出）" if key in COMPUTED_VALUES else ""
                parts.append(f"| `{key}` | {_cell(field.label.replace('{period}', '1—7月'))} | "
                             f"{_cell(field.help.replace('{period}', '1—7月'))}{computed} |")
            parts.append("")
    return "\n".join(parts)


def examples_of(table: dict[str, Any]) -> dict[str, str]:
    """Each key's example of one table of the reference, as written there (tests build profiles from them)."""
    return {key: schema["x-example"] for key, schema in table["properties"].items() if schema.get("x-example")}
