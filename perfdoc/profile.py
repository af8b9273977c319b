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
MAX_CHECKPOINTS = 6  # the spending-plan row's grid right of its label (templates/project_table.html.j2)
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


def _repeated(loaded: LoadedFile, path: tuple[str, ...], names: list[str], what: str) -> list[Diagnostic]:
    """A name listed twice would make two columns or rows the data cannot tell apart."""
    return [loaded.diagnostic(path + (i,), f"{what}“{name}”重复，每个只能写一次")
            for i, name in enumerate(names) if name in names[:i]]


def _checkpoint_problems(loaded: LoadedFile, checkpoints: object) -> list[Diagnostic]:
    if not _text_list(checkpoints):
        return [loaded.diagnostic(("checkpoints",), "应为时间节点文字列表，如 [3月底, 6月底, 10月底, 12月底]")]
    assert isinstance(checkpoints, list)
    if len(checkpoints) > MAX_CHECKPOINTS:
        return [loaded.diagnostic(("checkpoints",), f"时间节点最多 {MAX_CHECKPOINTS} 个（表格“资金支出计划”一行只有 "
                                                    f"{MAX_CHECKPOINTS} 栏），实际有 {len(checkpoints)} 个")]
    return _repeated(loaded, ("checkpoints",), checkpoints, "时间节点")


def _level_problems(loaded: LoadedFile, levels: object) -> list[Diagnostic]:
    if not isinstance(levels, dict) or not levels or not all(_text_list(v) for v in levels.values()):
        return [loaded.diagnostic(("levels",), "应为“一级指标: [二级指标, …]”的映射")]
    return [problem for level1, level2s in levels.items()
            for problem in _repeated(loaded, ("levels", level1), level2s, "二级指标")]


def load_profile(path: Path, root: Path | None = None) -> Profile:
    """Load and check a profile file; a bad one stops the build with `file:line:col` messages.

    `root` is the data folder for a profile kept there: a symlink leaving it is refused.
    """
    loaded: LoadedFile = load_yaml_file(path, root)
    if not loaded.ok:
        raise UserError(loaded.diagnostics)
    data = loaded.data
    problems: list[Diagnostic] = []
    if not isinstance(data.get("name"), str):
        problems.append(loaded.diagnostic(("name",), "缺少指标体系名称（name），应为文字"))
    problems += _checkpoint_problems(loaded, data.get("checkpoints"))
    levels = data.get("levels")
    problems += _level_problems(loaded, levels)
    if problems:
        raise UserError(problems)
    return Profile(
        name=data["name"],
        checkpoints=tuple(data["checkpoints"]),
        levels=tuple((level1, tuple(level2s)) for level1, level2s in levels.items()),
    )
