"""Shared fixtures: the repository, a scratch copy of the shipped data, and a CLI runner."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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


STEM = "唐山市公安局海港经济开发区分局2023年部门预算绩效目标"


@pytest.fixture(scope="session")
def seed_build(tmp_path_factory) -> Path:
    """One real build of the shipped data (HTML, PDF, DOCX), shared by the output tests."""
    out = tmp_path_factory.mktemp("seed-build")
    result = run_cli("build", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


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
