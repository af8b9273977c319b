"""Imported records written as a person writes them: schema line, key order, quoted codes, comments.

Key order follows perfdoc.data.fields (what the shipped files do: code, name, amounts, use, …, then
spending_plan, long_term, goal, indicators); text is plain where perfdoc's own loader reads it
back unchanged and double-quoted otherwise (`"183"`, `"%"`, `"="`); amounts are numbers as
written. Wherever the importer decided something, the line says so in a comment.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from perfdoc.data.fields import (
    DEPARTMENT_FIELDS,
    DEPARTMENT_TABLE_FIELDS,
    INDICATOR_FIELDS,
    PROJECT_FIELDS,
    SUB_TARGET_FIELDS,
)
from perfdoc.data.loader import LoadedFile, load_yaml_text
from perfdoc.data.text import amount_text

PROJECT_ORDER = (*PROJECT_FIELDS, "spending_plan", "long_term", "goal", "indicators")
DEPARTMENT_ORDER = tuple(DEPARTMENT_FIELDS)
TABLE_ORDER = ("profile", *(k for k in DEPARTMENT_TABLE_FIELDS if k != "department"), "goal", "indicators")
ORDERS: dict[str, tuple[str, ...]] = {"": PROJECT_ORDER, "long_term": ("goal", "indicators"),
                                      "sub_targets": tuple(SUB_TARGET_FIELDS),
                                      "department_table": TABLE_ORDER, "indicator": tuple(INDICATOR_FIELDS)}

Path_ = tuple[str | int, ...]


def scalar(value: Any) -> str:
    """One value as YAML text that perfdoc's loader reads back as exactly this value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        return amount_text(value)
    text = str(value)
    line = f"k: {text}\n"
    loaded = load_yaml_text(line, LoadedFile(Path("value.yaml")))
    if text and "\n" not in text and not loaded.diagnostics and loaded.data == {"k": text} and _plain_for_editors(line, text):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _plain_for_editors(line: str, text: str) -> bool:
    """Plain only if a YAML 1.1 reader (an editor, PyYAML) also reads the text back: `=` and `NO` are quoted."""
    try:
        return bool(yaml.safe_load(line) == {"k": text})
    except yaml.YAMLError:
        return False


def _ordered(mapping: dict[str, Any], order: tuple[str, ...]) -> list[tuple[str, Any]]:
    known = [(key, mapping[key]) for key in order if key in mapping]
    return known + [(key, value) for key, value in mapping.items() if key not in order]


class _Emitter:
    def __init__(self, comments: dict[Path_, str]):
        self.comments = comments
        self.lines: list[str] = []

    def line(self, text: str, path: Path_) -> None:
        comment = self.comments.get(path)
        self.lines.append(f"{text}   # {comment}" if comment else text)

    def mapping(self, mapping: dict[str, Any], path: Path_, indent: str, order: tuple[str, ...], first: str = "") -> None:
        for i, (key, value) in enumerate(_ordered(mapping, order)):
            lead = first if i == 0 and first else indent
            self.value(f"{lead}{scalar(key)}:", value, path + (key,), indent + "  ")

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
                    self.line(f"{indent}- {scalar(item)}", path + (i,))
        else:
            text = scalar(value)
            self.line(f"{head} {text}" if text else head, path)


def yaml_text(data: dict[str, Any], *, order: tuple[str, ...], schema: str, header: list[str],
              comments: dict[Path_, str]) -> str:
    emitter = _Emitter(comments)
    emitter.lines.append(f"# yaml-language-server: $schema={schema}")
    emitter.lines += [f"# {line}" for line in header]
    emitter.mapping(data, (), "", order)
    return "\n".join(emitter.lines) + "\n"
