"""The one way perfdoc writes a value into a YAML file (`new`, `import`, `new-year`).

A text is written plain, as a person writes it (`name: 劳务派遣工资`), only where every reader reads
it back as that very text: perfdoc's own loader, a YAML 1.1 reader (PyYAML, most editors: `NO`, `on`,
`y`, `1:30`, `2023-01-01`, `=` are not text there) and a YAML 1.2 reader (`0o17`, `.inf`, `1e3`). Any
other text is double-quoted, with every character that could end the line or the value escaped
(`\\n`, `\\u2028`, `\\x07` …), so that no text, a file name included, can start a new key.
Comments get the same care: a line break in a comment would start a line of YAML.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from yaml.resolver import BaseResolver, Resolver

from perfdoc.data.loader import REFUSED_CHARACTERS, LoadedFile, load_yaml_text
from perfdoc.data.text import amount_text

# Characters a plain scalar may hold: printable, no tab or line break, nothing the loader refuses.
_NOT_PLAIN = re.compile(f"[\t\n\r]|{REFUSED_CHARACTERS.pattern}")
# Characters that start something else in YAML when they open a plain scalar (YAML 1.2 c-indicator).
_INDICATORS = "-?:,[]{}#&*!|>'\"%@`"
# Non-text in YAML 1.1 as the specification says (PyYAML's resolver leaves out y/n) and in YAML 1.2's
# core schema (octal 0o17, .inf, 1e3: text for PyYAML).
_YAML_11_BOOL = re.compile(r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF")
_YAML_12_CORE = re.compile(r"null|Null|NULL|~|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
                           r"|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")
_RESOLVER = Resolver()
_NAMED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _resolves_as_text(text: str) -> bool:
    """Whether every reader takes this plain scalar as text, and as this text."""
    if _YAML_11_BOOL.fullmatch(text) or _YAML_12_CORE.fullmatch(text):
        return False
    if _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) != BaseResolver.DEFAULT_SCALAR_TAG:
        return False  # YAML 1.1 (PyYAML): NO, 1:30, 2023-01-01, 012, 1_000, =, <<
    return load_yaml_text(f"k: {text}\n", LoadedFile(Path("value.yaml"))).data == {"k": text}


def _plain_is_safe(text: str) -> bool:
    return bool(
        text
        and not _NOT_PLAIN.search(text)
        and text[0] not in _INDICATORS
        and not text[0].isspace() and not text[-1].isspace()
        and not text.startswith("...")  # a document end marker where a key starts a line
        and ": " not in text and " #" not in text and not text.endswith(":")
        and _resolves_as_text(text))


def _escape(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if not _NOT_PLAIN.match(char):
        return char
    code = ord(char)
    return f"\\x{code:02X}" if code < 0x100 else f"\\u{code:04X}" if code < 0x10000 else f"\\U{code:08X}"


def quoted_scalar(text: str) -> str:
    """`text` as a YAML double-quoted scalar on one line: `\\`, `"` and every line break, tab or
    character no font draws written as an escape. ValueError for a lone surrogate, which no UTF-8
    file can hold (a file name read with undecodable bytes)."""
    if _SURROGATE.search(text):
        raise ValueError(f"text with a lone surrogate cannot be written as YAML: {text!r}")
    return '"' + "".join(_escape(char) for char in text) + '"'


def text_scalar(text: str, *, quote: bool = False) -> str:
    """`text` as a YAML scalar that reads back as exactly this text and nothing more: plain where
    that is unambiguous to every reader, double-quoted otherwise (or always, with `quote`)."""
    return text if not quote and _plain_is_safe(text) else quoted_scalar(text)


def yaml_scalar(value: Any) -> str:
    """A data value as YAML: "" for null (`key:`), true/false, amounts as written (`345.52`,
    never `3.4552E+2`), anything else as text (text_scalar)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(f"not a number that YAML can hold as written: {value}")
        return amount_text(value)
    return text_scalar(str(value))


def comment_text(text: str) -> str:
    """`text` fit for one `# …` comment line: line breaks and characters no font draws as escapes."""
    return "".join(" " if char == "\t" else _escape(char) if _NOT_PLAIN.match(char) else char for char in text)
