"""Diagnostics: the one shape in which every problem reaches the user.

Every message names the file, line and column, the field path and what was expected, in Chinese
first (an English keyword in parentheses helps the technical colleague search for it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Severity(Enum):
    ERROR = "错误"
    WARNING = "警告"
    HINT = "提示"  # check --lint only; never changes the exit status


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in one place: a value of a data file, a line of a template, or (with no
    file) the machine or the command line. Stages return these; only the CLI and serve format them."""

    file: str  # as the user would type it (display_path); "" when the problem is not in a file
    line: int  # 1-based; 0 when the file has no line to point at
    column: int
    path: str  # the field path inside a data file (`indicators.产出指标.数量指标[0].value`), or ""
    message: str
    severity: Severity = Severity.ERROR
    details: tuple[str, ...] = ()  # further lines: what is missing, one item a line

    @property
    def where(self) -> str:
        """`file:line:col`, `file`, or "" for a problem that is in no file."""
        if not self.file:
            return ""
        return f"{one_line(self.file)}:{self.line}:{self.column}" if self.line else one_line(self.file)

    def format(self) -> str:
        """`file:line:col: 错误: path: message` (what editors and CI logs parse), then any details
        indented on lines of their own."""
        field = f" {one_line(self.path)}:" if self.path else ""
        head = f"{self.severity.value}:{field} {one_line(self.message)}"
        text = f"{self.where}: {head}" if self.where else head
        return text + "".join(f"\n  {one_line(detail)}" for detail in self.details)


def unlocated(message: str, *details: str, severity: Severity = Severity.ERROR) -> Diagnostic:
    """A problem in no file: a missing program, a folder that cannot be written, a port in use."""
    return Diagnostic("", 0, 0, "", message, severity, details)


def in_file(file: Path | str, message: str, *, line: int = 0, column: int = 0, field: str = "",
            severity: Severity = Severity.ERROR) -> Diagnostic:
    """A problem in a file: a template's line, a profile, a file given on the command line."""
    shown = display_path(file) if isinstance(file, Path) else file
    return Diagnostic(shown, line, column, field, message, severity)


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
    """File order, and problems that are in no file after those that are (a summary comes last)."""
    return (not diagnostic.file, diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.path,
            diagnostic.message)


class UserError(Exception):
    """A problem with the user's input or environment, carried as diagnostics to the CLI or serve
    (exit status 1). Raised with values, never with text: the edge decides how they look."""

    def __init__(self, diagnostics: Sequence[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = sorted(diagnostics, key=sort_key)
        super().__init__(self.text)

    @property
    def text(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)
