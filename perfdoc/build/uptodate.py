"""The no-change rebuild: when no input changed since the last build, say so and stop.

Before anything is parsed, every input is fingerprinted: the bytes of every file under the data
folder, the templates and the profiles, the reference DOCX, the installed fonts as fontconfig
lists them (and the user's font folder), the options and the working folder (messages name files
relative to it), perfdoc's own code and its rendering libraries' versions (perfdoc.build.cache). If
the fingerprint equals the one recorded by the last successful build and the outputs on disk
are still the bytes it wrote, the build replays that build's messages (the same inputs give the
same warnings) and writes nothing. Anything else, a damaged record included, falls through to a
normal build, which itself reuses unchanged pieces from the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from perfdoc.build.cache import cache_key, tree_digest
from perfdoc.diagnostics import UserError, display_path, unlocated
from perfdoc.build.output import write_atomically

MANIFEST = "last-build.json"


def _installed_fonts() -> bytes:
    try:
        return subprocess.run(["fc-list", "-f", "%{file}|%{index}|%{family}\n"], capture_output=True,
                              timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return b"<no fontconfig>"


def fingerprint(*, data_dir: Path, templates_dir: Path, profiles_dir: Path, fonts_dir: Path | None,
                reference_docx: Path | None, settings: dict) -> str | None:
    """A key for all inputs of a build; None when it cannot be computed cheaply and surely.

    A reference DOCX that cannot be read gives None, so the normal build reports it instead of
    the fast path taking it for "no reference".
    """
    department = data_dir / "department.yaml"
    if not department.is_file() or (reference_docx is not None and not reference_docx.is_file()):
        return None  # a device, a FIFO or a folder: the normal build explains it, without reading it
    try:
        if b"fonts_dir" in department.read_bytes():  # a font folder named inside the data: build normally
            return None
        trees = [tree_digest(folder) for folder in (data_dir, templates_dir, profiles_dir, fonts_dir)]
        reference = None if reference_docx is None else hashlib.sha256(reference_docx.read_bytes()).hexdigest()
    except OSError:
        return None
    fonts = hashlib.sha256(_installed_fonts()).hexdigest()
    return cache_key("build", trees, reference, fonts, settings, str(Path.cwd()))


def file_hash(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass(frozen=True)
class Record:
    """What the last successful build wrote (absolute path → SHA-256) and what it said."""

    key: str
    outputs: dict[str, str]
    messages: str


def _read_record(cache_dir: Path) -> Record | None:
    """The record, or None when there is none or it is not exactly the shape record_build writes."""
    try:
        raw = json.loads((cache_dir / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    key, outputs, messages = raw.get("key"), raw.get("outputs"), raw.get("messages")
    if not (isinstance(key, str) and isinstance(messages, str) and isinstance(outputs, dict) and outputs):
        return None
    if not all(isinstance(sha, str) and Path(path).is_absolute() for path, sha in outputs.items()):
        return None
    return Record(key, outputs, messages)


def replay_if_unchanged(cache_dir: Path, key: str | None) -> Record | None:
    """The last build's record when `key` matches it and its outputs are untouched, else None."""
    if key is None:
        return None
    record = _read_record(cache_dir)
    if record is None or record.key != key:
        return None
    if any(file_hash(Path(path)) != sha for path, sha in record.outputs.items()):
        return None
    return record


def record_build(cache_dir: Path, key: str | None, outputs: Mapping[Path, str], messages: str) -> None:
    """Remember this build: `outputs` are the SHA-256 of the bytes it wrote to each file."""
    if key is None:
        return
    record = {"key": key, "outputs": {str(Path(os.path.abspath(p))): sha for p, sha in outputs.items()},
              "messages": messages}
    try:
        write_atomically(cache_dir / MANIFEST, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
    except UserError:  # the record only saves time next build
        pass


@contextmanager
def writing_into(folder: Path) -> Iterator[None]:
    """Hold `folder` for one build: a second build into the same folder waits until this one
    has written its files and its record, so a record never vouches for another build's files."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(unlocated(f"无法在 {display_path(folder)} 写入输出文件（{exc.strerror}）：请检查目录权限或磁盘空间")) from exc
    if sys.platform == "win32":  # no flock(); builds into one folder at a time are up to the user there
        yield
        return
    import fcntl

    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"另一个 perfdoc 构建正在写入 {display_path(folder)}，等它完成后继续…", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)
