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
code written without quotes) gets exactly the characters the author typed.

The loader reads the parser's event stream (libyaml's C parser when PyYAML has it, which is
several times faster than the pure-Python one) and builds the data itself, without recursion:
aliases are refused where they appear (so a "billion laughs" file costs nothing), nesting deeper
than MAX_DEPTH stops the parse at once (so 100 000 nested `[` cost nothing either), duplicate
keys are errors. Before parsing, the file must be a regular file inside the data folder, at
most MAX_FILE_BYTES long, UTF-8, and free of characters no font can draw; line breaks are
normalised to `\n`, so every reported line:column is the one an editor shows.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from perfdoc.diagnostics import Diagnostic, display_path, format_field_path

MAX_FILE_BYTES = 2 * 1024 * 1024  # a project file is a few KiB; 2 MiB is far beyond any real one
MAX_DEPTH = 32

FieldPath = tuple[str | int, ...]

_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# `!` is YAML's "non-specific" tag: the same as no tag at all.
_ALLOWED_TAGS = {None, "!", BaseResolver.DEFAULT_SCALAR_TAG, BaseResolver.DEFAULT_SEQUENCE_TAG,
                 BaseResolver.DEFAULT_MAPPING_TAG}

# Characters refused before parsing: what YAML itself refuses (C0/C1 controls, U+FFFE/U+FFFF;
# libyaml also refuses U+FEFF inside a file), plus NEL, LS and PS, which YAML takes as line breaks
# (so every later line number would be off) and no font can draw. Tab, LF and CR stay.
_REFUSED = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
REFUSED_CHARACTERS = _REFUSED  # what a data file may not contain (scaffold refuses such a name up front)
_CHARACTER_NAMES = {
    0x0B: "垂直制表符（vertical tab）",
    0x0C: "换页符（form feed），常见于从 Word 或 PDF 复制的文字",
    0x1C: "文件分隔符（information separator）", 0x1D: "组分隔符（information separator）",
    0x1E: "记录分隔符（information separator）", 0x1F: "单元分隔符（information separator）",
    0x7F: "删除符（DEL）",
    0x85: "下一行符（NEL），常见于从网页或旧系统复制的文字",
    0x2028: "行分隔符（line separator），常见于从网页或 Word 粘贴的文字",
    0x2029: "段分隔符（paragraph separator），常见于从网页或 Word 粘贴的文字",
    0xFEFF: "文件中间的字节顺序标记（BOM），常见于把几个文件拼接在一起",
}

_ERRNO_TEXT = {errno.ENOENT: "文件不存在", errno.EACCES: "没有读取权限", errno.ELOOP: "符号链接循环（symlink loop）",
               errno.EISDIR: "这是一个文件夹"}


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

    def error_at(self, pos: Position, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.display, pos.line, pos.column, "", message))

    @property
    def ok(self) -> bool:
        return not self.diagnostics


class _Mark(Protocol):
    line: int  # 0-based, as both parsers count
    column: int


class _EventSource(Protocol):
    def get_event(self) -> Event | None: ...  # None after the stream's end


_CParser: Callable[[str], _EventSource] | None
try:
    from yaml._yaml import (
        CParser as _LibyamlParser,  # absent when PyYAML was built without libyaml
    )

    _CParser = _LibyamlParser
except ImportError:  # pragma: no cover - depends on how PyYAML was installed
    _CParser = None


class _PureParser(Reader, Scanner, Parser):
    """PyYAML's pure-Python parser: the fallback where PyYAML was built without libyaml."""

    def __init__(self, stream: str):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


def _event_source(text: str) -> _EventSource:
    """libyaml's parser when available (several times faster), else PyYAML's pure-Python one."""
    return _CParser(text) if _CParser is not None else _PureParser(text)


def _position(mark: _Mark | None) -> Position:
    return Position(mark.line + 1, mark.column + 1) if mark is not None else Position(1, 1)


def _text_position(text: str, index: int) -> Position:
    """Line and column of `text[index]`, counting only `\n` as a line break (as editors do)."""
    line_start = text.rfind("\n", 0, index) + 1
    return Position(text.count("\n", 0, index) + 1, index - line_start + 1)


# ---------------------------------------------------------------------------------------------
# Reading the bytes


def _outside(path: Path, root: Path) -> bool:
    """Whether `path`, with every symlink followed, lies outside `root` (loops count as inside:
    opening the file then reports the loop)."""
    return not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _read_bounded(path: Path, loaded: LoadedFile, root: Path | None) -> bytes | None:
    """The file's bytes, if it is a regular file (inside `root`) of at most MAX_FILE_BYTES.

    The file is opened non-blocking and checked with fstat before reading, so a FIFO cannot hang
    the check and /dev/zero cannot fill memory; the read itself is bounded too, whatever stat says.
    """
    start = Position(1, 1)
    if root is not None and _outside(path, root):
        loaded.error_at(start, f"这是指向数据目录之外（{os.path.realpath(path)}）的符号链接（symlink）：为安全起见不读取，"
                               "请把文件本身放进数据目录")
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        loaded.error_at(start, f"无法读取文件（{_ERRNO_TEXT.get(exc.errno or 0, exc.strerror)}）")
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        loaded.error_at(start, "这不是普通文件（可能是设备、管道或文件夹）：数据文件应为普通的 .yaml 文本文件")
        return None
    with os.fdopen(fd, "rb") as stream:
        raw = stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        size = max(info.st_size, len(raw))
        loaded.error_at(start, f"文件过大（{size // 1024} KiB，上限 {MAX_FILE_BYTES // 1024} KiB）：这不像一个绩效目标数据文件")
        return None
    return raw


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
        loaded.error_at(Position(line, 1), f"文件不是 UTF-8 编码（not UTF-8）：{hint}请用 UTF-8 编码另存后再试")
        return None
    if "\x00" in text:
        loaded.error_at(Position(1, 1), "文件含有 NUL 字符，不是文本文件（binary file）")
        return None
    return text


def _describe_character(code: int) -> str:
    if code in _CHARACTER_NAMES:
        return _CHARACTER_NAMES[code]
    if unicodedata.category(chr(code)) == "Cc":
        return "控制字符（control character）"
    return "非字符（noncharacter）"


def _refuse_invisible(text: str, loaded: LoadedFile) -> bool:
    """Characters no font draws are refused at their own line:column, once per file."""
    found = _REFUSED.search(text)
    if found is None:
        return False
    code = ord(found.group())
    total = len(_REFUSED.findall(text))
    count = f"（本文件共 {total} 处）" if total > 1 else ""
    loaded.error_at(_text_position(text, found.start()),
                    f"文件含有不可见的字符 U+{code:04X} {_describe_character(code)}：字体无法显示，"
                    f"请删去或改为空格、换行{count}")
    return True


def load_yaml_file(path: Path, root: Path | None = None) -> LoadedFile:
    """Read one YAML file into a LoadedFile; never raises for bad input, it records diagnostics.

    With `root`, a symlink whose target lies outside `root` is refused unread: its target's lines
    would otherwise be quoted in messages (a read channel in the CI log of an untrusted change).
    """
    loaded = LoadedFile(path)
    raw = _read_bounded(path, loaded, root)
    if raw is None:
        return loaded
    text = _decode(raw, loaded)
    if text is None:
        return loaded
    return load_yaml_text(text, loaded)


# ---------------------------------------------------------------------------------------------
# Parsing


def _indented_with_tab(text: str, line: int) -> bool:
    """Whether the 0-based `line` of `text` is indented with a Tab (libyaml does not say so itself)."""
    lines = text.split("\n", line + 1)
    return line < len(lines) and "\t" in lines[line][: len(lines[line]) - len(lines[line].lstrip(" \t"))]


def _describe_yaml_error(exc: yaml.MarkedYAMLError, text: str) -> str:
    problem = exc.problem or str(exc)
    mark = exc.problem_mark
    if "\\t" in problem or "tab" in problem.lower() or (mark is not None and _indented_with_tab(text, mark.line)):
        return f"YAML 语法错误：不能用 Tab 键缩进，请改用空格（{problem}）"
    context = f"{exc.context}，" if exc.context else ""
    if "flow" in (exc.context or "") and mark is not None and "{" in text.split("\n")[mark.line][:mark.column + 1].split("{", 1)[-1]:
        # `{center: （{year}年度）}`: inside { } or [ ], a { of the text ends YAML's reading of it
        return (f"YAML 语法错误：{context}{problem}（{{ }} 或 [ ] 里的文字含有 {{ 或 }}，如 {{year}}、{{name}}，要加引号："
                '{center: "（{year}年度）"}；或不用 { } 而一行写一个键）')
    return f"YAML 语法错误：{context}{problem}（常见原因：冒号后缺空格、引号不成对、缩进不齐）"


@dataclass
class _Frame:
    """An open mapping or sequence; `path` None means its content is discarded."""

    container: dict[str, Any] | list[Any]
    path: FieldPath | None
    is_key: bool = False  # a collection used as a mapping key (refused)
    key: str | None = None  # mapping: the key whose value comes next (None: discard that value)
    awaiting_value: bool = False


class _TooDeep(Exception):
    """Nesting beyond MAX_DEPTH: parsing stops there, so any depth costs the same."""


class _SecondDocument(Exception):
    """A second `---` document: the file is one mapping."""

    def __init__(self, position: Position):
        super().__init__(position)
        self.position = position


class _Composer:
    """Builds the data from parser events with an explicit stack: no recursion, no aliases followed."""

    def __init__(self, loaded: LoadedFile):
        self.loaded = loaded
        self.stack: list[_Frame] = []
        self.problems: list[Diagnostic] = []
        self.aliases: list[Position] = []
        self.root: Any = None
        self.root_event: NodeEvent | None = None

    def problem(self, pos: Position, message: str, path: FieldPath = ()) -> None:
        self.problems.append(Diagnostic(self.loaded.display, pos.line, pos.column, format_field_path(path), message))

    def feed(self, event: Event) -> None:
        if isinstance(event, NodeEvent):
            self._open(event, _position(event.start_mark))
        elif isinstance(event, CollectionEndEvent):
            frame = self.stack.pop()
            if not frame.is_key:
                self._place(frame.container)
        elif isinstance(event, DocumentStartEvent) and self.root_event is not None:
            raise _SecondDocument(_position(event.start_mark))

    def _open(self, event: NodeEvent, pos: Position) -> None:
        if self.root_event is None:
            self.root_event = event
        if isinstance(event, AliasEvent):
            self.aliases.append(pos)
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.container, dict) and not top.awaiting_value:
            self._open_key(top, event, pos)
            return
        path = self._child_path(top)
        if path is not None:
            self.loaded.value_positions[path] = pos
            tag = getattr(event, "tag", None)  # an alias has none
            if tag not in _ALLOWED_TAGS:
                self.problem(pos, f"不支持 YAML 类型标签 `{tag}`：请去掉它，直接写值", path)
                path = None
        if isinstance(event, CollectionStartEvent):
            self._push(event, pos, path)
        else:
            resolved = _resolve_scalar(event, path, self.loaded) if isinstance(event, ScalarEvent) and path is not None else None
            self._place(resolved)

    def _child_path(self, top: _Frame | None) -> FieldPath | None:
        if top is None:
            return ()
        if top.path is None:
            return None
        if isinstance(top.container, list):
            return top.path + (len(top.container),)
        return None if top.key is None else top.path + (top.key,)

    def _open_key(self, top: _Frame, event: NodeEvent, pos: Position) -> None:
        top.awaiting_value, top.key = True, None
        if isinstance(event, CollectionStartEvent):
            if top.path is not None:
                self.problem(pos, "键（key）必须是简单文字")
            self._push(event, pos, None, is_key=True)
            return
        if top.path is None or isinstance(event, AliasEvent):
            return
        assert isinstance(event, ScalarEvent) and isinstance(top.container, dict)
        if event.tag not in _ALLOWED_TAGS:
            self.problem(pos, "键（key）必须是简单文字")
            return
        key_path = top.path + (event.value,)
        if event.value in top.container:
            first = self.loaded.key_positions[key_path]
            self.problem(pos, f"重复的键 “{event.value}”（duplicate key）：第 {first.line} 行已有同名字段，请删去一个",
                         key_path)
            return
        top.key = event.value
        top.container[event.value] = None  # holds the key's place in the order until its value comes
        self.loaded.key_positions[key_path] = pos

    def _push(self, event: NodeEvent, pos: Position, path: FieldPath | None, *, is_key: bool = False) -> None:
        if len(self.stack) > MAX_DEPTH:
            self.problem(pos, f"嵌套层次过深（超过 {MAX_DEPTH} 层）", path or ())
            raise _TooDeep
        container: dict[str, Any] | list[Any] = {} if isinstance(event, MappingStartEvent) else []
        self.stack.append(_Frame(container, path, is_key))

    def _place(self, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top.container, list):
            top.container.append(value)
            return
        if top.key is not None:
            top.container[top.key] = value
        top.awaiting_value, top.key = False, None


def load_yaml_text(text: str, loaded: LoadedFile) -> LoadedFile:
    """Parse `text` (the decoded file) into `loaded`; problems become its diagnostics."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # YAML reads CR and CRLF as LF anyway
    if _refuse_invisible(text, loaded):
        return loaded
    reported = len(loaded.diagnostics)
    try:
        return _compose(text, loaded, _event_source(text))
    except _LibyamlTooDeep:
        # Read again by the pure-Python parser, which has no limit of its own: the composer stops
        # it at MAX_DEPTH, at the same place and with the same message as with any libyaml.
        del loaded.diagnostics[reported:]
        loaded.value_positions.clear()
        loaded.key_positions.clear()
        return _compose(text, loaded, _PureParser(text))


def _is_libyamls_own_depth_limit(exc: yaml.MarkedYAMLError) -> bool:
    """libyaml 0.2.6 (bundled with PyYAML 6.0.4) stops at 1000 levels with its own English
    message, and its scanner looks that far ahead of the events: 100 000 `[` in a row raise it
    before the composer has seen MAX_DEPTH of them."""
    return "maximum nesting depth" in (exc.problem or "")


class _LibyamlTooDeep(Exception):
    """libyaml's own nesting limit was hit before perfdoc's (see _is_libyamls_own_depth_limit)."""


def _compose(text: str, loaded: LoadedFile, parser: _EventSource) -> LoadedFile:
    composer = _Composer(loaded)
    try:
        while (event := parser.get_event()) is not None:
            composer.feed(event)
    except yaml.MarkedYAMLError as exc:
        if _is_libyamls_own_depth_limit(exc) and not isinstance(parser, _PureParser):
            raise _LibyamlTooDeep from exc
        loaded.error_at(_position(exc.problem_mark or exc.context_mark), _describe_yaml_error(exc, text))
        return loaded
    except _SecondDocument as exc:
        loaded.error_at(exc.position, "一个文件只能有一个 YAML 文档，请删去多余的 `---`（expected a single document）")
        return loaded
    except _TooDeep:
        pass  # the composer holds the message; what was read so far is checked as usual
    if composer.aliases:  # one message for the file, at the first alias, however many there are
        first, total = composer.aliases[0], len(composer.aliases)
        count = f"（本文件共 {total} 处）" if total > 1 else ""
        loaded.error_at(first, f"不支持 YAML 别名（alias `*名称`）{count}：请把内容直接写出来")
        return loaded
    if composer.root_event is None:
        loaded.error_at(Position(1, 1), "文件为空（empty file）：应为一个键值映射（mapping）")
        return loaded
    if not isinstance(composer.root_event, MappingStartEvent):
        loaded.error_at(_position(composer.root_event.start_mark),
                        "文件顶层应为键值映射（mapping，如 `code: \"142001001\"` 一行一个字段），而不是列表或单个值")
        return loaded
    loaded.diagnostics += composer.problems
    loaded.data = composer.root if not composer.stack else composer.stack[0].container
    return loaded


def _resolve_scalar(event: ScalarEvent, path: FieldPath, loaded: LoadedFile) -> Any:
    text = event.value
    if event.style:  # quoted or block scalar: always text (plain is None in PyYAML, "" in libyaml)
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
