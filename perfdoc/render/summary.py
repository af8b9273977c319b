"""The projects at a glance: which project fields a summary shows, and the 项目汇总表 grid.

The same choice of columns feeds the XLSX export's 项目汇总 sheet (perfdoc.render.xlsx) and the
optional 项目汇总表 in the PDF/DOCX (department.yaml `summary_table: true`), so the spreadsheet and
the printed summary list the same amounts. The printed table is a GridTable like every other
table: the templates place its cells, perfdoc.render.readback reads them back for the DOCX.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from perfdoc.data.fields import PROJECT_FIELDS
from perfdoc.data.profile import TEXT_BLOCK_MM
from perfdoc.data.text import value_text
from perfdoc.render.tables import GridCell, GridRow, GridTable

if TYPE_CHECKING:
    from perfdoc.data.model import Document, Project

SUMMARY_TITLE = "项目汇总表"
IDENTITY_FIELDS = ("code", "name")
TOTAL_LABEL = "合计"
# Column widths of the printed table (mm, before scaling to the 156 mm text block).
CODE_MM, AMOUNT_MM, CHECKPOINT_MM, MIN_NAME_MM = 22.0, 17.0, 13.0, 30.0


def project_field_keys(document: Document) -> list[str]:
    """The profile's record fields after code and name (perfdoc.data.fields' in their order, then the
    profile's own), that its header shows or any project fills in: the columns of a summary (XLSX
    sheet 项目汇总)."""
    shown = set(document.profile.header_fields())
    filled = {key for project in document.projects for key, _ in project.facts}
    return [key for key in document.profile.record_fields if key not in IDENTITY_FIELDS and (key in shown or key in filled)]


def amount_keys(document: Document) -> list[str]:
    fields = document.profile.record_fields
    return [key for key in project_field_keys(document) if fields[key].kind == "amount"]


def amount_total(projects: Sequence[Project], key: str) -> Decimal:
    """The exact sum of one amount over the projects (a project without it counts 0)."""
    return sum((Decimal(project.fact(key) or 0) for project in projects), Decimal(0))


def number(value: Decimal | int) -> int | float:
    """A Decimal amount as the number a spreadsheet stores: an int when whole, else the nearest float."""
    if isinstance(value, int) or value == value.to_integral_value():
        return int(value)
    return float(value)


@dataclass(frozen=True)
class SummaryTable:
    """What project_table.html.j2 needs of a record: its tables (here one)."""

    title: str
    tables: tuple[GridTable, ...]


def _widths(amounts: int, checkpoints: int, code: bool = True) -> tuple[float, ...]:
    code_mm = (CODE_MM,) if code else ()
    fixed = sum(code_mm) + amounts * AMOUNT_MM + checkpoints * CHECKPOINT_MM
    widths = (*code_mm, max(MIN_NAME_MM, TEXT_BLOCK_MM - fixed), *([AMOUNT_MM] * amounts), *([CHECKPOINT_MM] * checkpoints))
    scale = TEXT_BLOCK_MM / sum(widths)
    return tuple(round(width * scale, 2) for width in widths)


def _plan_text(project: Project) -> list[str]:
    return [point.text for point in project.spending_plan]


def summary_table(document: Document) -> SummaryTable:
    """项目汇总表: code (where the table has codes), name, each amount (万元) with a 合计 row, and the
    spending plan's checkpoints."""
    keys = amount_keys(document)
    checkpoints = document.profile.checkpoints
    plan = document.profile.plan
    code = document.profile.uses_code
    head_rows = 2 if checkpoints else 1
    width = 1 + code + len(keys) + len(checkpoints)
    caption = GridRow((GridCell(SUMMARY_TITLE, "label", True, width),))
    labels: list[GridCell] = [GridCell(PROJECT_FIELDS["code"].label, "label", True, 1, head_rows)] if code else []
    labels.append(GridCell(PROJECT_FIELDS["name"].label, "label", True, 1, head_rows))
    fields = document.profile.record_fields
    labels += [GridCell(f"{fields[key].label}（万元）", "label", True, 1, head_rows) for key in keys]
    head = [caption]
    if checkpoints and plan is not None:
        labels.append(GridCell(plan.label, "label", True, len(checkpoints)))
        head += [GridRow(tuple(labels)), GridRow(tuple(GridCell(point, "level", True) for point in checkpoints))]
    else:
        head.append(GridRow(tuple(labels)))
    groups: list[tuple[GridRow, ...]] = []
    for project in document.projects:
        cells = [GridCell(project.code, "center")] if code else []
        cells.append(GridCell(project.name, "left"))
        cells += [GridCell(value_text(project.fact(key)), "center") for key in keys]
        cells += [GridCell(text, "center") for text in _plan_text(project)]
        groups.append((GridRow(tuple(cells)),))
    total: list[GridCell] = [GridCell(TOTAL_LABEL, "label", True, 1 + code)]
    total += [GridCell(value_text(amount_total(document.projects, key)), "center") for key in keys]
    total += [GridCell("", "center") for _ in checkpoints]
    groups.append((GridRow(tuple(total)),))
    grid = GridTable("summary", _widths(len(keys), len(checkpoints), code), tuple(head), tuple(groups))
    return SummaryTable(SUMMARY_TITLE, (grid,))
