"""A table format as data: the whole 绩效目标表 a province or a year uses, described in YAML.

A profile says which header rows the table has and what each cell holds (a label, a data field,
or a sentence made of fields; a cell may span rows and columns), the 资金支出计划 checkpoints, one
or two goal + indicator blocks (Hebei: one; the 88号 forms: 长期 and 年度, stacked or side by
side), the indicator columns and their labels, the 一级 → 二级 indicator sets, a vertical label
beside the indicator grid, lines printed above and below the table, fields of its own, and the
column grid. Provinces and years differ (docs/layout-spec.md, 各地的表格格式), so none of this is
in the templates or in Python: a budget office writes a profile, never a template. Every key is
declared, with its meaning, in perfdoc.data.profile_schema (the reference in docs/profiles.md).

Where profiles live: perfdoc's own in `profiles/` (`python3 build.py profiles` lists them); a
department's own in `<data>/profiles/<名称>.yaml` (or `.yml`), chosen with `profile: <名称>` in
department.yaml. A profile may start from another with `base: <名称>` and change only what
differs; a profile that names no grid (the old format: name, checkpoints, levels) starts from
hebei-2023.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from perfdoc.data import profile_schema
from perfdoc.data.fields import (
    DEPARTMENT_TABLE_FIELDS,
    INDICATOR_FIELDS,
    MARKABLE,
    PROJECT_FIELDS,
    STAGE_TABLE_FIELDS,
    STRUCTURE_KEYS,
    Field,
)
from perfdoc.data.loader import FieldPath, LoadedFile, load_yaml_file
from perfdoc.data.schema_check import validate_against_schema  # the same Chinese messages as data files
from perfdoc.diagnostics import Diagnostic, UserError
from perfdoc.looks import CELL_LOOKS, PAGE, TABLE
from perfdoc.resources import PROFILES_DIR

DEFAULT_PROFILE = "hebei-2023"
ALIASES = {"default": DEFAULT_PROFILE}  # the name the first releases shipped
PROFILE_NAME = re.compile(r"[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}")
PROFILE_SUFFIXES = (".yaml", ".yml")  # .yaml first when both exist
# `{budget}`: a field's value. `{year}`, `{year+2}`, `{year-1}`: the department's budget year,
# counted forward or back (YEAR); they are worked out before fields are filled in.
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
YEAR = re.compile(r"\{year(?:\s*([+-])\s*(\d{1,3}))?\}")
ANY_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
SPECIAL_PLACEHOLDERS = ("year", "department")  # not fields of a record: the department file's
TEXT_BLOCK_MM = PAGE.text_width_mm  # the table is as wide as the text block (docs/layout-spec.md)
MAX_BASE_DEPTH = 8
MM_PER_PT = 25.4 / 72
CELL_FONT_PT = max(look.size_pt for look in CELL_LOOKS.values())  # 五号, 10.5 pt
# The narrowest grid column that holds one character of the table font: the character, the cell's
# padding on both sides and one rule (collapsed borders: half a rule on each side). Anything
# narrower draws its text across the table's border (a width typed 1.62 for 16.2).
MIN_COLUMN_MM = round(CELL_FONT_PT * MM_PER_PT + 2 * TABLE.padding_side_mm + TABLE.rule_pt * MM_PER_PT, 2)

TableKind = Literal["project", "department", "evaluation", "monitoring"]
STAGE_TABLES = ("evaluation", "monitoring")  # the 自评表 and 监控表: one table a stage file
# The stage layouts a targets profile prints its stage files with, unless it names others.
DEFAULT_STAGE_PROFILES = {"evaluation": "national-evaluation", "monitoring": "national-monitoring"}
NumberStyle = Literal["fixed", "trimmed"]
Layout = Literal["stacked", "side_by_side"]


def year_text(template: str, year: int | None) -> str:
    """`中期目标（{year}年—{year+2}年）` for 2024 → `中期目标（2024年—2026年）`; unchanged without a year."""
    if year is None:
        return template

    def worked_out(match: re.Match[str]) -> str:
        sign, count = match.groups()
        return str(year + (int(count) if sign == "+" else -int(count)) if sign else year)

    return YEAR.sub(worked_out, template)


def field_placeholders(template: str) -> list[str]:
    """The record fields a template names (`{year…}` and `{department}` are not fields)."""
    return [key for key in PLACEHOLDER.findall(template) if key not in SPECIAL_PLACEHOLDERS]


@dataclass(frozen=True)
class HeaderCell:
    """One cell of a header row: a label (`label`), a field's value (`field`) or a sentence (`text`)."""

    kind: Literal["label", "field", "text"]
    content: str  # the label, the field key, or the sentence with {field} placeholders
    span: int = 1
    optional: bool = False  # a field that may be left out of the data (its cell stays empty)
    rowspan: int = 1  # header rows the cell spans downwards (项目资金（万元） over three rows)


@dataclass(frozen=True)
class PlanRow:
    """资金支出计划: a label spanning two rows, checkpoints above their cumulative percentages."""

    label: str
    checkpoints: tuple[str, ...]
    label_span: int = 1


HeaderRow = tuple[HeaderCell, ...] | PlanRow


@dataclass(frozen=True)
class Column:
    """An indicator column: one field, or several joined in one cell (`≥` `95` `%` → `≥95%`)."""

    fields: tuple[str, ...]
    label: str
    span: int = 1
    optional: bool = False
    group: str = ""  # a caption over this and the next columns of the same group (偏差原因分析)
    mark: str = ""  # a tick column: √ when the field holds this choice (经费保障, 确定能)

    @property
    def key(self) -> str:
        """`value`, or `nature+value+unit` for joined fields: how the importer names the column."""
        return self.fields[0] if len(self.fields) == 1 else "+".join(self.fields)


@dataclass(frozen=True)
class Block:
    """One goal + indicator block: where its data lives and how its rows are labelled."""

    source: str  # annual: `goal` / `indicators` at the top of the file; long_term: under `long_term`
    title: str = ""  # stacked: a full-width caption before its indicators; side by side: above its columns
    goal_label: str = ""  # the goal row's label (绩效目标, 年度目标), or no goal row
    goal_span: int = 1  # grid columns the goal's label takes (stacked)
    optional: bool = False  # the block may be left empty (88号 forms often leave 长期 blank)
    columns: tuple[Column, ...] = ()  # its own indicator columns; () for the profile's


@dataclass(frozen=True)
class CaptionLine:
    """A line printed above or below a record's table: left, centred and right parts (any may be empty)."""

    left: str = ""
    center: str = ""
    right: str = ""
    title: bool = False  # printed as the table's title (larger, bold)

    @property
    def parts(self) -> tuple[str, str, str]:
        return self.left, self.center, self.right

    @property
    def placed(self) -> tuple[tuple[str, str], ...]:
        """(left|center|right, text) of the parts that are written, in that order."""
        return tuple((where, text) for where, text in zip(("left", "center", "right"), self.parts, strict=True) if text)


@dataclass(frozen=True)
class SideLabel:
    """A cell left of the indicator grid, spanning all its rows (安徽: 绩效指标, one character a line)."""

    label: str
    span: int = 1


@dataclass(frozen=True)
class Profile:
    name: str  # the file's name: hebei-2023
    title: str  # what the profile is called in Chinese: 河北省项目支出绩效目标表（2023）
    description: str
    table: TableKind
    table_title: str  # 项目支出绩效目标表: the bookmark above the tables (never printed on them)
    grid_mm: tuple[float, ...]
    header: tuple[HeaderRow, ...]
    blocks: tuple[Block, ...]
    level_labels: tuple[str, str]  # 一级指标, 二级指标
    columns: tuple[Column, ...]
    levels: tuple[tuple[str, tuple[str, ...]], ...]  # (一级, (二级, …)) in table order
    empty_level2: Literal["omit", "row"]
    source: Path
    layout: Layout = "stacked"
    goals_label: str = "总体目标"  # side by side: the label left of the blocks' goals
    side_label: SideLabel | None = None
    above: tuple[CaptionLine, ...] = ()
    below: tuple[CaptionLine, ...] = ()
    # The record's fields as this profile has them: perfdoc.data.fields' own, with the choices,
    # labels and `required` the profile declares (`fields:`), then the profile's own fields.
    fields: tuple[tuple[str, Field], ...] = ()
    declared: tuple[str, ...] = ()  # the keys written under `fields:` (kept when a profile is a base)
    scoring: str = ""  # the scoring rules it names (perfdoc.data.rules); "" for the national ones
    # A 自评表 / 监控表 (table: evaluation | monitoring): rows of cells after the indicators (总分),
    # how a 一级 caption is printed (`{name}（{points}分）`), how points are printed.
    footer: tuple[tuple[HeaderCell, ...], ...] = ()
    level1_format: str = "{name}"
    number_style: NumberStyle = "fixed"
    # A targets profile: the stage layouts its stage files are printed with (stage → profile name).
    stage_profiles: tuple[tuple[str, str], ...] = ()

    @property
    def is_stage(self) -> bool:
        return self.table in STAGE_TABLES

    def stage_profile(self, stage: str) -> str:
        """The layout `stage` is printed with: the one this profile names, else the national one."""
        return dict(self.stage_profiles).get(stage, DEFAULT_STAGE_PROFILES[stage])

    @property
    def checkpoints(self) -> tuple[str, ...]:
        plan = self.plan
        return plan.checkpoints if plan else ()

    @property
    def plan(self) -> PlanRow | None:
        return next((row for row in self.header if isinstance(row, PlanRow)), None)

    @property
    def record_fields(self) -> dict[str, Field]:
        if self.fields:
            return dict(self.fields)
        if self.table in STAGE_TABLES:
            return STAGE_TABLE_FIELDS[self.table][0]
        return PROJECT_FIELDS if self.table == "project" else DEPARTMENT_TABLE_FIELDS

    @property
    def side_span(self) -> int:
        return self.side_label.span if self.side_label else 0

    @property
    def uses_code(self) -> bool:
        """Whether a project is known by its code: the table prints it, or the profile asks for it.
        Otherwise the project file's name is its key (in the outline, the XLSX, `diff`, `import`)."""
        fields = self.record_fields
        return self.table == "project" and ("code" in self.header_fields() or fields["code"].required)

    def block_columns(self, block: Block) -> tuple[Column, ...]:
        return block.columns or self.columns

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Every indicator column of every block (a column shared by blocks once)."""
        seen: list[Column] = []
        for block in self.blocks:
            seen += [column for column in self.block_columns(block) if column not in seen]
        return tuple(seen) or self.columns

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
                    labels.setdefault(("record", cell.content), before.content)
        for column in self.all_columns:
            if len(column.fields) == 1:
                labels.setdefault(("indicator", column.fields[0]), column.label)
        return labels

    def header_fields(self) -> dict[str, bool]:
        """Record fields the header shows, or the profile requires → whether the data must have them."""
        shown: dict[str, bool] = {}
        for row in self.header:
            if isinstance(row, PlanRow):
                continue
            for cell in row:
                keys = [cell.content] if cell.kind == "field" else field_placeholders(cell.content) if cell.kind == "text" else []
                for key in keys:
                    shown[key] = shown.get(key, False) or not cell.optional
        for key, field in self.fields:
            if field.required:
                shown[key] = True
        return shown

    def caption_fields(self) -> list[str]:
        """Record fields the lines above and below the table name (printed empty when not filled in)."""
        return [key for line in (*self.above, *self.below) for part in line.parts for key in field_placeholders(part)]

    def indicator_fields(self) -> dict[str, bool]:
        """Indicator fields the columns show → whether every row must have them."""
        shown: dict[str, bool] = {}
        for column in self.all_columns:
            for key in column.fields:
                # Joined fields (≥ 95 %) are each optional: the joined cell needs only one of them.
                required = not column.optional and (len(column.fields) == 1 or key == "value")
                shown[key] = shown.get(key, False) or required
        return shown

    def for_year(self, year: int | None) -> Profile:
        """The profile with `{year}`, `{year+2}` … worked out in every label and line (fields stay)."""
        if year is None:
            return self

        def text(value: str) -> str:
            return year_text(value, year)

        def cells(row: tuple[HeaderCell, ...]) -> tuple[HeaderCell, ...]:
            return tuple(replace(cell, content=text(cell.content)) if cell.kind != "field" else cell for cell in row)

        header: list[HeaderRow] = []
        for row in self.header:
            if isinstance(row, PlanRow):
                header.append(replace(row, label=text(row.label)))
            else:
                header.append(cells(row))

        def columns(found: tuple[Column, ...]) -> tuple[Column, ...]:
            return tuple(replace(column, label=text(column.label), group=text(column.group)) for column in found)


        return replace(
            self, header=tuple(header), columns=columns(self.columns),
            blocks=tuple(replace(b, title=text(b.title), goal_label=text(b.goal_label), columns=columns(b.columns))
                         for b in self.blocks),
            level_labels=(text(self.level_labels[0]), text(self.level_labels[1])), goals_label=text(self.goals_label),
            side_label=replace(self.side_label, label=text(self.side_label.label)) if self.side_label else None,
            footer=tuple(cells(row) for row in self.footer),
            above=tuple(CaptionLine(text(x.left), text(x.center), text(x.right), x.title) for x in self.above),
            below=tuple(CaptionLine(text(x.left), text(x.center), text(x.right), x.title) for x in self.below))


# ---------------------------------------------------------------------------------------------
# Finding a profile


def profile_path(name: str, data_dir: Path | None = None) -> Path:
    """`hebei-2023` → the data folder's profiles/ first, then perfdoc's; a name is never a path.

    `<name>.yaml` is looked for, then `<name>.yml` (an editor's other spelling of the extension).
    A local entry of that name is chosen whatever it is (a link to outside the data folder, a
    dangling link, a folder): loading it then says what is wrong, instead of quietly building
    with perfdoc's profile of the same name.
    """
    if not PROFILE_NAME.fullmatch(name):
        raise ValueError(name)
    name = ALIASES.get(name, name)
    if data_dir:
        for suffix in PROFILE_SUFFIXES:
            local = data_dir / "profiles" / f"{name}{suffix}"
            if os.path.lexists(local):
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
    """(name, file) of every profile: the data folder's own first (`.yaml`, else `.yml`), then the shipped ones."""
    found: dict[str, Path] = {}
    for folder in ([data_dir / "profiles"] if data_dir else []) + [PROFILES_DIR]:
        if folder.is_dir():
            for suffix in PROFILE_SUFFIXES:
                for path in sorted(folder.glob(f"*{suffix}")):
                    found.setdefault(path.stem, path)
    return sorted(found.items(), key=lambda item: (item[1].parent != PROFILES_DIR, item[0]))


def ignored_profile_files(data_dir: Path) -> list[Path]:
    """Files in the data folder's profiles/ that are never read as profiles: another extension
    (`.YAML`, `.txt`), or a `.yml` beside a `.yaml` of the same name. `profiles` names them."""
    folder = data_dir / "profiles"
    if not folder.is_dir():
        return []
    read = {path for _, path in available_profiles(data_dir)}
    return sorted(path for path in folder.iterdir() if path not in read and not path.name.startswith("."))


# ---------------------------------------------------------------------------------------------
# Loading and checking


PROFILE_SCHEMA = profile_schema.PROFILE_SCHEMA  # every key, with its meaning: perfdoc.data.profile_schema


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
    inherited_fields = merged.get("fields") or {}
    merged.update({k: v for k, v in data.items() if k != "base"})
    if "fields" in data:  # field by field: `fields: {code: {required: true}}` keeps the base's own fields
        merged["fields"] = {**inherited_fields, **{key: {**inherited_fields.get(key, {}), **spec}
                                                   for key, spec in data["fields"].items()}}
    if "checkpoints" in data:  # the old format's shortcut: new checkpoints for the base's plan row
        merged["header"] = [{"plan": {**row["plan"], "checkpoints": data["checkpoints"]}} if isinstance(row, dict) else row
                            for row in merged["header"]]
    merged["_from_base"] = set(merged) - set(data)
    return merged


def where_profiles_live(name: str, data_dir: Path | None = None) -> str:
    """Where perfdoc looks for a profile, in the words of a "not found" message."""
    local = f"{data_dir / 'profiles' / name}.yaml" if data_dir else f"<数据目录>/profiles/{name}.yaml"
    return (f"应为数据目录下的 {local}（或 .yml），或 perfdoc 自带的 {PROFILES_DIR / name}.yaml；"
            "python3 build.py profiles 列出全部格式")


def _repeated(loaded: LoadedFile, path: tuple[str | int, ...], names: list[str], what: str) -> list[Diagnostic]:
    """A name listed twice would make two columns or rows the data cannot tell apart."""
    return [loaded.diagnostic(path + (i,), f"{what}“{name}”重复，每个只能写一次")
            for i, name in enumerate(names) if name in names[:i]]


def _column_data(column: Column) -> dict[str, Any]:
    return {"fields": list(column.fields), "label": column.label, "span": column.span, "optional": column.optional,
            **({"group": column.group} if column.group else {}), **({"mark": column.mark} if column.mark else {})}


def _cells_data(row: tuple[HeaderCell, ...]) -> list[dict[str, Any]]:
    return [{cell.kind: cell.content, "span": cell.span, "rowspan": cell.rowspan, "optional": cell.optional} for cell in row]


def _line_data(line: CaptionLine) -> dict[str, Any]:
    return {**{k: v for k, v in zip(("left", "center", "right"), line.parts, strict=True) if v},
            **({"title": True} if line.title else {})}


def _as_data(profile: Profile) -> dict[str, Any]:
    """A loaded profile back as profile-file data, so a derived profile can override single keys."""
    header: list[Any] = []
    for row in profile.header:
        if isinstance(row, PlanRow):
            header.append({"plan": {"label": row.label, "checkpoints": list(row.checkpoints), "label_span": row.label_span}})
        else:
            header.append(_cells_data(row))
    fields = dict(profile.fields)
    data: dict[str, Any] = {
        "name": profile.title, "description": profile.description, "table": profile.table,
        "title": profile.table_title, "grid": list(profile.grid_mm), "header": header,
        "blocks": [{"source": b.source, **({"title": b.title} if b.title else {}),
                    **({"goal": b.goal_label} if b.goal_label else {}), "goal_span": b.goal_span,
                    "optional": b.optional, **({"columns": [_column_data(c) for c in b.columns]} if b.columns else {})}
                   for b in profile.blocks],
        "layout": profile.layout, "goals_label": profile.goals_label,
        "level_labels": list(profile.level_labels),
        "columns": [_column_data(c) for c in profile.columns],
        "levels": {level1: list(level2s) for level1, level2s in profile.levels},
        "empty_level2": profile.empty_level2,
        "above": [_line_data(line) for line in profile.above], "below": [_line_data(line) for line in profile.below],
        "fields": {key: {"label": fields[key].label, "help": fields[key].help, "required": fields[key].required,
                         **({"choices": list(fields[key].choices)} if fields[key].choices else {})}
                   for key in profile.declared},
        **({"scoring": profile.scoring} if profile.scoring else {}),
        **({"footer": [_cells_data(row) for row in profile.footer]} if profile.footer else {}),
        **({"level1_format": profile.level1_format} if profile.level1_format != "{name}" else {}),
        **({"number_style": profile.number_style} if profile.number_style != "fixed" else {}),
        **{f"{stage}_profile": name for stage, name in profile.stage_profiles},
    }
    if profile.is_stage:  # a stage layout has neither blocks nor levels of its own
        for key in ("blocks", "levels", "layout", "goals_label", "empty_level2"):
            data.pop(key)
    if profile.side_label:
        data["side_label"] = {"label": profile.side_label.label, "span": profile.side_label.span}
    return data


def _suggest(name: str, known: list[str]) -> str:
    """`，是不是“code”？` for a near miss, else the list of what may be written."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return f"，是不是“{close[0]}”？" if close else f"；可用的：{'、'.join(known)}"


def _cell_name(cell: dict[str, Any]) -> str:
    """How a message names a header cell: by what it holds."""
    for kind, word in (("label", "标签"), ("field", "字段"), ("text", "句子")):
        if isinstance(cell.get(kind), str):
            shown = cell[kind] if len(cell[kind]) <= 20 else cell[kind][:20] + "…"
            return f"{word}“{shown}”"
    return "单元格"


class _Checker:
    """What a schema cannot say: known fields, rows that fill the grid, cells that do not overlap."""

    def __init__(self, loaded: LoadedFile, data: dict[str, Any]):
        self.loaded = loaded
        self.data = data
        self.inherited: set[str] = data.get("_from_base", set())
        self.problems: list[Diagnostic] = []

    def problem(self, field_path: FieldPath, message: str) -> None:
        # A fault in a part taken from the base is reported at the `base` line of this file.
        where = ("base",) if field_path[:1] and field_path[0] in self.inherited else field_path
        self.problems.append(self.loaded.diagnostic(where, message))

    def labels_without_fields(self, path: FieldPath, label: str) -> None:
        """Labels may hold `{year}` (and `{year+2}` …), never a field: a field's value has a cell of its own."""
        for placeholder in ANY_PLACEHOLDER.findall(label):
            if not YEAR.fullmatch(placeholder):
                self.problem(path, f"标签里的“{placeholder}”不认识：标签只能写 {{year}}（可加减年数，如 {{year+2}}）；"
                                   "要印字段的值，用 field 或 text 的单元格")

    def template_fields(self, path: FieldPath, template: str, known: dict[str, Field], *, special: bool) -> None:
        for placeholder in ANY_PLACEHOLDER.findall(template):
            if YEAR.fullmatch(placeholder):
                continue
            key = placeholder[1:-1].strip()
            if special and key in SPECIAL_PLACEHOLDERS:
                continue
            if key not in known:
                self.problem(path, f"未知字段“{key}”{_suggest(key, list(known))}")

    # -- fields -------------------------------------------------------------------------------------
    def fields(self, table: TableKind) -> tuple[dict[str, Field], tuple[str, ...]]:
        if table in STAGE_TABLES:
            if self.data.get("fields"):
                self.problem(("fields",), "自评表、监控表的格式不能声明字段（fields）：它们印的是项目文件和自评、监控文件里的值，"
                                          "见 docs/profiles.md 的“自评表、监控表能印的值”")
            return dict(STAGE_TABLE_FIELDS[table][0]), ()
        base = PROJECT_FIELDS if table == "project" else DEPARTMENT_TABLE_FIELDS
        merged = dict(base)
        declared = self.data.get("fields") or {}
        for key, spec in declared.items():
            path: FieldPath = ("fields", key)
            if key in STRUCTURE_KEYS or (table == "project" and key == "department"):
                self.problem(path, f"“{key}”是数据文件里已有的键（{'、'.join(STRUCTURE_KEYS)}），不能再作表头字段")
                continue
            known = merged.get(key)
            if known is None and "label" not in spec:
                close = difflib.get_close_matches(key, list(base), n=1, cutoff=0.6)
                self.problem(path, f"新字段“{key}”要写 label（中文名称）" + (f"；若指已有的字段，是不是“{close[0]}”？" if close else ""))
                continue
            if known is not None and "choices" in spec and known.kind not in ("text", "choice"):
                self.problem(path + ("choices",), f"字段“{key}”（{known.label}）是{'金额' if known.kind == 'amount' else '编码'}，"
                                                  "不能给可选的值")
                continue
            choices = tuple(spec["choices"]) if "choices" in spec else (known.choices if known else ())
            if "choices" in spec:
                self.repeated(path + ("choices",), list(choices), "可选的值")
            kind = "choice" if choices else (known.kind if known else "text")
            merged[key] = Field(key, spec.get("label", known.label if known else key), kind,
                                spec.get("help", known.help if known else f"{spec['label']}。"), choices,
                                long=known.long if known else False, required=spec.get("required", False))
        return merged, tuple(declared)

    def repeated(self, path: FieldPath, names: list[str], what: str) -> None:
        if path[:1] and path[0] in self.inherited:
            return
        self.problems.extend(_repeated(self.loaded, path, names, what))

    # -- header -------------------------------------------------------------------------------------
    def header(self, width: int, fields: dict[str, Field], key: str = "header") -> list[HeaderRow]:
        rows_data = self.data.get(key) or []
        header: list[HeaderRow] = []
        covered: dict[tuple[int, int], tuple[int, int, str]] = {}  # (row, column) → the cell spanning into it
        plan_rows = {r for r, row in enumerate(rows_data) if isinstance(row, dict)}
        for r, row in enumerate(rows_data):
            if isinstance(row, dict):  # no cell spans into it: refused where the cell is (below)
                header.append(self.plan(r, row["plan"], width))
                continue
            cells: list[HeaderCell] = []
            column, spans = 0, 0
            for c, cell in enumerate(row):
                kinds: list[Literal["label", "field", "text"]] = [k for k in ("label", "field", "text") if k in cell]
                if len(kinds) != 1:
                    self.problem((key, r, c), "每个单元格写且只写 label（标签）、field（字段）、text（句子）中的一个")
                    continue
                kind = kinds[0]
                content = cell[kind]
                if kind == "label":
                    self.labels_without_fields((key, r, c, kind), content)
                elif kind == "field" and content not in fields:
                    self.problem((key, r, c, kind), f"未知字段“{content}”{_suggest(content, list(fields))}")
                else:
                    self.template_fields((key, r, c, kind), content, fields, special=False)
                span, rowspan = cell.get("span", 1), cell.get("rowspan", 1)
                start = column
                while (r, column) in covered:
                    column += 1
                name = _cell_name(cell)
                clash = next((x for x in range(column, column + span) if (r, x) in covered), None)
                pushed = start if cells and column > start and column + span > width else None
                at = clash if clash is not None else pushed
                if at is not None:
                    r0, c0, other = covered[(r, at)]
                    self.problem((key, r, c), f"单元格 header[{r}][{c}]（{name}）要占的第 {at + 1} 列已是上面 "
                                 f"header[{r0}][{c0}]（{other}）向下跨入的格，两格重叠（overlap）："
                                 "少占几列，或让上面的格少跨几行")
                elif column + span > width:
                    self.problem((key, r, c), f"单元格 header[{r}][{c}]（{name}）从第 {column + 1} 列起占 {span} 列，"
                                 f"超出表格的右边（grid 共 {width} 列）")
                if r + rowspan > len(rows_data):
                    self.problem((key, r, c, "rowspan"), f"单元格 header[{r}][{c}]（{name}）向下占 {rowspan} 行，"
                                 f"超出表头的最后一行（表头共 {len(rows_data)} 行，它在第 {r + 1} 行）")
                elif any(below in plan_rows for below in range(r + 1, r + rowspan)):
                    self.problem((key, r, c, "rowspan"), f"单元格 header[{r}][{c}]（{name}）向下跨入了资金支出计划行：rowspan 不能跨过 plan 行")
                else:
                    for below in range(r + 1, r + rowspan):
                        for x in range(column, min(column + span, width)):
                            covered.setdefault((below, x), (r, c, name))
                column += span
                spans += span
                cells.append(HeaderCell(kind, content, span, cell.get("optional", False), rowspan))
            from_above = sum(1 for (row_at, _x) in covered if row_at == r)
            if spans + from_above != width:
                more = f"，加上上面的格向下跨入的 {from_above} 列共 {spans + from_above} 列" if from_above else ""
                self.problem((key, r), f"这一行的单元格共占 {spans} 列{more}，应正好占满 grid 的 {width} 列")
            header.append(tuple(cells))
        return header

    def plan(self, r: int, plan: dict[str, Any], width: int) -> PlanRow:
        data = self.data
        checkpoints = tuple(plan["checkpoints"])
        own = "checkpoints" in data and "checkpoints" not in self.inherited
        if own:
            checkpoints = tuple(data["checkpoints"])
        label_span = plan.get("label_span", 1)
        room = width - label_span
        where: FieldPath = ("checkpoints",) if own else ("header", r, "plan", "checkpoints")
        if not 0 < len(checkpoints) <= room:
            self.problem(where if "checkpoints" in data else ("header", r, "plan", "checkpoints"),
                         f"资金支出计划有 {len(checkpoints)} 个时间节点，但表格标签右边只有 {room} 列（grid）：最多 {room} 个，"
                         "或在 grid 里多分几列")
        self.problems.extend(_repeated(self.loaded, where, list(checkpoints), "时间节点"))
        for i, point in enumerate(checkpoints):
            if ANY_PLACEHOLDER.search(point):
                self.problem(where + (i,), f"时间节点“{point}”里不能写 {{…}}：它也是数据 spending_plan 的键")
        self.labels_without_fields(("header", r, "plan", "label"), plan["label"])
        return PlanRow(plan["label"], checkpoints, label_span)

    # -- columns and blocks ---------------------------------------------------------------------
    def columns(self, path: FieldPath, data: list[dict[str, Any]],
                known: dict[str, Field] = INDICATOR_FIELDS) -> tuple[Column, ...]:
        columns = []
        for c, column in enumerate(data):
            shown: tuple[str, ...] = tuple(column.get("fields") or ([column["field"]] if "field" in column else []))
            if not shown or ("field" in column and "fields" in column):
                self.problem(path + (c,), "每列写 field（一个字段）或 fields（几个字段合在一格），二者选一")
                continue
            for key in shown:
                if key not in known:
                    self.problem(path + (c,), f"未知的指标字段“{key}”{_suggest(key, list(known))}")
            mark = column.get("mark", "")
            if mark and known is INDICATOR_FIELDS:
                self.problem(path + (c, "mark"), "mark（打勾的列）只用于监控表（table: monitoring）")
            elif mark and (len(shown) != 1 or shown[0] not in MARKABLE):
                self.problem(path + (c, "mark"), f"打勾的列（mark）要写 field: {' 或 field: '.join(MARKABLE)}")
            elif mark and mark not in MARKABLE[shown[0]]:
                self.problem(path + (c, "mark"), f"“{mark}”不是 {shown[0]} 的可选值{_suggest(mark, list(MARKABLE[shown[0]]))}")
            self.labels_without_fields(path + (c, "label"), column["label"])
            if column.get("group"):
                self.labels_without_fields(path + (c, "group"), column["group"])
            columns.append(Column(shown, column["label"], column.get("span", 1), column.get("optional", False),
                                  column.get("group", ""), mark))
        return tuple(columns)

    def blocks(self, width: int, layout: Layout, side: int, columns: tuple[Column, ...]) -> list[Block]:
        blocks = []
        sources = [b.get("source", "annual") for b in self.data["blocks"]]
        for b, block in enumerate(self.data["blocks"]):
            if sources.count(sources[b]) > 1:
                self.problem(("blocks", b, "source"), f"两个块都取自 {sources[b]}：每个 source 只能用一次")
            goal_span = block.get("goal_span", 1)
            if layout == "stacked" and goal_span >= width:
                self.problem(("blocks", b, "goal_span"), f"目标行标签占 {goal_span} 列，右边就没有位置写目标了（grid 共 {width} 列）")
            for key in ("title", "goal"):
                if key in block:
                    self.labels_without_fields(("blocks", b, key), block[key])
            own = self.columns(("blocks", b, "columns"), block["columns"]) if "columns" in block else ()
            if layout == "side_by_side" and not block.get("title"):
                self.problem(("blocks", b), "左右并排（layout: side_by_side）时每块都要写 title：它印在这一块的指标列之上")
            blocks.append(Block(sources[b], block.get("title", ""), block.get("goal", ""), goal_span,
                                block.get("optional", False), own))
        if layout == "side_by_side" and len(blocks) != 2:
            self.problem(("layout",), f"左右并排（side_by_side）要正好两个块（blocks），这里有 {len(blocks)} 个")
        if not columns and any(not block.columns for block in blocks):
            self.problem(("columns",) if "columns" in self.data else (),
                         "缺少 columns：写顶层的 columns，或在每个块里写它自己的 columns")
            return blocks
        shared = side + 2
        if layout == "side_by_side":
            spans = shared + sum(column.span for block in blocks for column in (block.columns or columns))
            if spans != width:
                self.problem(("columns",) if "columns" in self.data else ("blocks",),
                             f"竖排标签、一级、二级指标两列加上两块的指标列共占 {spans} 列，应正好占满 grid 的 {width} 列")
        else:
            for b, block in enumerate(blocks):
                spans = shared + sum(column.span for column in (block.columns or columns))
                if spans != width:
                    where: FieldPath = ("blocks", b, "columns") if block.columns else ("columns",)
                    what = "竖排标签、一级、二级指标两列" if side else "一级、二级指标两列"
                    self.problem(where, f"{what}加上指标列共占 {spans} 列，应正好占满 grid 的 {width} 列")
                    break
        return blocks

    def lines(self, key: str, fields: dict[str, Field]) -> tuple[CaptionLine, ...]:
        found = []
        for i, line in enumerate(self.data.get(key) or ()):
            for part in ("left", "center", "right"):
                if part in line:
                    self.template_fields((key, i, part), line[part], fields, special=True)
            found.append(CaptionLine(line.get("left", ""), line.get("center", ""), line.get("right", ""),
                                     line.get("title", False)))
        return tuple(found)


def _check(loaded: LoadedFile, data: dict[str, Any], path: Path) -> Profile:
    """What a schema cannot say: known fields, rows that fill the grid, checkpoints that fit."""
    check = _Checker(loaded, data)
    table: TableKind = data.get("table", "project")
    if table in STAGE_TABLES:
        return _check_stage(check, data, path, table)
    needed = ("grid", "header", "blocks", "levels")
    for key in needed:
        if key not in data:
            check.problem((), f"缺少 {key}：完整的格式要写明 grid、header、blocks、columns、levels，或用 base: 某个格式 继承")
    if check.problems:
        raise UserError(check.problems)
    fields, declared = check.fields(table)
    grid_mm = _grid(check, data)
    width = len(grid_mm)
    header = check.header(width, fields)
    layout: Layout = data.get("layout", "stacked")
    side = data.get("side_label")
    side_label = SideLabel(side["label"], side.get("span", 1)) if side else None
    if side_label:
        check.labels_without_fields(("side_label", "label"), side_label.label)
        if side_label.span + 2 >= width:
            check.problem(("side_label", "span"), f"竖排标签占 {side_label.span} 列，右边放不下一级、二级指标和指标列（grid 共 {width} 列）")
    columns = check.columns(("columns",), data["columns"]) if "columns" in data else ()
    blocks = check.blocks(width, layout, side_label.span if side_label else 0, columns)
    if "levels" not in check.inherited:
        for level1, level2s in data["levels"].items():
            check.problems.extend(_repeated(loaded, ("levels", level1), level2s, "二级指标"))
    level_labels = tuple(data.get("level_labels", ("一级指标", "二级指标")))
    for i, label in enumerate(level_labels):
        check.labels_without_fields(("level_labels", i), label)
    goals_label = data.get("goals_label", "总体目标")
    check.labels_without_fields(("goals_label",), goals_label)
    above, below = check.lines("above", fields), check.lines("below", fields)
    if check.problems:
        raise UserError(check.problems)
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
        columns=columns,
        levels=tuple((level1, tuple(level2s)) for level1, level2s in data["levels"].items()),
        empty_level2=data.get("empty_level2", "omit"),
        source=path,
        layout=layout,
        goals_label=goals_label,
        side_label=side_label,
        above=above,
        below=below,
        fields=tuple(fields.items()),
        declared=declared,
        scoring=data.get("scoring", ""),
        stage_profiles=_stage_profiles(check, data),
    )


def _grid(check: _Checker, data: dict[str, Any]) -> tuple[float, ...]:
    """The grid's widths scaled to the text block; a column too narrow for one character is refused."""
    grid = tuple(float(w) for w in data["grid"])
    scale = TEXT_BLOCK_MM / sum(grid)
    grid_mm = tuple(round(w * scale, 2) for w in grid)
    for i, (written, scaled) in enumerate(zip(grid, grid_mm, strict=True)):
        if scaled < MIN_COLUMN_MM:
            check.problem(("grid", i), f"第 {i + 1} 列缩放到 {TEXT_BLOCK_MM:g} mm 版心宽后只有 {scaled:g} mm（写的是 {written:g}），"
                                       f"放不下一个 {CELL_FONT_PT:g} pt 的表格字（加上单元格内边距至少 {MIN_COLUMN_MM:g} mm），"
                                       "文字会越过表格边框（column too narrow）：是否少写或多写了一位（如把 16.2 写成 1.62）？")
    return grid_mm


def _stage_profiles(check: _Checker, data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """`evaluation_profile:` / `monitoring_profile:` of a targets profile: names, never paths."""
    named = []
    for stage in STAGE_TABLES:
        name = data.get(f"{stage}_profile")
        if name is None:
            continue
        if not PROFILE_NAME.fullmatch(name):
            check.problem((f"{stage}_profile",), f"格式名“{name}”无效：只能是字母、数字、汉字、- 和 _")
        named.append((stage, name))
    return tuple(named)


def _check_stage(check: _Checker, data: dict[str, Any], path: Path, table: TableKind) -> Profile:
    """A 自评表 or 监控表 layout: header rows, the indicator grid's columns, footer rows, all on one grid."""
    for key in ("grid", "header", "columns"):
        if key not in data:
            check.problem((), f"缺少 {key}：自评表、监控表的格式要写明 grid、header、columns，或用 base: 某个格式 继承")
    for key in ("blocks", "levels", "layout", "goals_label", "empty_level2", "evaluation_profile", "monitoring_profile"):
        if key in data and key not in check.inherited:
            check.problem((key,), f"自评表、监控表的格式没有 {key}：指标和它们的次序取自项目的绩效目标（项目表的格式）")
    if check.problems:
        raise UserError(check.problems)
    fields, _ = check.fields(table)
    grid_mm = _grid(check, data)
    width = len(grid_mm)
    header = check.header(width, fields)
    footer = check.header(width, fields, "footer")
    side = data.get("side_label")
    side_label = SideLabel(side["label"], side.get("span", 1)) if side else None
    columns = check.columns(("columns",), data["columns"], STAGE_TABLE_FIELDS[table][1])
    spans = (side_label.span if side_label else 0) + 2 + sum(column.span for column in columns)
    if spans != width:
        what = "竖排标签、一级、二级指标两列" if side_label else "一级、二级指标两列"
        check.problem(("columns",), f"{what}加上指标列共占 {spans} 列，应正好占满 grid 的 {width} 列")
    groups = [column.group for column in columns]
    for c, group in enumerate(groups):
        if group and group in groups[:c] and groups[c - 1] != group:
            check.problem(("columns", c, "group"), f"同一组（group “{group}”）的列要挨在一起")
    level1_format = data.get("level1_format", "{name}")
    for placeholder in ANY_PLACEHOLDER.findall(level1_format):
        if placeholder not in ("{name}", "{points}"):
            check.problem(("level1_format",), f"level1_format 里只能写 {{name}}（一级指标）和 {{points}}（它的分值），不认识“{placeholder}”")
    level_labels = tuple(data.get("level_labels", ("一级指标", "二级指标")))
    above, below = check.lines("above", fields), check.lines("below", fields)
    if check.problems:
        raise UserError(check.problems)
    return Profile(
        name=path.stem, title=data.get("name", path.stem), description=data.get("description", ""), table=table,
        table_title=data.get("title", "项目支出绩效自评表" if table == "evaluation" else "项目支出绩效目标执行监控表"),
        grid_mm=grid_mm, header=tuple(header), blocks=(), level_labels=(level_labels[0], level_labels[1]),
        columns=columns, levels=(), empty_level2="omit", source=path, side_label=side_label, above=above, below=below,
        scoring=data.get("scoring", ""), footer=tuple(row for row in footer if isinstance(row, tuple)),
        level1_format=level1_format, number_style=data.get("number_style", "fixed"),
    )
