"""Tables recognised as a profile's records: which profile, where each record starts, what each cell is.

A profile (perfdoc.data.profile) says every label its table prints: the header captions, the 资金支出计划
row, the goal rows, the indicator columns. The profile whose labels a document's tables show (all
of its required indicator columns, and most of the rest) is the one the document was written in;
`--profile` names it instead. Cells are then matched by label, never by position: a value is the
cell after its caption, an indicator column is whatever lies under its caption in the grid, so a
table with other widths, merged or unmerged cells, reads the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from perfdoc.data.fields import INDICATOR_FIELDS
from perfdoc.data.profile import Column, HeaderCell, PlanRow, Profile
from perfdoc.io.notes import Note, Where
from perfdoc.io.sentence import parse_amount, parse_sentence
from perfdoc.io.source import Grid, GridCell, GridRow, Source, label_key

_JOINED = re.compile(r"(?P<nature>≥|≤|=|>|<)?\s*(?P<value>-?\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s].{0,11})?")
_AMOUNT_WITH_UNIT = re.compile(r"(?P<number>.+?)\s*(?P<unit>万元|元|万)?")


@dataclass
class Record:
    """One project (or the department-wide table) read from a source, with the notes that belong in its file."""

    kind: str  # project | department
    profile: Profile
    where: Where
    data: dict[str, Any] = field(default_factory=dict)
    comments: dict[tuple[str | int, ...], str] = field(default_factory=dict)  # YAML path → comment

    @property
    def code(self) -> str:
        return str(self.data.get("code") or "")


@dataclass
class Recognised:
    records: list[Record] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def profile_labels(profile: Profile) -> set[str]:
    labels = {label_key(label) for label in profile.level_labels}
    labels |= {label_key(c.label) for c in profile.columns}
    for row in profile.header:
        if isinstance(row, PlanRow):
            labels.add(label_key(row.label))
            labels |= {label_key(point) for point in row.checkpoints}
        else:
            labels |= {label_key(c.content) for c in row if c.kind == "label"}
    for block in profile.blocks:
        labels |= {label_key(text) for text in (block.goal_label, block.title) if text}
    return labels


def first_label(profile: Profile) -> str:
    """The caption that opens a record's table: 项目编码 (Hebei), 项目名称 (88号), 单位名称 (core)."""
    first = profile.header[0] if profile.header else None
    if isinstance(first, PlanRow):
        return label_key(first.label)
    if first:
        label = next((c.content for c in first if c.kind == "label"), "")
        if label:
            return label_key(label)
    goal = next((b.goal_label for b in profile.blocks if b.goal_label), "")
    return label_key(goal or profile.level_labels[0])


def required_labels(profile: Profile) -> set[str]:
    return ({label_key(label) for label in profile.level_labels} | {first_label(profile)}
            | {label_key(c.label) for c in profile.columns if not c.optional})


def detect_profile(keys: set[str], candidates: list[Profile]) -> Profile | None:
    """The candidate whose required labels all appear and which shows the largest share of its labels."""
    best: tuple[float, int, Profile] | None = None
    for profile in candidates:
        if not required_labels(profile) <= keys:
            continue
        labels = profile_labels(profile)
        found = len(labels & keys)
        score = (found / len(labels), found, profile)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best else None


def _slots(profile: Profile) -> dict[str, list[HeaderCell]]:
    """Header caption → the value cells that follow it in the profile's row."""
    slots: dict[str, list[HeaderCell]] = {}
    for row in profile.header:
        if isinstance(row, PlanRow):
            continue
        current: list[HeaderCell] | None = None
        for cell in row:
            if cell.kind == "label":
                current = slots.setdefault(label_key(cell.content), [])
            elif current is not None:
                current.append(cell)
    return slots


def split_joined(column: Column, text: str) -> dict[str, Any]:
    """A joined cell back into its fields: `≥95%` → nature ≥, value 95, unit %; other text → value."""
    match = _JOINED.fullmatch(text)
    if match is None or (match.group("unit") and "unit" not in column.fields) \
            or (match.group("nature") and "nature" not in column.fields):
        return {"value": text} if text else {}
    return {key: match.group(key) for key in ("nature", "value", "unit") if match.group(key)}


class _Builder:
    """Reads the rows of one record, in order, into its data."""

    def __init__(self, profile: Profile, kind: str, where: Where, notes: list[Note]):
        self.record = Record(kind, profile, where)
        self.profile = profile
        self.notes = notes
        self.pending: list[tuple[Where, str, bool]] = []
        self.slots = _slots(profile)
        self.block = 0 if len(profile.blocks) == 1 else -1
        self.columns: dict[int, tuple[str, Column | None]] = {}  # grid column → (level1|level2|column, Column)
        self.grid_table = 0
        self.plan_points: dict[int, str] = {}
        self.level1 = ""
        self.level2 = ""

    # -- messages ------------------------------------------------------------------------------
    def note(self, where: Where, message: str, comment_at: tuple[str | int, ...] | None = None) -> None:
        self.pending.append((where, message, False))
        if comment_at is not None:
            self.record.comments[comment_at] = message

    def unplaced(self, row: GridRow, cell: GridCell, why: str) -> None:
        self.note(Where(self.record.where.file, row.table, row.number, cell.column + 1),
                  f"单元格“{cell.text}”未导入：{why}")

    def finish(self) -> Record:
        for where, message, error in self.pending:
            self.notes.append(Note(where, message, error, self.record.code))
        return self.record

    # -- where the data goes ---------------------------------------------------------------------
    def _block_data(self) -> dict[str, Any]:
        spec = self.profile.blocks[max(self.block, 0)]
        if spec.source == "annual":
            return self.record.data
        return self.record.data.setdefault(spec.source, {})

    # -- rows --------------------------------------------------------------------------------------
    def row(self, row: GridRow) -> None:
        cells = [c for c in row.cells if not c.continued]
        keys = [c.key for c in row.cells]
        level_keys = [label_key(label) for label in self.profile.level_labels]
        if keys[:2] == level_keys:
            self._grid_header(row)
            return
        plan = self.profile.plan
        if self.plan_points and plan:  # the row under the checkpoints holds their percentages
            self._plan_values(row, plan)
            return
        if plan and keys and keys[0] == label_key(plan.label) and not row.cells[0].continued:
            self.plan_points = {c.column: c.text for c in row.cells[1:] if not c.continued}
            return
        for b, spec in enumerate(self.profile.blocks):
            if spec.goal_label and keys and keys[0] == label_key(spec.goal_label):
                self.block = b
                goal_cells = [c for c in cells[1:] if c.text]
                texts = list(dict.fromkeys(c.text for c in goal_cells))
                if texts:
                    self._block_data()["goal"] = texts[0]
                for extra in goal_cells:
                    if extra.text != texts[0]:
                        self.unplaced(row, extra, f"{spec.goal_label}只有一格")
                return
            if spec.title and len(set(keys)) == 1 and keys[0] == label_key(spec.title):
                self.block = b
                return
        if self.columns and row.table == self.grid_table:
            self._indicator(row)
            return
        self._header(row, cells)

    def _header(self, row: GridRow, cells: list[GridCell]) -> None:
        i = 0
        while i < len(cells):
            cell = cells[i]
            expected = self.slots.get(cell.key)
            if expected is None:
                if cell.text:
                    self.unplaced(row, cell, "不是这个表格格式的标签，前面也没有认识的标签")
                i += 1
                continue
            i += 1
            filled: list[GridCell] = []
            while i < len(cells) and cells[i].key not in self.slots:
                value = cells[i]
                if len(filled) < len(expected):
                    self._value(row, value, expected[len(filled)])
                    filled.append(value)
                elif value.text and value.text != filled[-1].text:
                    self.unplaced(row, value, f"“{cell.text}”后面只应有 {len(expected)} 格")
                i += 1

    def _value(self, row: GridRow, cell: GridCell, spec: HeaderCell) -> None:
        where = Where(self.record.where.file, row.table, row.number, cell.column + 1)
        if not cell.text:
            return
        if spec.kind == "text":
            parsed = parse_sentence(spec.content, cell.text)
            if parsed is None:
                self.unplaced(row, cell, f"不符合“{spec.content}”的写法")
                return
            self.record.data.update(parsed.values)
            for key, written, assumed in parsed.slips:
                amount = parsed.values.get(key)
                label = self.profile.record_fields[key].label
                self.note(where, f"{label}写作“{amount} {written}”，按 {amount} {assumed}导入（句中应为“{assumed}”，"
                                 f"单位笔误？请核对）", (key,))
            return
        key = spec.content
        spec_field = self.profile.record_fields[key]
        if spec_field.kind != "amount":
            self.record.data[key] = cell.text
            return
        match = _AMOUNT_WITH_UNIT.fullmatch(cell.text)
        amount = parse_amount(match.group("number")) if match else None
        if amount is None:
            self.unplaced(row, cell, f"{spec_field.label}应为数字（万元）")
            return
        self.record.data[key] = amount
        unit = match.group("unit") if match else None
        if unit and unit != "万元":
            self.note(where, f"{spec_field.label}写作“{cell.text}”，按 {amount} 万元导入（单位笔误？请核对）", (key,))

    def _plan_values(self, row: GridRow, plan: PlanRow) -> None:
        points = self.plan_points
        self.plan_points = {}
        plan_data = self.record.data.setdefault("spending_plan", {})
        starts = sorted(points)
        for cell in row.cells:
            if cell.continued or cell.key == label_key(plan.label):
                continue
            start = max((s for s in starts if s <= cell.column), default=None)
            point = points.get(start) if start is not None else None
            if point is None or label_key(point) not in {label_key(p) for p in plan.checkpoints}:
                if cell.text:
                    self.unplaced(row, cell, f"时间节点“{point or ''}”不在此表格格式的资金支出计划（{'、'.join(plan.checkpoints)}）中")
                continue
            name = next(p for p in plan.checkpoints if label_key(p) == label_key(point))
            text = cell.text.rstrip("%％").strip()
            percent = parse_amount(text) if text else None
            if text and percent is None:
                self.unplaced(row, cell, "资金支出计划应为百分数")
                continue
            if plan_data.get(name) is None:
                plan_data[name] = percent
        for name in plan.checkpoints:
            plan_data.setdefault(name, None)

    def _grid_header(self, row: GridRow) -> None:
        self.columns = {}
        self.grid_table = row.table
        by_label = {label_key(c.label): c for c in self.profile.columns}
        for i, cell in enumerate(row.cells):
            role: tuple[str, Column | None]
            if i < 2:
                role = ("level1" if i == 0 else "level2", None)
            elif cell.key in by_label:
                role = ("column", by_label[cell.key])
            else:
                if cell.text:
                    self.unplaced(row, cell, f"不是此表格格式的指标列（应为 {'、'.join(c.label for c in self.profile.columns)}）")
                continue
            for c in range(cell.column, cell.column + cell.span):
                self.columns[c] = role

    def _level(self, row: GridRow, role: str) -> str:
        column = next((c for c, (r, _) in self.columns.items() if r == role), None)
        cell = row.cell_at(column) if column is not None else None
        text = cell.text if cell else ""
        previous = self.level1 if role == "level1" else self.level2
        if not text and previous and cell is not None:
            name = self.profile.level_labels[0 if role == "level1" else 1]
            self.note(Where(self.record.where.file, row.table, row.number, cell.column + 1),
                      f"{name}单元格为空，按上一行的“{previous}”导入")
            return previous
        return text

    def _indicator(self, row: GridRow) -> None:
        level1_text = self._level(row, "level1")
        level1 = next((name for name, _ in self.profile.levels if label_key(name) == label_key(level1_text)), None)
        if level1 is None:
            for cell in row.cells:
                if cell.text and not cell.continued:
                    self.unplaced(row, cell, f"一级指标“{level1_text}”不在此表格格式中（应为 "
                                             f"{'、'.join(n for n, _ in self.profile.levels)}）")
            return
        if level1 != self.level1:
            self.level2 = ""
        self.level1 = level1
        level2_text = self._level(row, "level2")
        level2s = self.profile.level2_names(level1)
        level2 = next((name for name in level2s if label_key(name) == label_key(level2_text)), None)
        if level2 is None:
            for cell in row.cells:
                if cell.text and not cell.continued and self.columns.get(cell.column, ("",))[0] != "level1":
                    self.unplaced(row, cell, f"二级指标“{level2_text}”不在一级指标“{level1}”之下（应为 {'、'.join(level2s)}）")
            return
        self.level2 = level2
        values: dict[str, Any] = {}
        seen: dict[str, str] = {}
        for cell in row.cells:
            role, column = self.columns.get(cell.column, ("", None))
            if role != "column" or column is None:
                if role == "" and cell.text:
                    self.unplaced(row, cell, "不在任何指标列之下")
                continue
            if not cell.text:
                continue
            if column.key in seen:
                if cell.text != seen[column.key]:
                    self.unplaced(row, cell, f"“{column.label}”列已有“{seen[column.key]}”")
                continue
            seen[column.key] = cell.text
            if len(column.fields) > 1:
                values.update(split_joined(column, cell.text))
            elif column.fields[0] == "weight":
                weight = parse_amount(cell.text.rstrip("%％"))
                if weight is None:
                    self.unplaced(row, cell, "权重应为数字")
                    continue
                values["weight"] = weight
            else:
                values[column.fields[0]] = cell.text
        groups = self._block_data().setdefault("indicators", {}).setdefault(level1, {})
        rows = groups.setdefault(level2, [])
        if values:
            rows.append({key: values[key] for key in INDICATOR_FIELDS if key in values})


def _row_texts(row: GridRow) -> list[GridCell]:
    return [c for c in row.cells if c.text and not c.continued]


def recognise(source: Source, project: Profile | None, department: Profile | None) -> Recognised:
    """Every record of `source` read with the given profiles (either may be None: no such tables)."""
    result = Recognised()
    starts = {}
    if department is not None:
        starts[first_label(department)] = (department, "department")
    if project is not None:
        starts[first_label(project)] = (project, "project")
    builder: _Builder | None = None
    for grid in source.grids:
        for row in grid.rows:
            first = row.cells[0] if row.cells else None
            opener = starts.get(first.key) if first is not None and not first.continued else None
            if opener is not None:
                if builder is not None:
                    result.records.append(builder.finish())
                profile, kind = opener
                builder = _Builder(profile, kind, Where(source.name, grid.number), result.notes)
            if builder is None:
                for cell in _row_texts(row):
                    result.notes.append(Note(Where(source.name, row.table, row.number, cell.column + 1),
                                             f"单元格“{cell.text}”未导入：它在第一张项目表之前，不属于任何项目"))
                continue
            builder.row(row)
    if builder is not None:
        result.records.append(builder.finish())
    return result


def table_labels(grid: Grid, limit: int = 12) -> list[str]:
    """The distinct non-empty texts of a table's first rows: what a "not recognised" message shows."""
    seen: list[str] = []
    for row in grid.rows:
        for cell in row.cells:
            if cell.text and cell.text not in seen and len(cell.text) <= 20:
                seen.append(cell.text)
            if len(seen) >= limit:
                return seen
    return seen
