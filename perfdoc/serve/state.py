"""The live document: the last good preview, the current problems, the state of the files in --out
and of the watcher, and the event streams of the pages that show them.

Every save ends in `LiveDocument.refresh`: the data is re-validated and the HTML re-rendered. A new
HTML is a new preview version (open pages reload to it); a change to anything any output is made
of (`OutputInputs`: the workbook's values too, which the HTML does not show) starts a rebuild of
the files, so they are never left stale while the bar says they are up to date.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfdoc.build.cache import font_identity, tree_digest
from perfdoc.build.options import BuildOptions
from perfdoc.data.model import Document
from perfdoc.data.stage_document import StageDocument
from perfdoc.diagnostics import UserError
from perfdoc.serve.panels import (
    PREFIX,
    FilesState,
    Problem,
    files_html,
    notice_html,
    pages_html,
    problems_from_diagnostics,
    problems_from_error,
    problems_html,
)
from perfdoc.serve.rebuild import Rebuilder


def say(line: str) -> None:
    """What happened, on the terminal too (the page is the main view)."""
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class OutputInputs:
    """What the files in --out are made of, beyond perfdoc's own code, compared as values.

    The model holds every value any output shows (the workbook's `leader` or an indicator's
    `remark` included, which the HTML may not show); the HTML carries the templates; the font
    files and the templates folder's other files (images its CSS refers to) complete the PDF's.
    """

    document: Document
    html: str
    fonts: list[list[Any]]
    template_files: str
    stages: tuple[StageDocument, ...] = ()  # the monitoring and the self-evaluation, when there
    stage_htmls: tuple[str, ...] = ()


def _template_files_digest(templates_dir: Path) -> str:
    try:
        return tree_digest(templates_dir)
    except OSError as exc:  # the rebuild reads the folder again and reports what is wrong
        return f"<unreadable: {exc}>"


class LiveDocument:
    """What the page shows, and the streams of the pages that show it."""

    def __init__(self, options: BuildOptions, *, build_files: bool = True):
        self.options = options
        self.version = 0  # of the last good preview; the page reloads when it differs from its own
        self.preview = ""  # the last good preview's HTML, as the build writes it
        # The monitoring's and the self-evaluation's previews (stage → HTML), each a page of its own
        # (/monitoring, /evaluation), linked from the bar; empty without their data.
        self.stage_previews: dict[str, str] = {}
        self.problems: list[Problem] = []
        self.files = FilesState()
        self.notice = ""  # what the page says about watching (folder gone, polling); "" when all is well
        self.font_files: list[Path] = []  # the user's font files the preview's @font-face rules point to
        self._built_inputs: OutputInputs | None = None  # of the last rebuild started
        self._lock = threading.RLock()  # held while an event is made and queued: streams get states in order
        self._refreshing = threading.Lock()  # one refresh at a time: versions are published in order
        self._listeners: list[queue.Queue[str | None]] = []
        self._rebuilder = Rebuilder(options, self._files_changed) if build_files else None

    # -- updating ------------------------------------------------------------------------------
    def refresh(self, _changed: Iterable[Path] = ()) -> None:
        """Re-validate and re-render after a save; publish the new preview or the problems, and
        rebuild the files when anything they are made of changed."""
        with self._refreshing:
            self._refresh()

    def _refresh(self) -> None:
        from perfdoc.build.pipeline import load_document, stage_documents, stage_sources
        from perfdoc.render.fonts import choose_fonts
        from perfdoc.render.html import font_faces, render_html

        document, checked = load_document(self.options.data_dir)
        if document is None:
            self._publish_problems(problems_from_diagnostics(checked.errors))
            return
        try:
            fonts = choose_fonts(self.options.fonts_dir or document.department.fonts_dir)
            rendered = render_html(document, fonts, templates_dir=self.options.templates_dir)
            stages = tuple(stage_documents(document, checked))
            stage_htmls = tuple(render_html(stage, fonts, templates_dir=self.options.templates_dir) for stage in stages)
        except UserError as exc:
            self._publish_problems(problems_from_error(exc))
            return
        inputs = OutputInputs(document, rendered, font_identity(fonts),
                              _template_files_digest(self.options.templates_dir), stages, stage_htmls)
        font_files = [Path(choice.face.file) for choice in fonts.choices if choice.face.from_user_dir]

        def served(html: str) -> str:
            for index, face in enumerate(font_faces(fonts)):  # file:// is not reachable from an http page
                html = html.replace(f'url("{face["url"]}")', f'url("{PREFIX}font/{index}")')
            return html

        rendered = served(rendered)
        previews = {stage.stage: served(html) for stage, html in zip(stages, stage_htmls, strict=True)}
        with self._lock:
            new_preview = rendered != self.preview or previews != self.stage_previews
            if new_preview:
                self.version += 1
                self.preview, self.font_files, self.stage_previews = rendered, font_files, previews
            self.problems = []
            version = self.version
            # a failed rebuild is tried again on the next save (the cause may be outside the data)
            stale_files = inputs != self._built_inputs or self.files.state == "failed"
            if stale_files and self._rebuilder is not None:
                self._built_inputs = inputs
        self._publish()
        if new_preview:
            say(f"预览已更新到第 {version} 版")
        elif stale_files and self._rebuilder is not None:
            say(f"预览不变（第 {version} 版），导出的文件有变化：重新生成")
        if stale_files and self._rebuilder is not None:
            self._rebuilder.submit(version, document, [d for d in (checked.department, *checked.projects) if d]
                                   + stage_sources(checked), stages)

    def _publish_problems(self, problems: list[Problem]) -> None:
        with self._lock:
            self.problems = problems
        self._publish()
        say(f"数据有 {len(problems)} 处错误，预览停在第 {self.version} 版：")
        for problem in problems:
            say(f"  {problem.where}: {problem.text}" if problem.where else f"  {problem.text}")

    def _files_changed(self, files: FilesState) -> None:
        with self._lock:
            self.files = files
        self._publish()
        if files.state == "ready":
            say(f"PDF、DOCX 和 XLSX 已更新（第 {files.version} 版，{files.seconds:.1f} 秒）")
        elif files.state == "failed":
            say(f"PDF、DOCX 和 XLSX 生成失败（第 {files.version} 版）：\n{files.message}")

    def show_notice(self, notice: str, message: str) -> None:
        """The watcher's word: `notice` stays on the page until replaced ("" clears it), `message`
        is said once on the terminal."""
        with self._lock:
            self.notice = notice
        self._publish()
        say(message)

    # -- what the page gets --------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"version": self.version, "problems": len(self.problems),
                    "problems_html": problems_html(self.problems),
                    "files": {"state": self.files.state, "version": self.files.version, "build": self.files.build},
                    "files_html": files_html(self.files),
                    "notice": self.notice, "notice_html": notice_html(self.notice)}

    def page(self, stage: str = "") -> str | None:
        """The last good preview (of the targets, or of `stage`: monitoring, evaluation) with the live
        script, the links between the documents and the panels added before </body>; before any good
        version, a short page that says so (never a blank one). None: no such stage document."""
        with self._lock:
            body, version, stages = (self.stage_previews.get(stage) if stage else self.preview), self.version, \
                list(self.stage_previews)
        if stage and body is None:
            return None
        if not body:
            body = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>perfdoc 预览</title></head>'
                    "<body><p>还没有可预览的版本：数据改正后这里会自动显示文档（no valid version yet）。</p></body></html>")
        live = (f'<link rel="stylesheet" href="{PREFIX}live.css">'
                f'<div id="perfdoc-live">{pages_html(stages, stage)}<div id="perfdoc-bar"></div>'
                '<div id="perfdoc-notice" hidden></div><div id="perfdoc-problems" hidden></div></div>'
                f'<script src="{PREFIX}live.js" data-version="{version}"></script>')
        at = body.rfind("</body>")
        return body[:at] + live + body[at:] if at >= 0 else body + live

    # -- streams -------------------------------------------------------------------------------
    def subscribe(self) -> queue.Queue[str | None]:
        """A stream of `state` events, the current state first."""
        stream: queue.Queue[str | None] = queue.Queue()
        with self._lock:
            stream.put(self._event())
            self._listeners.append(stream)
        return stream

    def unsubscribe(self, stream: queue.Queue[str | None]) -> None:
        with self._lock:
            if stream in self._listeners:
                self._listeners.remove(stream)

    def _event(self) -> str:
        return f"event: state\ndata: {json.dumps(self.state(), ensure_ascii=False)}\n\n"

    def _publish(self) -> None:
        with self._lock:  # so that two threads publishing cannot queue their states in the wrong order
            event = self._event()
            for stream in self._listeners:
                stream.put(event)

    def close(self) -> None:
        """End every stream (their threads return) and stop the rebuild."""
        with self._lock:
            listeners, self._listeners = self._listeners, []
        for stream in listeners:
            stream.put(None)
        if self._rebuilder is not None:
            self._rebuilder.close(timeout=2.0)
