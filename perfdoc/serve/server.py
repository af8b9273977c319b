"""`perfdoc serve`: a live preview in the browser that follows the data files as they are saved.

One warm process (the rendering libraries are imported once) watches the data folder (its local
profiles included) and the templates folder. On every save it re-validates and renders the same
HTML the build writes, and tells the open page through server-sent events: the page reloads
itself to the new version, or, while the data has errors, shows them over the last good preview.
The PDF and DOCX are rebuilt in a background thread with the normal build (perfdoc.build.pipeline.build
and its cache); a newer save supersedes an older rebuild, and the page links the files with their
state. The server listens on 127.0.0.1 only, and the page may load its own assets from this server
only (a Content-Security-Policy says so to the browser).
"""

from __future__ import annotations

import errno
import html
import http.server
import json
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from perfdoc.build.options import BuildOptions
from perfdoc.build.progress import Progress
from perfdoc.data.loader import LoadedFile
from perfdoc.data.model import Document
from perfdoc.diagnostics import Diagnostic, UserError, display_path, unlocated

HOST = "127.0.0.1"  # never 0.0.0.0: the preview shows budget data, it is for this machine only
DEFAULT_PORT = 8765
DEBOUNCE_SECONDS = 0.1  # an editor's save is several file events within a few milliseconds
KEEPALIVE_SECONDS = 15.0  # an SSE comment this often, so a closed tab frees its thread
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
PREFIX = "/__perfdoc/"  # the server's own paths; anything else is the document's (templates folder)
CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")


def _say(line: str) -> None:
    """What happened, on the terminal too (the page is the main view)."""
    print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# What the page shows: problems, the state of the files


@dataclass(frozen=True)
class Problem:
    """One line of the error panel: where (`file:line:col`, may be empty) and what."""

    where: str
    text: str


def problems_from_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Problem]:
    """Each diagnostic as a line of the panel: its location, then what the terminal prints after it."""
    problems = []
    for diagnostic in diagnostics:
        field = f" {diagnostic.path}:" if diagnostic.path else ""
        text = f"{diagnostic.severity.value}:{field} {diagnostic.message}"
        problems.append(Problem(diagnostic.where, "\n".join([text, *diagnostic.details])))
    return problems


def problems_from_error(error: UserError) -> list[Problem]:
    """A UserError raised while rendering, from its diagnostics (never by parsing its text)."""
    return problems_from_diagnostics(error.diagnostics)


def problems_html(problems: Sequence[Problem]) -> str:
    """The error panel shown over the last good preview; empty when there is nothing wrong.

    The location is its own element that one click selects whole (CSS `user-select: all`), to
    paste into the editor's "go to file"; every text is escaped, so a message quoting `<td>` from
    the data is shown as written.
    """
    if not problems:
        return ""
    items = "".join(
        f'<li>{f"<code class=perfdoc-where>{html.escape(p.where)}</code>: " if p.where else ""}'
        f"<span>{html.escape(p.text)}</span></li>" for p in problems)
    return (f"<p class=perfdoc-problems-title>数据有 {len(problems)} 处错误，预览停在上次正确的版本"
            f"（not updated: fix the data and save）</p><ul>{items}</ul>")


@dataclass
class FilesState:
    """The PDF/DOCX rebuild: which preview version it is for and how it went."""

    state: str = "waiting"  # waiting | building | ready | failed
    version: int = 0
    message: str = ""
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


_STATE_WORDS = {"waiting": "等待数据无误后生成", "building": "正在生成 PDF 和 DOCX…", "ready": "PDF 和 DOCX 已更新",
                "failed": "PDF 和 DOCX 生成失败"}


def files_html(files: FilesState) -> str:
    """The status bar: the state of the rebuild and links to the files it wrote."""
    words = html.escape(_STATE_WORDS[files.state])
    parts = [f"<span class=perfdoc-state data-state={files.state}>{words}</span>"]
    if files.state == "ready":
        parts.append(f"<span>（第 {files.version} 版，{files.seconds:.1f} 秒）</span>")
    for path in files.files:
        if path.suffix in (".pdf", ".docx"):
            name = html.escape(path.name)
            parts.append(f'<a class=perfdoc-file href="{PREFIX}files/{quote(path.name)}" target=_blank>{name}</a>')
    if files.message:
        parts.append(f"<pre class=perfdoc-message>{html.escape(files.message)}</pre>")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# Debouncing file events


class Debouncer:
    """Calls `action` with the paths of a burst of events, once they have been quiet for `quiet`
    seconds. One thread runs every action, so updates never overlap and stay in order."""

    def __init__(self, action: Callable[[set[Path]], None], quiet: float = DEBOUNCE_SECONDS):
        self._action = action
        self._quiet = quiet
        self._pending: set[Path] = set()
        self._last_event = 0.0
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="perfdoc-debounce", daemon=True)
        self._thread.start()

    def notify(self, paths: Iterable[Path]) -> None:
        with self._changed:
            self._pending.update(paths)
            self._last_event = time.monotonic()
            self._changed.notify()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._closed:
                    self._changed.wait()
                while not self._closed:
                    remaining = self._last_event + self._quiet - time.monotonic()
                    if remaining <= 0:
                        break
                    self._changed.wait(remaining)
                if self._closed:
                    return
                paths, self._pending = self._pending, set()
            self._action(paths)


# ---------------------------------------------------------------------------------------------
# Background rebuild of the PDF and DOCX


class Superseded(Exception):
    """A newer save arrived: the rebuild in progress stops at its next step."""


@dataclass(frozen=True)
class _Job:
    version: int
    document: Document
    sources: list[LoadedFile]


class _StopWhenSuperseded(Progress):
    """The build reports its steps here; a step taken after a newer job arrived stops the build
    (the layout of one piece — one project — cannot be interrupted, but the next one does not start)."""

    def __init__(self, is_superseded: Callable[[], bool]):
        super().__init__(enabled=False)
        self._is_superseded = is_superseded

    def step(self, message: str) -> None:
        if self._is_superseded():
            raise Superseded(message)


class Rebuilder:
    """Runs perfdoc.build.pipeline.build in one background thread, always on the newest submitted job."""

    def __init__(self, options: BuildOptions, on_change: Callable[[FilesState], None]):
        self._options = options
        self._on_change = on_change
        self._pending: _Job | None = None
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="perfdoc-rebuild", daemon=True)
        self._thread.start()

    def submit(self, version: int, document: Document, sources: list[LoadedFile]) -> None:
        with self._wake:
            self._pending = _Job(version, document, sources)
            self._wake.notify()
        self._on_change(FilesState("building", version))

    def close(self, timeout: float) -> None:
        """Stop taking jobs; a build in progress stops at its next step (waited for up to `timeout`)."""
        with self._wake:
            self._closed = True
            self._pending = None
            self._wake.notify()
        self._thread.join(timeout)

    def _superseded(self) -> bool:
        return self._pending is not None or self._closed

    def _run(self) -> None:
        from perfdoc.build.pipeline import build

        while True:
            with self._wake:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                job, self._pending = self._pending, None
            assert job is not None
            started = time.monotonic()
            try:
                result = build(job.document, self._options, job.sources, _StopWhenSuperseded(self._superseded))
            except Superseded:
                continue
            except UserError as exc:
                state = FilesState("failed", job.version, exc.text)
            except Exception as exc:  # noqa: BLE001 - a perfdoc bug must not silently kill the rebuild thread
                state = FilesState("failed", job.version, f"perfdoc 内部错误（internal error）: {type(exc).__name__}: {exc}"
                                   "\n这是 perfdoc 的缺陷，不是数据的问题；请用 python3 build.py --debug 重现并报告。")
            else:
                state = FilesState("ready", job.version, "\n".join(f"提示: {n}" for n in result.notes),
                                   result.written, time.monotonic() - started)
            if not self._superseded():
                self._on_change(state)


# ---------------------------------------------------------------------------------------------
# The live document: last good preview, current problems, subscribers


class LiveDocument:
    """What the page shows, and the streams of the pages that show it."""

    def __init__(self, options: BuildOptions, *, build_files: bool = True):
        self.options = options
        self.version = 0  # of the last good preview; the page reloads when it differs from its own
        self.preview = ""  # the last good preview's HTML, as the build writes it
        self.problems: list[Problem] = []
        self.files = FilesState()
        self.font_files: list[Path] = []  # the user's font files the preview's @font-face rules point to
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()  # one refresh at a time: versions are published in order
        self._listeners: list[queue.Queue[str | None]] = []
        self._rebuilder = Rebuilder(options, self._files_changed) if build_files else None

    # -- updating ------------------------------------------------------------------------------
    def refresh(self, _changed: Iterable[Path] = ()) -> None:
        """Re-validate and re-render after a save; publish the new preview or the problems."""
        with self._refreshing:
            self._refresh()

    def _refresh(self) -> None:
        from perfdoc.build.pipeline import load_document
        from perfdoc.render.fonts import choose_fonts
        from perfdoc.render.html import font_faces, render_html

        document, checked = load_document(self.options.data_dir)
        if document is None:
            self._publish_problems(problems_from_diagnostics(checked.errors))
            return
        try:
            fonts = choose_fonts(self.options.fonts_dir or document.department.fonts_dir)
            rendered = render_html(document, fonts, templates_dir=self.options.templates_dir)
        except UserError as exc:
            self._publish_problems(problems_from_error(exc))
            return
        font_files = [Path(choice.face.file) for choice in fonts.choices if choice.face.from_user_dir]
        for index, face in enumerate(font_faces(fonts)):  # file:// is not reachable from an http page
            rendered = rendered.replace(f'url("{face["url"]}")', f'url("{PREFIX}font/{index}")')
        with self._lock:
            unchanged = rendered == self.preview
            if not unchanged:
                self.version += 1
                self.preview, self.font_files = rendered, font_files
            self.problems = []
            version = self.version
        self._publish()
        if not unchanged:
            _say(f"预览已更新到第 {version} 版")
        if not unchanged and self._rebuilder is not None:
            self._rebuilder.submit(version, document, [d for d in (checked.department, *checked.projects) if d])

    def _publish_problems(self, problems: list[Problem]) -> None:
        with self._lock:
            self.problems = problems
        self._publish()
        _say(f"数据有 {len(problems)} 处错误，预览停在第 {self.version} 版：")
        for problem in problems:
            _say(f"  {problem.where}: {problem.text}" if problem.where else f"  {problem.text}")

    def _files_changed(self, files: FilesState) -> None:
        with self._lock:
            self.files = files
        self._publish()
        if files.state == "ready":
            _say(f"PDF 和 DOCX 已更新（第 {files.version} 版，{files.seconds:.1f} 秒）")
        elif files.state == "failed":
            _say(f"PDF 和 DOCX 生成失败（第 {files.version} 版）：\n{files.message}")

    # -- what the page gets --------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"version": self.version, "problems": len(self.problems),
                    "problems_html": problems_html(self.problems),
                    "files": {"state": self.files.state, "version": self.files.version},
                    "files_html": files_html(self.files)}

    def page(self) -> str:
        """The last good preview with the live script and panels added before </body>; before any
        good version, a short page that says so (never a blank one)."""
        with self._lock:
            body, version = self.preview, self.version
        if not body:
            body = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>perfdoc 预览</title></head>'
                    "<body><p>还没有可预览的版本：数据改正后这里会自动显示文档（no valid version yet）。</p></body></html>")
        live = (f'<link rel="stylesheet" href="{PREFIX}live.css">'
                '<div id="perfdoc-live"><div id="perfdoc-bar"></div><div id="perfdoc-problems" hidden></div></div>'
                f'<script src="{PREFIX}live.js" data-version="{version}"></script>')
        at = body.rfind("</body>")
        return body[:at] + live + body[at:] if at >= 0 else body + live

    # -- streams -------------------------------------------------------------------------------
    def subscribe(self) -> queue.Queue[str | None]:
        stream: queue.Queue[str | None] = queue.Queue()
        stream.put(self._event())
        with self._lock:
            self._listeners.append(stream)
        return stream

    def unsubscribe(self, stream: queue.Queue[str | None]) -> None:
        with self._lock:
            if stream in self._listeners:
                self._listeners.remove(stream)

    def _event(self) -> str:
        return f"event: state\ndata: {json.dumps(self.state(), ensure_ascii=False)}\n\n"

    def _publish(self) -> None:
        event = self._event()
        with self._lock:
            listeners = list(self._listeners)
        for stream in listeners:
            stream.put(event)

    def close(self) -> None:
        """End every stream (their threads return) and stop the rebuild."""
        with self._lock:
            listeners, self._listeners = self._listeners, []
        for stream in listeners:
            stream.put(None)
        if self._rebuilder is not None:
            self._rebuilder.close(timeout=2.0)


# ---------------------------------------------------------------------------------------------
# HTTP


def _asset(name: str) -> bytes:
    return (ASSETS_DIR / name).read_bytes()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a request log would bury the messages that matter."""

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        live = self.server.live
        if path == "/":
            self._send(200, "text/html; charset=utf-8", live.page().encode("utf-8"))
        elif path == PREFIX + "events":
            self._stream(live)
        elif path == PREFIX + "live.js":
            self._send(200, "text/javascript; charset=utf-8", _asset("live.js"))
        elif path == PREFIX + "live.css":
            self._send(200, "text/css; charset=utf-8", _asset("live.css"))
        elif path.startswith(PREFIX + "files/"):
            self._send_file(_built_file(live.files.files, path.removeprefix(PREFIX + "files/")))
        elif path.startswith(PREFIX + "font/"):
            index = path.removeprefix(PREFIX + "font/")
            fonts = live.font_files
            self._send_file(fonts[int(index)] if index.isdigit() and int(index) < len(fonts) else None)
        else:  # an image or other file the templates' CSS refers to, from the templates folder only
            self._send_file(_template_file(live.options.templates_dir, path))

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _send_file(self, path: Path | None) -> None:
        if path is None or not path.is_file():
            self._send(404, "text/plain; charset=utf-8", "找不到（not found）".encode())
            return
        types = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".svg": "image/svg+xml",
                 ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
        self._send(200, types.get(path.suffix.lower(), "application/octet-stream"), path.read_bytes())

    def _stream(self, live: LiveDocument) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        stream = live.subscribe()
        try:
            while True:
                try:
                    event = stream.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    event = ": keep-alive\n\n"
                if event is None:
                    return
                self.wfile.write(event.encode("utf-8"))
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the tab was closed
        finally:
            live.unsubscribe(stream)


def _built_file(written: list[Path], name: str) -> Path | None:
    """Only a file the last build wrote, by its name: never any other path."""
    return next((path for path in written if path.name == name), None)


def _template_file(templates_dir: Path, url_path: str) -> Path | None:
    root = templates_dir.resolve()
    candidate = (root / url_path.lstrip("/")).resolve()
    if candidate.suffix == ".j2" or not candidate.is_relative_to(root):
        return None
    return candidate


class PreviewServer(http.server.ThreadingHTTPServer):
    """The HTTP server (stdlib), one thread a request; an event stream holds its thread."""

    daemon_threads = True

    def __init__(self, live: LiveDocument, port: int):
        self.live = live
        try:
            super().__init__((HOST, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(unlocated(f"端口 {port} 已被占用（address already in use）：请先关掉占用它的程序"
                                f"（或另一个 perfdoc serve），或换一个端口，例如 --port {port + 1}")) from exc
            raise UserError(unlocated(f"无法在 {HOST}:{port} 上启动预览服务（{exc.strerror}）")) from exc

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"


# ---------------------------------------------------------------------------------------------
# Watching


def watched_folders(options: BuildOptions) -> list[Path]:
    """The data folder (local profiles are in it) and the templates folder."""
    folders = [options.data_dir.resolve(), options.templates_dir.resolve()]
    return [f for i, f in enumerate(folders) if f.is_dir() and not any(f.is_relative_to(g) for g in folders[:i])]


def watch(folders: Sequence[Path], on_change: Callable[[set[Path]], None], stop: threading.Event) -> None:
    """Hand every batch of file changes under `folders` to `on_change` until `stop` is set."""
    import watchfiles

    # watchfiles groups the events of a few milliseconds; the Debouncer then waits for quiet
    for changes in watchfiles.watch(*folders, stop_event=stop, debounce=50, step=10, rust_timeout=200,
                                    yield_on_timeout=False, raise_interrupt=False):
        on_change({Path(path) for _change, path in changes})


class Preview:
    """The running preview: server, watcher, debouncer and rebuild, started and stopped together."""

    def __init__(self, options: BuildOptions, port: int, *, build_files: bool = True):
        from perfdoc.build.output import refuse_data_dir

        if not options.data_dir.is_dir():
            raise UserError(unlocated(f"数据目录 {display_path(options.data_dir)} 不存在或不是目录（用 --data 指定数据目录）"))
        refuse_data_dir(options.out_dir, options.data_dir)
        self.live = LiveDocument(options, build_files=build_files)
        self.server = PreviewServer(self.live, port)
        self._stop = threading.Event()
        self._debouncer = Debouncer(self.live.refresh)
        self._watcher = threading.Thread(target=watch, args=(watched_folders(options), self._debouncer.notify,
                                                             self._stop), name="perfdoc-watch", daemon=True)
        self._serving = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                         name="perfdoc-http", daemon=True)

    def start(self) -> None:
        self._watcher.start()
        self.live.refresh()
        self._serving.start()

    def stop(self) -> None:
        """Close the streams, stop watching and serving, and release the port."""
        self._stop.set()
        self.live.close()
        self._debouncer.close()
        if self._serving.ident is not None:  # started (Ctrl-C may come during the first render)
            self.server.shutdown()
        self.server.server_close()
        self._watcher.join(timeout=2.0)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_serve(options: BuildOptions, port: int) -> int:
    """`perfdoc serve`: runs until Ctrl-C (which cli.main turns into exit status 130).

    SIGTERM (a service manager, `kill`) stops it the same clean way.
    """
    preview = Preview(options, port)
    signal.signal(signal.SIGTERM, _interrupt)
    try:  # the address first: a page opened before the first render waits in the listen queue
        _say(f"预览（preview）: {preview.server.url}   正在监视 {display_path(options.data_dir)} 和 "
             f"{display_path(options.templates_dir)}，保存即更新；PDF 和 DOCX 写到 {display_path(options.out_dir)}。"
             "按 Ctrl-C 停止。")
        preview.start()
        threading.Event().wait()  # the main thread only waits for Ctrl-C
    finally:
        preview.stop()
    return 0
