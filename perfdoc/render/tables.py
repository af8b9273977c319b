"""A record (a project, or the department as a whole) laid out as the profile's table grid.

This is where a profile's description becomes rows and cells with their spans, once, before any
renderer runs: the template prints the cells, the HTML read-back hands the same cells to the DOCX
writer, and the page estimate measures them. Every cell carries one of four looks (perfdoc.looks):
`label` (bold caption), `level` (一级 / 二级 and checkpoint captions), `left` (long text) and
`center` (short values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perfdoc.data.fields import INDICATOR_FIELDS, indicator_text
from perfdoc.data.model import DepartmentTable, Project
from perfdoc.data.profile import PLACEHOLDER, Block, HeaderCell, PlanRow, Profile
from perfdoc.data.text import value_text

# A caption ending in a short full-width parenthesis keeps it on one line: `资金支出计划（%）`.
NOWRAP_TAIL_MAX = 5


@dataclass(frozen=True)
class GridCell:
    text: str
    look: str  # a key of perfdoc.looks.CELL_LOOKS: label, level, left, center
    header: bool = False  # a caption (<th>) rather than data (<td>)
    colspan: int = 1
    rowspan: int = 1

    @property
    def nowrap_at(self) -> int:
        """Where the unbreakable tail of a caption starts (len(text) when there is none)."""
        start = self.text.rfind("（")
        if self.look == "label" and self.text.endswith("）") and 0 < start and len(self.text) - start <= NOWRAP_TAIL_MAX:
            return start
        return len(self.text)


@dataclass(frozen=True)
class GridRow:
    cells: tuple[GridCell, ...]
    joins_next_table: bool = False  # the facts' last row: one rule with the indicator grid below


@dataclass(frozen=True)
class GridTable:
    kind: str  # facts (the header block and goals) or indicators (the grid, its header repeating)
    columns_mm: tuple[float, ...]
    head: tuple[GridRow, ...]  # repeats on every page the table runs onto
    groups: tuple[tuple[GridRow, ...], ...]  # kept on one page where they fit (one per 一级)

    @property
    def rows(self) -> tuple[GridRow, ...]:
        return self.head + tuple(row for group in self.groups for row in group)

    def cell_widths(self) -> list[list[tuple[GridCell, float]]]:
        """Each row's cells with their width in mm, skipping grid columns that a cell above spans into."""
        covered: dict[tuple[int, int], bool] = {}
        placed = []
        for r, row in enumerate(self.rows):
            column, cells = 0, []
            for cell in row.cells:
                while covered.get((r, column)):
                    column += 1
                cells.append((cell, sum(self.columns_mm[column:column + cell.colspan])))
                for below in range(1, cell.rowspan):
                    for c in range(column, column + cell.colspan):
                        covered[(r + below, c)] = True
                column += cell.colspan
            placed.append(cells)
        return placed


def plan_column_spans(count: int, columns: int) -> tuple[int, ...]:
    """Spread `count` checkpoints over `columns` grid columns, wider cells at the ends: 4 in 6 → (2, 1, 1, 2)."""
    if not 0 < count <= columns:
        raise ValueError(f"{count} checkpoints do not fit {columns} columns")
    spans = [1] * count
    extra, turn = columns - count, 0
    while extra:
        spans[0 if turn % 2 == 0 else -1] += 1
        extra, turn = extra - 1, turn + 1
    return tuple(spans)


def _header_cell(cell: HeaderCell, facts: Mapping[str, Any], profile: Profile) -> GridCell:
    if cell.kind == "label":
        return GridCell(cell.content, "label", True, cell.span)
    if cell.kind == "field":
        field = profile.record_fields[cell.content]
        return GridCell(value_text(facts.get(cell.content)), field.align, False, cell.span)
    sentence = PLACEHOLDER.sub(lambda m: value_text(facts.get(m.group(1))), cell.content)
    return GridCell(sentence, "left", False, cell.span)


def _plan_rows(plan: PlanRow, spending_plan: Mapping[str, Decimal | None], width: int) -> list[GridRow]:
    spans = plan_column_spans(len(plan.checkpoints), width - plan.label_span)
    labels = [GridCell(plan.label, "label", True, plan.label_span, 2)]
    labels += [GridCell(point, "level", True, span) for point, span in zip(plan.checkpoints, spans, strict=True)]
    values = [GridCell("" if spending_plan.get(point) is None else f"{value_text(spending_plan[point])}%", "center",
                       False, span) for point, span in zip(plan.checkpoints, spans, strict=True)]
    return [GridRow(tuple(labels)), GridRow(tuple(values))]


def _block_rows(block: Block, goal: str, width: int) -> list[GridRow]:
    rows = []
    if block.goal_label:
        rows.append(GridRow((GridCell(block.goal_label, "label", True, block.goal_span),
                             GridCell(goal, "left", False, width - block.goal_span))))
    if block.title:
        rows.append(GridRow((GridCell(block.title, "label", True, width),)))
    return rows


def _indicator_table(profile: Profile, groups: tuple[Any, ...]) -> GridTable:
    """The grid: 一级 and 二级 captions merged down their rows, then the profile's columns."""
    level1_label, level2_label = profile.level_labels
    head = GridRow((GridCell(level1_label, "label", True), GridCell(level2_label, "label", True),
                    *(GridCell(c.label, "label", True, c.span) for c in profile.columns)))
    bodies = []
    for level1 in groups:
        rows = []
        first_of_level1 = True
        for level2 in level1.groups:
            indicators = level2.indicators or (None,)  # an empty 二级 printed as one empty row
            for i, indicator in enumerate(indicators):
                cells = []
                if first_of_level1:
                    cells.append(GridCell(level1.name, "level", True, 1, level1.row_count))
                    first_of_level1 = False
                if i == 0:
                    cells.append(GridCell(level2.name, "level", True, 1, len(indicators)))
                for column in profile.columns:
                    field = INDICATOR_FIELDS[column.fields[0]]
                    text = "" if indicator is None else indicator_text(indicator.as_dict(), column.fields)
                    cells.append(GridCell(text, field.align, False, column.span))
                rows.append(GridRow(tuple(cells)))
        bodies.append(tuple(rows))
    return GridTable("indicators", profile.grid_mm, (head,), tuple(bodies))


def record_tables(profile: Profile, facts: Mapping[str, Any], spending_plan: Mapping[str, Decimal | None],
                  blocks: tuple[Any, ...]) -> tuple[GridTable, ...]:
    """The tables of one record, in order: facts (header + first goal), its grid, then any further block."""
    width = len(profile.grid_mm)
    tables: list[GridTable] = []
    facts_rows: list[GridRow] = []
    for row in profile.header:
        if isinstance(row, PlanRow):
            facts_rows += _plan_rows(row, spending_plan, width)
        else:
            facts_rows.append(GridRow(tuple(_header_cell(cell, facts, profile) for cell in row)))
    for spec, block in zip(profile.blocks, blocks, strict=True):
        facts_rows += _block_rows(spec, block.goal, width)
        if facts_rows:
            last = facts_rows[-1]
            facts_rows[-1] = GridRow(last.cells, joins_next_table=True)
            tables.append(GridTable("facts", profile.grid_mm, (), (tuple(facts_rows),)))
        tables.append(_indicator_table(profile, block.groups))
        facts_rows = []
    return tuple(tables)


def project_tables(project: Project, profile: Profile) -> tuple[GridTable, ...]:
    """A project's tables under the document's profile."""
    return record_tables(profile, dict(project.facts), {point.label: point.percent for point in project.spending_plan},
                         project.blocks)


def department_table_tables(table: DepartmentTable) -> tuple[GridTable, ...]:
    """The department-wide table's tables under its own profile."""
    return record_tables(table.profile, dict(table.facts), {point.label: point.percent for point in table.spending_plan},
                         table.blocks)
