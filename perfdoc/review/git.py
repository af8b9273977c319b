"""Reading a revision of the data folder with plain `git`: NUL-separated listings and blobs read by
id, so file names with Chinese characters, quotes or spaces are taken as they are."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from perfdoc.diagnostics import UserError, display_path, unlocated


def git(repo: Path, *args: str, stdin: bytes = b"") -> bytes:
    """Raw output: paths stay bytes as git stores them (no quoting of 名称.yaml or `"`)."""
    try:
        result = subprocess.run(["git", "--literal-pathspecs", "-C", str(repo), *args], check=False,
                                capture_output=True, timeout=60, input=stdin)
    except FileNotFoundError as exc:
        raise UserError(unlocated("找不到 git 命令：diff 需要 git（sudo apt-get install git）")) from exc
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", errors="replace").strip()
        raise UserError(unlocated(f"git {' '.join(args[:2])} 失败：{message}"))
    return result.stdout


def repository_of(data_dir: Path) -> tuple[Path, str]:
    """The git work tree that holds `data_dir`, and the data dir's path inside it."""
    try:
        top = git(data_dir if data_dir.is_dir() else data_dir.parent, "rev-parse", "--show-toplevel")
    except UserError as exc:
        raise UserError(unlocated(f"{display_path(data_dir)} 不在 git 仓库中，无法比较修订（{exc.diagnostics[0].message}）")) from exc
    root = Path(os.fsdecode(top.rstrip(b"\n"))).resolve()
    return root, data_dir.resolve().relative_to(root).as_posix()


def export_revision(data_dir: Path, revision: str, target: Path) -> Path:
    """Write the data folder as it is at `revision` into `target`; returns the copy's data dir.

    The listing is NUL-separated (`-z`) and each file is read by its blob id, so names with
    Chinese characters, quotes or spaces are taken as they are."""
    root, inside = repository_of(data_dir)
    try:
        git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except UserError as exc:
        raise UserError(unlocated(f"找不到修订“{revision}”（不是分支、标签或提交）")) from exc
    listing = git(root, "ls-tree", "-r", "-z", "--full-name", revision, "--", inside)
    files: list[tuple[str, PurePosixPath]] = []  # (blob id, path); two identical files share one id
    for entry in filter(None, listing.split(b"\0")):
        meta, _, raw_name = entry.partition(b"\t")
        _mode, kind, blob_id = meta.decode("ascii").split()
        if kind == "blob":  # not a submodule: nothing perfdoc reads
            files.append((blob_id, PurePosixPath(os.fsdecode(raw_name)).relative_to(inside)))
    copy = target / "data"
    copy.mkdir(parents=True)
    for (_, relative), content in zip(files, _read_blobs(root, [blob_id for blob_id, _ in files]), strict=True):
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        (copy / relative).write_bytes(content)
    return copy


def _read_blobs(root: Path, blob_ids: list[str]) -> Iterator[bytes]:
    """The blobs, in order, from one `git cat-file --batch` (not one process per file).

    Its output is `<id> blob <size>\\n<content>\\n` for each id asked for."""
    output = git(root, "cat-file", "--batch", stdin="".join(f"{i}\n" for i in blob_ids).encode("ascii"))
    start = 0
    for _ in blob_ids:
        header_end = output.index(b"\n", start)
        size = int(output[start:header_end].split()[2])
        yield output[header_end + 1:header_end + 1 + size]
        start = header_end + 1 + size + 1
