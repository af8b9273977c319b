"""Stage 1 — load: YAML files → plain Python data plus where every value stands in the file.

PyYAML's own loaders follow YAML 1.1, which silently turns `NO` into False, `1:30` into 90,
`2023-01-01` into a date and `0012` into 10 (octal). A budget file must never change behind its
author's back, so this loader resolves plain scalars itself, by a deliberately small rule set:

    ~ / null / empty        → None
    true / false            → bool
    123, -5, 0              → int      (decimal, no leading zero)
    12.5, 1e3               → Decimal  (exact; amounts must not become binary floats)
    anything else           → str, exactly as written (`NO`, `0012`, `1:30`, `2023-01-01` …)

For every scalar it also keeps the source text, so a field the schema types as text (a project
code written without quotes) gets exactly the characters the author typed. Aliases are refused
where they appear (so a "billion laughs" file costs nothing), duplicate keys are errors, and
encoding, emptiness and top-level shape are checked with messages that say what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterator

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from .diagnostics import Diagnostic, display_path, format_field_path

MAX_FILE_BYTES = 2 * 1024 * 1024  # a project file is a few KiB; 2 MiB is far beyond any real one
MAX_DEPTH = 32

FieldPath = tuple[str | int, ...]

_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_DEFAULT_TAGS = {BaseResolver.DEFAULT_SCALAR_TAG, BaseResolver.DEFAULT_SEQUENCE_TAG,
                 BaseResolver.DEFAULT_MAPPING_TAG}


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class LoadedFile:
    """One YAML file: its data, and where each value (and each mapping key) stands."""

    path: Path
    data: Any = None
    value_positions: dict[FieldPath, Position] = field(default_factory=dict)
    key_positions: dict[FieldPath, Position] = field(default_factory=dict)
    # Source text of plain scalars that were read as numbers/booleans, so that text fields can
    # take them exactly as written.
    plain_texts: dict[FieldPath, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def display(self) -> str:
        return display_path(self.path)

    def position_of(self, path: FieldPath, *, key: bool = False) -> Position:
        """The closest known position for `path`: itself, else its nearest ancestor."""
        table = self.key_positions if key else self.value_positions
        if path in table:
            return table[path]
        for cut in range(len(path) - 1, -1, -1):
            if path[:cut] in self.value_positions:
                return self.value_positions[path[:cut]]
        return Position(1, 1)

    def diagnostic(self, path: FieldPath, message: str, *, key: bool = False, **kwargs: Any) -> Diagnostic:
        pos = self.position_of(path, key=key)
        return Diagnostic(self.display, pos.line, pos.column, format_field_path(path), message, **kwargs)

    @property
    def ok(self) -> bool:
        return not self.diagnostics


class _AliasRefused(Exception):
    pass


class _StrictLoader(Reader, Scanner, Parser, Composer, BaseResolver):
    """A composer with no implicit type resolution, which refuses aliases where they stand."""

    def __init__(self, stream: str, on_alias):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self._on_alias = on_alias

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(AliasEvent):
            event = self.get_event()
            self._on_alias(event.start_mark)
            return ScalarNode(BaseResolver.DEFAULT_SCALAR_TAG, "", event.start_mark, event.end_mark)
        return super().compose_node(parent, index)


def _position(mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _decode(raw: bytes, loaded: LoadedFile) -> str | None:
    """UTF-8 (with or without BOM) only; a GBK file gets a message that says how to fix it."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = ""
        try:
            raw.decode("gb18030")
            hint = "看起来是 GBK/GB18030 编码（常见于 Windows 记事本、WPS 另存），"
        except UnicodeDecodeError:
            pass
        loaded.diagnostics.append(Diagnostic(
            loaded.display, line, 1, "",
            f"文件不是 UTF-8 编码（not UTF-8）：{hint}请用 UTF-8 编码另存后再试"))
        return None
    if "\x00" in text:
        loaded.diagnostics.append(Diagnostic(loaded.display, 1, 1, "", "文件含有 NUL 字符，不是文本文件（binary file）"))
        return None
    return text


def _describe_yaml_error(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or str(exc)
    if "\\t" in problem or "tab" in problem.lower():
        return f"YAML 语法错误：不能用 Tab 键缩进，请改用空格（{problem}）"
    if "found duplicate anchor" in problem:
        return f"YAML 语法错误：锚点重复（{problem}）"
    if "single document" in f"{exc.context} {exc.problem}":
        return "一个文件只能有一个 YAML 文档，请删去多余的 `---`（expected a single document）"
    context = f"{exc.context}，" if exc.context else ""
    return f"YAML 语法错误：{context}{problem}（常见原因：冒号后缺空格、引号不成对、缩进不齐）"


def load_yaml_file(path: Path) -> LoadedFile:
    """Read one YAML file into a LoadedFile; never raises for bad input, it records diagnostics."""
    loaded = LoadedFile(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            loaded.diagnostics.append(Diagnostic(
                loaded.display, 1, 1, "",
                f"文件过大（{size // 1024} KiB，上限 {MAX_FILE_BYTES // 1024} KiB）：这不像一个绩效目标数据文件"))
            return loaded
        raw = path.read_bytes()
    except OSError as exc:
        loaded.diagnostics.append(Diagnostic(loaded.display, 1, 1, "", f"无法读取文件（{exc.strerror}）"))
        return loaded
    text = _decode(raw, loaded)
    if text is None:
        return loaded
    return load_yaml_text(text, loaded)


def load_yaml_text(text: str, loaded: LoadedFile) -> LoadedFile:
    aliases: list[Position] = []

    def refuse_alias(mark) -> None:
        aliases.append(_position(mark))

    composer = None
    try:
        composer = _StrictLoader(text, refuse_alias)
        root = composer.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _position(mark) if mark else Position(1, 1)
        loaded.diagnostics.append(Diagnostic(loaded.display, pos.line, pos.column, "", _describe_yaml_error(exc)))
        return loaded
    except yaml.reader.ReaderError as exc:  # control characters and the like
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        loaded.diagnostics.append(Diagnostic(
            loaded.display, line, column, "",
            f"YAML 读取错误：文件含有不可见的控制字符 U+{exc.character:04X}，请删去（常见于从 Word 粘贴的文字）"))
        return loaded
    finally:
        if composer is not None:
            composer.dispose()
    if aliases:  # one message for the file, at the first alias, however many there are
        count = f"（本文件共 {len(aliases)} 处）" if len(aliases) > 1 else ""
        loaded.diagnostics.append(Diagnostic(
            loaded.display, aliases[0].line, aliases[0].column, "",
            f"不支持 YAML 别名（alias `*名称`）{count}：请把内容直接写出来"))
        return loaded
    if root is None:
        loaded.diagnostics.append(Diagnostic(loaded.display, 1, 1, "", "文件为空（empty file）：应为一个键值映射（mapping）"))
        return loaded
    if not isinstance(root, MappingNode):
        pos = _position(root.start_mark)
        loaded.diagnostics.append(Diagnostic(
            loaded.display, pos.line, pos.column, "",
            "文件顶层应为键值映射（mapping，如 `code: \"142001001\"` 一行一个字段），而不是列表或单个值"))
        return loaded
    loaded.data = _convert(root, (), loaded, 0)
    return loaded


def _convert(node: Node, path: FieldPath, loaded: LoadedFile, depth: int) -> Any:
    loaded.value_positions[path] = _position(node.start_mark)
    if depth > MAX_DEPTH:
        loaded.diagnostics.append(loaded.diagnostic(path, f"嵌套层次过深（超过 {MAX_DEPTH} 层）"))
        return None
    if node.tag not in _DEFAULT_TAGS:
        loaded.diagnostics.append(loaded.diagnostic(
            path, f"不支持 YAML 类型标签 `{node.tag}`：请去掉它，直接写值"))
        return None
    if isinstance(node, ScalarNode):
        return _resolve_scalar(node, path, loaded)
    if isinstance(node, SequenceNode):
        return [_convert(item, path + (i,), loaded, depth + 1) for i, item in enumerate(node.value)]
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag not in _DEFAULT_TAGS:
            pos = _position(key_node.start_mark)
            loaded.diagnostics.append(Diagnostic(
                loaded.display, pos.line, pos.column, "", "键（key）必须是简单文字"))
            continue
        key = key_node.value
        key_path = path + (key,)
        if key in mapping:
            first = loaded.key_positions[key_path]
            pos = _position(key_node.start_mark)
            loaded.diagnostics.append(Diagnostic(
                loaded.display, pos.line, pos.column, format_field_path(key_path),
                f"重复的键 “{key}”（duplicate key）：第 {first.line} 行已有同名字段，请删去一个"))
            continue
        loaded.key_positions[key_path] = _position(key_node.start_mark)
        mapping[key] = _convert(value_node, key_path, loaded, depth + 1)
    return mapping


def _resolve_scalar(node: ScalarNode, path: FieldPath, loaded: LoadedFile) -> Any:
    text = node.value
    if node.style is not None:  # quoted or block scalar: always text
        return text
    if text in _NULL:
        return None
    if text in _BOOL:
        loaded.plain_texts[path] = text
        return _BOOL[text]
    try:
        if _INT.fullmatch(text):
            number: int | Decimal = int(text)
        elif _DECIMAL.fullmatch(text):
            number = Decimal(text)
        else:
            return text
    except (ValueError, InvalidOperation):  # beyond any real amount (4300+ digits, 1e99999999): text
        return text
    loaded.plain_texts[path] = text
    return number


def iter_values(node: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    """Every value of a loaded structure with its field path, the root first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from iter_values(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_values(value, path + (index,))
