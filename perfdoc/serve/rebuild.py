"""The background rebuild of the files in --out (HTML, PDF, DOCX, XLSX) while the preview runs.

One thread runs the normal build (perfdoc.build.pipeline.build, with its cache), always on the
newest job: a save that arrives during a rebuild supersedes it, and the old one stops at its next
step (the layout of one piece, one project, cannot be interrupted, but the next one does not start).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perfdoc.build.options import BuildOptions
from perfdoc.build.progress import Progress
from perfdoc.data.loader import LoadedFile
from perfdoc.data.model import Document
from perfdoc.data.stage_document import StageDocument
from perfdoc.diagnostics import UserError
from perfdoc.serve.panels import FilesState


class Superseded(Exception):
    """A newer save arrived: the rebuild in progress stops at its next step."""


@dataclass(frozen=True)
class _Job:
    version: int
    build: int
    document: Document
    sources: Sequence[LoadedFile]
    stages: Sequence[StageDocument] = ()


class _StopWhenSuperseded(Progress):
    """The build reports its steps here; a step taken after a newer job arrived stops the build."""

    def __init__(self, is_superseded: Callable[[], bool]):
        super().__init__(enabled=False)
        self._is_superseded = is_superseded

    def step(self, message: str) -> None:
        if self._is_superseded():
            raise Superseded(message)


class Rebuilder:
    """Runs perfdoc.build.pipeline.build in one background thread, always on the newest submitted job,
    and reports each state of the files (building, ready, failed) to `on_change`."""

    def __init__(self, options: BuildOptions, on_change: Callable[[FilesState], None]):
        self._options = options
        self._on_change = on_change
        self._pending: _Job | None = None
        self._builds = 0
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="perfdoc-rebuild", daemon=True)
        self._thread.start()

    def submit(self, version: int, document: Document, sources: Sequence[LoadedFile],
               stages: Sequence[StageDocument] = ()) -> None:
        """Rebuild the files for preview `version` (a newer submit replaces a job not yet done);
        `stages`: the monitoring and self-evaluation documents, written beside the targets'."""
        with self._wake:
            self._builds += 1
            build = self._builds
            self._pending = _Job(version, build, document, sources, stages)
            self._wake.notify()
        self._on_change(FilesState("building", version, build))

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
                result = build(job.document, self._options, job.sources, _StopWhenSuperseded(self._superseded),
                               job.stages)
            except Superseded:
                continue
            except UserError as exc:
                state = FilesState("failed", job.version, job.build, exc.text)
            except Exception as exc:  # noqa: BLE001 - a perfdoc bug must not silently kill the rebuild thread
                state = FilesState("failed", job.version, job.build,
                                   f"perfdoc 内部错误（internal error）: {type(exc).__name__}: {exc}"
                                   "\n这是 perfdoc 的缺陷，不是数据的问题；请用 python3 build.py --debug 重现并报告。")
            else:
                state = FilesState("ready", job.version, job.build, "\n".join(f"提示: {n}" for n in result.notes),
                                   result.written, time.monotonic() - started)
            if not self._superseded():
                self._on_change(state)
