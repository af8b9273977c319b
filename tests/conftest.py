"""Shared fixtures and helpers: the repository, a scratch copy of the shipped data, CLI runners
(a separate process as a user runs it, or in this process where only messages matter), file edits,
whitespace-free text for comparing what a PDF or DOCX reads back, and the machine's fonts."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfdoc.diagnostics import UserError

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path = REPO) -> Run:
    """Run `python build.py …` as a user would, in a separate process."""
    proc = subprocess.run([sys.executable, str(REPO / "build.py"), *args], cwd=cwd,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def run_cli_in_process(*args: str, cwd: Path = REPO) -> Run:
    """`perfdoc …` through perfdoc.cli.main in this process: the same messages and exit status as
    run_cli without a new interpreter (~0.3 s saved a call). For commands that only check or
    stop before layout; a full build belongs in a slow test through run_cli."""
    from perfdoc.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors and --help
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(previous)
    return Run(code, out.getvalue(), err.getvalue())


STAGE_DOCUMENT_ENDINGS = ("自评表", "监控表")  # a build's monitoring and self-evaluation outputs end so


def target_outputs(out: Path, suffix: str) -> list[Path]:
    """A build's files of the targets document (`*.pdf` …), not the monitoring's or the self-evaluation's."""
    return sorted(p for p in out.glob(f"*.{suffix}") if not p.stem.endswith(STAGE_DOCUMENT_ENDINGS))


def edit_file(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a text file with `new`; `old` must be there (else the test is wrong)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def squash(text: str | None) -> str:
    """Text without any whitespace: PDF and DOCX read-back break lines where the layout did."""
    return re.sub(r"\s+", "", text or "")


@pytest.fixture(scope="session")
def fonts():
    """The fonts perfdoc chooses on this machine (skips, saying why, where there is no CJK face)."""
    from perfdoc.render.fonts import choose_fonts

    try:
        return choose_fonts(None)
    except UserError as exc:
        pytest.skip(f"no CJK fonts: {exc.text}")


STEM = "唐山市公安局海港经济开发区分局2023年部门预算绩效目标"

# The open CJK faces the tests measure pages with. They are handed to every full build as a
# font folder (`--fonts`), which perfdoc prefers over installed fonts, so page counts and line
# breaks are the same on a machine that has 仿宋_GB2312 or 霞鹜文楷 installed as on one without.
PINNED_FONT_FILES = ("NotoSerifCJK-Regular.ttc", "NotoSerifCJK-Bold.ttc", "NotoSansCJK-Regular.ttc")
FONT_SEARCH_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"),
                    Path("/usr/share/fonts/google-noto-cjk"))


def _find_font(name: str) -> Path | None:
    return next((folder / name for folder in FONT_SEARCH_DIRS if (folder / name).is_file()), None)


@pytest.fixture(scope="session")
def pinned_fonts(tmp_path_factory) -> Path:
    """A font folder with links to the Noto CJK files (skips where fonts-noto-cjk is missing)."""
    found = {name: _find_font(name) for name in PINNED_FONT_FILES}
    if not all(found.values()):
        pytest.skip("fonts-noto-cjk is not installed (bash setup.sh installs it)")
    folder = tmp_path_factory.mktemp("fonts")
    for name, path in found.items():
        (folder / name).symlink_to(path)
    return folder


@pytest.fixture(scope="session")
def seed_build(tmp_path_factory, pinned_fonts) -> Path:
    """One real build of the shipped data (HTML, PDF, DOCX), shared by the output tests."""
    out = tmp_path_factory.mktemp("seed-build")
    result = run_cli("build", "--out", str(out), "--fonts", str(pinned_fonts))
    assert result.returncode == 0, result.stderr
    return out


def pytest_collection_modifyitems(config, items):
    """A test that uses a full build of the seed document is slow, wherever it is written."""
    for item in items:
        if "seed_build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped data/ (tests plant faults in it)."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


# ---------------------------------------------------------------------------------------------
# Golden files and property-based test profiles

GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/ from the current output instead of comparing")


@pytest.fixture
def golden(request):
    """Compare text with tests/golden/<name>; with --update-golden, write it instead."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.is_file(), f"missing golden file {path}: run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8")

    return check


try:
    from hypothesis import HealthCheck, settings

    _common = dict(deadline=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                          HealthCheck.data_too_large])
    # `ci` runs by default (a few thousand examples in about a minute); `long` is the fuzz run:
    #   python3 -m pytest tests/test_fuzz.py --hypothesis-profile=long
    # `ci` is derandomized so a submission's CI run is reproducible; `long` explores new examples.
    settings.register_profile("ci", max_examples=2500, derandomize=True, **_common)
    settings.register_profile("long", max_examples=10000, **_common)
    settings.load_profile("ci")
except ImportError:  # hypothesis is a test extra; the other tests run without it
    pass
