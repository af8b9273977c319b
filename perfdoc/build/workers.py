"""Worker processes for a long build: a second core lays out part of the PDF's pieces, and
however the build ends — done, an error, Ctrl-C, a worker killed — no process outlives it and
the user sees one line, never a worker's traceback.

What the workers do is the caller's (perfdoc.build.pdf); this module knows processes and
signals, nothing of PDFs.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.pool
import multiprocessing.resource_tracker
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from perfdoc.diagnostics import UserError, unlocated

Item = TypeVar("Item")
Result = TypeVar("Result")

# How worker processes start: spawn everywhere, so the path tested on Linux is the one macOS and
# Windows take (they cannot fork), and no worker is forked from a parent running threads (which
# can deadlock; Python 3.12 warns). The price is a fresh interpreter per worker, importing
# perfdoc and WeasyPrint (~0.4 s) once per build.
START_METHOD = "spawn"
# A worker helps when there is more to lay out than its start-up costs (~0.5 s, while this process
# imports WeasyPrint too): from about 8 pieces (~50 ms each for the seed's tables; a one-value
# rebuild has one). It takes the later half, this process one piece more: the front matter it
# starts with is the slowest piece (measured on the seed: head starts of 0–2 pieces were best).
PIECES_WORTH_A_WORKER = 8
WORKER_HEAD_START = 1
WORKERS = 2  # the machines this runs on have two cores
WORKER_CHECK_SECONDS = 0.5  # how often a wait for the worker checks that it is alive


class InterruptsKept:
    """Ctrl-C still raises KeyboardInterrupt at once, but this process lays out pieces itself, and
    WeasyPrint frees fonts in finalizers (`__del__`), where Python prints an exception and drops
    it: an interrupt landing there would be lost and the build would go on. So it is remembered
    too, and raised again between pieces and on the way out. (Only the main thread can set a
    handler; serve's background builds end with their process.)"""

    def __init__(self) -> None:
        self.noticed = False
        self._previous: Any = None

    def __enter__(self) -> InterruptsKept:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def _on_interrupt(self, signum: int, frame: object) -> None:
        self.noticed = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.noticed:
            raise KeyboardInterrupt

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        if kind is None:
            self.check()


def share_with_a_worker(items: list[Item], do_one: Callable[[Item], Result],
                        do_share: Callable[[list[Item]], list[Result]], interrupts: InterruptsKept,
                        on_done: Callable[[int, int], None], *, preload: tuple[str, ...] = (),
                        start_method: str | None = None) -> list[Result]:
    """`do_one` of each item, in order.

    This process does them itself; with many of them (a cold build), a worker process does the
    last ones at the same time, on the other core, with `do_share` (which must pickle: a
    module-level function or a partial of one), after importing the `preload` modules at its start.
    `on_done(done, total)` follows the progress.
    However this ends — done, an error, Ctrl-C — the worker is terminated on the way out.
    """
    total = len(items)
    helpers = min(WORKERS, os.cpu_count() or 1) - 1
    own = total if total < PIECES_WORTH_A_WORKER or helpers < 1 else WORKER_HEAD_START + (total - WORKER_HEAD_START) // 2
    done: list[Result] = []
    with contextlib.ExitStack() as on_exit:
        theirs = None
        if own < total:
            method = start_method or START_METHOD  # read at run time: a test may set START_METHOD
            others = _child_pids()
            with _interrupts_held(method):  # until the pool is in on_exit, which terminates it
                pool = on_exit.enter_context(_start_pool(method, helpers, preload, do_share, items[own:]))
            worker_pids = _child_pids() - others
            theirs = pool.apply_async(_do_the_share)
        for item in items[:own]:
            interrupts.check()
            done.append(do_one(item))
            on_done(len(done), total)
        if theirs is not None:
            _wait_for_worker(theirs, worker_pids)
            done += theirs.get()
            on_done(total, total)
    return done


def _wait_for_worker(result: multiprocessing.pool.AsyncResult, worker_pids: set[int]) -> None:
    """A worker killed meanwhile (out of memory …) took its pieces with it, and the pool, which
    replaces the worker but not the task, would wait for them for ever: stop instead."""
    while not result.ready():
        result.wait(WORKER_CHECK_SECONDS)
        if not worker_pids <= _child_pids():
            raise UserError(unlocated("PDF 排版的工作进程意外退出（可能内存不足，被系统终止）：请关闭其他程序后重试"))


def _child_pids() -> set[int]:
    """This process's live multiprocessing children (the pool's workers among them)."""
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


def _start_pool(start_method: str, processes: int, preload: tuple[str, ...], do_share: Callable[[list[Any]], Any],
                share: list[Any]) -> multiprocessing.pool.Pool:
    """Worker processes. Everything they get is pickled and they set up their own state, so
    every start method works, including spawn.

    The share travels with the process as it starts (the initializer's arguments), and the task
    that starts it is a few bytes: a task of megabytes (the pieces' HTML and their document) kept
    the pool's task thread writing into a pipe nobody read when a Ctrl-C came during the workers'
    start-up, and terminating the pool then waited for that thread for ever."""
    context = multiprocessing.get_context(start_method)
    return context.Pool(processes=processes, initializer=_init_worker, initargs=(preload, do_share, share))


_SHARE: tuple[Callable[[list[Any]], Any], list[Any]] | None = None  # in a worker: what it is to do


def _do_the_share() -> Any:
    """The pool's one task: the share the worker was started with."""
    assert _SHARE is not None, "a worker's share is given when it starts"
    do_share, share = _SHARE
    return do_share(share)


def _init_worker(preload: tuple[str, ...] = (), do_share: Callable[[list[Any]], Any] | None = None,
                 share: list[Any] | None = None) -> None:
    """Ctrl-C belongs to the parent, which terminates the pool: a worker that took it too would
    print its own traceback (`Process SpawnPoolWorker-1: …`) under the parent's one-line message.

    The worker was born with SIGINT blocked (`_interrupts_held`), so a Ctrl-C during its start-up
    waits here and is dropped by SIG_IGN. The `preload` modules (WeasyPrint, ~0.4 s to import) are
    imported now: the pool's task waits for them, while the parent does its own share meanwhile.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    for module in preload:
        importlib.import_module(module)
    global _SHARE
    if do_share is not None:
        _SHARE = (do_share, share or [])


@contextlib.contextmanager
def _interrupts_held(start_method: str) -> Iterator[None]:
    """Hold SIGINT (POSIX) while worker processes are created: they inherit the blocked mask, so
    none can take a Ctrl-C before `_init_worker` ignores it; the parent gets a held one on exit."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks; the initializer suffices
        yield
        return
    if start_method != "fork":
        # Spawned pools need multiprocessing's resource tracker, and starting it unblocks SIGINT
        # on its way out: start it before the hold, not inside it.
        multiprocessing.resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
