"""Stage 5 — write: outputs appear whole or not at all.

Every file is written to a temporary file in the same folder, flushed, then renamed over the
target, so a failed build (an exception, a full disk, a killed process) never leaves a
half-written PDF or DOCX, and the previous output stays readable until the new one is complete.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .diagnostics import UserError, display_path


def refuse_data_dir(folder: Path, data_dir: Path | None) -> None:
    """perfdoc never writes under the data folder: not an output, not a cache file."""
    if data_dir is None:
        return
    try:
        folder.resolve().relative_to(data_dir.resolve())
    except ValueError:
        return
    raise UserError(f"错误: 输出目录 {display_path(folder)} 位于数据目录 {display_path(data_dir)} 之内："
                    "perfdoc 从不往数据目录里写文件，请用 --out（或 --cache-dir）指定别的目录")


def write_atomically(target: Path, content: bytes, data_dir: Path | None = None) -> None:
    """Write `content` to `target` via a temporary sibling and a rename."""
    refuse_data_dir(target.parent, data_dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise UserError(f"错误: 无法在 {display_path(target.parent)} 写入输出文件（{exc.strerror}）：请检查目录权限或磁盘空间") from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise UserError(f"错误: 写入 {display_path(target)} 失败（{exc.strerror}）；原有文件保持不变。"
                        "若该文件正被其他程序打开，请先关闭它；若磁盘已满，请清理空间") from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
