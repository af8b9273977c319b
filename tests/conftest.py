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
