"""Tables recognised as a profile's records: which profile, where each record starts, what each cell is.

A profile (perfdoc.data.profile) says every label its table prints: the header captions, the 资金支出计划
row, the goal rows, the indicator columns, the lines above and below. The profile whose labels a
document's tables show (all of its required indicator columns, and most of the rest) is the one the
document was written in; `--profile` names it instead. Cells are then matched by label, never by
position: a value is the cell after its caption (a caption written twice, 其中：财政拨款 for 中期
and for 年度, is read in the order the profile writes it), an indicator column is whatever lies under
its caption in the grid (side by side: under its block's title as well), so a table with other
widths, merged or unmerged cells, reads the same. Labels with `{year}` are compared once the year
is known (the department's text, else the first label that shows it); lines above and below a
table are read back into the fields they name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from perfdoc.data.fields import INDICATOR_FIELDS
from perfdoc.data.profile import YEAR, CaptionLine, Column, HeaderCell, PlanRow, Profile
from perfdoc.io.notes import Note, Where
from perfdoc.io.sentence import parse_amount, parse_sentence
from perfdoc.io.source import Grid, GridCell, GridRow, Paragraph, Source, label_key

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
    key: str = ""  # the project's file name where the source says it (an XLSX 文件名 column)

    @property
    def code(self) -> str:
        """How messages name the project: its code, else its key."""
        return str(self.data.get("code") or self.key or "")


@dataclass
class Recognised:
    records: list[Record] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def profile_labels(profile: Profile) -> set[str]:
    labels = {label_key(label) for label in profile.level_labels}
    labels |= {label_key(c.label) for c in profile.all_columns}
    for row in profile.header:
        if isinstance(row, PlanRow):
            labels.add(label_key(row.label))
            labels |= {label_key(point) for point in row.checkpoints}
        else:
            labels |= {label_key(c.content) for c in row if c.kind == "label"}
    for block in profile.blocks:
        labels |= {label_key(text) for text in (block.goal_label, block.title) if text}
    if profile.side_label:
        labels.add(label_key(profile.side_label.label))
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
            | {label_key(c.label) for c in profile.all_columns if not c.optional})


def _shown(label: str, keys: set[str]) -> bool:
    if "{" not in label:
        return label in keys
    pattern = _year_pattern(label)
    return any(pattern.fullmatch(key) for key in keys)


def _year_pattern(label: str) -> re.Pattern[str]:
    """`中期目标（{year}—{year+2}年）` → a pattern matching `中期目标（2024—2026年）` (any years)."""
    out, at = "", 0
    for match in YEAR.finditer(label):
        out += re.escape(label[at:match.start()]) + r"(\d{4})"
        at = match.end()
    return re.compile(out + re.escape(label[at:]))


def detect_profile(keys: set[str], candidates: list[Profile]) -> Profile | None:
    """The candidate whose required labels all appear and which shows the largest share of its labels."""
    best: tuple[float, int, Profile] | None = None
    for profile in candidates:
        if not all(_shown(label, keys) for label in required_labels(profile)):
            continue
        labels = profile_labels(profile)
        found = sum(1 for label in labels if _shown(label, keys))
        score = (found / len(labels), found, profile)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best else None


def year_shown(profile: Profile, texts: list[str]) -> int | None:
    """The budget year a document's labels and lines show (`中期目标（2024—2026年）` with the profile's
    `中期目标（{year}—{year+2}年）` → 2024), for a document whose text does not say it."""
    templates = [label for label in profile_labels(profile) if "{" in label]
    templates += [label_key("".join(line.parts)) for line in (*profile.above, *profile.below)]
    for template in templates:
        matches = list(YEAR.finditer(template))
        if not matches:
            continue
        first = matches[0]
        offset = (int(first.group(2)) if first.group(1) == "+" else -int(first.group(2))) if first.group(1) else 0
        out, at = "", 0
        for match in re.finditer(r"\{[^{}]*\}", template):
            out += re.escape(template[at:match.start()])
            out += r"(\d{4})" if match.start() == first.start() else r"\d{4}" if YEAR.fullmatch(match.group()) else ".*?"
            at = match.end()
        pattern = re.compile(out + re.escape(template[at:]))
        for text in texts:
            found = pattern.fullmatch(text)
            if found:
                return int(found.group(1)) - offset
    return None


def _slots(profile: Profile) -> dict[str, list[list[HeaderCell]]]:
    """Header caption → the value cells that follow it in the profile's rows, one list for each time
    the caption is written (in the profile's order: 其中：财政拨款 of 中期, then of 年度)."""
    slots: dict[str, list[list[HeaderCell]]] = {}
    for row in profile.header:
        if isinstance(row, PlanRow):
            continue
        current: list[HeaderCell] | None = None
        for cell in row:
            if cell.kind == "label":
                current = []
                slots.setdefault(label_key(cell.content), []).append(current)
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


def caption_lines_before(paragraphs: list[Paragraph], profiles: list[Profile]) -> int:
    """How many of the paragraphs before the first table are the lines above it (the first record's,
    not the department's text): counted from the end, in the order a profile writes them."""
    for profile in profiles:
        lines = list(profile.above)
        count = 0
        for paragraph in reversed(paragraphs):
            while lines and caption_values(lines[-1], paragraph.text) is None:
                lines.pop()
            if not lines:
                break
            lines.pop()
            count += 1
        if count:
            return count
    return 0


def caption_values(line: CaptionLine, text: str) -> dict[str, Any] | None:
    """The fields a line above or below a table was written with, or None when `text` is not that line.
    Its parts are read as one sentence: a Word tab between them has become a space."""
    parsed = parse_sentence("".join(line.parts), text)
    if parsed is None:
        return None
    return {key: value for key, value in parsed.values.items() if key != "department"}


# Where a grid column's cells go: the side label, 一级, 二级, or an indicator column of a block.
Role = tuple[str, Column | None, int]


class _Builder:
    """Reads the rows of one record, in order, into its data."""

    def __init__(self, profile: Profile, kind: str, where: Where, notes: list[Note]):
        self.record = Record(kind, profile, where)
        self.profile = profile
        self.notes = notes
        self.pending: list[tuple[Where, str, bool]] = []
        self.slots = _slots(profile)
        self.slot_used: dict[str, int] = {}
        self.block = 0 if len(profile.blocks) == 1 else -1
        self.columns: dict[int, Role] = {}  # grid column → (side|level1|level2|column, Column, block)
        self.grid_table = 0
        self.head_row = 0  # the grid's head row that names the blocks (side by side): its columns come next
        self.block_spans: list[tuple[int, int, int]] = []  # (first column, last column + 1, block)
        self.goal_spans: list[tuple[int, int, int]] = []  # side by side: where each block's goal stands
        self.plan_points: dict[int, str] = {}
        self.level1 = ""
        self.level2 = ""
        self.below_at = 0  # the next line below the table to expect

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
    def _block_data(self, block: int | None = None) -> dict[str, Any]:
        spec = self.profile.blocks[max(self.block if block is None else block, 0)]
        if spec.source == "annual":
            return self.record.data
        return self.record.data.setdefault(spec.source, {})

    # -- lines above and below the table -----------------------------------------------------------
    def take_above(self, paragraphs: list[Paragraph]) -> list[Paragraph]:
        """The lines above the record's first table, in order; what is none of them is given back."""
        rest, at = [], 0
        for paragraph in paragraphs:
            for index in range(at, len(self.profile.above)):
                values = caption_values(self.profile.above[index], paragraph.text)
                if values is not None:
                    self._caption_data(values)
                    at = index + 1
                    break
            else:
                rest.append(paragraph)
        return rest

    def take_below(self, paragraph: Paragraph) -> bool:
        for index in range(self.below_at, len(self.profile.below)):
            values = caption_values(self.profile.below[index], paragraph.text)
            if values is not None:
                self._caption_data(values)
                self.below_at = index + 1
                return True
        return False

    def _caption_data(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if value not in (None, "") and key not in self.record.data:
                self.record.data[key] = value

    # -- rows --------------------------------------------------------------------------------------
    def row(self, row: GridRow) -> None:
        cells = [c for c in row.cells if not c.continued]
        keys = [c.key for c in row.cells]
        if self.head_row and row.table == self.grid_table and row.number == self.head_row + 1:
            self._block_columns(row)
            return
        if self._grid_header(row):
            return
        plan = self.profile.plan
        if self.plan_points and plan:  # the row under the checkpoints holds their percentages
            self._plan_values(row, plan)
            return
        if plan and keys and keys[0] == label_key(plan.label) and not row.cells[0].continued:
            self.plan_points = {c.column: c.text for c in row.cells[1:] if not c.continued}
            return
        if self.goal_spans:
            self._side_by_side_goals(row)
            return
        if self.profile.layout == "side_by_side" and keys and keys[0] == label_key(self.profile.goals_label) \
                and not row.cells[0].continued:
            self.goal_spans = self._spans(row, [label_key(b.goal_label) for b in self.profile.blocks])
            return
        for b, spec in enumerate(self.profile.blocks):
            if self.profile.layout == "stacked" and spec.goal_label and keys and keys[0] == label_key(spec.goal_label):
                self.block = b
                goal_cells = [c for c in cells[1:] if c.text]
                texts = list(dict.fromkeys(c.text for c in goal_cells))
                if texts:
                    self._block_data()["goal"] = texts[0]
                for extra in goal_cells:
                    if extra.text != texts[0]:
                        self.unplaced(row, extra, f"{spec.goal_label}只有一格")
                return
            if self.profile.layout == "stacked" and spec.title and len(set(keys)) == 1 and keys[0] == label_key(spec.title):
                self.block = b
                return
        if self.columns and row.table == self.grid_table:
            self._indicator(row)
            return
        self._header(row, cells)

    def _spans(self, row: GridRow, labels: list[str]) -> list[tuple[int, int, int]]:
        """(first column, end, block) of the cells of `row` that carry `labels` (one for each block)."""
        spans = []
        for cell in row.cells:
            if not cell.continued and cell.key in labels:
                spans.append((cell.column, cell.column + cell.span, labels.index(cell.key)))
        return spans

    def _side_by_side_goals(self, row: GridRow) -> None:
        """The row under the goal labels: each block's goal under its label."""
        spans, self.goal_spans = self.goal_spans, []
        for cell in row.cells:
            if cell.continued or not cell.text:
                continue
            block = next((b for start, end, b in spans if start <= cell.column < end), None)
            if block is None:
                self.unplaced(row, cell, "不在任何一块的目标之下")
                continue
            self._block_data(block).setdefault("goal", cell.text)

    def _header(self, row: GridRow, cells: list[GridCell]) -> None:
        i = 0
        while i < len(cells):
            cell = cells[i]
            written = self.slots.get(cell.key)
            if written is None:
                if cell.text:
                    self.unplaced(row, cell, "不是这个表格格式的标签，前面也没有认识的标签")
                i += 1
                continue
            used = self.slot_used.get(cell.key, 0)
            expected = written[min(used, len(written) - 1)]
            self.slot_used[cell.key] = used + 1
            i += 1
            filled: list[GridCell] = []
            while i < len(cells) and cells[i].key not in self.slots:
                value = cells[i]
                if len(filled) < len(expected):
                    self._value(row, value, expected[len(filled)])
                    filled.append(value)
                elif value.text and (not filled or value.text != filled[-1].text):
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

    def _grid_header(self, row: GridRow) -> bool:
        """The grid's head: the side label's cell, the 一级 and 二级 captions side by side, then the
        indicator columns (stacked), or the blocks' titles over their columns in the next row."""
        keys = [c.key for c in row.cells]
        level_keys = [label_key(label) for label in self.profile.level_labels]
        at = next((i for i in range(len(keys) - 1) if keys[i:i + 2] == level_keys and not row.cells[i].continued), None)
        if at is None:
            return False
        self.columns = {}
        self.grid_table = row.table
        self.head_row = 0
        for cell in row.cells[:at]:
            for c in range(cell.column, cell.column + cell.span):
                self.columns[c] = ("side", None, -1)
        for role, cell in zip(("level1", "level2"), row.cells[at:at + 2], strict=True):
            for c in range(cell.column, cell.column + cell.span):
                self.columns[c] = (role, None, -1)
        rest = row.cells[at + 2:]
        if self.profile.layout == "side_by_side":
            self.block_spans = self._spans(row, [label_key(b.title) for b in self.profile.blocks])
            self.head_row = row.number
            for cell in rest:
                if cell.text and cell.key not in [label_key(b.title) for b in self.profile.blocks]:
                    self.unplaced(row, cell, f"不是此表格格式的块标题（应为 {'、'.join(b.title for b in self.profile.blocks)}）")
            return True
        block = max(self.block, 0)
        self._name_columns(row, rest, self.profile.block_columns(self.profile.blocks[block]), block)
        return True

    def _block_columns(self, row: GridRow) -> None:
        """Side by side: the column captions under each block's title."""
        self.head_row = 0
        for start, end, block in self.block_spans:
            under = [cell for cell in row.cells if not cell.continued and start <= cell.column < end]
            self._name_columns(row, under, self.profile.block_columns(self.profile.blocks[block]), block)

    def _name_columns(self, row: GridRow, cells: list[GridCell], columns: tuple[Column, ...], block: int) -> None:
        by_label = {label_key(c.label): c for c in columns}
        for cell in cells:
            if cell.key in by_label:
                for c in range(cell.column, cell.column + cell.span):
                    self.columns[c] = ("column", by_label[cell.key], block)
            elif cell.text:
                self.unplaced(row, cell, f"不是此表格格式的指标列（应为 {'、'.join(c.label for c in columns)}）")

    def _level(self, row: GridRow, role: str) -> str:
        column = next((c for c, (r, _, _) in self.columns.items() if r == role), None)
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
                if cell.text and not cell.continued and self.columns.get(cell.column, ("",))[0] != "side":
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
                if cell.text and not cell.continued and self.columns.get(cell.column, ("",))[0] not in ("level1", "side"):
                    self.unplaced(row, cell, f"二级指标“{level2_text}”不在一级指标“{level1}”之下（应为 {'、'.join(level2s)}）")
            return
        self.level2 = level2
        blocks = sorted({block for role, _, block in self.columns.values() if role == "column"})
        values: dict[int, dict[str, Any]] = {block: {} for block in blocks}
        seen: dict[tuple[int, str], str] = {}
        for cell in row.cells:
            role, column, block = self.columns.get(cell.column, ("", None, -1))
            if role != "column" or column is None:
                if role == "" and cell.text:
                    self.unplaced(row, cell, "不在任何指标列之下")
                continue
            if not cell.text:
                continue
            if (block, column.key) in seen:
                if cell.text != seen[(block, column.key)]:
                    self.unplaced(row, cell, f"“{column.label}”列已有“{seen[(block, column.key)]}”")
                continue
            seen[(block, column.key)] = cell.text
            if len(column.fields) > 1:
                values[block].update(split_joined(column, cell.text))
            elif column.fields[0] == "weight":
                weight = parse_amount(cell.text.rstrip("%％"))
                if weight is None:
                    self.unplaced(row, cell, "权重应为数字")
                    continue
                values[block]["weight"] = weight
            else:
                values[block][column.fields[0]] = cell.text
        empty_row = not any(values.values())
        for block in blocks:
            if not values[block] and not empty_row:
                continue  # side by side: the other block's row; this block has none here
            groups = self._block_data(block).setdefault("indicators", {}).setdefault(level1, {})
            rows = groups.setdefault(level2, [])
            if values[block]:
                rows.append({key: values[block][key] for key in INDICATOR_FIELDS if key in values[block]})


def _row_texts(row: GridRow) -> list[GridCell]:
    return [c for c in row.cells if c.text and not c.continued]


def recognise(source: Source, project: Profile | None, department: Profile | None, start: int = 0) -> Recognised:
    """Every record of `source` read with the given profiles (either may be None: no such tables),
    from its block `start` on (what comes before is the department's text): tables, and the lines
    above and below each record's table. A paragraph that is neither is noted, never dropped."""
    result = Recognised()
    starts = {}
    if department is not None:
        starts[first_label(department)] = (department, "department")
    if project is not None:
        starts[first_label(project)] = (project, "project")
    builder: _Builder | None = None
    above: list[Paragraph] = []

    def stray(paragraphs: list[Paragraph]) -> None:
        for paragraph in paragraphs:
            result.notes.append(Note(Where(source.name), f"表格之间的段落“{paragraph.text[:30]}”未导入（不属于任何表格或部门文字）"))

    for block in source.blocks[start:]:
        if isinstance(block, Paragraph):
            if builder is not None and not above and builder.take_below(block):
                continue
            above.append(block)  # a line above the next record's table, or a stray paragraph
            continue
        for row in block.rows:
            first = row.cells[0] if row.cells else None
            opener = starts.get(first.key) if first is not None and not first.continued else None
            if opener is not None:
                if builder is not None:
                    result.records.append(builder.finish())
                profile, kind = opener
                builder = _Builder(profile, kind, Where(source.name, block.number), result.notes)
                stray(builder.take_above(above))
                above = []
            if builder is None:
                for cell in _row_texts(row):
                    result.notes.append(Note(Where(source.name, row.table, row.number, cell.column + 1),
                                             f"单元格“{cell.text}”未导入：它在第一张项目表之前，不属于任何项目"))
                continue
            builder.row(row)
        stray(above)  # paragraphs between two tables of one record
        above = []
    stray(above)
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
