"""A content-addressed cache of rendered pieces, so a rebuild redoes only what changed.

A key is the SHA-256 of everything that went into a piece: its complete HTML (which already
holds the data, the templates' output, the CSS and the font names), the identity of the font
files (path, size, modification time), and the code that turns it into bytes: perfdoc's own
source files and the versions of the rendering libraries (a version number alone is not enough:
perfdoc's stays the same while its code changes). The cache mixes in the build's context too:
every file of the templates folder in use (an image a stylesheet refers to is not in the HTML)
and the profiles. Change any of those and the key changes, so the cache cannot serve stale
output. Every entry carries a digest of its key and content, checked on every read, so a
damaged, truncated or misplaced entry is deleted and rendered again, never served. Delete the
folder at any time and the next build just takes longer.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from perfdoc.build.output import write_atomically
from perfdoc.diagnostics import UserError
from perfdoc.render.fonts import font_identity as font_identity  # re-exported: keys name fonts by it
from perfdoc.resources import resource_dir

if TYPE_CHECKING:
    from perfdoc.build.options import BuildOptions

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # perfdoc/, every subpackage included
RENDERING_LIBRARIES = ("weasyprint", "pydyf", "python-docx", "tinyhtml5", "cssselect2", "tinycss2", "fonttools", "cffi")
ENTRY_MAGIC = b"perfdoc-cache-entry 1\n"
# After each build the cache is pruned to this size, least recently used entries first: far above
# what one document needs (the seed's entries take ~2 MB, 1000 projects' ~70 MB), far below a
# year of saves in a live preview.
CACHE_LIMIT_BYTES = 256 * 2**20


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in RENDERING_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    return found


@lru_cache(maxsize=1)
def code_identity() -> str:
    """perfdoc's source files and the rendering libraries' versions, hashed once per process.

    An upgrade or an edit of any module (render/docx.py …) changes every key, without anyone
    having to remember to bump a version number.
    """
    return source_digest(PACKAGE_DIR, _library_versions())


def source_digest(package_dir: Path, versions: dict[str, str]) -> str:
    """Every .py file under `package_dir` (subpackages included: names and bytes) and `versions`."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps(versions, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def tree_digest(folder: Path | None) -> str:
    """Every file under `folder` (names and bytes); the cache folder inside it is skipped.

    Raises OSError when a file cannot be read: the caller decides what an unknown input means.
    """
    digest = hashlib.sha256()
    if folder is None or not folder.exists():
        digest.update(b"<none>")
        return digest.hexdigest()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".perfdoc-cache" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def cache_key(kind: str, *parts: object) -> str:
    """The key of a piece of `kind` made from `parts` by this perfdoc and these libraries."""
    digest = hashlib.sha256()
    digest.update(json.dumps([kind, code_identity()]).encode("utf-8"))
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, ensure_ascii=False).encode("utf-8")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def build_context(templates_dir: Path, reference_docx: Path | None) -> str | None:
    """What every piece of this build depends on beyond its key; None when it cannot be known.

    The reference DOCX's bytes are in the DOCX key already; here it only matters whether it can
    be read at all: a missing one must not share entries with "no reference" (the render then
    reports it), and a cache without a sure context is better off not used.
    """
    try:
        if reference_docx is not None:
            reference_docx.read_bytes()
        return cache_key("context", tree_digest(templates_dir), tree_digest(resource_dir("profiles")))
    except OSError:
        return None


class BuildCache:
    """Entries named by key and context under one folder; `None` as folder or context disables caching."""

    def __init__(self, folder: Path | None, context: str | None = ""):
        self.folder = folder if context is not None else None
        self.context = context or ""

    @classmethod
    def for_options(cls, options: BuildOptions) -> BuildCache:
        """The cache of a build with these options (off with --no-cache)."""
        if not options.use_cache:
            return cls(None)
        return cls(options.resolved_cache_dir, build_context(options.templates_dir, options.reference_docx))

    def _name(self, key: str) -> str:
        return hashlib.sha256(f"{self.context}\0{key}".encode("ascii")).hexdigest()

    def _path(self, name: str) -> Path:
        assert self.folder is not None
        return self.folder / name[:2] / f"{name}.bin"

    @staticmethod
    def _seal(name: str, content: bytes) -> bytes:
        return hashlib.sha256(name.encode("ascii") + b"\0" + content).hexdigest().encode("ascii")

    def get(self, key: str) -> bytes | None:
        """The stored bytes when the entry is whole and belongs to `key`; a bad entry is deleted."""
        if self.folder is None:
            return None
        name = self._name(key)
        path = self._path(name)
        try:
            stored = path.read_bytes()
        except OSError:
            return None
        seal, _, content = stored.removeprefix(ENTRY_MAGIC).partition(b"\n")
        if stored.startswith(ENTRY_MAGIC) and seal == self._seal(name, content):
            try:
                os.utime(path)  # used now: pruning removes the entries used longest ago first
            except OSError:  # a read-only cache: it is never pruned either
                pass
            return content
        try:
            path.unlink(missing_ok=True)
        except OSError:  # a read-only cache: the entry is still never served
            pass
        return None

    def put(self, key: str, content: bytes) -> None:
        if self.folder is None:
            return
        name = self._name(key)
        try:
            write_atomically(self._path(name), ENTRY_MAGIC + self._seal(name, content) + b"\n" + content)
        except UserError:  # a cache that cannot be written only makes the next build slower
            pass

    def get_or_make(self, key: str, make: Callable[[], bytes]) -> bytes:
        """The cached bytes for `key`, or `make()`'s, stored for next time."""
        content = self.get(key)
        if content is None:
            content = make()
            self.put(key, content)
        return content

    def prune(self, limit: int = CACHE_LIMIT_BYTES) -> None:
        """Keep the entries within `limit` bytes, removing those used longest ago first.

        Each build that changed something adds entries (a live preview, one per save: ~0.7 MB for
        the seed's PDF, DOCX, XLSX and the changed piece), which would otherwise add up for ever.
        Only entries are touched (`xx/<sha256>.bin`, and `.json` of older perfdocs), never the build
        record beside them.
        """
        if self.folder is None:
            return
        entries = []
        try:
            for sub in os.scandir(self.folder):
                if len(sub.name) == 2 and sub.is_dir(follow_symlinks=False):
                    for entry in os.scandir(sub.path):
                        if entry.is_file(follow_symlinks=False) and entry.name.endswith((".bin", ".json")):
                            stat = entry.stat(follow_symlinks=False)
                            entries.append((stat.st_mtime_ns, stat.st_size, entry.path))
        except OSError:  # a folder that cannot be listed is left as it is
            return
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= limit:
                break
            try:
                os.unlink(path)
                total -= size
            except OSError:
                continue
