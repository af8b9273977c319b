"""Stage 2 — validate: schema errors (in Chinese, with file:line:col) and semantic warnings.

Schema errors stop the build. Semantic checks (plans, amounts, missing categories, codes) are
warnings that the people who approve the budget should see; `--strict` makes them stop it too.
All files are checked in one run, so the user sees every problem at once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfdoc.data.loader import FieldPath, LoadedFile, iter_values, load_yaml_file
from perfdoc.data.model import default_output_name, project_key
from perfdoc.data.profile import (
    DEFAULT_PROFILE,
    Profile,
    load_profile,
    profile_exists,
    profile_path,
    where_profiles_live,
)
from perfdoc.data.schema import DEFAULT_DEPARTMENT_TABLE_PROFILE, build_schema
from perfdoc.data.schema_check import schema_validator, validate_against_schema
from perfdoc.data.stage_check import StageCheck, check_stages
from perfdoc.diagnostics import Diagnostic, Severity, UserError, one_line, unlocated

DEPARTMENT_FILE = "department.yaml"
PROJECTS_DIR = "projects"


@dataclass
class CheckedData:
    """Everything `check` learned: the files, the profile, and the diagnostics in file order."""

    data_dir: Path
    profile: Profile | None
    department: LoadedFile | None
    projects: list[LoadedFile]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    table_profile: Profile | None = None  # the department-wide table's format, when the department has one
    stages: StageCheck = field(default_factory=StageCheck)  # data/evaluation/ and data/monitoring/, when there

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    @property
    def target_errors(self) -> list[Diagnostic]:
        """The errors of the targets (department file, projects, profiles), not of the stage files:
        what must be right before a stage's skeletons are written or the year is rolled forward."""
        staged = set(self.stages.diagnostics)
        return [d for d in self.errors if d not in staged]


# ---------------------------------------------------------------------------------------------
# Semantic checks (warnings)


def _percent(value: Decimal | int) -> str:
    return f"{value}%"


def plan_problems(plan: dict[str, Any], checkpoints: tuple[str, ...]) -> list[str]:
    """What is wrong with a cumulative spending plan, in words; empty when it is fine.

    A cumulative plan never decreases and reaches 100 % at the last checkpoint; blanks before
    the first figure are allowed (the source leaves them blank). A plan whose figures add up to
    100 % but is not a valid cumulative plan was almost certainly typed per period.
    """
    values = [(point, plan.get(point)) for point in checkpoints]
    filled = [(point, v) for point, v in values if v is not None]
    problems: list[str] = []
    decreases = [f"{a}的 {_percent(va)} 降到{b}的 {_percent(vb)}"
                 for (a, va), (b, vb) in zip(filled, filled[1:], strict=False) if vb < va]
    last_point, last_value = values[-1]
    ends_at_100 = last_value is not None and last_value == 100
    per_period = bool(filled) and sum(v for _, v in filled) == 100 and (decreases or not ends_at_100)
    if per_period:
        shown = "、".join(f"{p} {'空' if v is None else _percent(v)}" for p, v in values)
        problems.append(f"看起来是分期数而不是累计数（{shown}，各期相加为 100%）：累计计划应逐期不减，{last_point}为 100%")
        return problems
    if decreases:
        problems.append("累计支出计划不应下降：" + "；".join(decreases))
    if not ends_at_100:
        got = "空" if last_value is None else _percent(last_value)
        problems.append(f"累计支出计划应在{last_point}达到 100%，实际为{got}")
    return problems


def _semantic_warnings(loaded: LoadedFile, profile: Profile) -> list[Diagnostic]:
    data = loaded.data
    key = project_key(data, profile, loaded.display)
    label = f"项目 {key} {data['name']}：" if profile.uses_code else f"项目 {data['name']}（{loaded.path.name}）："
    warnings: list[Diagnostic] = []
    labels = profile.field_labels()

    def warn(path: FieldPath, message: str) -> None:
        warnings.append(loaded.diagnostic(path, label + message, key=True, severity=Severity.WARNING))

    if profile.plan:
        for problem in plan_problems(data["spending_plan"], profile.checkpoints):
            warn(("spending_plan",), problem)
    budget, fiscal = data.get("budget"), data.get("fiscal_funds")
    if budget is not None and fiscal is not None and fiscal > budget:
        warn(("fiscal_funds",), f"{labels.get(('record', 'fiscal_funds'), '财政资金')} {fiscal} 万元大于"
                                f"{labels.get(('record', 'budget'), '预算数')} {budget} 万元")
    for block in profile.blocks:
        if block.optional:
            continue
        prefix: FieldPath = () if block.source == "annual" else (block.source,)
        authored = (data if block.source == "annual" else data.get(block.source) or {}).get("indicators") or {}
        if "weight" in profile.indicator_fields():
            weights = [row.get("weight") for level2s in authored.values() for rows in (level2s or {}).values()
                       for row in rows or () if isinstance(row, dict)]
            total = sum((w for w in weights if w is not None), Decimal(0))
            if weights and total != 100:
                warn(prefix + ("indicators",), f"权重合计应为 100，实际为 {total}")
        for level1, level2s in profile.levels:
            group = authored.get(level1)
            if group is None:
                warn(prefix + ("indicators",), f"缺少一级指标“{level1}”")
                continue
            for level2 in level2s:
                if level2 not in group:
                    warn(prefix + ("indicators", level1), f"一级指标“{level1}”下缺少二级指标“{level2}”")
    if profile.uses_code and data["code"] != loaded.path.stem:
        warn(("code",), f"项目编码 {data['code']} 与文件名 {loaded.path.name} 不一致，文件应命名为 {data['code']}.yaml")
    return warnings


EXCEL_CELL_MAX_CHARS = 32_767  # Excel's limit for one cell, counted in UTF-16 units as Excel counts


def excel_length(text: str) -> int:
    """The length Excel gives `text`: a character beyond the BMP (𠀀, an emoji) counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _excel_cell_errors(loaded: LoadedFile) -> list[Diagnostic]:
    """Every text too long for one XLSX cell, at its own line.

    The XLSX holds each value in one cell, and Excel cannot hold more than 32 767 characters
    there: XlsxWriter would cut the text with no error, and `import` of that workbook would bring
    the cut text back as data. The other way, splitting a value over several cells that import
    joins again, would give the budget office a workbook whose cells are pieces of a sentence,
    and every reader of the workbook (import, their own formulas) would need to know the rule.
    No real 绩效目标 text comes near the limit (the longest paragraph of the seed has about
    420 characters), so such a value is refused here, in `check`, before any output is made:
    the PDF, DOCX, HTML and XLSX then never disagree about what the text says.
    """
    problems = []
    for path, value in iter_values(loaded.data):
        if isinstance(value, str) and (length := excel_length(value)) > EXCEL_CELL_MAX_CHARS:
            problems.append(loaded.diagnostic(
                path, f"文字有 {length} 个字符，超过 Excel 单元格的上限 {EXCEL_CELL_MAX_CHARS} 个字符"
                      "（cell limit）：XLSX 放不下它，perfdoc 不截断文字；请缩短，或分成几段写（如 overall_target、"
                      "measures 的多项）"))
    return problems


OUTPUT_NAME_MAX_BYTES = 200  # + ".docx" + the temporary name's 15 characters stays under 255 bytes
_NOT_IN_FILE_NAMES = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f-\x9f\u2028\u2029]')


def _file_name_problem(name: str) -> tuple[int, str] | None:
    """(where in `name`, what is wrong) when `name` cannot be a file name on Windows and Linux alike."""
    if (bad := _NOT_IN_FILE_NAMES.search(name)) is not None:
        return bad.start(), f"含有文件名中不允许的字符“{one_line(bad.group())}”（不能含 / \\ : * ? \" < > | 和控制字符，否则文件会写到别的文件夹或无法创建）"
    if name != name.lstrip(" ."):
        return 0, "不能以空格或点开头（也不能是 . 或 ..）"
    if name != name.rstrip(" ."):
        return len(name) - 1, "不能以空格或点结尾"
    size = len(name.encode("utf-8"))
    if size > OUTPUT_NAME_MAX_BYTES:
        return len(name) - 1, f"太长：{size} 字节，上限 {OUTPUT_NAME_MAX_BYTES} 字节（约 {OUTPUT_NAME_MAX_BYTES // 3} 个汉字）"
    return None


def _output_name_errors(department: LoadedFile) -> list[Diagnostic]:
    """The outputs' file name, whether written as `output_name` or made of department + title.

    Reported at the field the offending part comes from, so `department: 某局/某分局` is not
    silently a subfolder and `department: ../../x` never writes outside --out.
    """
    data = department.data
    name = default_output_name(data)
    problem = _file_name_problem(name)
    if problem is None:
        return []
    index, what = problem
    if data.get("output_name"):
        return [department.diagnostic(("output_name",), f"输出文件名{what}")]
    field = "department" if index < len(data["department"]) else "title"
    shown = name if len(name) <= 40 else name[:40] + "…"
    return [department.diagnostic((field,), f"默认的输出文件名“{shown}”（部门名称+文件标题）{what}：请修改，"
                                            "或在部门文件里用 output_name 另定文件名")]


def _duplicate_code_warnings(projects: list[LoadedFile], profile: Profile) -> list[Diagnostic]:
    if not profile.uses_code:  # file names are the keys: one folder cannot hold two of a name
        return []
    seen: dict[str, LoadedFile] = {}
    warnings = []
    for loaded in projects:
        code = loaded.data["code"]
        if code in seen:
            warnings.append(loaded.diagnostic(
                ("code",), f"项目编码 {code} 与 {seen[code].display} 重复", key=True, severity=Severity.WARNING))
        else:
            seen[code] = loaded
    return warnings


# ---------------------------------------------------------------------------------------------


def _select_profile(department: LoadedFile, data_dir: Path, *, key_path: FieldPath = ("profile",),
                    default: str = DEFAULT_PROFILE, kind: str = "project") -> tuple[Profile | None, list[Diagnostic]]:
    """The profile a department file names at `key_path` (the default when it names none), checked
    to be a table of `kind` (project tables, or the department-wide table)."""
    name = default
    if department.ok and isinstance(department.data, dict):
        value: Any = department.data
        for key in key_path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            name = value
    try:
        path = profile_path(name, data_dir)
    except ValueError:
        return None, [department.diagnostic(key_path, f"表格格式名“{name}”无效：只能是字母、数字、汉字、- 和 _，不能是路径", key=True)]
    if not profile_exists(path):
        return None, [department.diagnostic(key_path, f"找不到表格格式“{name}”（{where_profiles_live(name, data_dir)}）", key=True)]
    try:
        profile = load_profile(path, root=data_dir if path.is_relative_to(data_dir) else None)
    except UserError as exc:
        return None, exc.diagnostics
    if profile.table != kind:
        wanted = "项目支出绩效目标表（table: project）" if kind == "project" else "部门整体支出绩效目标表（table: department）"
        return None, [department.diagnostic(key_path, f"表格格式“{name}”不是{wanted}", key=True)]
    return profile, []


def select_profile_for(data_dir: Path) -> Profile:
    """The profile the department file of `data_dir` names (default when it names none)."""
    department_path = data_dir / DEPARTMENT_FILE
    if not department_path.is_file():
        raise UserError(unlocated(f"找不到部门文件 {department_path}：--data 应指向含 department.yaml 的数据目录"))
    profile, problems = _select_profile(load_yaml_file(department_path, root=data_dir), data_dir)
    if profile is None:
        raise UserError(problems)
    return profile


def check_data(data_dir: Path) -> CheckedData:
    """Load and check every file under `data_dir`; never raises for bad input."""
    department_path = data_dir / DEPARTMENT_FILE
    projects_dir = data_dir / PROJECTS_DIR
    diagnostics: list[Diagnostic] = []
    department: LoadedFile | None = None
    if os.path.lexists(department_path):  # a FIFO, a folder or a bad symlink: the loader says which
        department = load_yaml_file(department_path, root=data_dir)
        diagnostics += department.diagnostics
    else:
        diagnostics.append(Diagnostic(str(department_path), 1, 1, "", "找不到部门文件（department.yaml）"))
    project_paths = sorted(projects_dir.glob("*.yaml")) if projects_dir.is_dir() else []
    stray = sorted(projects_dir.glob("*.yml")) if projects_dir.is_dir() else []
    for path in stray:
        diagnostics.append(Diagnostic(str(path), 1, 1, "", "项目文件扩展名应为 .yaml（不是 .yml），否则不会被读入",
                                      Severity.WARNING))
    has_department_table = department is not None and isinstance(department.data, dict) \
        and isinstance(department.data.get("department_table"), dict)
    if not project_paths and not has_department_table:  # a department-wide table alone is a document
        diagnostics.append(Diagnostic(str(projects_dir), 1, 1, "", "没有项目文件：应在此目录下放 <项目编码>.yaml"))
    projects = [load_yaml_file(path, root=data_dir) for path in project_paths]
    for loaded in projects:
        diagnostics += loaded.diagnostics

    profile, profile_errors = (None, []) if department is None else _select_profile(department, data_dir)
    diagnostics += profile_errors
    table_profile = None
    if department is not None and department.ok and has_department_table:
        table_profile, table_errors = _select_profile(department, data_dir, key_path=("department_table", "profile"),
                                                      default=DEFAULT_DEPARTMENT_TABLE_PROFILE, kind="department")
        diagnostics += table_errors
        if table_profile is None:
            profile = None  # the department file cannot be checked without its table's format
    if profile is not None:
        schema = build_schema(profile, table_profile)
        if department is not None and department.ok:
            department.diagnostics += validate_against_schema(department, schema, "department")
            if department.ok:
                department.diagnostics += _output_name_errors(department) + _excel_cell_errors(department)
            diagnostics += department.diagnostics
        project_validator = schema_validator(schema, "project")
        for loaded in projects:
            if loaded.ok:
                loaded.diagnostics += validate_against_schema(loaded, schema, "project", project_validator)
                if loaded.ok:
                    loaded.diagnostics += _excel_cell_errors(loaded)
                diagnostics += loaded.diagnostics
        valid_projects = [p for p in projects if p.ok]
        for loaded in valid_projects:
            diagnostics += _semantic_warnings(loaded, profile)
        diagnostics += _duplicate_code_warnings(valid_projects, profile)
        stages = check_stages(data_dir, profile, valid_projects)
        diagnostics += stages.diagnostics
    else:
        stages = StageCheck()

    ordered = sorted(set(diagnostics), key=lambda d: (d.file, d.line, d.column, d.severity.name, d.path, d.message))
    return CheckedData(data_dir, profile, department, projects, ordered, table_profile, stages)
