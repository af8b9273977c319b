"""The no-change rebuild: when no input changed since the last build, say so and stop.

Before anything is parsed, every input is fingerprinted: the bytes of every file under the data
folder, the templates and the profiles, the reference DOCX, the installed fonts as fontconfig
lists them (and the user's font folder), the options, and the versions of perfdoc and its
rendering libraries. If the fingerprint equals the one recorded by the last successful build and
the outputs on disk are still the ones it wrote, the build replays that build's messages (the
same inputs give the same warnings) and writes nothing. Anything else falls through to a normal
build, which itself reuses unchanged pieces from the cache.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from .cache import cache_key

MANIFEST = "last-build.json"


def _hash_tree(digest, folder: Path | None) -> None:
    if folder is None or not folder.exists():
        digest.update(b"<none>")
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".perfdoc-cache" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def _installed_fonts() -> bytes:
    try:
        return subprocess.run(["fc-list", "-f", "%{file}|%{index}|%{family}\n"], capture_output=True,
                              timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return b"<no fontconfig>"


def fingerprint(*, data_dir: Path, templates_dir: Path, profiles_dir: Path, fonts_dir: Path | None,
                reference_docx: Path | None, settings: dict) -> str | None:
    """A key for all inputs of a build; None when it cannot be computed cheaply and surely."""
    department = data_dir / "department.yaml"
    try:
        if b"fonts_dir" in department.read_bytes():  # a font folder named inside the data: build normally
            return None
        digest = hashlib.sha256()
        for folder in (data_dir, templates_dir, profiles_dir, fonts_dir):
            _hash_tree(digest, folder)
        if reference_docx is not None:
            digest.update(hashlib.sha256(reference_docx.read_bytes()).digest())
        digest.update(hashlib.sha256(_installed_fonts()).digest())
    except OSError:
        return None
    return cache_key("build", digest.hexdigest(), settings)


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def replay_if_unchanged(cache_dir: Path, key: str | None) -> dict | None:
    """The last build's record when `key` matches it and its outputs are untouched, else None."""
    if key is None:
        return None
    try:
        record = json.loads((cache_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("key") != key:
        return None
    if any(_file_hash(Path(path)) != sha for path, sha in record.get("outputs", {}).items()):
        return None
    return record


def record_build(cache_dir: Path, key: str | None, outputs: list[Path], messages: str) -> None:
    if key is None:
        return
    from .output import write_atomically

    record = {"key": key, "outputs": {str(p.resolve()): _file_hash(p) for p in outputs}, "messages": messages}
    try:
        write_atomically(cache_dir / MANIFEST, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
    except Exception:  # the record only saves time next build
        pass
