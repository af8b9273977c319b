"""What each CLI command does, in the words a user sees on the terminal."""

from __future__ import annotations

import sys
from pathlib import Path

from .diagnostics import Diagnostic, UserError, display_path
from .pipeline import BuildOptions, build, load_document
from .progress import Progress
from .profile import DEFAULT_PROFILE, load_profile, profile_path
from .schema import schema_text
from .validator import check_data


def _report(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        print(diagnostic.format(), file=sys.stderr)


def _summary(projects: int, errors: int, warnings: int) -> str:
    return f"检查完成：{projects} 个项目文件，{errors} 个错误，{warnings} 个警告。"


def run_check(data_dir: Path, *, strict: bool) -> int:
    checked = check_data(data_dir)
    _report(checked.diagnostics)
    print(_summary(len(checked.projects), len(checked.errors), len(checked.warnings)), file=sys.stderr)
    if checked.errors or (strict and checked.warnings):
        if strict and checked.warnings and not checked.errors:
            print("--strict：警告按错误处理。", file=sys.stderr)
        return 1
    return 0


def run_build(options: BuildOptions, *, strict: bool) -> int:
    document, checked = load_document(options.data_dir)
    _report(checked.diagnostics)
    if document is None or (strict and checked.warnings):
        print(_summary(len(checked.projects), len(checked.errors), len(checked.warnings))
              + " 未生成文件。", file=sys.stderr)
        return 1
    result = build(document, options, [checked.department, *checked.projects], Progress())
    for note in result.notes:
        print(f"提示: {note}", file=sys.stderr)
    for path in result.written:
        print(f"已生成 {display_path(path)}", file=sys.stderr)
    return 0


def run_schema(output: Path) -> int:
    text = schema_text(load_profile(profile_path(DEFAULT_PROFILE)))
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"错误: 无法写入 {display_path(output)}（{exc.strerror}）") from exc
    print(f"已写入 {display_path(output)}", file=sys.stderr)
    return 0


def run_diff(data_dir: Path, revision: str, to: str | None, *, fmt: str, exit_code: bool) -> int:
    from .diff import diff_revisions, format_diff

    diff = diff_revisions(data_dir, revision, to)
    sys.stdout.write(format_diff(diff, fmt))
    return 1 if exit_code and diff.changed else 0


def run_new(data_dir: Path, code: str, name: str) -> int:
    from .scaffold import create_project
    from .validator import select_profile_for

    target = create_project(data_dir, code, name, select_profile_for(data_dir))
    print(f"已生成 {display_path(target)}：请填写其中空着的值，然后运行 python3 build.py check", file=sys.stderr)
    return 0
