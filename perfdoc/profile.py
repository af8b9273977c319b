"""The indicator profile: which 一级 / 二级 indicators a table has and the plan checkpoints.

This is data (profiles/*.yaml), not code, because provinces and years differ (format.md §2):
a department picks one with `profile:` in its department file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic, UserError
from .loader import LoadedFile, load_yaml_file
from .resources import resource_dir

PROFILES_DIR = resource_dir("profiles")
DEFAULT_PROFILE = "default"
_PROFILE_NAME = re.compile(r"[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}")


@dataclass(frozen=True)
class Profile:
    name: str
    checkpoints: tuple[str, ...]
    levels: tuple[tuple[str, tuple[str, ...]], ...]  # (一级, (二级, …)) in table order

    @property
    def level1_names(self) -> tuple[str, ...]:
        return tuple(level1 for level1, _ in self.levels)

    def level2_names(self, level1: str) -> tuple[str, ...]:
        return dict(self.levels)[level1]


def profile_path(name: str, data_dir: Path | None = None) -> Path:
    """`default` → profiles/default.yaml; a name must not be a path (no `../../etc/passwd`)."""
    if not _PROFILE_NAME.fullmatch(name):
        raise ValueError(name)
    local = data_dir / "profiles" / f"{name}.yaml" if data_dir else None
    if local and local.is_file():
        return local
    return PROFILES_DIR / f"{name}.yaml"


def _text_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


def load_profile(path: Path) -> Profile:
    """Load and check a profile file; a bad one stops the build with a clear message."""
    loaded: LoadedFile = load_yaml_file(path)
    if not loaded.ok:
        raise UserError(loaded.diagnostics)
    data = loaded.data
    problems: list[Diagnostic] = []
    if not isinstance(data.get("name"), str):
        problems.append(loaded.diagnostic(("name",), "缺少指标体系名称（name），应为文字"))
    if not _text_list(data.get("checkpoints")):
        problems.append(loaded.diagnostic(("checkpoints",), "checkpoints 应为时间节点文字列表，如 [3月底, 6月底, 10月底, 12月底]"))
    levels = data.get("levels")
    if not isinstance(levels, dict) or not levels or not all(_text_list(v) for v in levels.values()):
        problems.append(loaded.diagnostic(("levels",), "levels 应为“一级指标: [二级指标, …]”的映射"))
    if problems:
        raise UserError(problems)
    return Profile(
        name=data["name"],
        checkpoints=tuple(data["checkpoints"]),
        levels=tuple((level1, tuple(level2s)) for level1, level2s in levels.items()),
    )
