"""Imported records written as a person writes them: schema line, key order, quoted codes, comments.

Key order follows perfdoc.data.fields (what the shipped files do: code, name, amounts, use, …, then
spending_plan, long_term, goal, indicators); every key, value and comment goes through
perfdoc.data.yaml_text (plain where every reader reads it back unchanged, double-quoted with escapes
otherwise: `"183"`, `"%"`, `"NO"`, a line break as `\n`), so no text of the source, a file name
included, can add a key; amounts are numbers as written. Wherever the importer decided something,
the line says so in a comment.
"""

from __future__ import annotations

from typing import Any

from perfdoc.data.fields import (
    DEPARTMENT_FIELDS,
    DEPARTMENT_TABLE_FIELDS,
    INDICATOR_FIELDS,
    PROJECT_FIELDS,
    SUB_TARGET_FIELDS,
)
from perfdoc.data.profile import Profile
from perfdoc.data.yaml_text import comment_text, yaml_scalar

PROJECT_ORDER = (*PROJECT_FIELDS, "spending_plan", "long_term", "goal", "indicators")


def project_order(profile: Profile) -> tuple[str, ...]:
    """A project file's keys in the order people write them: the profile's fields (perfdoc.data.fields',
    then its own), the plan, the blocks."""
    return (*profile.record_fields, "spending_plan", "long_term", "goal", "indicators")
DEPARTMENT_ORDER = tuple(DEPARTMENT_FIELDS)
TABLE_ORDER = ("profile", *(k for k in DEPARTMENT_TABLE_FIELDS if k != "department"), "goal", "indicators")
ORDERS: dict[str, tuple[str, ...]] = {"": PROJECT_ORDER, "long_term": ("goal", "indicators"),
                                      "sub_targets": tuple(SUB_TARGET_FIELDS),
                                      "department_table": TABLE_ORDER, "indicator": tuple(INDICATOR_FIELDS)}

Path_ = tuple[str | int, ...]


def _ordered(mapping: dict[str, Any], order: tuple[str, ...]) -> list[tuple[str, Any]]:
    known = [(key, mapping[key]) for key in order if key in mapping]
    return known + [(key, value) for key, value in mapping.items() if key not in order]


class _Emitter:
    def __init__(self, comments: dict[Path_, str]):
        self.comments = comments
        self.lines: list[str] = []

    def line(self, text: str, path: Path_) -> None:
        comment = self.comments.get(path)
        self.lines.append(f"{text}   # {comment_text(comment)}" if comment else text)

    def mapping(self, mapping: dict[str, Any], path: Path_, indent: str, order: tuple[str, ...], first: str = "") -> None:
        for i, (key, value) in enumerate(_ordered(mapping, order)):
            lead = first if i == 0 and first else indent
            self.value(f"{lead}{yaml_scalar(key)}:", value, path + (key,), indent + "  ")

    def value(self, head: str, value: Any, path: Path_, indent: str) -> None:
        if isinstance(value, dict):
            if not value:
                self.line(f"{head} {{}}", path)
                return
            self.line(head, path)
            key = str(path[-1]) if path else ""
            order = ORDERS.get(key, ())
            self.mapping(value, path, indent, order)
        elif isinstance(value, list):
            if not value:
                self.line(f"{head} []", path)
                return
            self.line(head, path)
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    order = ORDERS["sub_targets"] if path[-1] == "sub_targets" else ORDERS["indicator"]
                    self.mapping(item, path + (i,), indent + "  ", order, first=f"{indent}- ")
                else:
                    self.line(f"{indent}- {yaml_scalar(item)}", path + (i,))
        else:
            text = yaml_scalar(value)
            self.line(f"{head} {text}" if text else head, path)


def yaml_text(data: dict[str, Any], *, order: tuple[str, ...], schema: str, header: list[str],
              comments: dict[Path_, str]) -> str:
    emitter = _Emitter(comments)
    emitter.lines.append(f"# yaml-language-server: $schema={schema}")
    emitter.lines += [f"# {comment_text(line)}" for line in header]
    emitter.mapping(data, (), "", order)
    return "\n".join(emitter.lines) + "\n"
