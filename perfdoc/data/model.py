"""Stage 3 — model: validated data → immutable objects the renderers consume.

Everything a renderer needs is computed here (numbering, row spans of the merged 一级 / 二级 cells,
amounts as text, totals), so templates only place values and never do arithmetic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfdoc.data.fields import DEPARTMENT_FIELDS, DEPARTMENT_SETTINGS, INDICATOR_FIELDS, SECTION_FIELDS
from perfdoc.data.profile import Profile
from perfdoc.data.text import amount_text

CHINESE_NUMERALS = "零一二三四五六七八九"
MAX_CHINESE_NUMBER = 9999  # the schema caps numbered lists well below this (schema.MAX_LIST_ITEMS)


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 100 → 一百, 101 → 一百零一, 110 → 一百一十, 1001 → 一千零一.

    A run of zeros inside the number is read as one 零, trailing zeros not at all, and 10–19 are
    十… rather than 一十…, as numbered headings are written.
    """
    if not 0 < n <= MAX_CHINESE_NUMBER:
        raise ValueError(n)
    text, zero_pending = "", False
    for digit, unit in zip(f"{n:04d}", ("千", "百", "十", ""), strict=True):
        if digit == "0":
            zero_pending = zero_pending or bool(text)
            continue
        text += ("零" if zero_pending else "") + CHINESE_NUMERALS[int(digit)] + unit
        zero_pending = False
    return text[1:] if 10 <= n < 20 else text


def default_output_name(data: dict[str, Any]) -> str:
    """The outputs' file name without extension: `output_name`, else department name + title."""
    return data.get("output_name") or f"{data['department']}{data['title']}"


IndicatorKey = tuple[str, str, str]  # 一级, 二级, 三级 (numbered when repeated)


def numbered_key(level1: str, level2: str, name: str, seen: dict[IndicatorKey, int]) -> IndicatorKey:
    """An indicator row's name: (一级, 二级, 三级). Rows with the same 三级 name under one 二级 are
    told apart by their order, the second being `名称（第2个）`. `diff` pairs rows by it, and the
    stage files (evaluation/, monitoring/) name their indicators by it, never by position."""
    base = (level1, level2, name)
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else (level1, level2, f"{name}（第{seen[base]}个）")


@dataclass(frozen=True)
class Indicator:
    """One 三级指标: one row of the indicator grid, every field kept separate, by its key in
    perfdoc.data.fields.INDICATOR_FIELDS (the one list of them), in that order."""

    values: tuple[tuple[str, Any], ...]  # the fields that are filled in

    @property
    def name(self) -> str:
        return str(self.get("name"))

    def get(self, key: str) -> Any:
        """A field's value ("" when it is not filled in)."""
        if key not in INDICATOR_FIELDS:
            raise KeyError(key)
        return dict(self.values).get(key, "")

    def as_dict(self) -> dict[str, Any]:
        """The fields that are filled in, by key (what a joined cell and the diff read)."""
        return dict(self.values)


@dataclass(frozen=True)
class IndicatorRow:
    """One table row with the merge information the grid needs.

    `level1_span` / `level2_span` are the number of rows the merged cell spans when this row opens
    it, and 0 when the row lies under a cell opened above.
    """

    level1: str
    level2: str
    indicator: Indicator
    level1_span: int
    level2_span: int


@dataclass(frozen=True)
class Level2Group:
    name: str
    indicators: tuple[Indicator, ...]  # empty: printed as one empty row (profile empty_level2: row)


@dataclass(frozen=True)
class Level1Group:
    name: str
    groups: tuple[Level2Group, ...]

    @property
    def row_count(self) -> int:
        return sum(max(1, len(group.indicators)) for group in self.groups)


@dataclass(frozen=True)
class IndicatorBlock:
    """A goal and its indicators: the one block of a Hebei table, or 长期 / 年度 of an 88号 form."""

    source: str  # annual or long_term (perfdoc.data.fields.BLOCK_SOURCES)
    goal: str
    groups: tuple[Level1Group, ...]

    @property
    def rows(self) -> tuple[IndicatorRow, ...]:
        rows: list[IndicatorRow] = []
        for level1 in self.groups:
            for g, level2 in enumerate(level1.groups):
                for i, indicator in enumerate(level2.indicators):
                    rows.append(IndicatorRow(
                        level1=level1.name,
                        level2=level2.name,
                        indicator=indicator,
                        level1_span=level1.row_count if g == 0 and i == 0 else 0,
                        level2_span=len(level2.indicators) if i == 0 else 0,
                    ))
        return tuple(rows)

    def keyed_rows(self) -> tuple[tuple[IndicatorKey, IndicatorRow], ...]:
        """Every row with its (一级, 二级, 三级) key (numbered_key), in table order."""
        seen: dict[IndicatorKey, int] = {}
        return tuple((numbered_key(r.level1, r.level2, r.indicator.name, seen), r) for r in self.rows)


@dataclass(frozen=True)
class PlanPoint:
    label: str  # 3月底 …
    percent: Decimal | None  # None: left blank

    @property
    def text(self) -> str:
        return "" if self.percent is None else f"{amount_text(self.percent)}%"


@dataclass(frozen=True)
class Project:
    """One budget project: its facts (perfdoc.data.fields.PROJECT_FIELDS and the profile's own fields),
    plan, blocks and table grid."""

    code: str  # the project's key: its code, or its file's name when the profile uses no code
    name: str
    facts: tuple[tuple[str, Any], ...]  # every header field the file fills in, by key
    spending_plan: tuple[PlanPoint, ...]
    blocks: tuple[IndicatorBlock, ...]
    source_file: str
    known_by_code: bool = True  # the profile prints or asks for a code (Profile.uses_code)

    def fact(self, key: str) -> Any:
        return dict(self.facts).get(key)

    @property
    def budget(self) -> Decimal:
        return _decimal(self.fact("budget") or 0)

    @property
    def fiscal_funds(self) -> Decimal:
        return _decimal(self.fact("fiscal_funds") or 0)

    @property
    def budget_text(self) -> str:
        return amount_text(self.budget)

    @property
    def fiscal_funds_text(self) -> str:
        return amount_text(self.fiscal_funds)

    @property
    def annual(self) -> IndicatorBlock | None:
        return next((b for b in self.blocks if b.source == "annual"), None)

    @property
    def goal(self) -> str:
        return self.annual.goal if self.annual else ""

    @property
    def indicator_rows(self) -> tuple[IndicatorRow, ...]:
        return self.annual.rows if self.annual else ()

    @property
    def title(self) -> str:
        """`142001001 劳务派遣工资`: how the project is named in the outline and in messages (its
        name alone when its table has no code: the file's name is nothing the table shows)."""
        return f"{self.code} {self.name}" if self.known_by_code else self.name


@dataclass(frozen=True)
class NumberedItem:
    number: str  # 一, 二 … (the template adds （ ） or 、)
    text: str


@dataclass(frozen=True)
class SubTarget:
    number: str
    heading: str
    target: str
    indicators: str


@dataclass(frozen=True)
class DepartmentTable:
    """The 部门整体支出绩效目标表: the department as one record, in its own profile's table."""

    profile: Profile
    facts: tuple[tuple[str, Any], ...]
    spending_plan: tuple[PlanPoint, ...]
    blocks: tuple[IndicatorBlock, ...]

    @property
    def title(self) -> str:
        return self.profile.table_title


@dataclass(frozen=True)
class Department:
    name: str
    year: int
    title: str
    output_name: str
    # The narrative is optional: a department may submit tables only.
    overall_target: tuple[str, ...]
    sub_targets: tuple[SubTarget, ...]
    measures: tuple[NumberedItem, ...]
    fonts_dir: Path | None
    table: DepartmentTable | None = None
    summary_table: bool = False  # department.yaml `summary_table: true`: print the 项目汇总表
    # output_name / fonts_dir exactly as department.yaml writes them (when it does): the XLSX export
    # records the file's values, not the derived name or the resolved folder.
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def headings(self) -> dict[str, str]:
        """`一、总体绩效目标` …, by field key, numbered over the sections this department writes."""
        present = [key for key in SECTION_FIELDS if getattr(self, key)]
        return {key: f"{chinese_number(i)}、{DEPARTMENT_FIELDS[key].label}" for i, key in enumerate(present, 1)}


@dataclass(frozen=True)
class Part:
    """What one rendering holds: the front matter and/or a run of projects.

    The HTML preview and the DOCX render the whole document; the PDF lays out pieces (see
    Document.pieces and perfdoc.render.pdf_pieces) and assembles them.
    """

    front: bool
    projects: tuple[Project, ...]
    continues_tables: bool = False  # the project tables began in an earlier piece (their bookmark is there)


@dataclass(frozen=True)
class Document:
    """The whole submission: department text, then one table per project in code order."""

    department: Department
    projects: tuple[Project, ...]
    profile: Profile

    @property
    def total_budget(self) -> Decimal:
        return sum((p.budget for p in self.projects), Decimal(0))

    @property
    def total_fiscal_funds(self) -> Decimal:
        return sum((p.fiscal_funds for p in self.projects), Decimal(0))

    @property
    def has_summary(self) -> bool:
        """Whether the 项目汇总表 is printed: the department file asks for it and there are projects to sum."""
        return self.department.summary_table and bool(self.projects)

    @property
    def whole(self) -> Part:
        return Part(True, self.projects)

    @property
    def first_project_follows_title(self) -> bool:
        """With nothing between them (no section, no department-wide table, no 项目汇总表), the first
        project's table follows the title on the same page instead of starting a new one."""
        return bool(self.projects) and not (self.department.headings or self.department.table or self.has_summary)

    def pieces(self) -> list[Part]:
        """The document cut where a new page starts anyway: the front matter (with the first project
        when that follows the title on its page), then each project. A piece's pages depend on it
        alone, so a changed project is laid out again on its own (perfdoc.render.pdf_pieces)."""
        with_front = 1 if self.first_project_follows_title else 0
        rest = self.projects[with_front:]
        return [Part(True, self.projects[:with_front]),
                *(Part(False, (project,), continues_tables=with_front > 0 or i > 0) for i, project in enumerate(rest))]


def _decimal(value: int | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


def _indicator(row: dict[str, Any]) -> Indicator:
    return Indicator(tuple((key, row[key]) for key in INDICATOR_FIELDS if row.get(key) not in (None, "")))


def build_blocks(data: dict[str, Any], profile: Profile) -> tuple[IndicatorBlock, ...]:
    """Each of the profile's blocks from its data; indicator groups follow the profile's order."""
    blocks = []
    for spec in profile.blocks:
        source = data if spec.source == "annual" else (data.get(spec.source) or {})
        authored = source.get("indicators") or {}
        groups = []
        for level1, level2s in profile.levels:
            present = authored.get(level1) or {}
            level2_groups = tuple(
                Level2Group(level2, tuple(_indicator(row) for row in present[level2] or ()))
                for level2 in level2s
                if level2 in present and (present[level2] or profile.empty_level2 == "row"))
            if level2_groups:
                groups.append(Level1Group(level1, level2_groups))
        blocks.append(IndicatorBlock(spec.source, source.get("goal") or "", tuple(groups)))
    return tuple(blocks)


def _plan(data: dict[str, Any], profile: Profile) -> tuple[PlanPoint, ...]:
    plan = data.get("spending_plan") or {}
    return tuple(PlanPoint(point, None if plan.get(point) is None else _decimal(plan[point]))
                 for point in profile.checkpoints)


def project_key(data: dict[str, Any], profile: Profile, source_file: str) -> str:
    """What a project is known by: its code, or its file's name (without .yaml) when the profile
    neither prints nor asks for a code (Profile.uses_code)."""
    if profile.uses_code and data.get("code"):
        return str(data["code"])
    return Path(source_file).stem


def build_project(data: dict[str, Any], profile: Profile, source_file: str) -> Project:
    facts = tuple((key, data[key]) for key in profile.record_fields if data.get(key) is not None)
    plan = _plan(data, profile)
    blocks = build_blocks(data, profile)
    return Project(
        code=project_key(data, profile, source_file),
        name=data["name"],
        facts=facts,
        spending_plan=plan,
        blocks=blocks,
        source_file=source_file,
        known_by_code=profile.uses_code,
    )


def build_department_table(data: dict[str, Any], department_name: str, profile: Profile) -> DepartmentTable:
    facts = tuple((key, value) for key, value in {**data, "department": department_name}.items()
                  if key in profile.record_fields and value is not None)
    return DepartmentTable(profile, facts, _plan(data, profile), build_blocks(data, profile))


def build_department(data: dict[str, Any], department_file: Path,
                     table_profile: Profile | None = None) -> Department:
    fonts_dir = data.get("fonts_dir")
    table = data.get("department_table")
    return Department(
        name=data["department"],
        year=data["year"],
        title=data["title"],
        output_name=default_output_name(data),
        overall_target=tuple(data.get("overall_target") or ()),
        sub_targets=tuple(SubTarget(chinese_number(i), item["heading"], item["target"], item["indicators"])
                          for i, item in enumerate(data.get("sub_targets") or (), 1)),
        measures=tuple(NumberedItem(chinese_number(i), text) for i, text in enumerate(data.get("measures") or (), 1)),
        # realpath, not Path.resolve(): a symlink loop must reach perfdoc.render.fonts, which explains it
        fonts_dir=Path(os.path.realpath(department_file.parent / fonts_dir)) if fonts_dir else None,
        table=build_department_table(table, data["department"], table_profile) if table and table_profile else None,
        summary_table=data.get("summary_table") is True,
        settings=tuple((key, data[key]) for key in DEPARTMENT_SETTINGS if data.get(key) is not None),
    )


def build_document(department: Department, projects: list[Project], profile: Profile) -> Document:
    return Document(department, tuple(sorted(projects, key=lambda p: (p.code, p.source_file))), profile)
