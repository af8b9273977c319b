"""A content-addressed cache of rendered pieces, so a rebuild redoes only what changed.

A key is the SHA-256 of everything that went into a piece: its complete HTML (which already
holds the data, the templates' output, the CSS and the font names), the identity of the font
files (path, size, modification time), and the versions of perfdoc, WeasyPrint and python-docx.
Change any of those and the key changes, so the cache cannot serve stale output; delete the
folder at any time and the next build just takes longer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from . import __version__
from .fonts import FontSet
from .output import write_atomically


def font_identity(fonts: FontSet) -> list[list]:
    """Which font files the build uses, as they are on disk right now."""
    identity = []
    for choice in fonts.choices:
        path = Path(choice.face.file)
        try:
            stat = path.stat()
            identity.append([choice.role, choice.family, choice.bold, str(path), choice.face.index,
                             stat.st_size, stat.st_mtime_ns])
        except OSError:
            identity.append([choice.role, choice.family, choice.bold, str(path), choice.face.index])
    return identity


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"perfdoc": __version__}
    for name in ("weasyprint", "python-docx", "pypdf", "pydyf"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    return found


def cache_key(kind: str, *parts: object) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([kind, _library_versions()], sort_keys=True).encode("utf-8"))
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, ensure_ascii=False).encode("utf-8")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


class BuildCache:
    """Files named by their key under one folder; `None` as folder disables caching."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def _path(self, key: str, suffix: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}{suffix}"

    def get(self, key: str, suffix: str = ".bin") -> bytes | None:
        if self.folder is None:
            return None
        try:
            return self._path(key, suffix).read_bytes()
        except OSError:
            return None

    def put(self, key: str, content: bytes, suffix: str = ".bin") -> None:
        if self.folder is None:
            return
        try:
            write_atomically(self._path(key, suffix), content)
        except Exception:  # a cache that cannot be written only makes the next build slower
            pass

    def get_or_make(self, key: str, make: Callable[[], bytes]) -> bytes:
        """The cached bytes for `key`, or `make()`'s, stored for next time."""
        content = self.get(key)
        if content is None:
            content = make()
            self.put(key, content)
        return content

    def get_json(self, key: str):
        raw = self.get(key, ".json")
        try:
            return None if raw is None else json.loads(raw)
        except ValueError:
            return None

    def put_json(self, key: str, value) -> None:
        self.put(key, json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8"), ".json")

