"""`check` for the stage files: data/evaluation/ and data/monitoring/, beside the targets.

Each file is read like a project file (perfdoc.data.loader: positions, the symlink rule), checked
against its schema (`$defs/evaluation`, `$defs/monitoring` of perfdoc.data.schema, Chinese messages
through perfdoc.data.schema_check), then joined to its project and scored (perfdoc.data.stages),
and what that finds is placed at its file:line. Once a stage's folder exists, a project without a
file there is a to-do (a warning at the project's code). Without the folders nothing here runs and
nothing is read (not even the scoring rules), so a department that has not started a stage sees
exactly what it saw before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfdoc.data.fields import STAGES
from perfdoc.data.loader import LoadedFile, Position, load_yaml_file
from perfdoc.data.model import Project, build_project
from perfdoc.data.profile import Profile, load_profile, profile_exists, profile_path, where_profiles_live
from perfdoc.data.rules import NATIONAL_NAME, load_rules
from perfdoc.data.schema import stage_schema
from perfdoc.data.schema_check import schema_validator, validate_against_schema
from perfdoc.data.stages import BUILDERS, Evaluation, Finding, Monitoring
from perfdoc.diagnostics import Diagnostic, Severity, UserError, display_path, format_field_path, in_file


@dataclass
class StageCheck:
    """What checking the stage folders found: the files, their diagnostics (hints apart, for
    --lint), and the records of the files that joined their project."""

    files: dict[str, list[LoadedFile]] = field(default_factory=dict)  # stage → its files
    diagnostics: list[Diagnostic] = field(default_factory=list)
    hints: list[Diagnostic] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    monitorings: list[Monitoring] = field(default_factory=list)
    layouts: dict[str, Profile] = field(default_factory=dict)  # stage → the layout its document is printed in


def load_layout(stage: str, profile: Profile, data_dir: Path) -> Profile:
    """The `table: <stage>` profile the targets' profile names for `stage` (national by default);
    a missing one, or one of another kind, stops with the profile's file and key."""
    name = profile.stage_profile(stage)
    key = f"{stage}_profile"
    where = profile.source
    try:
        path = profile_path(name, data_dir)
    except ValueError:
        raise UserError(in_file(where, f"{key}: 格式名“{name}”无效")) from None
    if not profile_exists(path):
        raise UserError(in_file(where, f"{key}: 找不到{STAGES[stage][0]}表的格式“{name}”（{where_profiles_live(name, data_dir)}）"))
    layout = load_profile(path)
    if layout.table != stage:
        raise UserError(in_file(layout.source, f"table: 格式“{name}”是 {layout.table} 表，{STAGES[stage][0]}要用 "
                                               f"table: {stage} 的格式（{key} 在 {display_path(where)}）"))
    return layout


def stage_folders(data_dir: Path) -> dict[str, Path]:
    """The stage folders that exist in `data_dir`, by stage."""
    return {stage: data_dir / stage for stage in STAGES if (data_dir / stage).is_dir()}


def _place(loaded: LoadedFile, finding: Finding) -> Diagnostic:
    """A finding at its line: a key's own line for a whole entry (the deepest key the file has)."""
    if not finding.at_key:
        return loaded.diagnostic(finding.path, finding.message, severity=finding.severity)
    position = next((loaded.key_positions[finding.path[:cut]] for cut in range(len(finding.path), 0, -1)
                     if finding.path[:cut] in loaded.key_positions), Position(1, 1))
    return Diagnostic(loaded.display, position.line, position.column, format_field_path(finding.path),
                      finding.message, finding.severity)


def check_stages(data_dir: Path, profile: Profile, projects: list[LoadedFile]) -> StageCheck:
    """Check every stage file of `data_dir` against the (valid) `projects`; never raises for bad input."""
    result = StageCheck()
    folders = stage_folders(data_dir)
    if not folders:
        return result
    try:
        rules = load_rules(profile.scoring or NATIONAL_NAME, data_dir, named_in=profile.source)
    except UserError as exc:
        result.diagnostics += exc.diagnostics
        return result
    joined: dict[str, tuple[LoadedFile, Project]] = {}
    for loaded in projects:
        project = build_project(loaded.data, profile, loaded.display)
        joined.setdefault(project.code, (loaded, project))  # its code, or its file's name where it has none
    for stage, folder in folders.items():
        try:
            result.layouts[stage] = load_layout(stage, profile, data_dir)
        except UserError as exc:
            result.diagnostics += exc.diagnostics
        _check_folder(stage, folder, data_dir, profile, rules, joined, result)
    return result


def _check_folder(stage: str, folder: Path, data_dir: Path, profile: Profile, rules: Any,
                  joined: dict[str, tuple[LoadedFile, Project]], result: StageCheck) -> None:
    name = STAGES[stage][0]
    schema = stage_schema(profile, stage, rules.monitoring_period)
    validator = schema_validator(schema, stage)
    for stray in sorted(folder.glob("*.yml")):
        result.diagnostics.append(Diagnostic(display_path(stray), 1, 1, "", f"{name}文件扩展名应为 .yaml（不是 .yml），"
                                                                            "否则不会被读入", Severity.WARNING))
    files = result.files.setdefault(stage, [])
    seen: dict[str, LoadedFile] = {}
    present: set[str] = set()  # a project whose file has errors has a file all the same
    for path in sorted(folder.glob("*.yaml")):
        loaded = load_yaml_file(path, root=data_dir)
        files.append(loaded)
        present.add(path.stem)
        if isinstance(loaded.data, dict):
            present.add(str(loaded.data.get("code")))
        if loaded.ok:
            loaded.diagnostics += validate_against_schema(loaded, schema, stage, validator)
        result.diagnostics += loaded.diagnostics
        if not loaded.ok:
            continue
        code = loaded.data["code"]
        if code in seen:
            result.diagnostics.append(loaded.diagnostic(("code",), f"项目 {code} 已有{name}文件 {seen[code].display}："
                                                                   "每个项目只能有一个（duplicate）", key=True))
            continue
        seen[code] = loaded
        if code != path.stem:
            result.diagnostics.append(loaded.diagnostic(
                ("code",), f"项目编码 {code} 与文件名 {path.name} 不一致，文件应命名为 {code}.yaml", key=True,
                severity=Severity.WARNING))
        if code not in joined:
            result.diagnostics.append(loaded.diagnostic(
                ("code",), f"projects/ 里没有编码为 {code} 的项目（not in the targets）：{name}文件要对应一个项目文件", key=True))
            continue
        record, findings = BUILDERS[stage](loaded.data, joined[code][1], rules, loaded.display)
        for finding in findings:
            (result.hints if finding.severity is Severity.HINT else result.diagnostics).append(_place(loaded, finding))
        (result.evaluations if stage == "evaluation" else result.monitorings).append(record)  # type: ignore[arg-type]
    for code, (project_file, project) in joined.items():
        if code not in seen and code not in present:
            target = display_path(folder / f"{code}.yaml")
            result.diagnostics.append(project_file.diagnostic(
                ("code",), f"项目 {project.title}：还没有{name}文件 {target}（to do）：python3 build.py new-stage {stage} "
                           "生成骨架", key=True, severity=Severity.WARNING))
