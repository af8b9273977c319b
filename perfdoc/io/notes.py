"""What the importer tells the user: one line each, Chinese first, naming file, table, row, column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Where:
    """A place in a source file: table N (1-based), row and column (1-based), 0 where not known."""

    file: str
    table: int = 0
    row: int = 0
    column: int = 0
    sheet: str = ""

    def text(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"工作表“{self.sheet}”")
        if self.table:
            parts.append(f"第 {self.table} 张表")
        if self.row:
            parts.append(f"第 {self.row} 行")
        if self.column:
            parts.append(f"第 {self.column} 列")
        return " ".join(parts)


@dataclass(frozen=True)
class Note:
    """A warning (something decided or not placed) or an error (a record that could not be imported)."""

    where: Where
    message: str
    error: bool = False
    code: str = ""  # the project the note belongs to, when known

    def format(self) -> str:
        kind = "错误" if self.error else "警告"
        project = f" 项目 {self.code}:" if self.code else ""
        return f"{self.where.text()}: {kind}:{project} {self.message}"
