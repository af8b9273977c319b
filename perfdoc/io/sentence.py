"""A sentence cell read back into its fields: "预算数 38 万元。其中：财政资金 38 元。<用途>".

The profile writes the cell from a template (`预算数 {budget} 万元。其中：财政资金 {fiscal_funds} 万元。{use}`);
here the template becomes a pattern: literal text matches with or without spaces, an amount is a
number, and the unit after it may be what the template says (万元) or a slip (元, 万). A slip is
never fixed silently: the amount is read in the template's unit and the caller gets a note saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from perfdoc.data.fields import DEPARTMENT_TABLE_FIELDS, PROJECT_FIELDS
from perfdoc.data.profile import PLACEHOLDER

NUMBER = r"[0-9０-９][0-9０-９,，]*(?:[.．][0-9０-９]+)?"
_UNITS = ("万元", "元", "万", "千元", "亿元")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９．，", "0123456789.,")


def parse_amount(text: str) -> Decimal | None:
    """`38`, `1,174`, `345.52`, `３８` → Decimal; anything else → None."""
    cleaned = text.translate(_FULL_WIDTH_DIGITS).replace(",", "").strip()
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", cleaned):
        return None
    try:
        return Decimal(cleaned)  # as written: `20.1` stays 20.1, `38.0` stays 38.0
    except InvalidOperation:
        return None


def _is_amount(key: str) -> bool:
    spec = PROJECT_FIELDS.get(key) or DEPARTMENT_TABLE_FIELDS.get(key)
    return spec is not None and spec.kind == "amount"


def _literal(text: str) -> str:
    """Literal template text, matched whatever spaces the author typed around it."""
    return r"\s*".join(re.escape(char) for char in text if not char.isspace())


@dataclass
class SentenceResult:
    values: dict[str, object] = field(default_factory=dict)
    slips: list[tuple[str, str, str]] = field(default_factory=list)  # (field, unit written, unit assumed)


def parse_sentence(template: str, text: str) -> SentenceResult | None:
    """The fields of `text` written by `template`, or None when the text does not follow it.

    Each placeholder is a group of its own (`g0`, `g1` …, never the field's name, so a field named
    twice is no regex error); a field named twice must read the same both times, else the text does
    not follow the template."""
    pattern = r"\s*"
    pieces = PLACEHOLDER.split(template)  # literal, key, literal, key, …, literal
    slots: list[tuple[str, str, str]] = []  # (field, its group, the unit the template writes after it or "")
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            literal = piece
            previous = slots[-1] if i and slots else None
            if previous is not None and previous[2]:  # this literal starts with the amount's unit: accept slips
                literal = literal.lstrip()[len(previous[2]):]
                alternatives = "|".join(re.escape(u) for u in _UNITS)
                pattern += rf"\s*(?P<{previous[1]}u>{alternatives})?"
            pattern += _literal(literal) + r"\s*"
            continue
        key, group = piece, f"g{len(slots)}"
        if _is_amount(key):
            following = pieces[i + 1].lstrip() if i + 1 < len(pieces) else ""
            unit = next((u for u in _UNITS if following.startswith(u)), "")
            pattern += rf"(?P<{group}>{NUMBER})"
        else:
            unit = ""
            pattern += rf"(?P<{group}>.*?)" if i + 1 < len(pieces) - 1 or pieces[-1].strip() else rf"(?P<{group}>.*)"
        slots.append((key, group, unit))
    match = re.fullmatch(pattern, text, flags=re.DOTALL)
    if match is None:
        return None
    result = SentenceResult()
    read: dict[str, object] = {}
    for key, group, unit in slots:
        raw = match.group(group)
        value: object = parse_amount(raw) if _is_amount(key) else raw.strip()
        written = match.group(f"{group}u") if unit else None
        if unit and written != unit and (key, written or "（没有单位）", unit) not in result.slips:
            result.slips.append((key, written or "（没有单位）", unit))
        if key in read:
            if read[key] != value:  # 预算数 38 万元 … 共 40 万元: which one is meant cannot be guessed
                return None
            continue
        read[key] = value
        if _is_amount(key) or value:
            result.values[key] = value
    return result
