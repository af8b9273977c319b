"""Stage 5 — write: a build replaces all of its outputs or none of them.

Every file is first written in full to a temporary sibling in its own folder and flushed to disk;
only when every one of them is complete are they renamed over their targets, in one quick pass.
A failure while writing (a full disk, an exception, SIGTERM) removes the temporaries and leaves
the previous build's files as they were; a failure in the rename pass puts back the files already
replaced (from hard-linked backups), so the HTML, PDF and DOCX on disk always come from one build.

Temporaries are named `.<target>.perfdoc-<pid>-<random>.part` (backups `….old`), so a process
killed with SIGKILL leaves files that the next build recognises as its own and removes.
A new file gets the mode the umask gives (as any program's would); a replaced file keeps its mode,
so a PDF the user made private (0600) stays private.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import stat
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from perfdoc.diagnostics import UserError, display_path, unlocated

PROCESS_STARTED = time.time()  # temporaries older than this cannot be this process's own
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.perfdoc-(?P<pid>\d+)-[0-9a-f]{12}\.(?:part|old)$")


def temporary_sibling(target: Path, kind: str = "part") -> Path:
    """A fresh name next to `target` that `stale_temporaries` recognises (kind: part | old)."""
    return target.with_name(f".{target.name}.perfdoc-{os.getpid()}-{secrets.token_hex(6)}.{kind}")


def refuse_data_dir(folder: Path, data_dir: Path | None) -> None:
    """perfdoc never writes under the data folder: not an output, not a cache file."""
    if data_dir is None:
        return
    try:
        folder.resolve().relative_to(data_dir.resolve())
    except ValueError:
        return
    except (OSError, RuntimeError):  # a symlink loop: checked and reported by perfdoc.build.preflight
        return
    raise UserError(unlocated(f"输出目录 {display_path(folder)} 位于数据目录 {display_path(data_dir)} 之内："
                    "perfdoc 从不往数据目录里写文件，请用 --out（或 --cache-dir）指定别的目录"))


def refuse_directory_target(target: Path) -> None:
    """A folder where an output file should go cannot be replaced by a rename: say so before writing."""
    if target.is_dir():
        raise UserError(unlocated(f"无法写入 {display_path(target)}：同名的目录已存在，应为文件；请删除或改名该目录"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def stale_temporaries(folder: Path, names: set[str]) -> list[Path]:
    """perfdoc temporaries of the files `names` in `folder` left by a process that is gone.

    Only names of our own pattern, only for our own outputs, only older than this process and
    not belonging to a process still running: another build writing right now keeps its files.
    """
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    stale = []
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or match["name"] not in names or int(match["pid"]) == os.getpid():
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_mtime < PROCESS_STARTED and not _alive(int(match["pid"])):
            stale.append(entry)
    return stale


def sweep_stale_temporaries(targets: list[Path]) -> list[Path]:
    """Remove what a killed earlier build left next to `targets`; returns what was removed."""
    removed = []
    by_folder: dict[Path, set[str]] = {}
    for target in targets:
        by_folder.setdefault(target.parent, set()).add(target.name)
    for folder, names in by_folder.items():
        for stale in stale_temporaries(folder, names):
            try:
                stale.unlink()
            except OSError:
                continue
            removed.append(stale)
    return removed


class _Terminated(SystemExit):
    """SIGTERM while files are being written: unwinds like any exception, so the cleanup runs."""


@contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """While the block runs, SIGTERM raises (once) instead of killing the process outright.

    Python's default for SIGTERM ends the process without running `finally`, which would leave
    temporaries behind; this turns it into SystemExit(143), the exit status a shell expects.
    Only the main thread can install handlers; elsewhere the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if not raised:  # a second SIGTERM must not interrupt the cleanup of the first
            raised = True
            raise _Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        # None: a handler installed outside Python, which cannot be put back; the default is closest
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _write_temporary(target: Path, content: bytes, keep_mode: int | None) -> Path:
    """`content` in full, on disk, in a new temporary next to `target`.

    A new file is created 0666 and the kernel applies the umask; a replacement is created with
    the old file's mode from the start (never briefly more readable than the file it replaces).
    """
    temp = temporary_sibling(target)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666 if keep_mode is None else keep_mode)
        with os.fdopen(fd, "wb") as stream:
            if keep_mode is not None:
                os.chmod(temp, keep_mode)  # the bits the umask took away from the old mode
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _sync_folder(folder: Path) -> None:
    """Make the renames durable; some file systems cannot open a folder, which is harmless."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class _Pending:
    target: Path
    temp: Path
    existed: bool
    backup: Path | None = None  # a hard link to the previous file, to put back on failure


def _backup(target: Path) -> Path | None:
    """A hard link to the file about to be replaced; None where links are not possible (FAT, SMB)."""
    backup = temporary_sibling(target, "old")
    try:
        os.link(target, backup)
    except OSError:
        return None
    return backup


def _write_error(target: Path, exc: OSError) -> UserError:
    return UserError(unlocated(f"写入 {display_path(target)} 失败（{exc.strerror or exc}）；原有文件保持不变。"
                     "若该文件正被其他程序打开，请先关闭它；若磁盘已满，请清理空间"))


def _folder_error(folder: Path, exc: OSError) -> UserError:
    return UserError(unlocated(f"无法在 {display_path(folder)} 写入输出文件（{exc.strerror or exc}）："
                     "请检查目录权限或磁盘空间"))


def _prepare(outputs: Mapping[Path, bytes], data_dir: Path | None) -> list[_Pending]:
    """Every temporary written and flushed, or none left on disk."""
    pending: list[_Pending] = []
    try:
        for target, content in outputs.items():
            refuse_data_dir(target.parent, data_dir)
            refuse_directory_target(target)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _folder_error(target.parent, exc) from exc
            try:
                keep_mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
            except FileNotFoundError:
                keep_mode = None
            except OSError as exc:
                raise _write_error(target, exc) from exc
            try:
                temp = _write_temporary(target, content, keep_mode)
            except OSError as exc:
                raise _write_error(target, exc) from exc
            pending.append(_Pending(target, temp, existed=keep_mode is not None))
    except BaseException:
        for item in pending:
            item.temp.unlink(missing_ok=True)
        raise
    return pending


def _roll_back(pending: list[_Pending]) -> list[Path]:
    """Undo a partial rename pass; returns the targets that could not be put back."""
    lost = []
    for item in pending:
        if os.path.lexists(item.temp):  # not renamed: nothing to undo
            item.temp.unlink(missing_ok=True)
        elif item.backup is not None:
            try:
                os.replace(item.backup, item.target)
            except OSError:
                lost.append(item.target)
        elif item.existed:
            lost.append(item.target)
        else:
            item.target.unlink(missing_ok=True)
        if item.backup is not None:
            item.backup.unlink(missing_ok=True)
    return lost


def _commit(pending: list[_Pending]) -> None:
    """Rename every temporary over its target; on any failure, put every replaced file back."""
    try:
        for item in pending:
            if item.existed:
                item.backup = _backup(item.target)
        for item in pending:
            os.replace(item.temp, item.target)
    except BaseException as failure:
        failed = next((item.target for item in pending if os.path.lexists(item.temp)), None)
        lost = _roll_back(pending)
        if not isinstance(failure, OSError) or failed is None:
            raise
        if lost:
            raise UserError(unlocated(f"写入 {display_path(failed)} 失败（{failure.strerror or failure}）；"
                            f"已替换的 {'、'.join(display_path(p) for p in lost)} 无法恢复为上次的版本"
                            "（此文件系统不支持硬链接），请排除问题后重新构建")) from failure
        raise _write_error(failed, failure) from failure
    for item in pending:
        if item.backup is not None:
            item.backup.unlink(missing_ok=True)
    for folder in {item.target.parent for item in pending}:
        _sync_folder(folder)


def write_all_or_nothing(outputs: Mapping[Path, bytes], data_dir: Path | None = None) -> None:
    """Replace every file in `outputs` with its new content, or leave every one of them as it was.

    Raises UserError (Chinese, naming the file) for a write that fails; SIGTERM during the call
    cleans up and then exits with status 143.
    """
    with _terminate_as_exception():
        _commit(_prepare(outputs, data_dir))


def write_atomically(target: Path, content: bytes, data_dir: Path | None = None) -> None:
    """One file, whole or not at all (the cache, the build record, a new project file)."""
    write_all_or_nothing({target: content}, data_dir=data_dir)
