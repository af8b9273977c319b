"""What the importer tells the user: one line each, Chinese first, naming file, table, row, column."""

from __future__ import annotations

from dataclasses import dataclass

from perfdoc.diagnostics import Diagnostic, Severity, in_file


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

    def diagnostic(self) -> Diagnostic:
        """`去年.docx 第 5 张表 第 3 行 第 2 列: 警告: 项目 142001003: …`: the place in the source file is
        the diagnostic's location (a source file has no line:column), the project leads the message."""
        message = f"项目 {self.code}: {self.message}" if self.code else self.message
        return in_file(self.where.text(), message, severity=Severity.ERROR if self.error else Severity.WARNING)
