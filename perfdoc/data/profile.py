"""A table format as data: the whole 绩效目标表 a province or a year uses, described in YAML.

A profile says which header rows the table has and what each cell holds (a label, a data field,
or a sentence made of fields), the 资金支出计划 checkpoints, one or more goal + indicator blocks
(Hebei: one; the 88号 forms: 长期 and 年度), the indicator columns and their labels, the 一级 →
二级 indicator sets, and the column grid. Provinces and years differ (docs/layout-spec.md, 各地的表格格式), so none of this
is in the templates or in Python: a budget office writes a profile, never a template.

Where profiles live: perfdoc's own in `profiles/` (`python3 build.py profiles` lists them); a
department's own in `<data>/profiles/<名称>.yaml`, chosen with `profile: <名称>` in department.yaml.
A profile may start from another with `base: <名称>` and change only what differs; a profile that
names no grid (the old format: name, checkpoints, levels) starts from hebei-2023.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from perfdoc.data.fields import BLOCK_SOURCES, DEPARTMENT_TABLE_FIELDS, INDICATOR_FIELDS, PROJECT_FIELDS, Field
from perfdoc.data.loader import FieldPath, LoadedFile, load_yaml_file
from perfdoc.data.schema_check import validate_against_schema  # the same Chinese messages as data files
from perfdoc.diagnostics import Diagnostic, UserError
from perfdoc.looks import CELL_LOOKS, PAGE, TABLE
from perfdoc.resources import PROFILES_DIR

DEFAULT_PROFILE = "hebei-2023"
ALIASES = {"default": DEFAULT_PROFILE}  # the name the first releases shipped
PROFILE_NAME = re.compile(r"[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
TEXT_BLOCK_MM = PAGE.text_width_mm  # the table is as wide as the text block (docs/layout-spec.md)
MAX_BASE_DEPTH = 8
MM_PER_PT = 25.4 / 72
CELL_FONT_PT = max(look.size_pt for look in CELL_LOOKS.values())  # 五号, 10.5 pt
# The narrowest grid column that holds one character of the table font: the character, the cell's
# padding on both sides and one rule (collapsed borders: half a rule on each side). Anything
# narrower draws its text across the table's border (a width typed 1.62 for 16.2).
MIN_COLUMN_MM = round(CELL_FONT_PT * MM_PER_PT + 2 * TABLE.padding_side_mm + TABLE.rule_pt * MM_PER_PT, 2)

TableKind = Literal["project", "department"]


@dataclass(frozen=True)
class HeaderCell:
    """One cell of a header row: a label (`label`), a field's value (`field`) or a sentence (`text`)."""

    kind: Literal["label", "field", "text"]
    content: str  # the label, the field key, or the sentence with {field} placeholders
    span: int = 1
    optional: bool = False  # a field that may be left out of the data (its cell stays empty)


@dataclass(frozen=True)
class PlanRow:
    """资金支出计划: a label spanning two rows, checkpoints above their cumulative percentages."""

    label: str
    checkpoints: tuple[str, ...]
    label_span: int = 1


HeaderRow = tuple[HeaderCell, ...] | PlanRow


@dataclass(frozen=True)
class Block:
    """One goal + indicator block: where its data lives and how its rows are labelled."""

    source: str  # annual: `goal` / `indicators` at the top of the file; long_term: under `long_term`
    title: str = ""  # a full-width caption between the goal and its indicators (长期绩效指标), or none
    goal_label: str = ""  # the goal row's label (绩效目标, 年度目标), or no goal row
    goal_span: int = 1  # grid columns the goal's label takes
    optional: bool = False  # the block may be left empty (88号 forms often leave 长期 blank)


@dataclass(frozen=True)
class Column:
    """An indicator column: one field, or several joined in one cell (`≥` `95` `%` → `≥95%`)."""

    fields: tuple[str, ...]
    label: str
    span: int = 1
    optional: bool = False

    @property
    def key(self) -> str:
        """`value`, or `nature+value+unit` for joined fields: how the importer names the column."""
        return self.fields[0] if len(self.fields) == 1 else "+".join(self.fields)


@dataclass(frozen=True)
class Profile:
    name: str  # the file's name: hebei-2023
    title: str  # what the profile is called in Chinese: 河北省项目支出绩效目标表（2023）
    description: str
    table: TableKind
    table_title: str  # 项目支出绩效目标表: the bookmark above the tables
    grid_mm: tuple[float, ...]
    header: tuple[HeaderRow, ...]
    blocks: tuple[Block, ...]
    level_labels: tuple[str, str]  # 一级指标, 二级指标
    columns: tuple[Column, ...]
    levels: tuple[tuple[str, tuple[str, ...]], ...]  # (一级, (二级, …)) in table order
    empty_level2: Literal["omit", "row"]
    source: Path
    scoring: str = ""  # the scoring rules it names (perfdoc.data.rules); "" for the national ones

    @property
    def checkpoints(self) -> tuple[str, ...]:
        plan = self.plan
        return plan.checkpoints if plan else ()

    @property
    def plan(self) -> PlanRow | None:
        return next((row for row in self.header if isinstance(row, PlanRow)), None)

    @property
    def record_fields(self) -> dict[str, Field]:
        return PROJECT_FIELDS if self.table == "project" else DEPARTMENT_TABLE_FIELDS

    def level2_names(self, level1: str) -> tuple[str, ...]:
        return dict(self.levels)[level1]

    def field_labels(self) -> dict[tuple[str, str], str]:
        """The label this table prints for a field: the caption left of a header value, a column's label.
        Messages and the schema use it, so users read the words of their own table."""
        labels: dict[tuple[str, str], str] = {}
        for row in self.header:
            if isinstance(row, PlanRow):
                continue
            for before, cell in zip(row, row[1:], strict=False):
                if cell.kind == "field" and before.kind == "label":
                    labels[("record", cell.content)] = before.content
        for column in self.columns:
            if len(column.fields) == 1:
                labels[("indicator", column.fields[0])] = column.label
        return labels

    def header_fields(self) -> dict[str, bool]:
        """Record fields the header shows → whether the data must have them."""
        shown: dict[str, bool] = {}
        for row in self.header:
            if isinstance(row, PlanRow):
                continue
            for cell in row:
                keys = [cell.content] if cell.kind == "field" else PLACEHOLDER.findall(cell.content) if cell.kind == "text" else []
                for key in keys:
                    shown[key] = shown.get(key, False) or not cell.optional
        return shown

    def indicator_fields(self) -> dict[str, bool]:
        """Indicator fields the columns show → whether every row must have them."""
        shown: dict[str, bool] = {}
        for column in self.columns:
            for key in column.fields:
                # Joined fields (≥ 95 %) are each optional: the joined cell needs only one of them.
                required = not column.optional and (len(column.fields) == 1 or key == "value")
                shown[key] = shown.get(key, False) or required
        return shown


# ---------------------------------------------------------------------------------------------
# Finding a profile


def profile_path(name: str, data_dir: Path | None = None) -> Path:
    """`hebei-2023` → the data folder's profiles/ first, then perfdoc's; a name is never a path.

    A local entry of that name is chosen whatever it is (a link to outside the data folder, a
    dangling link, a folder): loading it then says what is wrong, instead of quietly building
    with perfdoc's profile of the same name.
    """
    if not PROFILE_NAME.fullmatch(name):
        raise ValueError(name)
    name = ALIASES.get(name, name)
    local = data_dir / "profiles" / f"{name}.yaml" if data_dir else None
    if local and os.path.lexists(local):
        return local
    return PROFILES_DIR / f"{name}.yaml"


def profile_exists(path: Path) -> bool:
    """Whether `path` names a profile entry at all (a link that leaves the data folder does)."""
    return os.path.lexists(path)


def data_folder_of(path: Path) -> Path | None:
    """The data folder a profile file belongs to (`<data>/profiles/x.yaml` → `<data>`), or None for
    perfdoc's own profiles. Every profile outside perfdoc's folder is read under the data folder's
    symlink rule (perfdoc.data.loader): a link leaving that folder is refused unread, in every
    command (check, build, serve, schema, profiles, new-year, import), not only where a caller
    remembers to pass the folder."""
    if Path(os.path.realpath(path.parent)) == Path(os.path.realpath(PROFILES_DIR)):
        return None
    return path.parent.parent


def available_profiles(data_dir: Path | None = None) -> list[tuple[str, Path]]:
    """(name, file) of every profile: the data folder's own first, then the shipped ones."""
    found: dict[str, Path] = {}
    for folder in ([data_dir / "profiles"] if data_dir else []) + [PROFILES_DIR]:
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return sorted(found.items(), key=lambda item: (item[1].parent != PROFILES_DIR, item[0]))


# ---------------------------------------------------------------------------------------------
# Loading and checking


_TEXT = {"type": "string", "minLength": 1}
_SPAN = {"type": "integer", "minimum": 1, "maximum": 40}
_CELL = {
    "type": "object", "additionalProperties": False, "title": "表头单元格",
    "properties": {"label": {**_TEXT, "title": "标签"}, "field": {**_TEXT, "title": "字段"},
                   "text": {**_TEXT, "title": "由字段组成的句子"}, "span": {**_SPAN, "title": "占几列"},
                   "optional": {"type": "boolean", "title": "可以不填"}},
    "minProperties": 1,
}
_PLAN = {
    "type": "object", "additionalProperties": False, "required": ["plan"],
    "properties": {"plan": {
        "type": "object", "additionalProperties": False, "required": ["label", "checkpoints"],
        "title": "资金支出计划行",
        "properties": {"label": {**_TEXT, "title": "标签"}, "label_span": {**_SPAN, "title": "标签占几列"},
                       "checkpoints": {"type": "array", "minItems": 1, "items": _TEXT, "title": "时间节点"}}}},
}
PROFILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "表格格式（profile）",
    "additionalProperties": False,
    "properties": {
        "name": {**_TEXT, "title": "格式名称（默认为文件名）"},
        "description": {**_TEXT, "title": "说明"},
        "base": {**_TEXT, "title": "以哪个格式为基础"},
        "table": {"enum": ["project", "department"], "title": "表格种类（project 或 department）"},
        "title": {**_TEXT, "title": "表格标题"},
        "grid": {"type": "array", "minItems": 2, "maxItems": 40, "title": "网格列宽（mm）",
                 "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 200}},
        "checkpoints": {"type": "array", "minItems": 1, "items": _TEXT, "title": "资金支出计划的时间节点"},
        "header": {"type": "array", "title": "表头各行", "items": {
            "anyOf": [{"type": "array", "minItems": 1, "items": _CELL, "title": "一行单元格"}, _PLAN]}},
        "blocks": {"type": "array", "minItems": 1, "maxItems": 4, "title": "目标与指标块", "items": {
            "type": "object", "additionalProperties": False,
            "properties": {"source": {"enum": list(BLOCK_SOURCES), "title": "数据来源（annual 或 long_term）"},
                           "title": {**_TEXT, "title": "指标前的标题行"}, "goal": {**_TEXT, "title": "目标行标签"},
                           "goal_span": {**_SPAN, "title": "目标行标签占几列"},
                           "optional": {"type": "boolean", "title": "可以为空"}}}},
        "level_labels": {"type": "array", "minItems": 2, "maxItems": 2, "items": _TEXT, "title": "一级、二级指标列的标签"},
        "columns": {"type": "array", "minItems": 1, "title": "指标列", "items": {
            "type": "object", "additionalProperties": False, "required": ["label"],
            "properties": {"field": {**_TEXT, "title": "字段"},
                           "fields": {"type": "array", "minItems": 1, "items": _TEXT, "title": "合并显示的字段"},
                           "label": {**_TEXT, "title": "列标签"}, "span": {**_SPAN, "title": "占几列"},
                           "optional": {"type": "boolean", "title": "可以不填"}}}},
        "levels": {"type": "object", "minProperties": 1, "title": "一级指标 → 二级指标",
                   "additionalProperties": {"type": "array", "minItems": 1, "items": _TEXT}},
        "empty_level2": {"enum": ["omit", "row"], "title": "没有三级指标的二级指标：omit 不显示，row 显示空行"},
        "scoring": {**_TEXT, "title": "评分规则：数据目录 scoring/ 下的文件名（不带 .yaml），默认 national（全国）"},
    },
}


def load_profile(path: Path, root: Path | None = None, _depth: int = 0) -> Profile:
    """Load, merge with its base, and check a profile; a bad one stops with file:line messages.

    `root` is the data folder for a profile kept there (by default the folder above its profiles/,
    see data_folder_of): a symlink leaving it is refused unread.
    """
    loaded: LoadedFile = load_yaml_file(path, root if root is not None else data_folder_of(path))
    if not loaded.ok:
        raise UserError(loaded.diagnostics)
    problems = validate_against_schema(loaded, {"$defs": {"profile": PROFILE_SCHEMA}}, "profile")
    if problems:
        raise UserError(problems)
    data: dict[str, Any] = dict(loaded.data)
    base_name = data.get("base") or (None if "grid" in data or path.stem == DEFAULT_PROFILE else DEFAULT_PROFILE)
    if base_name is not None:
        data = _merge_base(loaded, data, base_name, root, _depth)
    return _check(loaded, data, path)


def _merge_base(loaded: LoadedFile, data: dict[str, Any], base_name: str, root: Path | None,
                depth: int) -> dict[str, Any]:
    if depth >= MAX_BASE_DEPTH:
        raise UserError([loaded.diagnostic(("base",), f"base 嵌套超过 {MAX_BASE_DEPTH} 层（是否互相引用？）", key=True)])
    try:
        base_path = profile_path(base_name, loaded.path.parent.parent)
    except ValueError:
        raise UserError([loaded.diagnostic(("base",), f"格式名“{base_name}”无效：只能是字母、数字、汉字、- 和 _")]) from None
    same = os.path.realpath(loaded.path)  # realpath, not resolve(): a symlink loop must reach the loader's message
    if os.path.realpath(base_path) == same:  # a local hebei-2023.yaml built on the shipped one
        base_path = PROFILES_DIR / f"{ALIASES.get(base_name, base_name)}.yaml"
    if os.path.realpath(base_path) == same or not profile_exists(base_path):
        raise UserError([loaded.diagnostic(("base",), f"找不到作为基础的格式“{base_name}”（{where_profiles_live(base_name, loaded.path.parent.parent)}）")])
    base = load_profile(base_path, root if root and base_path.is_relative_to(root) else None, depth + 1)
    # Everything but the name and description comes from the base. A derived profile is another
    # table, and calling it by its base's name (河北省…（2023）) would give two formats that
    # `profiles`, the schema and `new` cannot tell apart. Without a `name` of its own it is called
    # by its file name, the word the user writes in `profile:` (see _check).
    merged = {k: v for k, v in _as_data(base).items() if k != "name"}
    merged["description"] = f"以 {base.name}（{base.title}）为基础"  # the base's own would say 默认, 2023 …
    merged.update({k: v for k, v in data.items() if k != "base"})
    if "checkpoints" in data:  # the old format's shortcut: new checkpoints for the base's plan row
        merged["header"] = [{"plan": {**row["plan"], "checkpoints": data["checkpoints"]}} if isinstance(row, dict) else row
                            for row in merged["header"]]
    merged["_from_base"] = set(merged) - set(data)
    return merged


def where_profiles_live(name: str, data_dir: Path | None = None) -> str:
    """Where perfdoc looks for a profile, in the words of a "not found" message."""
    local = f"{data_dir / 'profiles' / name}.yaml" if data_dir else f"<数据目录>/profiles/{name}.yaml"
    return f"应为数据目录下的 {local}，或 perfdoc 自带的 {PROFILES_DIR / name}.yaml；python3 build.py profiles 列出全部格式"


def _repeated(loaded: LoadedFile, path: tuple[str | int, ...], names: list[str], what: str) -> list[Diagnostic]:
    """A name listed twice would make two columns or rows the data cannot tell apart."""
    return [loaded.diagnostic(path + (i,), f"{what}“{name}”重复，每个只能写一次")
            for i, name in enumerate(names) if name in names[:i]]


def _as_data(profile: Profile) -> dict[str, Any]:
    """A loaded profile back as profile-file data, so a derived profile can override single keys."""
    header: list[Any] = []
    for row in profile.header:
        if isinstance(row, PlanRow):
            header.append({"plan": {"label": row.label, "checkpoints": list(row.checkpoints), "label_span": row.label_span}})
        else:
            header.append([{cell.kind: cell.content, "span": cell.span, "optional": cell.optional} for cell in row])
    return {
        "name": profile.title, "description": profile.description, "table": profile.table,
        "title": profile.table_title, "grid": list(profile.grid_mm), "header": header,
        "blocks": [{"source": b.source, **({"title": b.title} if b.title else {}),
                    **({"goal": b.goal_label} if b.goal_label else {}), "goal_span": b.goal_span,
                    "optional": b.optional} for b in profile.blocks],
        "level_labels": list(profile.level_labels),
        "columns": [{"fields": list(c.fields), "label": c.label, "span": c.span, "optional": c.optional}
                    for c in profile.columns],
        "levels": {level1: list(level2s) for level1, level2s in profile.levels},
        "empty_level2": profile.empty_level2,
        **({"scoring": profile.scoring} if profile.scoring else {}),
    }


def _check(loaded: LoadedFile, data: dict[str, Any], path: Path) -> Profile:
    """What a schema cannot say: known fields, rows that fill the grid, checkpoints that fit."""
    problems: list[Diagnostic] = []
    inherited: set[str] = data.get("_from_base", set())

    def problem(field_path: FieldPath, message: str) -> None:
        # A fault in a part taken from the base is reported at the `base` line of this file.
        where = ("base",) if field_path[:1] and field_path[0] in inherited else field_path
        problems.append(loaded.diagnostic(where, message))

    for key in ("grid", "header", "blocks", "columns", "levels"):
        if key not in data:
            problem((), f"缺少 {key}：完整的格式要写明 grid、header、blocks、columns、levels，或用 base: 某个格式 继承")
    if problems:
        raise UserError(problems)
    table: TableKind = data.get("table", "project")
    record_fields = PROJECT_FIELDS if table == "project" else DEPARTMENT_TABLE_FIELDS
    grid = tuple(float(w) for w in data["grid"])
    width = len(grid)
    scale = TEXT_BLOCK_MM / sum(grid)
    grid_mm = tuple(round(w * scale, 2) for w in grid)
    for i, (written, scaled) in enumerate(zip(grid, grid_mm, strict=True)):
        if scaled < MIN_COLUMN_MM:
            problem(("grid", i), f"第 {i + 1} 列缩放到 {TEXT_BLOCK_MM:g} mm 版心宽后只有 {scaled:g} mm（写的是 {written:g}），"
                                 f"放不下一个 {CELL_FONT_PT:g} pt 的表格字（加上单元格内边距至少 {MIN_COLUMN_MM:g} mm），"
                                 "文字会越过表格边框（column too narrow）：是否少写或多写了一位（如把 16.2 写成 1.62）？")

    header: list[HeaderRow] = []
    for r, row in enumerate(data["header"]):
        if isinstance(row, dict):
            plan = row["plan"]
            checkpoints = tuple(plan["checkpoints"])
            if "checkpoints" in data and "checkpoints" not in inherited:
                checkpoints = tuple(data["checkpoints"])
            label_span = plan.get("label_span", 1)
            room = width - label_span
            if not 0 < len(checkpoints) <= room:
                problem(("header", r, "plan", "checkpoints") if "checkpoints" not in data else ("checkpoints",),
                        f"资金支出计划有 {len(checkpoints)} 个时间节点，但表格标签右边只有 {room} 列（grid）：最多 {room} 个，"
                        "或在 grid 里多分几列")
            where = ("checkpoints",) if "checkpoints" in data and "checkpoints" not in inherited \
                else ("header", r, "plan", "checkpoints")
            problems.extend(_repeated(loaded, where, list(checkpoints), "时间节点"))
            header.append(PlanRow(plan["label"], checkpoints, label_span))
            continue
        cells = []
        for c, cell in enumerate(row):
            kinds: list[Literal["label", "field", "text"]] = [k for k in ("label", "field", "text") if k in cell]
            if len(kinds) != 1:
                problem(("header", r, c), "每个单元格写且只写 label（标签）、field（字段）、text（句子）中的一个")
                continue
            kind = kinds[0]
            content = cell[kind]
            keys = [content] if kind == "field" else PLACEHOLDER.findall(content) if kind == "text" else []
            for key in keys:
                if key not in record_fields:
                    problem(("header", r, c, kind), f"未知字段“{key}”；可用的字段：{'、'.join(record_fields)}")
            cells.append(HeaderCell(kind, content, cell.get("span", 1), cell.get("optional", False)))
        spans = sum(cell.span for cell in cells)
        if spans != width:
            problem(("header", r), f"这一行的单元格共占 {spans} 列，应正好占满 grid 的 {width} 列")
        header.append(tuple(cells))

    blocks = []
    sources = [b.get("source", "annual") for b in data["blocks"]]
    for b, block in enumerate(data["blocks"]):
        if sources.count(sources[b]) > 1:
            problem(("blocks", b, "source"), f"两个块都取自 {sources[b]}：每个 source 只能用一次")
        goal_span = block.get("goal_span", 1)
        if goal_span >= width:
            problem(("blocks", b, "goal_span"), f"目标行标签占 {goal_span} 列，右边就没有位置写目标了（grid 共 {width} 列）")
        blocks.append(Block(sources[b], block.get("title", ""), block.get("goal", ""), goal_span,
                            block.get("optional", False)))

    columns = []
    for c, column in enumerate(data["columns"]):
        shown: tuple[str, ...] = tuple(column.get("fields") or ([column["field"]] if "field" in column else []))
        if not shown or ("field" in column and "fields" in column):
            problem(("columns", c), "每列写 field（一个字段）或 fields（几个字段合在一格），二者选一")
            continue
        for key in shown:
            if key not in INDICATOR_FIELDS:
                problem(("columns", c), f"未知的指标字段“{key}”；可用的：{'、'.join(INDICATOR_FIELDS)}")
        columns.append(Column(shown, column["label"], column.get("span", 1), column.get("optional", False)))
    if "levels" not in inherited:
        for level1, level2s in data["levels"].items():
            problems.extend(_repeated(loaded, ("levels", level1), level2s, "二级指标"))
    level_labels = tuple(data.get("level_labels", ("一级指标", "二级指标")))
    spans = 2 + sum(column.span for column in columns)
    if spans != width:
        problem(("columns",), f"一级、二级指标两列加上指标列共占 {spans} 列，应正好占满 grid 的 {width} 列")
    if problems:
        raise UserError(problems)
    return Profile(
        name=path.stem,
        title=data.get("name", path.stem),  # `base:` + `checkpoints:` alone is a whole profile
        description=data.get("description", ""),
        table=table,
        table_title=data.get("title", "项目支出绩效目标表" if table == "project" else "部门整体支出绩效目标表"),
        grid_mm=grid_mm,
        header=tuple(header),
        blocks=tuple(blocks),
        level_labels=(level_labels[0], level_labels[1]),
        columns=tuple(columns),
        levels=tuple((level1, tuple(level2s)) for level1, level2s in data["levels"].items()),
        empty_level2=data.get("empty_level2", "omit"),
        source=path,
        scoring=data.get("scoring", ""),
    )
