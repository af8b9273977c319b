"""`new-year`: last year's data folder, rolled forward to a new budget year.

Codes, names and indicators stay; the year (and the year inside the title and the output name)
changes; the spending-plan values are emptied, keys kept, because next year's plan must be
decided afresh. The data folder's own profiles/ and scoring rules (scoring/) are copied as they are;
the year's monitoring and self-evaluation (evaluation/, monitoring/) never are: actuals belong to
the year they were measured in. The files are edited as text, line by line at the positions the loader recorded,
never re-dumped: comments, key order and quoting stay as the author wrote them; a value that is
written anew goes through perfdoc.data.yaml_text, as in `new` and `import`. Every text that
still names an earlier year is listed as a warning with its file and line, for a person to read.
The new folder appears whole or not at all (written beside it, then renamed into place).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfdoc.build.output import refuse_data_dir, temporary_sibling
from perfdoc.data.fields import STAGES
from perfdoc.data.loader import FieldPath, LoadedFile, Position, iter_values, load_yaml_text
from perfdoc.data.rules import RULES_DIR
from perfdoc.data.validate import DEPARTMENT_FILE, CheckedData, check_data
from perfdoc.data.yaml_text import text_scalar, yaml_scalar
from perfdoc.diagnostics import (
    Diagnostic,
    Severity,
    UserError,
    display_path,
    format_field_path,
    in_file,
    unlocated,
)

PROFILES_DIR = "profiles"
MIN_YEAR, MAX_YEAR = 2000, 2100  # as the schema's `year`
_NUMBER = re.compile(r"[-+0-9.eE_]+")
# 2021年, 2021 年前, and the first year of a range: 2023—2025年, 2023-2025 年.
_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?=\s*(?:年|[-—–~～至到]\s*20[0-9]{2}\s*年))")
_YEAR_TEXT_KEYS = ("title", "output_name")  # department.yaml values whose old year is replaced


class YearNotLater(UserError):
    """The new year is not after the data's: a usage error (exit status 2), not the data's fault."""


@dataclass
class RolledFile:
    """One data file of the new folder: where it goes, its edited text, what was changed."""

    relative: Path
    text: str
    cleared_plan_values: int = 0
    warnings: list[Diagnostic] = field(default_factory=list)


def _plain_end(line: str, start: int) -> int:
    """Where a plain scalar that starts at `start` ends on its line: before ` #` or the line's end."""
    comment = line.find(" #", start)
    end = comment if comment >= 0 else len(line.rstrip("\r\n"))
    return len(line[:end].rstrip()) if end > start else start


def _quoted_end(line: str, start: int) -> int:
    """Just after the closing quote of the quoted scalar at `start` (or the line's end)."""
    quote, i = line[start], start + 1
    while i < len(line):
        if quote == '"' and line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            if quote == "'" and line[i + 1:i + 2] == "'":  # '' is a quote inside '…'
                i += 2
                continue
            return i + 1
        i += 1
    return len(line.rstrip("\r\n"))


def _scalar_span(line: str, start: int, *, numeric: bool) -> tuple[int, int]:
    """The characters of the scalar at `start`: a number's digits, or a text scalar on this line."""
    if numeric:
        match = _NUMBER.match(line, start)
        return start, match.end() if match else start
    if line[start:start + 1] in ("'", '"'):
        return start, _quoted_end(line, start)
    return start, _plain_end(line, start)


class _Editor:
    """Edits of one file's lines at loader positions (1-based line and column)."""

    def __init__(self, text: str):
        self.lines = text.splitlines(keepends=True)

    def replace_number(self, position: Position, new: str) -> None:
        index = position.line - 1
        line = self.lines[index]
        start, end = _scalar_span(line, position.column - 1, numeric=True)
        edited = line[:start] + new + line[end:]
        if not new and not edited[start:].strip():  # `  3月底: 25` → `  3月底:` (no trailing blank)
            edited = edited[:start].rstrip() + edited[len(edited.rstrip("\r\n")):]
        self.lines[index] = edited

    def replace_text(self, position: Position, old: str, new: str) -> bool:
        """Write `new` in place of the text scalar `old` at `position`, through the one YAML writer
        (double-quoted where the author quoted it, so the file keeps its look). Only a value that
        stands whole on its line is replaced; a block or multi-line one is left (and warned about)."""
        index = position.line - 1
        line = self.lines[index]
        start, end = _scalar_span(line, position.column - 1, numeric=False)
        if start == end or line[start] in "|>" or \
                load_yaml_text(f"k: {line[start:end]}\n", LoadedFile(Path("value.yaml"))).data != {"k": old}:
            return False
        self.lines[index] = line[:start] + text_scalar(new, quote=line[start] in "'\"") + line[end:]
        return True

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _read_text(loaded: LoadedFile) -> str:
    try:
        with open(loaded.path, encoding="utf-8", newline="") as handle:  # keep CRLF as written
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(unlocated(f"无法读取 {loaded.display}（{exc}）")) from exc


def _plan_paths(loaded: LoadedFile) -> list[FieldPath]:
    """Filled spending-plan values: a project's `spending_plan`, or the department table's."""
    return [path for path, value in iter_values(loaded.data)
            if value is not None and len(path) >= 2 and path[-2] == "spending_plan"
            and path[:-2] in ((), ("department_table",))]


def _set(data: Any, path: FieldPath, value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _roll_file(loaded: LoadedFile, relative: Path, old_year: int, new_year: int) -> RolledFile:
    """The file's text with the year changed and the plan emptied, checked by reading it back."""
    editor = _Editor(_read_text(loaded))
    expected = copy.deepcopy(loaded.data)
    if relative.name == DEPARTMENT_FILE and relative.parent == Path():
        editor.replace_number(loaded.position_of(("year",)), yaml_scalar(new_year))
        expected["year"] = new_year
        for key in _YEAR_TEXT_KEYS:
            value = loaded.data.get(key)
            new_value = value.replace(str(old_year), str(new_year)) if isinstance(value, str) else value
            if new_value != value and editor.replace_text(loaded.position_of((key,)), value, new_value):
                expected[key] = new_value
    # Right to left, so that emptying one value of a flow mapping ({3月底: 25, 6月底: 50}) does not
    # move the columns of the values still to be emptied on that line.
    paths = _plan_paths(loaded)
    for position in sorted((loaded.position_of(path) for path in paths), key=lambda pos: (pos.line, pos.column),
                           reverse=True):
        editor.replace_number(position, "")
    for path in paths:
        _set(expected, path, None)
    reread = load_yaml_text(editor.text, LoadedFile(loaded.path))
    if reread.diagnostics or reread.data != expected:  # a layout the line edits do not understand
        raise UserError(unlocated(f"{loaded.display} 的写法无法逐行修改（改后读回与预期不符）；未生成任何文件。"
                        "请把 year 和资金支出计划写成每项一行（如 “  3月底: 25”）后再运行 new-year"))
    return RolledFile(relative, editor.text, cleared_plan_values=len(paths))


def past_year_warnings(text: str, display: str, new_year: int) -> list[Diagnostic]:
    """Every text value of a data file that names a year before `new_year`, with its line."""
    loaded = load_yaml_text(text, LoadedFile(Path(display)))
    warnings = []
    for path, value in iter_values(loaded.data):
        if not isinstance(value, str):
            continue
        years = sorted({int(year) for year in _YEAR.findall(value) if int(year) < new_year})
        if years:
            shown = "、".join(f"{year} 年" for year in years)
            pos = loaded.position_of(path)
            warnings.append(Diagnostic(display, pos.line, pos.column, format_field_path(path),
                                       f"文字中写的是 {shown}，新文件是 {new_year} 年度：请确认是否需要改写",
                                       Severity.WARNING))
    return warnings


def _fonts_dir_warning(loaded: LoadedFile, data_dir: Path, target: Path, display: str) -> list[Diagnostic]:
    """A relative fonts_dir may point elsewhere from the new folder: say so where it is written."""
    fonts_dir = loaded.data.get("fonts_dir")
    if not isinstance(fonts_dir, str) or Path(fonts_dir).is_absolute():
        return []
    before, after = os.path.realpath(data_dir / fonts_dir), os.path.realpath(target / fonts_dir)
    if before == after:
        return []
    pos = loaded.position_of(("fonts_dir",))
    return [Diagnostic(display, pos.line, pos.column, "fonts_dir",
                       f"字体目录是相对路径：原来指向 {display_path(Path(before))}，在新目录中指向 "
                       f"{display_path(Path(after))}；请改成正确的路径", Severity.WARNING)]


def _check_target(target: Path, data_dir: Path) -> None:
    if target.exists() and not target.is_dir():
        raise UserError(unlocated(f"目标 {display_path(target)} 已存在且不是文件夹；请用 --to 指定一个新的文件夹"))
    if target.is_dir() and any(target.iterdir()):
        raise UserError(unlocated(f"目标文件夹 {display_path(target)} 已存在且不是空的；new-year 不会覆盖已有数据，"
                        "请用 --to 指定一个新的文件夹（或先删除它）"))
    try:
        refuse_data_dir(target, data_dir)  # the one rule for "inside the data folder"; its words name --out
    except UserError:
        raise UserError(unlocated(f"新数据目录 {display_path(target)} 位于原数据目录 {display_path(data_dir)} 之内"
                                  "（inside the data folder）：new-year 从不往原数据目录里写文件，"
                                  "请用 --to 指定数据目录之外的文件夹")) from None


def _load_source(data_dir: Path) -> CheckedData:
    """The checked data; the targets must be right (the stage files are not carried forward, so
    their errors do not stop the roll-forward)."""
    checked = check_data(data_dir)
    if checked.department is None or checked.target_errors:
        raise UserError([*checked.target_errors, unlocated(f"{display_path(data_dir)} 里的数据有错误，未生成新年度的数据；"
                                                           "请先改正（python3 build.py check），再运行 new-year")])
    return checked


def roll_forward(data_dir: Path, target: Path, new_year: int) -> tuple[list[RolledFile], int]:
    """The new folder's files (not yet written) and the old year. UserError when it cannot be done."""
    checked = _load_source(data_dir)
    assert checked.department is not None
    old_year = checked.department.data["year"]
    if new_year <= old_year:
        raise YearNotLater(unlocated(f"新年度 {new_year} 应晚于数据的年度 {old_year}（{checked.department.display} 的 year）"))
    rolled = []
    for loaded in [checked.department, *checked.projects]:
        relative = Path(os.path.relpath(loaded.path, data_dir))
        rolled_file = _roll_file(loaded, relative, old_year, new_year)
        display = display_path(target / relative)
        rolled_file.warnings = past_year_warnings(rolled_file.text, display, new_year)
        if loaded is checked.department:
            rolled_file.warnings += _fonts_dir_warning(loaded, data_dir, target, display)
        rolled.append(rolled_file)
    return rolled, old_year


def _profile_files(data_dir: Path, kind: str = PROFILES_DIR) -> list[Path]:
    """The data folder's own profiles (or scoring rules: `kind` scoring), to be copied as they are.

    The data folder's symlink rule holds here as for every data file (perfdoc.data.loader): a link
    whose target lies outside the data folder (a token file, /etc/shadow) is never read, so it is
    not copied either; new-year stops with its name, and nothing is written.
    """
    folder = data_dir / kind
    if not folder.is_dir():
        return []
    inside = Path(os.path.realpath(data_dir))
    found = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])  # a profile may be a .yml (perfdoc.data.profile)
    leaving = [p for p in found if not Path(os.path.realpath(p)).is_relative_to(inside)]
    if leaving:
        raise UserError([in_file(p, f"这是指向数据目录之外（{os.path.realpath(p)}）的符号链接（symlink）：为安全起见"
                                    "不读取也不复制，未生成任何文件；请把文件本身放进数据目录，或删去这个链接")
                         for p in leaving])
    return [p for p in found if p.is_file()]


def write_folder(target: Path, files: dict[Path, bytes]) -> None:
    """All files under `target`, which appears only when every one is written (one rename)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(unlocated(f"无法创建 {display_path(target.parent)}（{exc.strerror}）")) from exc
    staging = temporary_sibling(target)
    try:
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        if target.is_dir():
            target.rmdir()  # empty (checked before): the rename below takes its place
        os.rename(staging, target)
    except OSError as exc:
        raise UserError(unlocated(f"无法写入 {display_path(target)}（{exc.strerror or exc}）；没有生成任何文件")) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


@dataclass
class NewYearResult:
    old_year: int
    files: int
    projects: int
    cleared_plan_values: int
    warnings: list[Diagnostic]
    left_behind: dict[str, int] = field(default_factory=dict)  # stage → its files, not carried forward


def new_year(data_dir: Path, target: Path, year: int) -> NewYearResult:
    """Write `target` as `data_dir` rolled forward to `year` (YearNotLater when it is not a later year)."""
    _check_target(target, data_dir)
    rolled, old_year = roll_forward(data_dir, target, year)
    files = {file.relative: file.text.encode("utf-8") for file in rolled}
    for kind in (PROFILES_DIR, RULES_DIR):
        for copied in _profile_files(data_dir, kind):
            try:
                files[Path(kind) / copied.name] = copied.read_bytes()
            except OSError as exc:
                raise UserError(unlocated(f"无法读取 {display_path(copied)}（{exc.strerror}）")) from exc
    write_folder(target, files)
    left_behind = {stage: len(list((data_dir / stage).glob("*.yaml"))) for stage in STAGES if (data_dir / stage).is_dir()}
    return NewYearResult(old_year, len(files), len(rolled) - 1, sum(f.cleared_plan_values for f in rolled),
                         sorted((w for f in rolled for w in f.warnings), key=lambda d: (d.file, d.line, d.column)),
                         left_behind)
