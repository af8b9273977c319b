"""`new`: a correct skeleton for a new project, instead of last year's file with its numbers.

The file has the schema line, every required field, and one empty row under each 二级 indicator
of the profile, with comments saying what goes where. Every name (the project's, the profile's
indicator levels and checkpoints) is written by perfdoc.data.yaml_text, as `import` writes it. `check` then lists exactly the values that
are still empty.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from yaml.reader import Reader

from perfdoc.build.output import write_atomically
from perfdoc.data.fields import INDICATOR_FIELDS, Field
from perfdoc.data.loader import REFUSED_CHARACTERS
from perfdoc.data.profile import Profile
from perfdoc.data.schema import CODE_PATTERN
from perfdoc.data.yaml_text import comment_text, text_scalar
from perfdoc.diagnostics import UserError, display_path, one_line, unlocated

_LINE_BREAKS = "\n\r\x85\u2028\u2029"  # where YAML (1.1, PyYAML) ends a line


def _name_problem(name: str) -> str | None:
    """Why the name cannot stand on one line of YAML and be read back as typed, if it cannot:
    a line break would end the value and start a new key (`x\nbudget: 5`), other control characters
    are refused by the YAML reader."""
    for char in name:
        if char in _LINE_BREAKS:
            return f"含有换行（U+{ord(char):04X}）"
        if unicodedata.category(char) == "Cc" or Reader.NON_PRINTABLE.match(char) or REFUSED_CHARACTERS.match(char):
            return f"含有控制字符或不可见字符（U+{ord(char):04X}）"
    return None


def _comment(field: Field, label: str, optional: bool) -> str:
    hint = field.help + (f"可选：{'、'.join(field.choices)}。" if field.choices and field.help.find("可选") < 0 else "")
    return f"# {label}{'（可不填）' if optional else ''}：{hint}"


def _field_line(key: str, field: Field, label: str, optional: bool, indent: str) -> str:
    """`key: ""  # label: what to write`. Numbers, choices and optional fields are left empty (null):
    `check` asks for the required ones, and an optional one may stay as it is."""
    empty = "" if field.kind in ("amount", "percent", "choice") or optional else ' ""'
    return f"{indent}{key}:{empty}".ljust(30) + " " + _comment(field, label, optional)


def _indicator_lines(profile: Profile, indent: str) -> list[str]:
    labels = profile.field_labels()
    shown = profile.indicator_fields()
    lines = []
    for level1, level2s in profile.levels:
        lines.append(f"{indent}{text_scalar(level1)}:")
        for level2 in level2s:
            lines.append(f"{indent}  {text_scalar(level2)}:")
            for i, (key, required) in enumerate(shown.items()):
                field = INDICATOR_FIELDS[key]
                prefix = f"{indent}    - " if i == 0 else f"{indent}      "
                label = labels.get(("indicator", key), field.label)
                lines.append(_field_line(key, field, label, not required, prefix))
    return lines


def project_skeleton(code: str, name: str, profile: Profile) -> str:
    """Every field the profile's table shows, in table order, with what to write; one empty row
    under each 二级. Fields the table does not show are left out (they may be added by hand).
    `code` is the file's name; it is written as the project's code only where the profile has codes."""
    labels = profile.field_labels()
    fields = profile.record_fields
    lines = [
        "# yaml-language-server: $schema=../../schema.json",
        "# " + comment_text(f"{profile.table_title}：{name or '新项目'}（由 perfdoc new 生成，格式：{profile.title}）"),
        "# 请填写所有空着的值（\"\" 或冒号后空着的），然后运行 python3 build.py check。",
        *([f"code: {text_scalar(code)}"] if profile.uses_code else []),  # digits: quoted, so that the code stays text
        f"name: {text_scalar(name)}" + ("" if name else "                      # 预算项目名称"),
    ]
    for key, required in profile.header_fields().items():
        if key in ("code", "name"):
            continue
        field = fields[key]
        lines.append(_field_line(key, field, labels.get(("record", key), field.label), not required, ""))
    for key in dict.fromkeys(profile.caption_fields()):  # printed above or below the table
        if key not in profile.header_fields() and key not in ("code", "name"):
            lines.append(_field_line(key, fields[key], fields[key].label, True, ""))
    if profile.plan:
        lines.append("spending_plan:                # 资金支出计划：累计百分比，只写数字，逐期不减，最后为 100；不填的留空")
        for i, point in enumerate(profile.checkpoints):
            lines.append(f"  {text_scalar(point)}:" + (" 100" if i == len(profile.checkpoints) - 1 else ""))
    row_hint = "# 每个二级指标下至少一行；要加行，就复制一段“- name: …”"
    for block in profile.blocks:
        goal = f"# {block.goal_label or '绩效目标'}"
        if block.source == "annual":
            lines += ['goal: ""'.ljust(30) + " " + goal, "indicators:".ljust(30) + " " + row_hint]
            lines += _indicator_lines(profile, "  ")
        else:
            lines += [f"{block.source}:".ljust(30) + f" # {block.title or '长期目标与指标'}" +
                      ("（可整块删去）" if block.optional else ""),
                      '  goal: ""'.ljust(30) + " " + goal, "  indicators:".ljust(30) + " " + row_hint]
            lines += _indicator_lines(profile, "    ")
    return "\n".join(lines) + "\n"


# A project's file name where its table has no code (its name is its key): what a file name can hold.
_FILE_KEY = re.compile(r'[^/\\:*?"<>|\x00-\x1f\x7f.][^/\\:*?"<>|\x00-\x1f\x7f]{0,59}')


def create_project(data_dir: Path, code: str, name: str, profile: Profile) -> Path:
    if profile.uses_code and not re.fullmatch(CODE_PATTERN, code):
        raise UserError(unlocated(f"项目编码“{one_line(code)}”无效：应为 6–20 位数字，如 142001020"))
    if not profile.uses_code and not _FILE_KEY.fullmatch(code):
        raise UserError(unlocated(f"文件名“{one_line(code)}”无效：表格格式 {profile.name} 不用项目编码，项目以文件名为键；"
                                  "文件名不能含 / \\ : * ? \" < > | 和控制字符，不能以点开头，最多 60 个字"))
    problem = _name_problem(name)
    if problem:
        raise UserError(unlocated(f"项目名称（--name）“{one_line(name)}”{problem}：名称应为一行文字，不含换行、制表符等控制字符"))
    target = data_dir / "projects" / f"{code}.yaml"
    if target.exists():
        raise UserError(unlocated(f"{display_path(target)} 已存在，perfdoc new 不会覆盖它；要修改请直接编辑该文件"))
    write_atomically(target, project_skeleton(code, name, profile).encode("utf-8"))
    return target
