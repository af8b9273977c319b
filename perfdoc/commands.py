"""What each CLI command does, in the words a user sees on the terminal."""

from __future__ import annotations

import sys
from pathlib import Path

from perfdoc.build.options import BuildOptions
from perfdoc.diagnostics import Diagnostic, UserError, display_path, unlocated
from perfdoc.resources import PROFILES_DIR


def _report(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        print(diagnostic.format(), file=sys.stderr)


def _summary(projects: int, errors: int, warnings: int) -> str:
    return f"检查完成：{projects} 个项目文件，{errors} 个错误，{warnings} 个警告。"


def run_check(data_dir: Path, *, strict: bool, lint: bool = False) -> int:
    from perfdoc.data.validate import check_data

    checked = check_data(data_dir)
    _report(checked.diagnostics)
    print(_summary(len(checked.projects), len(checked.errors), len(checked.warnings)), file=sys.stderr)
    if lint and not checked.errors and checked.department is not None:
        from perfdoc.data.lint import department_table_hints, project_hints

        year = checked.department.data["year"]
        hints = department_table_hints(checked.department, year)
        hints += [h for p in checked.projects for h in project_hints(p, year)]
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
    from perfdoc.build.preflight import check_paths
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
    cache_dir = options.resolved_cache_dir
    key = inputs_key()
    record = replay_if_unchanged(cache_dir, key)
    if record is not None:
        sys.stderr.write(record.messages)
        print("已是最新：输入没有变化，沿用上次生成的文件（加 --no-cache 可强制重新生成）。", file=sys.stderr)
        return 0

    from perfdoc.build.output import refuse_data_dir
    from perfdoc.build.pipeline import build, load_document
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
        result = build(document, options, [checked.department, *checked.projects], Progress())
        for note in result.notes:
            say(f"提示: {note}")
        for path in result.written:
            say(f"已生成 {display_path(path)}")
        if inputs_key() == key:  # no input edited meanwhile
            record_build(cache_dir, key, result.digests, "".join(say.kept))
    return 0


def run_schema(data_dir: Path, output: Path | None) -> int:
    """The schema of the profile `data_dir` uses, written beside the data folder by default:
    that is where the `# yaml-language-server: $schema=../../schema.json` line of its files points."""
    from perfdoc.data.schema import schema_text
    from perfdoc.data.validate import check_data, select_profile_for

    checked = check_data(data_dir)  # the data may have errors: the schema is what helps fix them
    profile = checked.profile or select_profile_for(data_dir)
    text = schema_text(profile, checked.table_profile)
    output = output or data_dir.parent / "schema.json"
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(unlocated(f"无法写入 {display_path(output)}（{exc.strerror}）")) from exc
    print(f"已写入 {display_path(output)}", file=sys.stderr)
    return 0


def run_diff(data_dir: Path, revision: str, to: str | None, *, fmt: str, exit_code: bool) -> int:
    from perfdoc.review.diff import diff_revisions, format_diff

    diff = diff_revisions(data_dir, revision, to)
    sys.stdout.write(format_diff(diff, fmt))
    return 1 if exit_code and diff.changed else 0


def run_new(data_dir: Path, code: str, name: str) -> int:
    from perfdoc.data.validate import select_profile_for
    from perfdoc.review.scaffold import create_project

    target = create_project(data_dir, code, name, select_profile_for(data_dir))
    print(f"已生成 {display_path(target)}：请填写其中空着的值，然后运行 python3 build.py check", file=sys.stderr)
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
    print(f"已生成 {display_path(target)}：{result.old_year} → {year} 年度，部门文件 1 个、项目文件 {result.projects} 个；"
          f"{cleared}；{warned}。", file=sys.stderr)
    print(f"下一步：python3 build.py schema --data {display_path(target)} && "
          f"python3 build.py check --data {display_path(target)}", file=sys.stderr)
    return 0


def run_profiles(data_dir: Path) -> int:
    """One line a table format: its name (what `profile:` takes), where it comes from, what it is."""
    from perfdoc.data.profile import available_profiles, load_profile

    problems = 0
    for name, path in available_profiles(data_dir):
        origin = "自带" if path.parent == PROFILES_DIR else f"本地 {display_path(path)}"
        try:
            profile = load_profile(path)
        except UserError as exc:
            print(f"{name}\t[{origin}]\t无法读取：{exc.text.splitlines()[0]}")
            problems += 1
            continue
        kind = "部门整体表" if profile.table == "department" else "项目表"
        print(f"{name}\t[{origin}，{kind}]\t{profile.title}：{profile.description}")
    print(f"在 department.yaml 里写 profile: <名称> 选用项目表格式；自己的格式放在 {display_path(data_dir / 'profiles')}/<名称>.yaml。",
          file=sys.stderr)
    return 1 if problems else 0


def run_serve(data_dir: Path, out_dir: Path, fonts_dir: Path | None, port: int | None) -> int:
    from perfdoc.serve.preview import run_serve as serve
    from perfdoc.serve.server import DEFAULT_PORT

    return serve(BuildOptions(data_dir=data_dir, out_dir=out_dir, fonts_dir=fonts_dir),
                 DEFAULT_PORT if port is None else port)


def run_import(files: list[Path], data_dir: Path, profile: str | None, *, force: bool) -> int:
    """Last year's Word / Excel files into `data_dir` (perfdoc.io)."""
    from perfdoc.io.importer import import_files

    return import_files(files, data_dir, profile, force)
