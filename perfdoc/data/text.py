"""How a value of the data is written as text: in a cell, a sentence, a diff or the workbook."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def amount_text(value: Decimal | int) -> str:
    """An amount in 万元 as the author wrote it (`345.52`, `20.1`, `1174`), never `1.2E+3`."""
    return str(value) if isinstance(value, int) else format(value, "f")


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return amount_text(value)
    return str(value)
