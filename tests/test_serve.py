"""`perfdoc serve`: the live preview.

Fast tests drive the pieces in this process (debouncing, the error panel, the port message, the
event stream over real HTTP on 127.0.0.1, without the PDF rebuild). The slow ones run
`build.py serve` as a user would: Ctrl-C and a busy port through the CLI, and the whole loop in
Debian's chromium through selenium.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

from perfdoc.build.options import BuildOptions
from perfdoc.diagnostics import Diagnostic, UserError, in_file, unlocated
from perfdoc.serve.server import (
    HOST,
    Debouncer,
    LiveDocument,
    Preview,
    PreviewServer,
    Problem,
    problems_from_error,
    problems_html,
)

PROJECT = "142001014.yaml"


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
        self.proc.wait(timeout=20)
        self.reader.join(timeout=5)
        return "".join(self.said)


def _start_serve(data: Path, out: Path) -> Served:
    proc = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "--data", str(data), "--out", str(out),
                             "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
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
    finally:
        said = served.interrupt()
    assert served.proc.returncode == 130, said
    assert "预览已更新到第 2 版" in said and "数据有 1 处错误" in said


def test_only_files_of_the_templates_folder_are_served_to_the_page(tmp_path):
    """README: the preview serves images the templates' CSS refers to, and nothing else."""
    from perfdoc.serve.server import _template_file

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "seal.png").write_bytes(b"png")
    (templates / "document.html.j2").write_text("{{ secret }}", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("no", encoding="utf-8")
    assert _template_file(templates, "/seal.png") == (templates / "seal.png").resolve()
    assert _template_file(templates, "/document.html.j2") is None  # template source stays private
    assert _template_file(templates, "/../secret.txt") is None
