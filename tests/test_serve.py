"""`perfdoc serve`: the live preview.

Fast tests drive the pieces in this process (debouncing, the error panel, the port message) and a
running preview (a Preview object, without the rebuild of the files) over real HTTP and its event
stream on 127.0.0.1: the Host check, odd URLs, a data folder moved away and back, symlinked trees,
a watcher that fails. The slow ones run `build.py serve` as a user would: Ctrl-C (also when SIGINT
was ignored by the parent), a busy port, the workbook rebuilt when only it changes, and the whole
loop in Debian's chromium through selenium.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

from perfdoc.build.options import BuildOptions
from perfdoc.diagnostics import Diagnostic, UserError, in_file, unlocated
from perfdoc.serve.panels import Problem, problems_from_error, problems_html
from perfdoc.serve.preview import Preview
from perfdoc.serve.server import HOST, PreviewServer, _template_file
from perfdoc.serve.state import LiveDocument
from perfdoc.serve.watch import Debouncer

PROJECT = "142001014.yaml"
HEBEI = REPO / "examples" / "hebei-2023" / "data"  # two projects: a preview renders in a few milliseconds
HEBEI_PROJECT = "131001001.yaml"


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    """A writable copy of the two-project hebei-2023 example."""
    target = tmp_path / "data"
    shutil.copytree(HEBEI, target)
    return target


# ---------------------------------------------------------------------------------------------
# Pieces


def test_debouncer_turns_a_burst_of_events_into_one_update() -> None:
    calls: list[set[Path]] = []
    done = threading.Event()

    def action(paths: set[Path]) -> None:
        calls.append(paths)
        done.set()

    debouncer = Debouncer(action, quiet=0.05)
    try:
        for i in range(5):  # an editor's save: several events a few milliseconds apart
            debouncer.notify({Path(f"f{i}")})
            time.sleep(0.01)
        assert done.wait(2)
        time.sleep(0.1)
        assert calls == [{Path(f"f{i}") for i in range(5)}]
        done.clear()
        debouncer.notify({Path("later")})
        assert done.wait(2)
        assert calls[1:] == [{Path("later")}]
    finally:
        debouncer.close()


def test_problem_panel_names_file_and_line_as_one_selectable_text_and_escapes_messages() -> None:
    diagnostic = Diagnostic("data/projects/142001014.yaml", 12, 3, "name", "写着 <td> 的值")
    panel = problems_html(problems_from_error(UserError([diagnostic])))
    assert "<code class=perfdoc-where>data/projects/142001014.yaml:12:3</code>" in panel
    assert "错误: name: 写着 &lt;td&gt; 的值" in panel
    assert "<td>" not in panel
    assert "1 处错误" in panel
    assert problems_html([]) == ""


def test_problems_come_from_the_diagnostics_values_with_their_details() -> None:
    error = UserError([in_file(Path("templates/style.css.j2"), "模板语法错误", line=3, column=1),
                       unlocated("有字体无法显示的字符", "缺字：“”(U+E000)")])
    assert problems_from_error(error) == [Problem("templates/style.css.j2:3:1", "错误: 模板语法错误"),
                                          Problem("", "错误: 有字体无法显示的字符\n缺字：“”(U+E000)")]


def test_a_port_in_use_gives_one_chinese_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        live = LiveDocument(BuildOptions(data_dir=tmp_path, out_dir=tmp_path / "out"), build_files=False)
        with pytest.raises(UserError) as caught:
            PreviewServer(live, port)
    assert caught.value.text.startswith(f"错误: 端口 {port} 已被占用")
    assert "\n" not in caught.value.text and "--port" in caught.value.text


def test_before_any_valid_version_the_page_says_so_and_lists_the_errors(tmp_path: Path) -> None:
    (tmp_path / "projects").mkdir()
    live = LiveDocument(BuildOptions(data_dir=tmp_path, out_dir=tmp_path / "out"), build_files=False)
    live.refresh()
    page = live.page()
    assert "还没有可预览的版本" in page and 'data-version="0"' in page
    state = live.state()
    assert state["problems"] >= 1 and "department.yaml" in state["problems_html"]


def _assert_port_free(port: int) -> None:
    """A new serve can listen on the port again (as the server does: SO_REUSEADDR, so connections
    in TIME_WAIT do not count, a listening socket would)."""
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind((HOST, port))
        again.listen()


def _events(response: http.client.HTTPResponse) -> Iterator[dict[str, Any]]:
    """The `state` events of an SSE stream, decoded."""
    data = ""
    while True:
        line = response.fp.readline().decode("utf-8")
        if not line:
            return
        if line.startswith("data: "):
            data = line[6:]
        elif line == "\n" and data:
            yield json.loads(data)
            data = ""


def _next_matching(events: Iterator[dict[str, Any]], wanted, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    for event in events:
        if wanted(event):
            return event
        assert time.monotonic() < deadline, f"no matching event within {timeout} s; last: {event}"
    raise AssertionError("the event stream ended")


def test_event_stream_pushes_a_new_version_then_errors_then_the_fix(data_copy: Path, tmp_path: Path) -> None:
    preview = Preview(BuildOptions(data_dir=data_copy, out_dir=tmp_path / "out"), 0, build_files=False)
    preview.start()
    port = preview.server.server_address[1]
    try:
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        connection.request("GET", "/__perfdoc/events")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type", "").startswith("text/event-stream")
        events = _events(response)
        assert next(events)["version"] == 1

        project = data_copy / "projects" / PROJECT
        original = project.read_text(encoding="utf-8")
        project.write_text(original.replace("budget: 61.53", "budget: 62.53"), encoding="utf-8")
        assert _next_matching(events, lambda e: e["version"] == 2, 5)["problems"] == 0
        assert "62.53" in preview.live.page()

        project.write_text(original + "name: [没有闭合\n", encoding="utf-8")
        broken = _next_matching(events, lambda e: e["problems"] > 0, 5)
        assert broken["version"] == 2  # the page keeps the last good preview
        assert re.search(rf"perfdoc-where>[^<]*{PROJECT}:\d+:\d+</code>", broken["problems_html"])

        project.write_text(original, encoding="utf-8")
        fixed = _next_matching(events, lambda e: e["problems"] == 0, 5)
        assert fixed["version"] == 3
        connection.close()

        page = http.client.HTTPConnection(HOST, port, timeout=5)
        page.request("GET", "/")
        response = page.getresponse()
        assert "default-src 'self'" in response.getheader("Content-Security-Policy", "")
        assert 'src="/__perfdoc/live.js" data-version="3"' in response.read().decode("utf-8")
        for outside in ("/__perfdoc/files/..%2F..%2Fpyproject.toml", "/../pyproject.toml", "/document.html.j2"):
            page.request("GET", outside)
            refused = page.getresponse()
            refused.read()
            assert refused.status == 404, outside
        page.close()
    finally:
        preview.stop()
    _assert_port_free(port)


# ---------------------------------------------------------------------------------------------
# A running preview, in this process (no rebuild of the files)


@contextmanager
def _running(options: BuildOptions) -> Iterator[tuple[Preview, int]]:
    """A started preview and its port; stopped (and the port freed) afterwards."""
    preview = Preview(options, 0, build_files=False)
    preview.start()
    port = preview.server.server_address[1]
    try:
        yield preview, port
    finally:
        preview.stop()
    _assert_port_free(port)


def _subscribe(port: int) -> tuple[http.client.HTTPConnection, Iterator[dict[str, Any]]]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    connection.request("GET", "/__perfdoc/events")
    response = connection.getresponse()
    assert response.status == 200
    return connection, _events(response)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    text: str


def _get(port: int, path: str, host: str | None = "") -> Answer:
    """GET `path` with the Host header a browser sends for the preview's URL, or with `host`
    (None: no Host header at all)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        if host == "":
            connection.request("GET", path)
        else:
            connection.putrequest("GET", path, skip_host=True)
            if host is not None:
                connection.putheader("Host", host)
            connection.endheaders()
        response = connection.getresponse()
        if response.getheader("Content-Type", "").startswith("text/event-stream"):
            return Answer(response.status, response.headers, "")  # a stream never ends: the headers say enough
        return Answer(response.status, response.headers, response.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def _raw(port: int, request: bytes) -> bytes:
    """Bytes sent as they are (what http.client refuses to send), and the whole answer."""
    with socket.create_connection((HOST, port), timeout=5) as raw:
        raw.sendall(request)
        raw.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    return answer


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _empty_preview_options(tmp_path: Path) -> BuildOptions:
    """A data folder with nothing in it (the page says there is no valid version yet) and a
    templates folder with one image."""
    (tmp_path / "data").mkdir()
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "seal.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return BuildOptions(data_dir=tmp_path / "data", out_dir=tmp_path / "out", templates_dir=templates)


def test_only_requests_addressed_to_this_machine_are_answered_and_no_answer_is_sniffed(tmp_path: Path) -> None:
    """Issue 18 #8: a DNS-rebinding page (Host: its own domain) gets neither the preview nor a file."""
    with _running(_empty_preview_options(tmp_path)) as (_preview, port):
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LocalHost:{port}"):
            answer = _get(port, "/", host)
            assert answer.status == 200 and "还没有可预览的版本" in answer.text, host
        for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.nip.io:{port}", "127.0.0.1",
                     f"127.0.0.1:{port + 1}", f"localhost:{port}.evil.example"):
            for path in ("/", "/__perfdoc/events", "/__perfdoc/files/x.pdf", "/seal.png", "/__perfdoc/live.js"):
                refused = _get(port, path, host)
                assert refused.status == 421, (host, path)
                assert "本机" in refused.text and "misdirected" in refused.text
                assert "还没有" not in refused.text and "PNG" not in refused.text
                assert refused.headers["X-Content-Type-Options"] == "nosniff"
        missing = _get(port, "/", None)
        assert missing.status == 400 and "Host" in missing.text

        # nosniff on every kind of answer: page, asset, stream, file, not found, the stdlib's own errors
        for path, status in (("/", 200), ("/__perfdoc/live.css", 200), ("/__perfdoc/events", 200),
                             ("/seal.png", 200), ("/missing.png", 404)):
            answer = _get(port, path)
            assert answer.status == status, path
            assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert _get(port, "/seal.png").headers["Content-Type"] == "image/png"
        for request, status in ((b"GET / HTTP/1.1\r\n" + b"X: a\r\n" * 200 + b"\r\n", b"431"),
                                (b"POST / HTTP/1.1\r\n\r\n", b"501")):
            answer = _raw(port, request)
            assert re.match(rb"HTTP/1\.[01] " + status, answer), answer[:80]
            assert b"X-Content-Type-Options: nosniff" in answer and "请求无法处理".encode() in answer


def test_odd_urls_get_400_or_404_on_a_connection_that_stays_open_and_no_traceback(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Issue 18 #18: `/%00`, a 300-character name, `/__perfdoc/font/²` each get a plain answer."""
    with _running(_empty_preview_options(tmp_path)) as (_preview, port):
        connection = http.client.HTTPConnection(HOST, port, timeout=5)  # one connection for all: none is dropped
        for path in ("/%00", "/a%00b.png", "/" + "a" * 300, "/" + "%E4%B8%AD" * 300, "/__perfdoc/font/%C2%B2",
                     "/__perfdoc/font/%00", "/__perfdoc/font/" + "9" * 400, "/__perfdoc/font/-1",
                     "/__perfdoc/files/%00", "/__perfdoc/files/" + "b" * 300 + ".pdf", "/%ff%fe.png",
                     "/%2e%2e/%2e%2e/etc/passwd", "/seal.png/" + "c" * 300):
            connection.request("GET", path)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8")
            assert answer.status in (400, 404), path
            assert "找不到" in text or "无效" in text, path
            assert answer.getheader("X-Content-Type-Options") == "nosniff"
        connection.close()
        host = f"Host: 127.0.0.1:{port}\r\n".encode()
        for target in (b"/__perfdoc/font/\xc2\xb2", b"/\x00", b"/\xff"):  # raw bytes, as no browser sends them
            answer = _raw(port, b"GET " + target + b" HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n")
            assert re.match(rb"HTTP/1\.[01] (400|404) ", answer), answer[:80]
    err = capfd.readouterr().err
    assert "Traceback" not in err and "内部错误" not in err, err


@pytest.mark.slow  # a whole layout or a running server: the slow layer
def test_a_data_folder_moved_away_and_copied_back_is_watched_again(small_data: Path, tmp_path: Path,
                                                                  capfd: pytest.CaptureFixture[str]) -> None:
    """Issue 18 #2: the page and the terminal say the folder is gone; once back, saves are followed."""
    with _running(BuildOptions(data_dir=small_data, out_dir=tmp_path / "out")) as (preview, port):
        connection, events = _subscribe(port)
        first = next(events)
        assert first["version"] == 1 and first["notice"] == ""

        away = tmp_path / "away"
        small_data.rename(away)  # mv data away
        gone = _next_matching(events, lambda e: e["notice"] != "" and e["problems"] > 0, 5)
        assert "数据目录" in gone["notice"] and "不见了" in gone["notice"]
        assert "perfdoc-notice-text" in gone["notice_html"]
        assert "找不到部门文件" in gone["problems_html"]

        shutil.copytree(away, small_data)  # cp -r away data
        back = _next_matching(events, lambda e: e["notice"] == "" and e["problems"] == 0, 5)
        assert back["version"] == 1  # the same files: the same preview

        _edit(small_data / "projects" / HEBEI_PROJECT, "value: ≥1200批次", "value: ≥1300批次")
        assert _next_matching(events, lambda e: e["version"] == 2, 5)["problems"] == 0
        assert "≥1300批次" in preview.live.page()

        # replaced in one go (a restore from backup): the same names, other folders
        shutil.rmtree(small_data)
        shutil.copytree(away, small_data)
        time.sleep(0.5)
        _edit(small_data / "projects" / HEBEI_PROJECT, "value: ≥1200批次", "value: ≥1500批次")
        assert _next_matching(events, lambda e: "≥1500批次" in preview.live.page(), 5)["problems"] == 0
        connection.close()
    err = capfd.readouterr().err
    assert "不见了" in err and "又出现了" in err


def test_symlinked_trees_in_the_data_folder_are_not_watched(small_data: Path, tmp_path: Path) -> None:
    """Issue 18 #3: a linked tree with a folder nobody may read (even root cannot read all of /proc)
    used to kill the watcher at start; the preview then stayed at version 1 for good."""
    from perfdoc.serve.watch import ReadFiles

    outside = tmp_path / "outside"
    (outside / "locked" / "deeper").mkdir(parents=True)
    (outside / "locked").chmod(0)
    (small_data / "linked").symlink_to(outside)
    (small_data / "proc").symlink_to("/proc")
    (small_data / "projects" / "loop").symlink_to(small_data)
    options = BuildOptions(data_dir=small_data, out_dir=tmp_path / "out")
    try:
        folders = ReadFiles(options).plan().folders
        assert small_data in folders and small_data / "projects" in folders
        assert not any(f.is_relative_to(small_data / name) for f in folders for name in ("linked", "proc"))
        assert small_data / "projects" / "loop" not in folders
        with _running(options) as (_preview, port):
            connection, events = _subscribe(port)
            assert next(events)["version"] == 1
            _edit(small_data / "projects" / HEBEI_PROJECT, "value: ≥1200批次", "value: ≥1300批次")
            followed = _next_matching(events, lambda e: e["version"] == 2, 5)
            assert followed["notice"] == ""  # inotify works: no fallback needed
            connection.close()
    finally:
        (outside / "locked").chmod(0o755)


@pytest.mark.slow  # a whole layout or a running server: the slow layer
def test_when_inotify_fails_the_page_says_so_and_polling_follows_the_saves(
        small_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """Issue 18 #3: a watcher failure (here the kernel's watch limit) is shown, never silent."""
    import watchfiles

    def watch_limit_reached(*_paths: object, **_options: object) -> Iterator[set[Any]]:
        raise OSError(errno.ENOSPC, "OS file watch limit reached")
        yield set()  # a generator, as watchfiles.watch is: the error comes as the watch is armed

    monkeypatch.setattr(watchfiles, "watch", watch_limit_reached)
    with _running(BuildOptions(data_dir=small_data, out_dir=tmp_path / "out")) as (_preview, port):
        connection, events = _subscribe(port)
        fallback = _next_matching(events, lambda e: e["notice"] != "", 5)
        assert "inotify" in fallback["notice"] and "watch limit" in fallback["notice"]
        assert "每 0.5 秒" in fallback["notice"] and "polling" in fallback["notice"]
        project = small_data / "projects" / HEBEI_PROJECT
        _edit(project, "value: ≥1200批次", "value: ≥1300批次")
        assert _next_matching(events, lambda e: e["version"] == 2, 5)["notice"] == fallback["notice"]
        _edit(project, "value: ≥1300批次", "value: ≥1400批次")  # long after the fallback's first look
        assert _next_matching(events, lambda e: e["version"] == 3, 5)["notice"] == fallback["notice"]
        connection.close()
    assert "polling" in capfd.readouterr().err


def test_a_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 18 #17: `--port 70000` or `-1` was an OverflowError, exit 3."""
    from perfdoc.cli import main

    for port in ("70000", "-1", "²", "8o8o", "9" * 5000):
        with pytest.raises(SystemExit) as exited:
            main(["serve", "--port", port, "--data", "no-such-folder"])
        assert exited.value.code == 2, port
        err = capsys.readouterr().err
        assert "用法错误" in err and "端口应为 0–65535 之间的整数" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# Through the CLI


@dataclass
class Served:
    proc: subprocess.Popen[str]
    url: str
    reader: threading.Thread
    said: list[str]  # what serve printed after its address

    def interrupt(self) -> str:
        """Ctrl-C; everything serve printed after its address."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # never leave a serve behind
            self.proc.wait()
            raise AssertionError("serve did not stop on Ctrl-C within 20 s") from None
        self.reader.join(timeout=5)
        return "".join(self.said)


def _start_serve(data: Path, out: Path, preexec_fn: Callable[[], object] | None = None) -> Served:
    proc = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "--data", str(data), "--out", str(out),
                             "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, preexec_fn=preexec_fn)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not found:
        proc.kill()
        raise AssertionError(f"serve did not start: {line}{proc.stderr.read()}")
    said: list[str] = []  # read as it comes, so that serve's pipe never fills up
    reader = threading.Thread(target=lambda: said.extend(proc.stderr or ()), daemon=True)
    reader.start()
    return Served(proc, found[0], reader, said)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_a_second_serve_on_the_port_says_it_is_taken(data_copy: Path,
                                                                             tmp_path: Path) -> None:
    served = _start_serve(data_copy, tmp_path / "out")
    port = int(served.url.rsplit(":", 1)[1].strip("/"))
    second = subprocess.run([sys.executable, str(REPO / "build.py"), "serve", "--data", str(data_copy),
                             "--port", str(port)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [second.stderr.strip()]
    assert f"端口 {port} 已被占用" in second.stderr and "Traceback" not in second.stderr

    said = served.interrupt()
    assert served.proc.returncode == 130
    assert "Traceback" not in said and "已中断" in said
    _assert_port_free(port)


def _port_of(served: Served) -> int:
    return int(served.url.rsplit(":", 1)[1].strip("/"))


def _ignore_sigint() -> None:
    """What `nohup`, a background job of a script or some CI runners hand to their children."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow
def test_ctrl_c_stops_serve_even_when_it_was_started_with_sigint_ignored(small_data: Path, tmp_path: Path) -> None:
    """Issue 17: under `nohup` the child inherited SIG_IGN, and Ctrl-C never reached serve. Odd
    requests and another Host on the way (issue 18 #8, #18) leave no traceback in its terminal."""
    served = _start_serve(small_data, tmp_path / "out", preexec_fn=_ignore_sigint)
    port = _port_of(served)
    try:
        for path in ("/%00", "/" + "a" * 300, "/__perfdoc/font/%C2%B2"):
            assert _get(port, path).status in (400, 404), path
        assert _get(port, "/", "evil.example").status == 421
        assert _get(port, "/").status == 200
    finally:
        said = served.interrupt()
    assert served.proc.returncode == 130, said
    assert "已中断" in said and "Traceback" not in said
    _assert_port_free(port)


@pytest.mark.slow
def test_a_value_only_the_workbook_shows_rebuilds_the_workbook(small_data: Path, tmp_path: Path) -> None:
    """Issue 18 #1: under hebei-2023 a project's `leader` and an indicator's `remark` are in the
    XLSX only; saving them used to leave out/*.xlsx stale while the bar said the files were ready."""
    import openpyxl

    out = tmp_path / "out"
    served = _start_serve(small_data, out)
    try:
        connection, events = _subscribe(_port_of(served))
        ready = _next_matching(events, lambda e: e["files"]["state"] == "ready", 120)
        project = small_data / "projects" / HEBEI_PROJECT
        _edit(project, "name: 食品安全监督抽检经费\n", "name: 食品安全监督抽检经费\nleader: 王新负责\n")
        _edit(project, "        basis: 上级文件\n", "        basis: 上级文件\n        remark: 新备注甲\n")
        rebuilt = _next_matching(events, lambda e: e["files"]["build"] > ready["files"]["build"]
                                 and e["files"]["state"] in ("ready", "failed"), 120)
        connection.close()
    finally:
        said = served.interrupt()
    assert rebuilt["files"]["state"] == "ready", rebuilt["files_html"]
    assert rebuilt["version"] == ready["version"]  # the preview itself did not change: only the files did
    assert "导出的文件有变化" in said
    (workbook_path,) = out.glob("*.xlsx")
    assert f"{workbook_path.name}</a>" in rebuilt["files_html"]  # the bar links the workbook too
    workbook = openpyxl.load_workbook(workbook_path, read_only=True)
    texts = {str(cell) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for cell in row
             if cell is not None}
    workbook.close()
    assert "王新负责" in texts and "新备注甲" in texts


# ---------------------------------------------------------------------------------------------
# In a real browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (bash setup.sh --test)")
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    if not (CHROMIUM.is_file() and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("Debian chromium and chromium-driver are not installed (bash setup.sh --test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(argument)
    try:  # the driver is given: selenium manager must not try to download one
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    except WebDriverException as exc:
        pytest.skip(f"chromium could not be started here: {exc.msg}")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.slow
def test_in_chromium_the_page_follows_saves_shows_errors_and_links_the_pdf(browser: Any, data_copy: Path,
                                                                           tmp_path: Path) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # The page reloads itself on every new version: an element found just before a reload goes
    # stale, which only means "look again".
    stale = (StaleElementReferenceException,)
    served = _start_serve(data_copy, tmp_path / "out")
    url = served.url
    try:
        wait = WebDriverWait(browser, 10, poll_frequency=0.1, ignored_exceptions=stale)
        browser.get(url)
        assert "劳务派遣工资" in browser.find_element(By.TAG_NAME, "body").text

        def body_text() -> str:
            return str(browser.execute_script("return document.body.innerText"))

        project = data_copy / "projects" / PROJECT
        original = project.read_text(encoding="utf-8")
        assert "小区安防严密" in original
        project.write_text(original.replace("小区安防严密", "小区安防格外严密"), encoding="utf-8")
        wait.until(lambda _: "小区安防格外严密" in body_text())

        project.write_text(original.replace("小区安防严密", "小区安防格外严密") + "name: [没有闭合\n", encoding="utf-8")
        panel = wait.until(lambda d: d.find_element(By.ID, "perfdoc-problems").is_displayed()
                           and d.find_element(By.ID, "perfdoc-problems"))
        where = panel.find_element(By.CLASS_NAME, "perfdoc-where").text
        assert re.fullmatch(rf".*{PROJECT}:\d+:\d+", where), where
        assert "YAML" in panel.text
        assert "小区安防格外严密" in body_text()  # the last good preview stays under the panel

        project.write_text(original, encoding="utf-8")
        wait.until(lambda d: not d.find_element(By.ID, "perfdoc-problems").is_displayed()
                   and "小区安防严密" in body_text() and "格外" not in body_text())

        WebDriverWait(browser, 120, poll_frequency=0.2, ignored_exceptions=stale).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#perfdoc-bar .perfdoc-state[data-state=ready]"))
        link = browser.find_element(By.CSS_SELECTOR, "#perfdoc-bar a.perfdoc-file[href$='.pdf']")
        host, port = url.split("//")[1].strip("/").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", link.get_attribute("href").split(url.rstrip("/"), 1)[1])
        pdf = connection.getresponse()
        assert pdf.status == 200 and pdf.read(5) == b"%PDF-"
        connection.close()

        # the data folder moved away: a notice says so over the page; copied back, it goes
        assert not browser.find_element(By.ID, "perfdoc-notice").is_displayed()
        away = tmp_path / "away"
        data_copy.rename(away)
        wait.until(lambda d: d.find_element(By.ID, "perfdoc-notice").is_displayed()
                   and "不见了" in d.find_element(By.ID, "perfdoc-notice").text)
        shutil.copytree(away, data_copy)
        wait.until(lambda d: not d.find_element(By.ID, "perfdoc-notice").is_displayed()
                   and not d.find_element(By.ID, "perfdoc-problems").is_displayed())
    finally:
        said = served.interrupt()
    assert served.proc.returncode == 130, said
    assert "预览已更新到第 2 版" in said and "数据有 1 处错误" in said


def test_only_files_of_the_templates_folder_are_served_to_the_page(tmp_path):
    """README: the preview serves images the templates' CSS refers to, and nothing else."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "seal.png").write_bytes(b"png")
    (templates / "document.html.j2").write_text("{{ secret }}", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("no", encoding="utf-8")
    assert _template_file(templates, "/seal.png") == (templates / "seal.png").resolve()
    assert _template_file(templates, "/document.html.j2") is None  # template source stays private
    assert _template_file(templates, "/../secret.txt") is None


def test_the_monitoring_and_the_self_evaluation_are_previewed_on_pages_of_their_own(tmp_path: Path) -> None:
    """Issue 20: serve shows the stage documents too (one page each, linked from every page) and
    watches evaluation/, monitoring/ and scoring/."""
    from perfdoc.serve.watch import ReadFiles

    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "core-2021" / "data", data)
    options = BuildOptions(data_dir=data, out_dir=tmp_path / "out")
    live = LiveDocument(options, build_files=False)
    live.refresh()
    page = live.page("evaluation")
    assert page is not None and "部门预算项目支出绩效自评表（2024年度）" in page and "402001001-基本公共卫生服务项目" in page
    assert '<a class=perfdoc-page href="/evaluation" aria-current="page">自评表</a>' in page
    assert '<a class=perfdoc-page href="/">绩效目标</a>' in page and live.page("monitoring") is None
    assert 'href="/" aria-current="page">绩效目标</a>' in (live.page() or "")
    version = live.version
    evaluation = data / "evaluation" / "402001003.yaml"
    evaluation.write_text(evaluation.read_text(encoding="utf-8").replace("executed: 356.4", "executed: 300"), encoding="utf-8")
    live.refresh()
    assert live.version == version + 1 and "84.18%" in (live.page("evaluation") or "")
    files = ReadFiles(options)
    assert all(files.reads(data / stage / "x.yaml") for stage in ("evaluation", "monitoring", "scoring"))
    assert data / "evaluation" in files.plan().folders and not files.reads(data / "evaluation" / "notes.txt")
