"""Where each cell of a table with merged cells stands: the one placement rule of perfdoc's grids.

A cell starts at the first grid column of its row that no cell above spans down into, and takes
`span` columns and `rowspan` rows. The print grids (perfdoc.render.tables) and the import of a
stage table (perfdoc.io.stage_import) place cells by it; the profile check (perfdoc.data.profile)
applies the same rule while it reports overlaps at their line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

Cell = TypeVar("Cell")


def placed(rows: Iterable[Sequence[Cell]], span: Callable[[Cell], int],
           rowspan: Callable[[Cell], int]) -> list[list[tuple[int, Cell]]]:
    """Each row's cells with the grid column each starts at (columns that a cell above spans into skipped)."""
    covered: set[tuple[int, int]] = set()
    result = []
    for r, row in enumerate(rows):
        column, cells = 0, []
        for cell in row:
            while (r, column) in covered:
                column += 1
            cells.append((column, cell))
            for below in range(1, rowspan(cell)):
                covered.update((r + below, c) for c in range(column, column + span(cell)))
            column += span(cell)
        result.append(cells)
    return result
