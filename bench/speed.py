#!/usr/bin/env python3
"""Speed and scale, measured side by side in one run (a benchmark, not a test).

    python3 bench/speed.py [--runs 5] [--scale 100,1000] [--scale-runs 1] [--serve-only]

Prints, as medians of several runs:
  - cold build of the shipped seed (PDF + DOCX, cache off) and LibreOffice converting that same
    DOCX to PDF (`soffice --headless --convert-to pdf`, warm profile), as a ratio;
  - a rebuild with nothing changed, and after changing one project, as ratios to the cold build;
  - in the `serve` loop (no browser: an SSE client), save → preview updated (the event carrying the
    new preview version) and save → PDF updated (the event saying the rebuild of that version is ready);
  - N synthetic projects (bench/generate.py): time, time per project, time(big)/time(small), and
    peak memory (the whole process tree, workers included).
Every figure is a separate `python3 build.py` process, as a user would run it. Ctrl-C stops the
bench and its children even when it was started with SIGINT ignored (under `nohup`, as a background
job): the default handler is restored first, and the children start with it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from generate import generate


def _tree_rss_kib(root: int) -> int:
    """Resident memory of `root` and all its descendants now, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            parents[int(entry)] = int(fields["PPid"])
            rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0])
        except (OSError, KeyError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(rss.get(pid, 0) for pid in tree)


def timed(args: list[str], cwd: Path = REPO) -> tuple[float, int]:
    """(seconds, peak resident KiB of the process tree) for one command that must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kib(proc.pid))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{err.decode('utf-8', 'replace')[-2000:]}")
    return elapsed, peak


def perfdoc(*args: str) -> list[str]:
    return [sys.executable, str(REPO / "build.py"), *args]


def median_time(commands, runs: int, before=None) -> float:
    times = []
    for i in range(runs):
        if before:
            before(i)
        times.append(timed(commands(i) if callable(commands) else commands)[0])
    return statistics.median(times)


def serve_loop(data: Path, out: Path, runs: int, change) -> tuple[float, float]:
    """Medians of (save → preview updated, save → PDF updated) against a running `build.py serve`,
    timed from writing the file to the server-sent event that reports it."""
    proc = subprocess.Popen(perfdoc("serve", "--data", str(data), "--out", str(out), "--port", "0"), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    found = re.search(r"127\.0\.0\.1:(\d+)", proc.stderr.readline())
    if not found:
        proc.kill()
        raise SystemExit(f"serve did not start: {proc.stderr.read()[-2000:]}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # so that its pipe never fills up
    connection = http.client.HTTPConnection("127.0.0.1", int(found[1]), timeout=300)
    connection.request("GET", "/__perfdoc/events")
    response = connection.getresponse()  # kept: the stream closes with it
    stream = response.fp

    def next_state(wanted) -> dict:
        while True:
            line = stream.readline().decode("utf-8")
            if not line:
                raise SystemExit("serve closed the event stream")
            if line.startswith("data: "):
                state = json.loads(line[6:])
                if wanted(state):
                    return state

    try:
        version = next_state(lambda s: s["files"]["state"] == "ready")["version"]  # the first build is done
        previews, pdfs = [], []
        for i in range(runs):
            change(i)
            start = time.perf_counter()
            version = next_state(lambda s, old=version: s["version"] > old)["version"]
            previews.append(time.perf_counter() - start)
            state = next_state(lambda s, new=version: s["files"]["version"] == new and s["files"]["state"] != "building")
            if state["files"]["state"] != "ready":
                raise SystemExit(f"serve: the rebuild failed: {state['files_html']}")
            pdfs.append(time.perf_counter() - start)
    finally:
        connection.close()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    return statistics.median(previews), statistics.median(pdfs)


def serve_rows(data: Path, work: Path, runs: int, project: Path, original: str, cold: float | None) -> None:
    """The serve loop: one warm process; each save a new budget the cache has never seen."""

    def save(i: int) -> None:
        project.write_text(original.replace("budget: 61.53", f"budget: {62.53 + (i + 1) / 100:.2f}"),
                           encoding="utf-8")

    preview, pdf_ready = serve_loop(data, work / "serve", runs, save)
    print(f"serve: save → preview updated   {preview:7.2f} s   (target ≤ 0.3 s)")
    print(f"serve: save → PDF updated       {pdf_ready:7.2f} s   (target ≤ 1.0 s)"
          + (f"   / cold = {pdf_ready / cold:.2f}" if cold else ""))
    project.write_text(original, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", default="100,1000", help="project counts, comma-separated ('' to skip)")
    parser.add_argument("--scale-runs", type=int, default=1)
    parser.add_argument("--serve-only", action="store_true", help="only the two serve rows")
    args = parser.parse_args()
    # A SIGINT ignored by whoever started the bench would be inherited by every child (serve then
    # never stops); a handler installed here is reset to the default in each child instead.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    work = Path(tempfile.mkdtemp(prefix="perfdoc-bench-"))
    print(f"machine: {os.cpu_count()} cores; runs: {args.runs}; scratch: {work}")
    try:
        data = work / "data"
        shutil.copytree(REPO / "data", data)
        project = data / "projects" / "142001014.yaml"
        original = project.read_text(encoding="utf-8")
        if args.serve_only:
            serve_rows(data, work, args.runs, project, original, cold=None)
            return
        stem = "唐山市公安局海港经济开发区分局2023年部门预算绩效目标"

        # Cold: no cache, fresh output folder each run.
        cold = median_time(lambda i: perfdoc("--data", str(data), "--out", str(work / f"cold{i}"), "--no-cache"),
                           args.runs)
        print(f"cold seed build (PDF+DOCX)      {cold:7.2f} s")
        soffice = shutil.which("soffice")
        if soffice:
            docx = work / "cold0" / f"{stem}.docx"
            profile = f"file://{work}/lo-profile"
            convert = [soffice, "--headless", f"-env:UserInstallation={profile}", "--convert-to", "pdf",
                       "--outdir", str(work / "lo"), str(docx)]
            timed(convert)  # first start creates the profile: not counted
            office = median_time(convert, args.runs)
            print(f"LibreOffice DOCX → PDF          {office:7.2f} s   perfdoc / LibreOffice = {cold / office:.2f}"
                  f"   (target ≤ 1.0, issue 13)")
        else:
            print("LibreOffice DOCX → PDF          (soffice not installed: apt-get install libreoffice-writer-nogui)")

        # No change: warm cache and outputs, then rebuild.
        warm = work / "warm"
        timed(perfdoc("--data", str(data), "--out", str(warm)))
        same = median_time(perfdoc("--data", str(data), "--out", str(warm)), args.runs)
        print(f"rebuild, nothing changed        {same:7.2f} s   / cold = {same / cold:.2f}   (target ≤ 0.1)")

        # One project changed: a new budget each run, so the cache has never seen it.
        def change(i: int) -> None:
            project.write_text(original.replace("budget: 61.53", f"budget: {61.53 + (i + 1) / 100:.2f}"),
                               encoding="utf-8")

        one = median_time(perfdoc("--data", str(data), "--out", str(warm)), args.runs, before=change)
        print(f"rebuild, one project changed    {one:7.2f} s   / cold = {one / cold:.2f}   (target ≤ 0.3)")
        # What any rebuild in a fresh process pays before it lays out a page: Python with perfdoc's
        # pipeline imported, then WeasyPrint imported too (its cffi bindings are parsed at import).
        started = median_time([sys.executable, "-c", "import perfdoc.build.pipeline"], args.runs)
        with_weasyprint = median_time([sys.executable, "-c", "import perfdoc.build.pipeline, weasyprint"], args.runs)
        print(f"  floor: start + imports        {started:7.2f} s   + WeasyPrint {with_weasyprint:.2f} s"
              f"   / cold = {with_weasyprint / cold:.2f}")
        project.write_text(original, encoding="utf-8")

        serve_rows(data, work, args.runs, project, original, cold)

        sizes = [int(n) for n in args.scale.split(",") if n.strip()]
        results = {}
        for n in sizes:
            generated = work / f"gen{n}"
            generate(n, generated)
            runs = [timed(perfdoc("--data", str(generated), "--out", str(work / f"gen{n}-out{i}"), "--no-cache"))
                    for i in range(args.scale_runs)]
            seconds = statistics.median(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            results[n] = seconds
            pdf = next((work / f"gen{n}-out0").glob("*.pdf"))
            print(f"N = {n:5d} projects            {seconds:7.2f} s   {seconds / n * 1000:6.1f} ms/project   "
                  f"peak RSS {peak / 1024:7.0f} MiB   PDF {pdf.stat().st_size / 2**20:5.1f} MiB")
        if len(sizes) >= 2:
            small, big = sizes[0], sizes[-1]
            print(f"time({big})/time({small})            {results[big] / results[small]:7.2f}"
                  f"   (target ≤ {10.5 * big / small / 10:.1f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
