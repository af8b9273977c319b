"""What each CLI command does, in the words a user sees on the terminal."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from perfdoc.build.options import BuildOptions
from perfdoc.diagnostics import Diagnostic, Severity, UserError, display_path, unlocated
from perfdoc.resources import PROFILES_DIR


def _report(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        print(diagnostic.format(), file=sys.stderr)


def _summary(projects: int, errors: int, warnings: int, stage_files: dict[str, int] | None = None) -> str:
    """`检查完成：18 个项目文件，0 个错误，13 个警告。`, naming the stage files where there are any."""
    from perfdoc.data.fields import STAGES

    staged = "".join(f"、{count} 个{STAGES[stage][0]}文件" for stage, count in (stage_files or {}).items())
    return f"检查完成：{projects} 个项目文件{staged}，{errors} 个错误，{warnings} 个警告。"


def run_check(data_dir: Path, *, strict: bool, lint: bool = False) -> int:
    from perfdoc.data.validate import check_data

    checked = check_data(data_dir)
    _report(checked.diagnostics)
    stage_files = {stage: len(files) for stage, files in checked.stages.files.items()}
    print(_summary(len(checked.projects), len(checked.errors), len(checked.warnings), stage_files), file=sys.stderr)
    if lint and not checked.errors and checked.department is not None:
        from perfdoc.data.lint import department_table_hints, project_hints

        year = checked.department.data["year"]
        hints = department_table_hints(checked.department, year)
        hints += [h for p in checked.projects for h in project_hints(p, year)]
        hints += checked.stages.hints
        _report(hints)
        print(f"--lint：{len(hints)} 条提示（不影响退出码）。", file=sys.stderr)
    if checked.errors or (strict and checked.warnings):
        if strict and checked.warnings and not checked.errors:
            print("--strict：警告按错误处理。", file=sys.stderr)
        return 1
    return 0


class _Tee:
    """Messages go to the terminal and are kept, to be replayed by a no-change rebuild."""

    def __init__(self) -> None:
        self.kept: list[str] = []

    def __call__(self, line: str) -> None:
        print(line, file=sys.stderr)
        self.kept.append(line + "\n")


def run_build(options: BuildOptions, *, strict: bool) -> int:
    from perfdoc.build.preflight import check_paths, default_cache_note
    from perfdoc.build.uptodate import (
        fingerprint,
        record_build,
        replay_if_unchanged,
        writing_into,
    )

    def inputs_key() -> str | None:
        if not options.use_cache:
            return None
        return fingerprint(data_dir=options.data_dir, templates_dir=options.templates_dir, profiles_dir=PROFILES_DIR,
                           fonts_dir=options.fonts_dir, reference_docx=options.reference_docx,
                           settings={"out": str(options.out_dir.resolve()), "strict": strict})

    check_paths(options)  # a symlink loop as --out would otherwise break the fingerprint below
    cache_note = default_cache_note(options)  # <out>/.perfdoc-cache unusable: no cache, no record, one note
    if cache_note is not None:
        options = replace(options, use_cache=False)
    cache_dir = options.resolved_cache_dir
    key = inputs_key()
    record = replay_if_unchanged(cache_dir, key)
    if record is not None:
        sys.stderr.write(record.messages)
        print("已是最新：输入没有变化，沿用上次生成的文件（加 --no-cache 可强制重新生成）。", file=sys.stderr)
        return 0

    from perfdoc.build.output import refuse_data_dir
    from perfdoc.build.pipeline import build, load_document, stage_documents, stage_sources
    from perfdoc.build.progress import Progress

    say = _Tee()
    document, checked = load_document(options.data_dir)
    for diagnostic in checked.diagnostics:
        say(diagnostic.format())
    if document is None or checked.department is None or (strict and checked.warnings):
        say(_summary(len(checked.projects), len(checked.errors), len(checked.warnings)) + " 未生成文件。")
        return 1
    refuse_data_dir(options.out_dir, options.data_dir)
    with writing_into(options.out_dir):  # until the record is written: it must describe these files
        result = build(document, options, [checked.department, *checked.projects, *stage_sources(checked)], Progress(),
                       stage_documents(document, checked))
        for note in [cache_note] * (cache_note is not None) + result.notes:
            say(f"提示: {note}")
        for path in result.written:
            say(f"已生成 {display_path(path)}")
        if inputs_key() == key:  # no input edited meanwhile
            record_build(cache_dir, key, result.digests, "".join(say.kept))
    return 0


def run_schema(data_dir: Path, output: Path | None) -> int:
    """The schema of the profile `data_dir` uses, written beside the data folder by default: that is
    where the `# yaml-language-server: $schema=../../schema.json` line of its files points (never
    into the data folder). Says where it wrote, and which other data folders beside it use the same
    file when it replaced a different one (one schema.json for each folder that holds data folders)."""
    import os

    from perfdoc.data.rules import load_rules
    from perfdoc.data.schema import schema_text
    from perfdoc.data.scoring import NATIONAL
    from perfdoc.data.validate import check_data, select_profile_for

    checked = check_data(data_dir)  # the data may have errors: the schema is what helps fix them
    profile = checked.profile or select_profile_for(data_dir)
    period = NATIONAL.monitoring_period
    if profile.scoring:  # the monitoring period in the stage files' titles is the rules'
        period = load_rules(profile.scoring, data_dir, named_in=profile.source).monitoring_period
    text = schema_text(profile, checked.table_profile, period)
    beside = output is None
    folder = Path(os.path.abspath(data_dir))
    output = output or folder.parent / "schema.json"  # `--data .`: the folder above, not `.`
    if beside and (folder.parent == folder or output.resolve().is_relative_to(folder.resolve())):
        raise UserError(unlocated(f"数据目录 {display_path(data_dir)} 旁边没有地方放 schema.json（perfdoc 从不往数据目录里写文件）："
                                  "请把数据目录放进一个文件夹，或用 --output 指定文件"))
    try:
        before = output.read_text(encoding="utf-8") if output.is_file() else None
    except (OSError, UnicodeDecodeError):
        before = None
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(unlocated(f"无法写入 {display_path(output)}（{exc.strerror}）")) from exc
    shown = display_path(data_dir) if display_path(data_dir) != "." else str(folder)
    why = f"（数据目录 {shown} 里文件第一行的 $schema=../schema.json、../../schema.json 指向它）" if beside else ""
    print(f"已写入 {display_path(output)}{why}", file=sys.stderr)
    others = sorted(p for p in folder.parent.iterdir() if p.is_dir() and p != folder and (p / "department.yaml").is_file()) \
        if beside and before is not None and before != text else []
    if others:
        _report([unlocated(f"{display_path(output)} 原来是另一份：旁边的数据目录 {'、'.join(display_path(p) for p in others)} "
                           f"也用它，它们的编辑器提示现在按 {shown} 的表格格式。每个数据目录放进自己的文件夹"
                           "（如 2024/data、2025/data），或用 --output 另写一份", severity=Severity.WARNING)])
    return 0


def run_diff(data_dir: Path, revision: str, to: str | None, *, fmt: str, exit_code: bool) -> int:
    from perfdoc.review.diff import diff_revisions
    from perfdoc.review.report import format_diff

    diff = diff_revisions(data_dir, revision, to)
    sys.stdout.write(format_diff(diff, fmt))
    return 1 if exit_code and diff.changed else 0


def run_new(data_dir: Path, code: str, name: str) -> int:
    from perfdoc.data.validate import select_profile_for
    from perfdoc.review.scaffold import create_project

    target = create_project(data_dir, code, name, select_profile_for(data_dir))
    print(f"已生成 {display_path(target)}：请填写其中空着的值，然后运行 python3 build.py check", file=sys.stderr)
    return 0


def run_new_stage(data_dir: Path, stage: str, *, force: bool) -> int:
    """Skeletons of one stage for every project (perfdoc.review.stage_scaffold): 0 done, 1 refused."""
    from perfdoc.data.fields import STAGES
    from perfdoc.review.stage_scaffold import write_stage_skeletons

    result = write_stage_skeletons(data_dir, stage, force=force)
    name = STAGES[stage][0]
    for path in result.replaced:
        print(f"已替换（--force）{display_path(path)}", file=sys.stderr)
    made = len(result.written) + len(result.replaced)
    kept = (f"；已有 {len(result.kept)} 个，保留原样（加 --force 重新生成，会清掉其中填写的内容）" if result.kept else "")
    print(f"已生成 {made} 个{name}文件（{display_path(result.folder)}/）{kept}。", file=sys.stderr)
    if made:
        print(f"下一步：填写其中空着的值，然后运行 python3 build.py check --data {display_path(data_dir)}"
              "（还没填的会列为待办）", file=sys.stderr)
    return 0


def run_new_year(year: int, data_dir: Path, target: Path) -> int:
    """Roll the data folder forward: 0 written (warnings allowed), 1 data problem, 2 year not later."""
    from perfdoc.review.yearly import YearNotLater, new_year

    try:
        result = new_year(data_dir, target, year)
    except YearNotLater as exc:
        print(exc.text, file=sys.stderr)
        return 2
    _report(result.warnings)
    cleared = (f"已清空资金支出计划 {result.cleared_plan_values} 处（键保留，请填写新一年的计划）"
               if result.cleared_plan_values else "没有要清空的资金支出计划")
    warned = (f"{len(result.warnings)} 条警告：上面列出的文字写到了往年，请逐条确认" if result.warnings
              else "没有写到往年的文字")
    from perfdoc.data.fields import STAGES

    left = "、".join(f"{stage}/（{STAGES[stage][0]}，{count} 个文件）" for stage, count in result.left_behind.items())
    stages = f"；未复制 {left}：实际完成值属于 {result.old_year} 年度，不带到新年度" if left else ""
    print(f"已生成 {display_path(target)}：{result.old_year} → {year} 年度，部门文件 1 个、项目文件 {result.projects} 个；"
          f"{cleared}；{warned}{stages}。", file=sys.stderr)
    print(f"下一步：python3 build.py schema --data {display_path(target)} && "
          f"python3 build.py check --data {display_path(target)}", file=sys.stderr)
    return 0


def run_profiles(data_dir: Path) -> int:
    """One line a table format: its name (what `profile:` takes), where it comes from, what it is."""
    from perfdoc.data.profile import available_profiles, ignored_profile_files, load_profile

    problems = 0
    for name, path in available_profiles(data_dir):
        origin = "自带" if path.parent == PROFILES_DIR else f"本地 {display_path(path)}"
        try:
            profile = load_profile(path)
        except UserError as exc:
            print(f"{name}\t[{origin}]\t无法读取：{exc.text.splitlines()[0]}")
            problems += 1
            continue
        kind = {"department": "部门整体表", "evaluation": "自评表", "monitoring": "监控表"}.get(profile.table, "项目表")
        print(f"{name}\t[{origin}，{kind}]\t{profile.title}：{profile.description}")
    for path in ignored_profile_files(data_dir):
        twin = path.with_suffix(".yaml")
        why = f"同名的 {twin.name} 优先" if path.suffix == ".yml" and twin.exists() else "扩展名应为 .yaml 或 .yml"
        print(f"提示: 未读入 {display_path(path)}：{why}", file=sys.stderr)
    print("自评表、监控表的格式由项目表格式的 evaluation_profile、monitoring_profile 选用（默认 national-evaluation、"
          "national-monitoring）。", file=sys.stderr)
    print(f"在 department.yaml 里写 profile: <名称> 选用项目表格式；自己的格式放在 {display_path(data_dir / 'profiles')}/<名称>.yaml"
          "（或 .yml）。", file=sys.stderr)
    return 1 if problems else 0


def run_serve(data_dir: Path, out_dir: Path, fonts_dir: Path | None, port: int | None) -> int:
    from perfdoc.serve.preview import run_serve as serve
    from perfdoc.serve.server import DEFAULT_PORT

    return serve(BuildOptions(data_dir=data_dir, out_dir=out_dir, fonts_dir=fonts_dir),
                 DEFAULT_PORT if port is None else port)


def run_import(files: list[Path], data_dir: Path, profile: str | None, *, force: bool, stage: str | None = None) -> int:
    """Last year's Word / Excel files into `data_dir` (perfdoc.io): 0 imported (notes allowed, and
    whatever the check after it says), 1 nothing imported or the data files already exist.
    With `stage`: a filled 自评表 into `data_dir`/evaluation/ (perfdoc.io.stage_import)."""
    if stage is not None:
        return _run_stage_import(files, data_dir, stage, force=force)
    from perfdoc.io.importer import import_files

    result = import_files(files, data_dir, profile, force)
    _report(result.notes)
    if result.refused is not None:
        _report([result.refused])
        return 1
    schema = display_path(result.schema) if result.schema else "schema.json"
    written = {"written": f"；另写入 {schema}", "same": f"；{schema} 已是最新，未改动"}.get(result.schema_status, "")
    print(f"已导入：{display_path(data_dir / 'department.yaml')} 和 {result.projects} 个项目文件"
          f"（{display_path(data_dir / 'projects')}），{len(result.notes)} 条说明{written}", file=sys.stderr)
    if result.removed:
        print(f"已删除本次没有导入的 {len(result.removed)} 个旧项目文件（--force）："
              f"{'、'.join(display_path(p) for p in result.removed)}", file=sys.stderr)
    if result.schema_status == "kept":
        _report([unlocated(f"{schema} 已存在且内容不同，未覆盖（它可能属于旁边的另一个数据目录）：加 --force 覆盖，"
                           f"或用 python3 build.py schema --data {display_path(data_dir)} --output <文件> 另写一份",
                           severity=Severity.WARNING)])
    elif result.schema_status == "inside":
        _report([unlocated(f"未写入 {schema}：它会落在数据目录之内（perfdoc 从不往数据目录里写文件）；"
                           "请把数据目录放进一个文件夹里再运行 python3 build.py schema", severity=Severity.WARNING)])
    print("导入后的检查（python3 build.py check）：", file=sys.stderr)
    run_check(data_dir, strict=False)
    return 0


def _run_stage_import(files: list[Path], data_dir: Path, stage: str, *, force: bool) -> int:
    from perfdoc.data.fields import STAGES
    from perfdoc.io.stage_import import import_stage_files

    result = import_stage_files(files, data_dir, stage, force)
    _report(result.notes)
    if result.refused is not None:
        _report([result.refused])
        return 1
    print(f"已导入 {len(result.written)} 个{STAGES[stage][0]}文件（{display_path(data_dir / stage)}/），"
          f"{len(result.notes)} 条说明", file=sys.stderr)
    print("导入后的检查（python3 build.py check）：", file=sys.stderr)
    run_check(data_dir, strict=False)
    return 0


def run_init(target: Path, *, profile: str | None, sources: list[Path], ci: str, force: bool,
             perfdoc_url: str | None, year: int | None) -> int:
    """A department's own repository in `target` (perfdoc.repo.init): 0 written, 1 refused."""
    import datetime

    from perfdoc.repo.init import init_repository

    result = init_repository(target, profile_name=profile, sources=sources, ci=ci, force=force,
                             perfdoc_url=perfdoc_url, year=year or datetime.date.today().year + 1)
    shown = display_path(target)
    for path in result.replaced:
        print(f"已替换（replaced）{display_path(path)}", file=sys.stderr)
    if result.kept_data:
        print(f"{display_path(target / 'data')} 里已有数据，保留原样（kept）；schema.json 按其表格格式重新生成", file=sys.stderr)
    for note in result.notes:
        print(f"提示: {note}", file=sys.stderr)
    if result.source is not None and not result.source.known:
        print("警告: requirements.txt 里 perfdoc 的地址是占位的（这份 perfdoc 是从源代码目录安装的）：请改为 perfdoc 仓库的地址，"
              "或用 perfdoc init --perfdoc-url <git 仓库地址或 wheel 文件> 重新生成", file=sys.stderr)
    print(f"已生成 {shown}：{len(result.written)} 个文件{f'，替换 {len(result.replaced)} 个' if result.replaced else ''}。"
          "下一步（next）：", file=sys.stderr)
    print(f"  cd {shown} && python3 -m venv .venv && . .venv/bin/activate && python3 -m pip install -r requirements.txt", file=sys.stderr)
    print("  perfdoc doctor && perfdoc build && git add -A && git commit -m 初始化   # 说明见 README.md", file=sys.stderr)
    return 0


def run_doctor(data_dir: Path, fonts_dir: Path | None) -> int:
    """What this machine has and lacks (perfdoc.repo.doctor): 0 ready, 1 something needed is missing."""
    from perfdoc.repo.doctor import Machine, department_fonts_dir, examine, format_report

    report = examine(Machine(fonts_dir=fonts_dir or department_fonts_dir(data_dir)))
    sys.stdout.write(format_report(report))
    return 0 if report.ok else 1
