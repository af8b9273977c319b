"""`python3 build.py import FILE… [--data DIR] [--profile NAME] [--force]`: files in, a data folder out.

Every file is read (converted first when it is .doc/.wps/.et), its tables recognised with a
profile, and its records gathered; then every data file is written at once or none is
(perfdoc.build.output.write_all_or_nothing), never over existing data files without --force; with
--force, project files that this import does not write are removed in the same all-or-nothing step,
so projects/ holds exactly what was imported. schema.json goes beside the data folder, never into it
and never over a different one without --force. Nothing is printed here: import_files returns an
ImportResult (notes as Diagnostics naming file, table, row and column) that perfdoc.commands tells.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfdoc.build.preflight import PackageRules, check_package
from perfdoc.data.profile import (
    DEFAULT_PROFILE,
    Profile,
    available_profiles,
    load_profile,
    profile_path,
    where_profiles_live,
)
from perfdoc.diagnostics import Diagnostic, UserError, display_path, unlocated
from perfdoc.io.narrative import Narrative, read_narrative
from perfdoc.io.notes import Note, Where
from perfdoc.io.package import refuse_unsafe_parts
from perfdoc.io.recognise import Record, caption_lines_before, detect_profile, recognise, table_labels, year_shown
from perfdoc.io.source import Grid, Paragraph, Source, label_key
from perfdoc.io.writer import DEPARTMENT_ORDER, project_order, yaml_text

FILE_CODE = re.compile(r"[0-9A-Za-z_\-]{1,40}")
WORD = (".docx", ".docm")
EXCEL = (".xlsx", ".xlsm")
# Last year's files may carry images: far larger than a style template, still bounded.
IMPORT_LIMIT = 200 * 1024 * 1024
IMPORT_WORD = PackageRules("要导入的文件", "DOCX", ("word/document.xml",), IMPORT_LIMIT, "请去掉图片后重新保存再导入")
IMPORT_EXCEL = PackageRules("要导入的文件", "XLSX", ("xl/workbook.xml",), IMPORT_LIMIT, "请只保留需要的工作表后再导入")


@dataclass
class Imported:
    """What the files gave: the department's text, records, notes, and the profiles they use."""

    narrative: Narrative = field(default_factory=Narrative)
    narrative_file: str = ""
    records: list[Record] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    project_profile: Profile | None = None
    table_profile: Profile | None = None
    year: int | None = None  # the budget year the tables' labels show (`{year}` in a profile)


def _candidates(data_dir: Path) -> list[Profile]:
    profiles = []
    for _name, path in available_profiles(data_dir):
        try:
            profiles.append(load_profile(path))
        except UserError:  # a broken local profile cannot be what the document uses; `profiles` reports it
            continue
    return profiles


def _forced_profile(name: str, data_dir: Path) -> Profile:
    try:
        path = profile_path(name, data_dir)
    except ValueError:
        raise UserError(unlocated(f"格式名“{name}”无效：只能是字母、数字、汉字、- 和 _")) from None
    if not path.is_file():
        raise UserError(unlocated(f"找不到表格格式“{name}”（{where_profiles_live(name, data_dir)}）"))
    return load_profile(path)


def read_import_file(path: Path) -> tuple[str, bytes]:
    """(kind, content) of a file to import, checked as every import reads it (see _read)."""
    return _read(path)


def _read(path: Path) -> tuple[str, bytes]:
    """(kind, content): .docx/.xlsx read as they are, old formats converted by LibreOffice; either
    way no XML part may carry a DOCTYPE (entities) or be damaged (perfdoc.io.package)."""
    from perfdoc.io.convert import CONVERTED, convert

    suffix = path.suffix.lower()
    if not path.is_file():
        raise UserError(unlocated(f"找不到要导入的文件 {display_path(path)}"))
    if suffix in CONVERTED:
        kind, content = CONVERTED[suffix], convert(path)
    elif suffix in WORD or suffix in EXCEL:
        check_package(path, IMPORT_WORD if suffix in WORD else IMPORT_EXCEL)  # a zip bomb costs nothing
        try:
            kind, content = ("docx" if suffix in WORD else "xlsx"), path.read_bytes()
        except OSError as exc:
            raise UserError(unlocated(f"无法读取 {display_path(path)}（{exc.strerror}）")) from exc
    else:
        raise UserError(unlocated(f"不能导入 {display_path(path)}：只支持 Word（.docx，.doc/.wps 需 LibreOffice）"
                        "和 Excel（.xlsx，.et/.xls 需 LibreOffice）文件"))
    what = ("Word 文档（.docx）", "请用 Word 或 WPS 打开后另存为 .docx 再导入") if kind == "docx" else \
        ("Excel 工作簿（.xlsx）", "请用 Excel 或 WPS 打开后另存为 .xlsx 再导入")
    refuse_unsafe_parts(content, display_path(path), *what)
    return kind, content


def _word(source: Source, imported: Imported, forced: Profile | None, candidates: list[Profile]) -> None:
    keys = {cell.key for grid in source.grids for row in grid.rows for cell in row.cells}
    projects = [p for p in candidates if p.table == "project"]
    departments = [p for p in candidates if p.table == "department"]
    project = forced if forced is not None and forced.table == "project" else detect_profile(keys, projects)
    department = forced if forced is not None and forced.table == "department" else detect_profile(keys, departments)
    before_tables: list[Paragraph] = []
    for block in source.blocks:
        if isinstance(block, Grid):
            break
        before_tables.append(block)
    # `{year}` in labels and lines: the year the tables show, else the department's text's.
    texts = sorted(keys) + [label_key(b.text) for b in source.blocks if isinstance(b, Paragraph)]
    year = next((y for p in (project, department) if p is not None and (y := year_shown(p, texts))), None)
    if year is None:
        year = read_narrative(before_tables, source.name, []).data.get("year")
    project = project.for_year(year) if project is not None else None
    department = department.for_year(year) if department is not None else None
    if year and not imported.year:
        imported.year = year
    captions = caption_lines_before(before_tables, [p for p in (department, project) if p is not None])
    narrative = read_narrative(before_tables[:len(before_tables) - captions], source.name, imported.notes)
    _take_narrative(imported, narrative, source.name)
    if source.grids and project is None and department is None:
        for grid in source.grids[:3]:
            imported.notes.append(Note(Where(source.name, grid.number),
                                       f"无法识别表格格式：表中的标签为 {'、'.join(table_labels(grid)) or '（空）'}；"
                                       "用 --profile 指定格式（python3 build.py profiles 列出全部）", error=True))
        return
    _take_profiles(imported, project, department, source.name)
    found = recognise(source, project if project else None, department if department else None,
                      start=len(before_tables) - captions)
    imported.records += found.records
    imported.notes += found.notes
    if source.grids and not found.records:
        imported.notes.append(Note(Where(source.name), f"没有认出任何项目表（共 {len(source.grids)} 张表，"
                                   "每张表应以表格格式的第一个标签开头，如“项目编码”）", error=True))


def _take_profiles(imported: Imported, project: Profile | None, department: Profile | None, name: str) -> None:
    for attr, profile in (("project_profile", project), ("table_profile", department)):
        if profile is None:
            continue
        current: Profile | None = getattr(imported, attr)
        if current is None:
            setattr(imported, attr, profile)
        elif current.name != profile.name:
            raise UserError(unlocated(f"{name} 的表格格式是 {profile.name}，与前面的文件（{current.name}）不同："
                            "一个数据目录只用一种项目表格式，请分别导入到不同的 --data 目录"))


def _take_narrative(imported: Imported, narrative: Narrative, name: str) -> None:
    if not narrative.data:
        return
    if imported.narrative.data:
        imported.notes.append(Note(Where(name), f"部门文字已取自 {imported.narrative_file}，此文件中的标题和部门文字未导入"))
        return
    imported.narrative, imported.narrative_file = narrative, name


def _department_file(imported: Imported, tables: list[Record]) -> tuple[dict[str, Any], dict[tuple[str | int, ...], str]]:
    data = dict(imported.narrative.data)
    comments = dict(imported.narrative.comments)
    if imported.project_profile is not None and imported.project_profile.name != DEFAULT_PROFILE:
        data["profile"] = imported.project_profile.name
    if tables:
        table = tables[0]
        table_data = {"profile": table.profile.name, **{k: v for k, v in table.data.items() if k != "department"}}
        name = table.data.get("department")
        if name and not data.get("department"):
            data["department"] = name
        data["department_table"] = table_data
        comments.update({("department_table", *path): text for path, text in table.comments.items()})
    if "year" not in data and imported.year:
        data["year"] = imported.year
    for key, what in (("department", "单位名称"), ("year", "预算年度（如 2024）"), ("title", "文件标题（如 2024年部门预算绩效目标）")):
        if key not in data:
            data[key] = None
            comments[(key,)] = f"原文中没有找到{what}，请填写"
    return data, comments


def _outputs(imported: Imported, data_dir: Path) -> dict[Path, bytes]:
    outputs: dict[Path, bytes] = {}
    tables = [r for r in imported.records if r.kind == "department"]
    for extra in tables[1:]:
        imported.notes.append(Note(extra.where, "第二张部门整体支出绩效目标表未导入：一个部门文件只有一张", error=True))
    department, comments = _department_file(imported, tables)
    header = [f"部门预算绩效目标：部门文字（由 perfdoc import 从 {imported.narrative_file or '导入的文件'} 导入）"]
    outputs[data_dir / "department.yaml"] = yaml_text(department, order=DEPARTMENT_ORDER, schema="../schema.json",
                                                      header=header, comments=comments).encode()
    seen: dict[str, Record] = {}
    for record in (r for r in imported.records if r.kind == "project"):
        key = _file_key(record, imported, seen)
        if key is None:
            continue
        seen[key] = record
        where = f"{record.where.file} 第 {record.where.table} 张表" if record.where.table else record.where.file
        header = [f"项目支出绩效目标表：{record.data.get('name', '')}（由 perfdoc import 从 {where} 导入）"]
        outputs[data_dir / "projects" / f"{key}.yaml"] = yaml_text(
            record.data, order=project_order(record.profile), schema="../../schema.json", header=header,
            comments=record.comments).encode()
    return outputs


# A file name made of a project's name (where its table has no code): no character that a file
# name cannot hold on Windows or Linux, not hidden, not too long.
_NOT_IN_FILE_NAMES = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
MAX_NAME_KEY = 60


def _file_key(record: Record, imported: Imported, seen: dict[str, Record]) -> str | None:
    """The project file's name (without .yaml): its code where its table has codes; else the key the
    source gives (an XLSX 文件名 column), else its name. None, with an error note, when there is none."""
    if record.profile.uses_code:
        code = record.code
        if not code or not FILE_CODE.fullmatch(code):
            imported.notes.append(Note(record.where, f"项目未导入：项目编码“{code}”{'为空' if not code else '不能作文件名'}", error=True))
            return None
        if code in seen:
            imported.notes.append(Note(record.where, f"项目未导入：编码 {code} 与 {seen[code].where.text()} 重复", error=True, code=code))
            return None
        return code
    name = str(record.key or record.data.get("name") or "").strip()
    if not name or _NOT_IN_FILE_NAMES.search(name) or name.startswith(".") or len(name) > MAX_NAME_KEY:
        imported.notes.append(Note(record.where, f"项目未导入：{'没有项目名称' if not name else f'项目名称“{name[:30]}”不能作文件名'}"
                                   "（这个表格格式不印项目编码，项目文件以名称命名）", error=True))
        return None
    if name in seen:
        imported.notes.append(Note(record.where, f"项目未导入：名称“{name}”与 {seen[name].where.text()} 重复"
                                   "（这个表格格式不印项目编码，项目文件以名称命名）", error=True, code=name))
        return None
    return name


def _schema(imported: Imported) -> bytes:
    """schema.json for the data folder, as `python3 build.py schema --data DIR` writes it."""
    from perfdoc.data.schema import schema_text

    project = imported.project_profile or load_profile(profile_path(DEFAULT_PROFILE))
    return schema_text(project, imported.table_profile).encode()


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop: not a place to write to
        return True


def _schema_target(data_dir: Path, content: bytes, force: bool) -> tuple[Path, str]:
    """Where schema.json goes and what happens to it (ImportResult.schema_status): beside the data
    folder (its files' `$schema=../schema.json`), never inside it, never over another file without --force."""
    target = Path(os.path.abspath(data_dir)).parent / "schema.json"  # `--data .`: the folder above, not `.`
    if _inside(target, data_dir):
        return target, "inside"  # the data folder is the file system's root
    if not os.path.lexists(target):
        return target, "written"
    try:
        same = target.is_file() and target.read_bytes() == content
    except OSError:
        same = False
    if same:
        return target, "same"
    return target, "written" if force else "kept"


def _stale_projects(data_dir: Path, outputs: dict[Path, bytes]) -> list[Path]:
    """Project files already in projects/ that this import does not write (an earlier import's)."""
    folder = data_dir / "projects"
    if not folder.is_dir():
        return []
    found = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
    return sorted(p for p in found if p not in outputs and (p.is_symlink() or not p.is_dir()))


def _write(outputs: dict[Path, bytes], removals: list[Path]) -> None:
    """Every output written and every removal done, or none of either: the files to remove are first
    set aside (renamed next to themselves), put back if the write fails, deleted once it succeeded."""
    from perfdoc.build.output import temporary_sibling, write_all_or_nothing

    aside: list[tuple[Path, Path]] = []
    try:
        for path in removals:
            hidden = temporary_sibling(path, "old")
            try:
                os.rename(path, hidden)
            except OSError as exc:
                raise UserError(unlocated(f"无法删除旧的项目文件 {display_path(path)}（{exc.strerror}）；未写入任何文件")) from exc
            aside.append((path, hidden))
        write_all_or_nothing(outputs)
    except BaseException:
        for path, hidden in reversed(aside):
            try:
                os.rename(hidden, path)
            except OSError:
                continue
        raise
    for _path, hidden in aside:
        try:
            hidden.unlink()
        except OSError:
            continue  # a hidden leftover (.<name>.perfdoc-….old) that no command reads


@dataclass
class ImportResult:
    """What `import` did, for perfdoc.commands to tell: the notes (each naming file, table, row and
    column), then either why nothing was written or what was written and removed."""

    data_dir: Path
    notes: list[Diagnostic] = field(default_factory=list)
    refused: Diagnostic | None = None  # why nothing was written
    written: list[Path] = field(default_factory=list)  # the data files: department.yaml first, then projects/
    removed: list[Path] = field(default_factory=list)  # project files of an earlier import (--force)
    schema: Path | None = None
    schema_status: str = ""  # written | same (left as it was) | kept (another one, no --force) | inside

    @property
    def imported(self) -> bool:
        return self.refused is None

    @property
    def projects(self) -> int:
        return len(self.written) - 1


def _read_all(paths: list[Path], data_dir: Path, profile_name: str | None) -> Imported:
    from perfdoc.io.docx_reader import read_docx
    from perfdoc.io.xlsx_reader import read_xlsx

    forced = _forced_profile(profile_name, data_dir) if profile_name else None
    candidates = _candidates(data_dir)
    imported = Imported()
    for path in paths:
        kind, content = _read(path)
        name = display_path(path)
        try:
            if kind == "docx":
                _word(read_docx(content, name), imported, forced, candidates)
            else:
                found = read_xlsx(content, name, forced, candidates)
                _take_profiles(imported, found.project_profile, found.table_profile, name)
                _take_narrative(imported, found.narrative, name)
                imported.records += found.records
                imported.notes += found.notes
        except MemoryError:  # the readers bound what they read; this is the last line of defence
            raise UserError(unlocated(f"{name} 的内容多得读不完（内存不足）：请只保留需要的表格后再导入")) from None
    return imported


def import_files(paths: list[Path], data_dir: Path, profile_name: str | None, force: bool) -> ImportResult:
    """Read every file, then write the data folder whole or not at all. Bad input is a UserError or
    the result's `refused`; nothing is printed here."""
    imported = _read_all(paths, data_dir, profile_name)
    result = ImportResult(data_dir)
    if not imported.records and (not imported.narrative.data or any(n.error for n in imported.notes)):
        result.notes = [n.diagnostic() for n in imported.notes]
        result.refused = unlocated("没有导入任何内容：文件中没有认得出的项目表或部门文字。")
        return result
    outputs = _outputs(imported, data_dir)
    result.notes = [n.diagnostic() for n in imported.notes]
    stale = _stale_projects(data_dir, outputs)
    existing = [p for p in outputs if os.path.lexists(p)] + stale
    if existing and not force:
        result.refused = unlocated(f"数据文件已存在，未写入任何文件：{'、'.join(display_path(p) for p in existing[:5])}"
                                   f"{' 等' if len(existing) > 5 else ''}；加 --force 覆盖（并删去本次没有导入的项目文件），"
                                   "或用 --data 指定一个新目录")
        return result
    schema = _schema(imported)
    result.schema, result.schema_status = _schema_target(data_dir, schema, force)
    _write({**outputs, **({result.schema: schema} if result.schema_status == "written" else {})}, stale)
    result.written, result.removed = list(outputs), stale
    return result
