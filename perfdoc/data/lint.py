"""`check --lint`: what a careful reviewer would ask about, beyond what is wrong.

These are hints (提示), never errors: an 指标值 that cannot be measured (提升, 良好, 完成 …),
a number without a unit (183), a year in the text that is not this budget year's (a 2023 file
still saying "2021 年前"). docs/layout-spec.md (原件里的问题) lists them among the source's slips. Hints never change
the exit status, with or without --strict.
"""

from __future__ import annotations

import re

from perfdoc.data.loader import LoadedFile, iter_values
from perfdoc.diagnostics import Diagnostic, Severity

_HAS_DIGIT = re.compile(r"[0-9０-９]")
_TIME_WORDS = re.compile(r"[年月日周季]|按期|及时")  # 时效指标 such as “每月底” are measurable as they stand
_BARE_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_YEAR = re.compile(r"(20[0-9]{2})\s*年")


def project_hints(loaded: LoadedFile, budget_year: int) -> list[Diagnostic]:
    return _hints(loaded, loaded.data, (), f"项目 {loaded.data.get('code') or loaded.path.stem}", budget_year)


def department_table_hints(department: LoadedFile, budget_year: int) -> list[Diagnostic]:
    """The department-wide table's values (the narrative is left alone: it may recall past years)."""
    table = department.data.get("department_table") if isinstance(department.data, dict) else None
    if not isinstance(table, dict):
        return []
    return _hints(department, table, ("department_table",), "部门整体支出绩效目标表", budget_year)


def _hints(loaded: LoadedFile, data: object, prefix: tuple, label: str, budget_year: int) -> list[Diagnostic]:
    hints: list[Diagnostic] = []

    def hint(path: tuple, message: str) -> None:
        hints.append(loaded.diagnostic(prefix + path, f"{label}：{message}", severity=Severity.HINT))

    for path, value in iter_values(data):
        if not isinstance(value, str):
            continue
        if path[-1:] == ("value",) and "indicators" in path[:2]:
            row = _row_at(data, path[:-1])
            if row.get("unit") or row.get("nature") == "定性" or row.get("value_type") == "定性":
                pass  # the unit has its own column; a 定性 indicator is not measured by a number
            elif _BARE_NUMBER.fullmatch(value.strip()):
                hint(path, f"指标值“{value}”只有数字，没有单位（人、套、平方米、% …）")
            elif not _HAS_DIGIT.search(value) and not _TIME_WORDS.search(value):
                hint(path, f"指标值“{value}”不可衡量：尽量写成数值和单位，如“≥95%”“每月底前”“183 人”")
        for year in _YEAR.findall(value):
            if int(year) < budget_year - 1:
                hint(path, f"文字中写的是 {year} 年，而本文件是 {budget_year} 年度：是否沿用了旧文件？")
    return hints


def _row_at(data: object, path: tuple) -> dict:
    """The indicator row (a mapping) at `path` of the loaded data, or {} when there is none."""
    node = data
    for key in path:
        try:
            node = node[key]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, dict) else {}
