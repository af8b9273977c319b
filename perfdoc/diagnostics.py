"""Diagnostics: the one shape in which every problem reaches the user.

Every message names the file, line and column, the field path and what was expected, in Chinese
first (an English keyword in parentheses helps the technical colleague search for it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Severity(Enum):
    ERROR = "错误"
    WARNING = "警告"
    HINT = "提示"  # check --lint only; never changes the exit status


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in one place of one file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: Severity = Severity.ERROR

    def format(self) -> str:
        """One line: `file:line:col: 错误: path: message` (what editors and CI logs parse)."""
        where = f"{one_line(self.file)}:{self.line}:{self.column}"
        field = f" {one_line(self.path)}:" if self.path else ""
        return f"{where}: {self.severity.value}:{field} {one_line(self.message)}"


_INVISIBLE = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, 0x85]} | {0x2028: "\\u2028", 0x2029: "\\u2029"}


def one_line(text: str) -> str:
    """Control characters (a pasted CR, a tab, U+2028) shown as escapes, so a message stays one line."""
    return text.translate(_INVISIBLE)


def display_path(path: Path) -> str:
    """The path as the user would type it: relative when under the working directory."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def format_field_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """`('indicators', '产出指标', '数量指标', 0, 'value')` → `indicators.产出指标.数量指标[0].value`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def sort_key(diagnostic: Diagnostic) -> tuple:
    return (diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.path, diagnostic.message)


class UserError(Exception):
    """A problem with the user's input or environment, reported as diagnostics, exit status 1."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic | str):
        if isinstance(diagnostics, str):
            self.diagnostics: list[Diagnostic] = []
            self.text = diagnostics
        else:
            if isinstance(diagnostics, Diagnostic):
                diagnostics = [diagnostics]
            self.diagnostics = sorted(diagnostics, key=sort_key)
            self.text = "\n".join(d.format() for d in self.diagnostics)
        super().__init__(self.text)
