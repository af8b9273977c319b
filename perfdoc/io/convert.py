"""Old binary formats (.doc, .wps, .et, .xls) turned into .docx / .xlsx by LibreOffice, when it is installed.

perfdoc reads only the Office Open XML formats; LibreOffice converts the others faithfully (merged
cells included). Without it the user is told, in one line, how to save the file as .docx instead.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from perfdoc.diagnostics import UserError, display_path, unlocated

CONVERTED = {".doc": "docx", ".wps": "docx", ".rtf": "docx", ".et": "xlsx", ".xls": "xlsx"}
TIMEOUT_SECONDS = 180


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(path: Path) -> bytes:
    """The file converted to .docx/.xlsx by LibreOffice (in a temporary folder), as bytes."""
    target = CONVERTED[path.suffix.lower()]
    program = soffice()
    kind = "Excel/WPS 表格" if target == "xlsx" else "Word/WPS 文字"
    if program is None:
        raise UserError(unlocated(f"{display_path(path)} 是旧格式（{path.suffix}），perfdoc 只读 .{target}：请在 {kind} 中打开，"
                        f"“另存为” .{target} 后再导入（或安装 LibreOffice，perfdoc 会自动转换）"))
    with tempfile.TemporaryDirectory(prefix="perfdoc-import-") as folder:
        profile = Path(folder) / "profile"
        command = [program, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", target,
                   "--outdir", folder, str(path.resolve())]
        try:
            subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UserError(unlocated(f"用 LibreOffice 转换 {display_path(path)} 失败（{exc}）：请在 {kind} 中另存为 .{target} 后再导入")) from exc
        converted = Path(folder) / f"{path.stem}.{target}"
        if not converted.is_file():
            raise UserError(unlocated(f"LibreOffice 未能把 {display_path(path)} 转换为 .{target}（文件是否损坏？）："
                            f"请在 {kind} 中另存为 .{target} 后再导入"))
        return converted.read_bytes()
