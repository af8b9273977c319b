"""Pre-flight: everything about where the build writes and what it reads besides the data, checked
before layout starts (layout takes seconds; a wrong --out should not cost them).

- The output folder: resolvable (not a symlink loop), not inside the data folder, creatable, and
  writable (a probe file is created and removed); no folder stands where an output file goes.
- The cache folder: given with --cache-dir, a symlink loop or a place inside the data folder is an
  error (the user named it wrongly), but a cache folder that cannot be written only turns caching
  off for this build, with a note: the cache saves time and nothing else, so it must never be the
  reason a document is not produced (a read-only shared cache, a full disk on another volume).
  The default place (<out>/.perfdoc-cache) was named by nobody: whatever is wrong there (a file in
  its way, a loop, a link into the data folder) only turns caching off, with one note, and no
  message names --cache-dir as if the user had given it.
- The reference DOCX: exists, is a regular file, is a zip whose central directory is sane —
  bounded entry count, bounded total unpacked size, no entry packed unnaturally tightly — and
  holds word/document.xml and word/styles.xml. This is read from the central directory without
  unpacking anything; zipfile never unpacks more than an entry's declared size, so the limits
  hold for python-docx too (a zip bomb used to take 18 s and 3.4 GB before it was refused).
- Temporaries left next to our outputs by a killed earlier build are removed.
"""

from __future__ import annotations

import errno
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from perfdoc.diagnostics import UserError, display_path, unlocated
from perfdoc.build.options import BuildOptions
from perfdoc.build.output import refuse_data_dir, refuse_directory_target, sweep_stale_temporaries, temporary_sibling

OUT = "输出目录（--out）"
CACHE = "缓存目录（--cache-dir）"
REFERENCE = "参考文档（--reference-docx）"
PROBE_NAME = "perfdoc-write-test"  # the probe file's temporaries follow the output pattern

MB = 1024 * 1024
REFERENCE_MAX_UNPACKED = 50 * MB  # a style template is tens of KB; a long report with images a few MB
REFERENCE_MAX_ENTRIES = 5000
REFERENCE_MAX_RATIO = 100  # Word's XML packs 5–30×; a bomb 1000× and more
REFERENCE_RATIO_FROM = 1 * MB  # small entries may pack tightly without harm
REFERENCE_REQUIRED = ("word/document.xml", "word/styles.xml")


@dataclass(frozen=True)
class Preflight:
    use_cache: bool
    notes: list[str] = field(default_factory=list)


def resolve_or_refuse(path: Path, what: str) -> Path:
    """`path` resolved; a symlink loop (RuntimeError before Python 3.13, ELOOP after) is a UserError."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:
        if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
            raise UserError(unlocated(f"{what} {display_path(path)} 是循环的符号链接（symlink loop），无法解析："
                            "请删除或修正该链接，或指定一个真实的目录")) from exc
        raise UserError(unlocated(f"{what} {display_path(path)} 无法解析（{exc.strerror}）：请检查路径")) from exc


def _probe(folder: Path) -> None:
    """Create and remove a file in `folder`: the only sure test that the build can write there."""
    probe = temporary_sibling(folder / PROBE_NAME)
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    probe.unlink()


def _usable_folder(folder: Path, what: str, data_dir: Path | None) -> Path:
    """The resolved folder, refused when it loops, lies in the data folder or is a file."""
    resolved = resolve_or_refuse(folder, what)
    refuse_data_dir(folder, data_dir)
    if resolved.exists() and not resolved.is_dir():
        raise UserError(unlocated(f"{what} {display_path(folder)} 已存在但不是目录：请指定一个目录"))
    return resolved


def check_output_dir(out_dir: Path, data_dir: Path | None, targets: list[Path]) -> None:
    """The output folder exists (created if need be) and takes a new file; targets are not folders."""
    resolved = _usable_folder(out_dir, OUT, data_dir)
    try:
        resolved.mkdir(parents=True, exist_ok=True)
        _probe(resolved)
    except OSError as exc:
        raise UserError(unlocated(f"无法在 {display_path(out_dir)} 写入输出文件（{exc.strerror or exc}）："
                        "请检查目录权限或磁盘空间，或用 --out 指定别的目录")) from exc
    for target in targets:
        refuse_directory_target(target)


def _cache_off(cache_dir: Path, reason: str) -> str:
    """The note of a build that goes on without its cache."""
    return (f"缓存目录 {display_path(cache_dir)} {reason}：本次不使用缓存，照常生成但不会更快"
            "（可用 --cache-dir 指定别的目录）")


def default_cache_note(options: BuildOptions) -> str | None:
    """A note when the default cache place (no --cache-dir given) cannot be used, found without
    writing anything; None when it may be used, or when the user chose the cache folder."""
    if not options.use_cache or options.cache_dir is not None:
        return None
    cache_dir = options.resolved_cache_dir
    try:
        resolved = cache_dir.resolve()
    except RuntimeError:  # a symlink loop, before Python 3.13
        return _cache_off(cache_dir, "是循环的符号链接（symlink loop）")
    except OSError as exc:
        loop = exc.errno == errno.ELOOP
        return _cache_off(cache_dir, "是循环的符号链接（symlink loop）" if loop else f"无法解析（{exc.strerror}）")
    try:
        refuse_data_dir(cache_dir, options.data_dir)
    except UserError:
        return _cache_off(cache_dir, "指向数据目录之内（perfdoc 从不往数据目录里写文件）")
    if resolved.exists() and not resolved.is_dir():
        return _cache_off(cache_dir, "已存在但不是目录")
    return None


def check_cache_dir(cache_dir: Path, data_dir: Path | None) -> str | None:
    """None when the cache folder is usable, else a note saying the build goes on without it."""
    resolved = _usable_folder(cache_dir, CACHE, data_dir)
    try:
        resolved.mkdir(parents=True, exist_ok=True)
        _probe(resolved)
    except OSError as exc:
        return _cache_off(cache_dir, f"不可写（{exc.strerror or exc}）")
    return None


@dataclass(frozen=True)
class PackageRules:
    """What an Office file (a zip package) may look like before anything in it is unpacked."""

    what: str  # how messages name the file: 参考文档（--reference-docx）, 要导入的文件
    kind: str  # DOCX or XLSX
    required: tuple[str, ...]
    max_unpacked: int
    advice: str  # what to do when it is too large


REFERENCE_RULES = PackageRules(REFERENCE, "DOCX", REFERENCE_REQUIRED, REFERENCE_MAX_UNPACKED,
                               "参考文档只提供样式，请用一个只含样式的小文档")


def check_package(path: Path, rules: PackageRules) -> None:
    """A regular file whose zip directory looks like a Word or Excel file, read without unpacking:
    bounded size, entry count, unpacked total and compression ratio (a zip bomb is refused in
    milliseconds), and the parts the format requires."""
    def refuse(problem: str) -> UserError:
        return UserError(unlocated(f"{rules.what} {display_path(path)} {problem}"))

    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise refuse(f"不存在：应为一个 .{rules.kind.lower()} 文件的路径") from exc
    except OSError as exc:
        raise refuse(f"无法读取（{exc.strerror}）：应为一个可读的 .{rules.kind.lower()} 文件") from exc
    if not stat.S_ISREG(info.st_mode):
        raise refuse(f"不是普通文件（是目录或设备）：应为一个 .{rules.kind.lower()} 文件")
    if info.st_size > rules.max_unpacked:
        raise refuse(f"有 {info.st_size / MB:.0f} MB，超过上限 {rules.max_unpacked // MB} MB：{rules.advice}")
    try:
        with zipfile.ZipFile(path) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise refuse(f"不是 {rules.kind}（zip）文件：应为 Office 2007 及以后保存的 .{rules.kind.lower()}"
                     "（.doc/.xls 或加密的文件请先另存为普通格式）") from exc
    except OSError as exc:
        raise refuse(f"无法读取（{exc.strerror}）：应为一个可读的 .{rules.kind.lower()} 文件") from exc
    if len(entries) > REFERENCE_MAX_ENTRIES:
        raise refuse(f"含 {len(entries)} 个部件，超过上限 {REFERENCE_MAX_ENTRIES}：不像 Office 文件，请重新保存")
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > rules.max_unpacked:
        raise refuse(f"解压后共 {unpacked / MB:.0f} MB，超过上限 {rules.max_unpacked // MB} MB"
                     f"（疑似 zip 炸弹 zip bomb）：{rules.advice}")
    for entry in entries:
        if entry.file_size > REFERENCE_RATIO_FROM and entry.file_size > REFERENCE_MAX_RATIO * max(entry.compress_size, 1):
            raise refuse(f"中的 {entry.filename} 压缩比异常（{entry.file_size / MB:.0f} MB 压成 "
                         f"{entry.compress_size / 1024:.0f} KB，疑似 zip 炸弹 zip bomb）：请重新保存该文件")
    names = {entry.filename for entry in entries}
    missing = [name for name in rules.required if name not in names]
    if missing:
        raise refuse(f"缺少 {'、'.join(missing)}：不是有效的 {rules.kind} 文件")


def check_reference_docx(reference: Path) -> None:
    check_package(reference, REFERENCE_RULES)


def check_paths(options: BuildOptions) -> None:
    """The checks that write nothing: loops, the data folder rule, the reference DOCX.

    Cheap enough to run before the up-to-date fingerprint, which resolves --out itself.
    """
    _usable_folder(options.out_dir, OUT, options.data_dir)
    if options.use_cache and options.cache_dir is not None:  # the default place only ever gives a note
        _usable_folder(options.cache_dir, CACHE, options.data_dir)
    if options.reference_docx is not None:
        check_reference_docx(options.reference_docx)


def preflight(options: BuildOptions, targets: list[Path]) -> Preflight:
    """All pre-flight checks for a build writing `targets`; raises UserError, or says how to go on."""
    check_paths(options)
    check_output_dir(options.out_dir, options.data_dir, targets)
    sweep_stale_temporaries([*targets, options.out_dir / PROBE_NAME])
    if not options.use_cache:
        return Preflight(use_cache=False)
    note = default_cache_note(options) or check_cache_dir(options.resolved_cache_dir, options.data_dir)
    return Preflight(use_cache=note is None, notes=[note] if note else [])
