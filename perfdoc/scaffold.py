"""`new`: a correct skeleton for a new project, instead of last year's file with its numbers.

The file has the schema line, every required field, and one empty row under each 二级 indicator
of the profile, with comments saying what goes where. `check` then lists exactly the values that
are still empty.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .diagnostics import UserError, display_path
from .output import write_atomically
from .profile import Profile
from .schema import CODE_PATTERN


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def project_skeleton(code: str, name: str, profile: Profile) -> str:
    lines = [
        "# yaml-language-server: $schema=../../schema.json",
        f"# 项目支出绩效目标表：{name or '新项目'}（由 perfdoc new 生成）",
        "# 请填写所有空着的值（\"\" 或冒号后空着的），然后运行 python3 build.py check。",
        f"code: {_quoted(code)}",
        f"name: {_quoted(name)}" + ("" if name else "                      # 预算项目名称"),
        "budget:                       # 预算数（万元，只写数字，如 61.53）",
        "fiscal_funds:                 # 其中：财政资金（万元），不大于预算数",
        'use: ""                       # 项目资金主要用途，接在“预算数 X 万元。其中：财政资金 Y 万元。”之后',
        "spending_plan:                # 资金支出计划：累计百分比，只写数字，逐期不减，最后为 100；不填的留空",
    ]
    for i, point in enumerate(profile.checkpoints):
        lines.append(f"  {point}:" + (" 100" if i == len(profile.checkpoints) - 1 else ""))
    lines += [
        'goal: ""                      # 绩效目标',
        "indicators:                   # 每个二级指标下至少一行；要加行，就复制一段“- name: …basis: …”",
    ]
    for level1, level2s in profile.levels:
        lines.append(f"  {level1}:")
        for level2 in level2s:
            lines += [
                f"    {level2}:",
                '      - name: ""              # 三级指标',
                '        description: ""       # 绩效指标描述',
                '        value: ""             # 指标值：写明数值和单位，如“183 人”“≥95%”“每月底”',
                '        basis: ""             # 指标值确定依据：如“年度计划”“上级文件”“服务协议”',
            ]
    return "\n".join(lines) + "\n"


def create_project(data_dir: Path, code: str, name: str, profile: Profile) -> Path:
    if not re.fullmatch(CODE_PATTERN, code):
        raise UserError(f"错误: 项目编码“{code}”无效：应为 6–20 位数字，如 142001020")
    target = data_dir / "projects" / f"{code}.yaml"
    if target.exists():
        raise UserError(f"错误: {display_path(target)} 已存在，perfdoc new 不会覆盖它；要修改请直接编辑该文件")
    write_atomically(target, project_skeleton(code, name, profile).encode("utf-8"))
    return target
