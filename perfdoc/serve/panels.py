"""The snippets of HTML the live page draws over the preview: the error panel, the files bar and
the watch notice.

They are built (and every text escaped) here, on the server; live.js only puts them in place, so a
message quoting `<td>` from the data is shown as written and never becomes markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from perfdoc.diagnostics import Diagnostic, UserError

PREFIX = "/__perfdoc/"  # the server's own paths; anything else is the document's (templates folder)
LINKED_SUFFIXES = (".pdf", ".docx", ".xlsx")  # the built files the bar links (the HTML is the page itself)


@dataclass(frozen=True)
class Problem:
    """One line of the error panel: where (`file:line:col`, may be empty) and what."""

    where: str
    text: str


def problems_from_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Problem]:
    """Each diagnostic as a line of the panel: its location, then what the terminal prints after
    it, then its detail lines (a glyph list, a hint) each on a line of its own."""
    problems = []
    for diagnostic in diagnostics:
        field_path = f" {diagnostic.path}:" if diagnostic.path else ""
        text = f"{diagnostic.severity.value}:{field_path} {diagnostic.message}"
        problems.append(Problem(diagnostic.where, "\n".join([text, *diagnostic.details])))
    return problems


def problems_from_error(error: UserError) -> list[Problem]:
    """A UserError raised while rendering, from its diagnostics (never by parsing its text)."""
    return problems_from_diagnostics(error.diagnostics)


def problems_html(problems: Sequence[Problem]) -> str:
    """The error panel shown over the last good preview; empty when there is nothing wrong.

    The location is its own element that one click selects whole (CSS `user-select: all`), to
    paste into the editor's "go to file".
    """
    if not problems:
        return ""
    items = "".join(
        f'<li>{f"<code class=perfdoc-where>{html.escape(p.where)}</code>: " if p.where else ""}'
        f"<span>{html.escape(p.text)}</span></li>" for p in problems)
    return (f"<p class=perfdoc-problems-title>数据有 {len(problems)} 处错误，预览停在上次正确的版本"
            f"（not updated: fix the data and save）</p><ul>{items}</ul>")


@dataclass(frozen=True)
class FilesState:
    """The rebuild of the files in --out: which preview version it is for and how it went.

    `build` counts the rebuilds started: a save that changes only what the workbook shows starts
    one for the same preview version, and a client tells the two apart by it.
    """

    state: str = "waiting"  # waiting | building | ready | failed
    version: int = 0
    build: int = 0
    message: str = ""
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


FILES_STATE_WORDS = {"waiting": "等待数据无误后生成", "building": "正在生成 PDF、DOCX 和 XLSX…",
                     "ready": "PDF、DOCX 和 XLSX 已更新", "failed": "PDF、DOCX 和 XLSX 生成失败"}


def files_html(files: FilesState) -> str:
    """The status bar: the state of the rebuild and links to the files it wrote."""
    words = html.escape(FILES_STATE_WORDS[files.state])
    parts = [f"<span class=perfdoc-state data-state={files.state}>{words}</span>"]
    if files.state == "ready":
        parts.append(f"<span>（第 {files.version} 版，{files.seconds:.1f} 秒）</span>")
    for path in files.files:
        if path.suffix in LINKED_SUFFIXES:
            name = html.escape(path.name)
            parts.append(f'<a class=perfdoc-file href="{PREFIX}files/{quote(path.name)}" target=_blank>{name}</a>')
    if files.message:
        parts.append(f"<pre class=perfdoc-message>{html.escape(files.message)}</pre>")
    return " ".join(parts)


PAGE_NAMES = {"": "绩效目标", "monitoring": "监控表", "evaluation": "自评表"}


def pages_html(stages: list[str], current: str) -> str:
    """Links between the previewed documents (the targets at /, the monitoring at /monitoring, the
    self-evaluation at /evaluation), the one shown marked; nothing while there is only the targets."""
    if not stages:
        return ""
    links = []
    for stage in ("", *(s for s in ("monitoring", "evaluation") if s in stages)):
        mark = ' aria-current="page"' if stage == current else ""
        links.append(f'<a class=perfdoc-page href="/{stage}"{mark}>{PAGE_NAMES[stage]}</a>')
    return f'<nav id="perfdoc-pages">{" ".join(links)}</nav>'


def notice_html(notice: str) -> str:
    """The watch notice (the data folder is gone, watching fell back to polling …); empty when
    the files are watched as they should be."""
    return f"<p class=perfdoc-notice-text>{html.escape(notice)}</p>" if notice else ""
