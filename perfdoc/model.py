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

from .profile import MAX_CHECKPOINTS, Profile

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
    for digit, unit in zip(f"{n:04d}", ("千", "百", "十", "")):
        if digit == "0":
            zero_pending = zero_pending or bool(text)
            continue
        text += ("零" if zero_pending else "") + CHINESE_NUMERALS[int(digit)] + unit
        zero_pending = False
    return text[1:] if 10 <= n < 20 else text


def default_output_name(data: dict[str, Any]) -> str:
    """The outputs' file name without extension: `output_name`, else department name + title."""
    return data.get("output_name") or f"{data['department']}{data['title']}"


def amount_text(value: Decimal) -> str:
    """An amount in 万元 as the author wrote it (`345.52`, `20.1`, `1174`), never `1.2E+3`."""
    return format(value, "f")


@dataclass(frozen=True)
class Indicator:
    """One 三级指标: one row of the indicator grid."""

    name: str
    description: str
    value: str
    basis: str


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
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Level1Group:
    name: str
    groups: tuple[Level2Group, ...]

    @property
    def row_count(self) -> int:
        return sum(len(group.indicators) for group in self.groups)


@dataclass(frozen=True)
class PlanPoint:
    label: str  # 3月底 …
    percent: Decimal | None  # None: left blank
    columns: int = 1  # grid columns the checkpoint's cells span (see plan_column_spans)

    @property
    def text(self) -> str:
        return "" if self.percent is None else f"{amount_text(self.percent)}%"


@dataclass(frozen=True)
class Project:
    code: str
    name: str
    budget: Decimal
    fiscal_funds: Decimal
    use: str
    spending_plan: tuple[PlanPoint, ...]
    goal: str
    indicator_groups: tuple[Level1Group, ...]
    source_file: str

    @property
    def budget_text(self) -> str:
        return amount_text(self.budget)

    @property
    def fiscal_funds_text(self) -> str:
        return amount_text(self.fiscal_funds)

    @property
    def title(self) -> str:
        """`142001001 劳务派遣工资`: how the project is named in the outline and in messages."""
        return f"{self.code} {self.name}"

    @property
    def indicator_rows(self) -> tuple[IndicatorRow, ...]:
        rows: list[IndicatorRow] = []
        for level1 in self.indicator_groups:
            for g, level2 in enumerate(level1.groups):
                for i, indicator in enumerate(level2.indicators):
                    opens_level1 = g == 0 and i == 0
                    rows.append(IndicatorRow(
                        level1=level1.name,
                        level2=level2.name,
                        indicator=indicator,
                        level1_span=level1.row_count if opens_level1 else 0,
                        level2_span=len(level2.indicators) if i == 0 else 0,
                    ))
        return tuple(rows)


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
class Department:
    name: str
    year: int
    title: str
    output_name: str
    overall_target: tuple[str, ...]
    sub_targets: tuple[SubTarget, ...]
    measures: tuple[NumberedItem, ...]
    fonts_dir: Path | None


@dataclass(frozen=True)
class Part:
    """A piece of the document rendered on its own: the front matter and/or a run of projects.

    A short document is one part. A long one (hundreds of projects) is laid out part by part, so
    memory stays bounded and unchanged parts come from the cache; see perfdoc.render_pdf.
    """

    front: bool
    projects: tuple[Project, ...]


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
    def whole(self) -> Part:
        return Part(True, self.projects)

    def parts(self, projects_per_part: int) -> list[Part]:
        """The whole document when it is short; else the front with the first run, then runs."""
        if len(self.projects) <= projects_per_part:
            return [self.whole]
        runs = [self.projects[i:i + projects_per_part] for i in range(0, len(self.projects), projects_per_part)]
        return [Part(i == 0, run) for i, run in enumerate(runs)]


PLAN_GRID_COLUMNS = MAX_CHECKPOINTS  # the table's grid right of the label column (templates/project_table.html.j2)


def plan_column_spans(count: int, columns: int = PLAN_GRID_COLUMNS) -> tuple[int, ...]:
    """Spread `count` checkpoints over the grid, wider cells at the ends: 4 → (2, 1, 1, 2)."""
    if not 0 < count <= columns:
        raise ValueError(f"{count} checkpoints do not fit {columns} columns")
    spans = [1] * count
    extra, turn = columns - count, 0
    while extra:
        spans[0 if turn % 2 == 0 else -1] += 1
        extra, turn = extra - 1, turn + 1
    return tuple(spans)


def _decimal(value: int | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


def build_project(data: dict[str, Any], profile: Profile, source_file: str) -> Project:
    """Indicator groups follow the profile's order, whatever order the YAML lists them in."""
    groups = []
    for level1, level2s in profile.levels:
        authored = data["indicators"].get(level1, {})
        level2_groups = tuple(
            Level2Group(level2, tuple(Indicator(**row) for row in authored[level2]))
            for level2 in level2s if level2 in authored
        )
        if level2_groups:
            groups.append(Level1Group(level1, level2_groups))
    plan = data["spending_plan"]
    return Project(
        code=data["code"],
        name=data["name"],
        budget=_decimal(data["budget"]),
        fiscal_funds=_decimal(data["fiscal_funds"]),
        use=data["use"],
        spending_plan=tuple(
            PlanPoint(point, None if plan[point] is None else _decimal(plan[point]), span)
            for point, span in zip(profile.checkpoints, plan_column_spans(len(profile.checkpoints)))),
        goal=data["goal"],
        indicator_groups=tuple(groups),
        source_file=source_file,
    )


def build_department(data: dict[str, Any], department_file: Path) -> Department:
    fonts_dir = data.get("fonts_dir")
    return Department(
        name=data["department"],
        year=data["year"],
        title=data["title"],
        output_name=default_output_name(data),
        overall_target=tuple(data["overall_target"]),
        sub_targets=tuple(SubTarget(chinese_number(i), item["heading"], item["target"], item["indicators"])
                          for i, item in enumerate(data["sub_targets"], 1)),
        measures=tuple(NumberedItem(chinese_number(i), text) for i, text in enumerate(data["measures"], 1)),
        # realpath, not Path.resolve(): a symlink loop must reach perfdoc.fonts, which explains it
        fonts_dir=Path(os.path.realpath(department_file.parent / fonts_dir)) if fonts_dir else None,
    )


def build_document(department: Department, projects: list[Project], profile: Profile) -> Document:
    return Document(department, tuple(sorted(projects, key=lambda p: (p.code, p.source_file))), profile)
