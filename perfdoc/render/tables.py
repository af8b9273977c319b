"""A record (a project, or the department as a whole) laid out as the profile's table grid.

This is where a profile's description becomes rows and cells with their spans, once, before any
renderer runs: the template prints the cells, the HTML read-back hands the same cells to the DOCX
writer, and the page estimate measures them. Every cell carries one of four looks (perfdoc.looks):
`label` (bold caption), `level` (一级 / 二级 and checkpoint captions), `left` (long text) and
`center` (short values).

The shapes a profile may ask for (docs/profiles.md): header cells spanning rows and columns; one or
two goal + indicator blocks, stacked (each with its goal row and grid) or side by side (one grid,
the 一级 / 二级 columns shared, each block's columns under its title, rows paired by 二级); a
label left of the indicator grid spanning all its rows (安徽: 绩效指标); lines above and below.
`{year}` and `{year+2}` in labels are worked out here from the department's year.

Where a PDF page breaks inside a merged cell, the PDF is laid out again with that cell cut at the
page's first row and its text repeated there (split_at, perfdoc.render.pdf): each part of a 一级
group then shows its caption.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from perfdoc.data.fields import INDICATOR_FIELDS, indicator_text
from perfdoc.data.grid import placed as place_cells
from perfdoc.data.model import DepartmentTable, Indicator, IndicatorBlock, Project
from perfdoc.data.profile import PLACEHOLDER, Block, CaptionLine, Column, HeaderCell, PlanRow, Profile
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
    # No rule on this edge: the cell continues into the one above / below it (the side label's
    # head cell and its body cell read as one tall cell; a facts cell reaching the grid below).
    open_top: bool = False
    open_bottom: bool = False

    @property
    def nowrap_at(self) -> int:
        """Where the unbreakable tail of a caption starts (len(text) when there is none)."""
        start = self.text.rfind("（")
        if self.look == "label" and self.text.endswith("）") and 0 < start and len(self.text) - start <= NOWRAP_TAIL_MAX:
            return start
        return len(self.text)

    @property
    def css_class(self) -> str:
        """The class the template writes: the look, then `open-top` / `open-bottom` where a rule is left out."""
        return " ".join([self.look, *(["open-top"] if self.open_top else []), *(["open-bottom"] if self.open_bottom else [])])


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
    key: str = ""  # which table of a rendering this is (PrintGrids): the PDF finds its page breaks by it

    @property
    def rows(self) -> tuple[GridRow, ...]:
        return self.head + tuple(row for group in self.groups for row in group)

    @property
    def group_starts(self) -> tuple[int, ...]:
        """The body row (0-based over all groups) each group starts at."""
        starts, at = [], 0
        for group in self.groups:
            starts.append(at)
            at += len(group)
        return tuple(starts)

    def cell_widths(self) -> list[list[tuple[GridCell, float]]]:
        """Each row's cells with their width in mm, skipping grid columns that a cell above spans into."""
        return [[(cell, sum(self.columns_mm[column:column + cell.colspan])) for column, cell in row]
                for row in _placed(self.rows)]


def _placed(rows: Iterable[GridRow]) -> list[list[tuple[int, GridCell]]]:
    """Each row's cells with the grid column each starts at (perfdoc.data.grid)."""
    return place_cells([row.cells for row in rows], lambda cell: cell.colspan, lambda cell: cell.rowspan)


def split_at(table: GridTable, starts: Iterable[int]) -> GridTable:
    """The table with its body cut before each of the body rows `starts` (0-based over all groups):
    a new group starts there, and every merged cell running across the cut is cut too, its text
    repeated in the part below. Used where a PDF page begins inside a group (perfdoc.render.pdf)."""
    body = [row for group in table.groups for row in group]
    cuts = sorted({s for s in starts if 0 < s < len(body)})
    if not cuts:
        return table
    pieces: dict[int, list[tuple[int, GridCell]]] = {r: [] for r in range(len(body))}
    for r, cells in enumerate(_placed(body)):
        for column, cell in cells:
            top, bottom = r, r + cell.rowspan
            inner = [cut for cut in cuts if top < cut < bottom]
            if not inner:
                pieces[r].append((column, cell))
                continue
            bounds = [top, *inner, bottom]
            for i, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
                pieces[start].append((column, replace(cell, rowspan=end - start,
                                                      open_bottom=cell.open_bottom and i == len(bounds) - 2)))
    rows = [GridRow(tuple(cell for _, cell in sorted(pieces[r], key=lambda item: item[0])), body[r].joins_next_table)
            for r in range(len(body))]
    boundaries = sorted(set(table.group_starts) | set(cuts)) + [len(body)]
    groups = tuple(tuple(rows[a:b]) for a, b in zip(boundaries, boundaries[1:], strict=False) if b > a)
    return replace(table, groups=groups)


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


def filled_in(template: str, facts: Mapping[str, Any], department: str = "") -> str:
    """A sentence or line with its `{field}` placeholders replaced by the record's values."""
    return PLACEHOLDER.sub(lambda m: department if m.group(1) == "department" and "department" not in facts
                           else value_text(facts.get(m.group(1))), template)


def header_cell(cell: HeaderCell, facts: Mapping[str, Any], profile: Profile) -> GridCell:
    if cell.kind == "label":
        return GridCell(cell.content, "label", True, cell.span, cell.rowspan)
    if cell.kind == "field":
        field = profile.record_fields[cell.content]
        return GridCell(value_text(facts.get(cell.content)), field.align, False, cell.span, cell.rowspan)
    return GridCell(filled_in(cell.content, facts), "left", False, cell.span, cell.rowspan)


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


def _side_by_side_goal_rows(profile: Profile, goals: list[str]) -> list[GridRow]:
    """The blocks' goals next to each other, each over its block's columns, under the blocks' goal labels."""
    if not any(block.goal_label for block in profile.blocks):
        return []
    shared = profile.side_span + 2
    spans = [sum(column.span for column in profile.block_columns(block)) for block in profile.blocks]
    labels = [GridCell(profile.goals_label, "label", True, shared, 2)]
    labels += [GridCell(block.goal_label, "label", True, span) for block, span in zip(profile.blocks, spans, strict=True)]
    texts = [GridCell(goal, "left", False, span) for goal, span in zip(goals, spans, strict=True)]
    return [GridRow(tuple(labels)), GridRow(tuple(texts))]


def _indicator_cells(columns: tuple[Column, ...], indicator: Indicator | None) -> list[GridCell]:
    cells = []
    for column in columns:
        field = INDICATOR_FIELDS[column.fields[0]]
        text = "" if indicator is None else indicator_text(indicator.as_dict(), column.fields)
        cells.append(GridCell(text, field.align, False, column.span))
    return cells


# One row of the grid: its 一级, its 二级, and for each block the indicator it shows there (None: empty cells).
PairedRow = tuple[str, str, tuple[Indicator | None, ...]]


def _paired_rows(profile: Profile, blocks: tuple[IndicatorBlock, ...]) -> list[list[list[PairedRow]]]:
    """The grid's rows by 一级, then 二级: each block's indicators under one 二级 side by side, row i
    with row i; the block with fewer gets empty cells. One block alone gives its own rows."""
    found = [{level1.name: {level2.name: level2.indicators for level2 in level1.groups} for level1 in block.groups}
             for block in blocks]
    result = []
    for level1, level2s in profile.levels:
        groups = []
        for level2 in level2s:
            present = [found_in.get(level1, {}).get(level2) for found_in in found]
            if all(indicators is None for indicators in present):
                continue
            count = max([len(indicators or ()) for indicators in present] + [1])
            groups.append([(level1, level2, tuple((indicators or ())[i] if i < len(indicators or ()) else None
                                                   for indicators in present)) for i in range(count)])
        if groups:
            result.append(groups)
    return result


def _indicator_table(profile: Profile, specs: tuple[Block, ...], blocks: tuple[IndicatorBlock, ...]) -> GridTable:
    """The grid: the side label (if any), 一级 and 二级 captions merged down their rows, then each
    block's columns (one block stacked; two side by side under their titles)."""
    level1_label, level2_label = profile.level_labels
    side = profile.side_label
    columns = [profile.block_columns(spec) for spec in specs]
    two_rows = len(specs) > 1
    head_span = 2 if two_rows else 1
    first: list[GridCell] = []
    if side:
        first.append(GridCell("", "label", True, side.span, head_span, open_bottom=True))
    first += [GridCell(level1_label, "label", True, 1, head_span), GridCell(level2_label, "label", True, 1, head_span)]
    labels = [GridCell(c.label, "label", True, c.span) for block_columns in columns for c in block_columns]
    head: tuple[GridRow, ...]
    if two_rows:
        first += [GridCell(spec.title, "label", True, sum(c.span for c in block_columns))
                  for spec, block_columns in zip(specs, columns, strict=True)]
        head = (GridRow(tuple(first)), GridRow(tuple(labels)))
    else:
        head = (GridRow(tuple(first + labels)),)
    paired = _paired_rows(profile, blocks)
    body_rows = sum(len(group) for level1 in paired for group in level1)
    if side and not body_rows:  # no rows for the label to stand beside: it stands in the head
        head = (GridRow((replace(head[0].cells[0], text=side.label, open_bottom=False), *head[0].cells[1:])), *head[1:])
    bodies: list[tuple[GridRow, ...]] = []
    for level1 in paired:
        rows: list[GridRow] = []
        for g, group in enumerate(level1):
            for i, (level1_name, level2_name, indicators) in enumerate(group):
                cells = []
                if side and not bodies and not rows:
                    cells.append(GridCell(side.label, "label", True, side.span, body_rows, open_top=True))
                if g == 0 and i == 0:
                    cells.append(GridCell(level1_name, "level", True, 1, sum(len(x) for x in level1)))
                if i == 0:
                    cells.append(GridCell(level2_name, "level", True, 1, len(group)))
                for block_columns, indicator in zip(columns, indicators, strict=True):
                    cells += _indicator_cells(block_columns, indicator)
                rows.append(GridRow(tuple(cells)))
        bodies.append(tuple(rows))
    if side and bodies:  # the label spans every row: one group (a row group holds a rowspan)
        bodies = [tuple(row for body in bodies for row in body)]
    return GridTable("indicators", profile.grid_mm, head, tuple(bodies))


def facts_table(profile: Profile, rows: list[GridRow]) -> GridTable:
    """Header and goal rows as one table joining the grid below: its last row, and any cell reaching
    down to it, draw no bottom rule (the grid's top rule is the one)."""
    last = len(rows) - 1
    marked = []
    for r, placed in enumerate(_placed(rows)):
        cells = tuple(replace(cell, open_bottom=True) if r < last and r + cell.rowspan - 1 == last else cell
                      for _, cell in placed)
        marked.append(GridRow(cells, joins_next_table=r == last))
    return GridTable("facts", profile.grid_mm, (), (tuple(marked),))


def record_tables(profile: Profile, facts: Mapping[str, Any], spending_plan: Mapping[str, Decimal | None],
                  blocks: tuple[IndicatorBlock, ...], year: int | None = None) -> tuple[GridTable, ...]:
    """The tables of one record, in order: facts (header + first goal), its grid, then any further block;
    side by side: facts (header + the goals), then the one grid."""
    profile = profile.for_year(year)
    width = len(profile.grid_mm)
    tables: list[GridTable] = []
    facts_rows: list[GridRow] = []
    for row in profile.header:
        if isinstance(row, PlanRow):
            facts_rows += _plan_rows(row, spending_plan, width)
        else:
            facts_rows.append(GridRow(tuple(header_cell(cell, facts, profile) for cell in row)))
    if profile.layout == "side_by_side":
        facts_rows += _side_by_side_goal_rows(profile, [block.goal for block in blocks])
        if facts_rows:
            tables.append(facts_table(profile, facts_rows))
        tables.append(_indicator_table(profile, profile.blocks, blocks))
        return tuple(tables)
    for spec, block in zip(profile.blocks, blocks, strict=True):
        facts_rows += _block_rows(spec, block.goal, width)
        if facts_rows:
            tables.append(facts_table(profile, facts_rows))
        tables.append(_indicator_table(profile, (spec,), (block,)))
        facts_rows = []
    return tuple(tables)


@dataclass(frozen=True)
class Captions:
    """The lines above and below a record's table, their fields and year filled in."""

    above: tuple[CaptionLine, ...] = ()
    below: tuple[CaptionLine, ...] = ()


def record_captions(profile: Profile, facts: Mapping[str, Any], year: int | None, department: str) -> Captions:
    profile = profile.for_year(year)

    def lines(found: tuple[CaptionLine, ...]) -> tuple[CaptionLine, ...]:
        return tuple(CaptionLine(filled_in(line.left, facts, department), filled_in(line.center, facts, department),
                                 filled_in(line.right, facts, department), line.title) for line in found)

    return Captions(lines(profile.above), lines(profile.below))


def project_tables(project: Project, profile: Profile, year: int | None = None) -> tuple[GridTable, ...]:
    """A project's tables under the document's profile (`year`: the department's, for `{year}` in labels)."""
    return record_tables(profile, dict(project.facts), {point.label: point.percent for point in project.spending_plan},
                         project.blocks, year)


def department_table_tables(table: DepartmentTable, year: int | None = None) -> tuple[GridTable, ...]:
    """The department-wide table's tables under its own profile."""
    return record_tables(table.profile, dict(table.facts), {point.label: point.percent for point in table.spending_plan},
                         table.blocks, year)

