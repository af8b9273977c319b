"""Watching what perfdoc reads, and turning a burst of file events into one update.

Only the files perfdoc reads are watched: department.yaml, projects/*.yaml, profiles/*.yaml, the
stage files and their rules (monitoring/, evaluation/, scoring/) and the
templates folder (its real subfolders, never a symlinked tree), each folder on its own
(non-recursively) through inotify (watchfiles). The folders above the data and templates folders
are watched too, so a data folder moved away and copied back is noticed: the watch is re-armed on
the new folder and the files are read again. While a folder is gone, and when inotify cannot be
used (too many watches, a permission error), the watcher says so through `on_status` — on the page
and on the terminal — and in the latter case checks the files every POLL_SECONDS instead. It never
stops silently.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from perfdoc.build.options import BuildOptions
from perfdoc.diagnostics import display_path

DEBOUNCE_SECONDS = 0.1  # an editor's save is several file events within a few milliseconds
POLL_SECONDS = 0.5  # how often the files are checked when inotify cannot be used
REARM_CHECK_SECONDS = 0.3  # how often, with no events, the watcher checks that its folders are still the same
DEPARTMENT_FILE, PROJECTS, PROFILES = "department.yaml", "projects", "profiles"
# The year's later stages and the scoring rules they are scored by (data/monitoring/, evaluation/, scoring/).
STAGE_FOLDERS = ("monitoring", "evaluation", "scoring")


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


def _absolute(path: Path) -> Path:
    """The path as the user named it, made absolute (a symlinked data folder stays the link)."""
    return Path(os.path.abspath(path))


@dataclass(frozen=True)
class WatchPlan:
    """The folders to watch (each on its own, non-recursively), which folders they are now (an
    inotify watch stays on the folder it was armed on: a folder replaced by another of the same
    name needs a new one), and the roots that are missing."""

    folders: tuple[Path, ...]
    identities: tuple[tuple[int, int], ...]
    missing: tuple[Path, ...]


class ReadFiles:
    """Which files perfdoc reads for one preview: where they are, and whether a path is one of them."""

    def __init__(self, options: BuildOptions):
        self.data = _absolute(options.data_dir)
        self.templates = _absolute(options.templates_dir)
        self.roots = (self.data, self.templates)

    def _data_subfolders(self) -> list[Path]:
        """projects/ and profiles/ when they are folders inside the data folder (a symlink
        leaving it is never read, so it is not watched either)."""
        inside = os.path.realpath(self.data)
        found = []
        for name in (PROJECTS, PROFILES, *STAGE_FOLDERS):
            folder = self.data / name
            if folder.is_dir() and Path(os.path.realpath(folder)).is_relative_to(inside):
                found.append(folder)
        return found

    def _template_folders(self) -> list[Path]:
        """The templates folder and its real subfolders (images the CSS refers to); symlinked
        trees are not walked."""
        if not self.templates.is_dir():
            return []
        found = []
        for folder, subfolders, _files in os.walk(self.templates, followlinks=False):
            found.append(Path(folder))
            subfolders[:] = sorted(s for s in subfolders if not s.startswith("."))
        return found

    def plan(self) -> WatchPlan:
        folders: list[Path] = []
        missing = [root for root in self.roots if not root.is_dir()]
        for root in self.roots:  # to see the folder itself go and come back
            if root.parent.is_dir():
                folders.append(root.parent)
        if self.data.is_dir():
            folders += [self.data, *self._data_subfolders()]
        folders += self._template_folders()
        unique = tuple(dict.fromkeys(folders))
        return WatchPlan(unique, tuple(_identity(folder) for folder in unique), tuple(missing))

    def reads(self, path: Path) -> bool:
        """Whether an event at `path` can change what perfdoc reads."""
        if path in self.roots or path.is_relative_to(self.templates):
            return True
        parent, name = path.parent, path.name
        if parent == self.data:
            return name in (DEPARTMENT_FILE, PROJECTS, PROFILES, *STAGE_FOLDERS)
        if parent in (self.data / stage for stage in STAGE_FOLDERS):
            return name.endswith((".yaml", ".yml"))  # a stray .yml gets a warning
        if parent == self.data / PROJECTS:
            return name.endswith((".yaml", ".yml"))  # a stray .yml gets a warning
        if parent == self.data / PROFILES:
            return name.endswith(".yaml")
        return False

    def snapshot(self) -> dict[Path, tuple[int, ...]]:
        """For polling: every file perfdoc reads, with what changes when it is saved."""
        files = [self.data / DEPARTMENT_FILE]
        for folder in self._data_subfolders():
            files += [folder / name for name in _names(folder) if self.reads(folder / name)]
        for folder in self._template_folders():
            files += [folder / name for name in _names(folder)]
        found: dict[Path, tuple[int, ...]] = {}
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            found[path] = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)
        return found


def _identity(folder: Path) -> tuple[int, int]:
    try:
        stat = folder.stat()
    except OSError:
        return (0, 0)
    return (stat.st_dev, stat.st_ino)


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


class Watcher:
    """One thread that hands every batch of changed paths to `on_change` until stopped, and
    reports what the page should say about watching to `on_status(notice, message)`: `notice`
    stays on the page ("" when all is well), `message` is one line for the terminal."""

    def __init__(self, options: BuildOptions, on_change: Callable[[set[Path]], None],
                 on_status: Callable[[str, str], None]):
        self.files = ReadFiles(options)
        self._on_change = on_change
        self._on_status = on_status
        self._stop = threading.Event()
        self._missing: tuple[Path, ...] = ()
        self._fallback = ""  # why inotify is not used, once it failed
        self._thread = threading.Thread(target=self._run, name="perfdoc-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=2.0)

    # -- what the page says ----------------------------------------------------------------------
    def _notice(self) -> str:
        lines = [f"{_label(root, self.files)} {display_path(root)} 不见了（被移走或删除；folder missing）："
                 "它回来后自动继续监视" for root in self._missing]
        if self._fallback:
            lines.append(self._fallback)
        return "\n".join(lines)

    def _note_missing(self, missing: tuple[Path, ...]) -> None:
        if missing == self._missing:
            return
        gone = [root for root in missing if root not in self._missing]
        back = [root for root in self._missing if root not in missing]
        self._missing = missing
        messages = [f"{_label(root, self.files)} {display_path(root)} 不见了（folder missing）：它回来后自动继续监视"
                    for root in gone]
        messages += [f"{_label(root, self.files)} {display_path(root)} 又出现了：重新开始监视（watching again）"
                     for root in back]
        self._on_status(self._notice(), "\n".join(messages))

    # -- watching --------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._watch_with_inotify()
            return  # stopped
        except Exception as exc:  # noqa: BLE001 - any failure of the watcher is said, never silent
            if self._stop.is_set():
                return
            self._fallback = (f"无法用 inotify 监视文件（{type(exc).__name__}: {exc}）：改为每 {POLL_SECONDS:g} 秒"
                              f"检查一次文件（polling every {POLL_SECONDS:g} s）")
            self._on_status(self._notice(), self._fallback)
        try:
            self._poll()
        except Exception as exc:  # noqa: BLE001 - the last resort: say that saves are no longer followed
            self._fallback = (f"文件监视已停止（watching stopped: {type(exc).__name__}: {exc}）："
                              "保存后预览不再更新，请按 Ctrl-C 后重新运行 perfdoc serve")
            self._on_status(self._notice(), self._fallback)

    def _watch_with_inotify(self) -> None:
        """Watch the plan's folders until the plan changes (a folder came, went or was replaced),
        then re-arm.

        After each re-arming, the files are read once more (`on_change` of the data folder): a save
        made while no watch was armed is not lost.
        """
        import watchfiles

        def relevant(_change: watchfiles.Change, path: str) -> bool:
            return self.files.reads(Path(path))

        first = True  # the first arming needs no catch-up: the preview reads the files as it starts
        while not self._stop.is_set():
            plan = self.files.plan()
            self._note_missing(plan.missing)
            if not plan.folders:  # nothing left to watch, not even a parent: look again shortly
                self._stop.wait(REARM_CHECK_SECONDS)
                continue
            caught_up, first = first, False
            try:
                for changes in watchfiles.watch(*plan.folders, watch_filter=relevant, recursive=False,
                                                stop_event=self._stop, debounce=50, step=10,
                                                rust_timeout=int(REARM_CHECK_SECONDS * 1000), yield_on_timeout=True,
                                                raise_interrupt=False, ignore_permission_denied=False):
                    if not caught_up:  # the watch is armed now
                        caught_up = True
                        self._on_change({self.files.data})
                    paths = {Path(path) for _change, path in changes}
                    if paths:
                        self._on_change(paths)
                    # a watched folder itself came, went or was replaced (its inode number may be
                    # reused, so an event on it is reason enough): watch the folders there are now
                    if not paths.isdisjoint(plan.folders) or self.files.plan() != plan:
                        break
            except FileNotFoundError:  # a folder went between planning and arming: plan again
                self._stop.wait(0.05)

    def _poll(self) -> None:
        previous = self.files.snapshot()
        self._on_change({self.files.data})
        while not self._stop.wait(POLL_SECONDS):
            self._note_missing(self.files.plan().missing)
            current = self.files.snapshot()
            changed = {path for path in previous.keys() | current.keys() if previous.get(path) != current.get(path)}
            previous = current
            if changed:
                self._on_change(changed)


def _label(root: Path, files: ReadFiles) -> str:
    return "数据目录" if root == files.data else "模板目录"
