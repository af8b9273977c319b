"""The preview's HTTP server: the page, its assets, the event stream, the built files, the user's
fonts and the templates folder's images — and nothing else.

It listens on 127.0.0.1 only, and answers only requests addressed to this machine by name
(`Host: 127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT`), so a web page that rebinds its own
domain name to 127.0.0.1 cannot read the preview or the PDF. Every response says
`X-Content-Type-Options: nosniff`; pages say, in a Content-Security-Policy, that they load their
assets from this server only. A request for an odd path (a NUL byte, a name too long for the
file system) gets a plain 400 or 404, never a traceback.
"""

from __future__ import annotations

import errno
import http.server
import queue
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from perfdoc.diagnostics import UserError, unlocated
from perfdoc.serve.panels import PREFIX
from perfdoc.serve.state import LiveDocument

HOST = "127.0.0.1"  # never 0.0.0.0: the preview shows budget data, it is for this machine only
DEFAULT_PORT = 8765
KEEPALIVE_SECONDS = 15.0  # an SSE comment this often, so a closed tab frees its thread
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")
CONTENT_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                 ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp",
                 ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def allowed_hosts(port: int) -> set[str]:
    """The Host headers that name this machine: what a browser sends for the preview's own URL."""
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    if port == 80:  # browsers leave the default port out
        hosts |= {"127.0.0.1", "localhost", "[::1]"}
    return hosts


def _asset(name: str) -> bytes:
    return (ASSETS_DIR / name).read_bytes()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, a kept-alive connection waits 40 ms
    # the stdlib's own errors (a bad request line, an unsupported method) in the same plain words
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "请求无法处理（cannot answer this request）: %(code)d %(message)s\n%(explain)s\n"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a request log would bury the messages that matter."""

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")  # every response: pages, stream, files, errors
        super().end_headers()

    def do_GET(self) -> None:
        if not self._host_allowed():
            return
        path = unquote(urlsplit(self.path).path)
        if "\0" in path:
            self._send_text(400, "路径无效（bad path）")
            return
        live = self.server.live
        if path in ("/", "/monitoring", "/evaluation"):
            page = live.page(path.strip("/"))
            if page is None:
                self._send_text(404, f"没有{'监控表' if path == '/monitoring' else '自评表'}可预览：数据目录里还没有"
                                     f"{path.strip('/')}/ 的文件（not found）")
            else:
                self._send(200, "text/html; charset=utf-8", page.encode("utf-8"))
        elif path == PREFIX + "events":
            self._stream(live)
        elif path == PREFIX + "live.js":
            self._send(200, "text/javascript; charset=utf-8", _asset("live.js"))
        elif path == PREFIX + "live.css":
            self._send(200, "text/css; charset=utf-8", _asset("live.css"))
        elif path.startswith(PREFIX + "files/"):
            self._send_file(_built_file(live.files.files, path.removeprefix(PREFIX + "files/")))
        elif path.startswith(PREFIX + "font/"):
            self._send_file(_font_file(live.font_files, path.removeprefix(PREFIX + "font/")))
        else:  # an image or other file the templates' CSS refers to, from the templates folder only
            self._send_file(_template_file(live.options.templates_dir, path))

    def _host_allowed(self) -> bool:
        """Only requests addressed to this machine by name are answered (DNS rebinding)."""
        host = self.headers.get("Host")
        if host is None:
            self._send_text(400, "请求缺少 Host 头（missing Host header）")
            return False
        port = self.server.server_address[1]
        if host.strip().lower() not in allowed_hosts(port):
            self._send_text(421, f"只回答发给本机预览地址的请求：请打开 http://{HOST}:{port}/"
                                 f"（misdirected request: this preview answers only to 127.0.0.1:{port}, "
                                 f"localhost:{port} and [::1]:{port}）")
            return False
        return True

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CSP)
        self.end_headers()
        self.wfile.write(body)

    def _send_text(self, status: int, text: str) -> None:
        self._send(status, "text/plain; charset=utf-8", f"{text}\n".encode())

    def _send_file(self, path: Path | None) -> None:
        try:
            body = path.read_bytes() if path is not None and path.is_file() else None
        except (OSError, ValueError):  # unreadable, a name too long for the file system …
            body = None
        if path is None or body is None:
            self._send_text(404, "找不到（not found）")
            return
        self._send(200, CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream"), body)

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
        except OSError:
            return  # the tab was closed (or its connection broke): nothing to tell anyone
        finally:
            live.unsubscribe(stream)


def _built_file(written: list[Path], name: str) -> Path | None:
    """Only a file the last build wrote, by its name: never any other path."""
    return next((path for path in written if path.name == name), None)


def _font_file(fonts: list[Path], index: str) -> Path | None:
    """The user's font file the preview's @font-face rule number `index` points to."""
    if not (index.isascii() and index.isdigit()) or int(index) >= len(fonts):  # "²" is a digit, not ASCII
        return None
    return fonts[int(index)]


def _template_file(templates_dir: Path, url_path: str) -> Path | None:
    """A file inside the templates folder, but never a template's source (*.j2)."""
    root = templates_dir.resolve()
    try:
        candidate = (root / url_path.lstrip("/")).resolve()
    except (OSError, ValueError):
        return None
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

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A request that failed in a way no answer above foresaw: one line on the terminal (a
        traceback would bury the messages that matter), and a closed tab says nothing at all."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        print(f"perfdoc 内部错误（internal error）：一个请求未能回答：{type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)
