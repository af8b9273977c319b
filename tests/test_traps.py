"""YAML and content traps, each with its expected message kept as a golden file.

The golden files under tests/golden/traps/ show exactly what a user sees. After a deliberate
change of wording, rewrite them with `python3 -m pytest tests/test_traps.py --update-golden`
and review the diff like any other change.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, edit_file, run_cli, run_cli_in_process

from perfdoc.data.validate import check_data

PROJECT = "projects/142001001.yaml"


def _value(data: Path, *path):
    """The value perfdoc reads for `path` in project 142001001 (after the schema's text rules)."""
    checked = check_data(data)
    node = next(p for p in checked.projects if p.path.name == "142001001.yaml").data
    for part in path:
        node = node[part]
    return node


SATISFACTION = ("indicators", "满意度指标", "服务对象满意度指标", 0, "value")


@dataclass
class Trap:
    name: str
    setup: Callable[[Path, Path], list[str]]  # (data dir, scratch dir) → CLI arguments
    loaded: tuple | None = None  # a value path whose loaded value goes into the golden file


def _replace_value(new: str) -> Callable[[Path, Path], list[str]]:
    def setup(data: Path, scratch: Path) -> list[str]:
        edit_file(data / PROJECT, "value: 95%以上", f"value: {new}")
        return ["check"]
    return setup


def _replace(old: str, new: str, name: str = PROJECT, command: str = "check") -> Callable[[Path, Path], list[str]]:
    def setup(data: Path, scratch: Path) -> list[str]:
        edit_file(data / name, old, new)
        return [command]
    return setup


def _billion_laughs(data: Path, scratch: Path) -> list[str]:
    laughs = "".join([f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]\n" for i in range(1, 10)])
    path = data / PROJECT
    path.write_text('x0: &x0 ["lol"]\n' + laughs + path.read_text(encoding="utf-8"), encoding="utf-8")
    return ["check"]


def _fifty_megabytes(data: Path, scratch: Path) -> list[str]:
    with (data / PROJECT).open("ab") as stream:
        stream.write(b"# " + b"x" * (50 * 1024 * 1024) + b"\n")
    return ["check"]


def _gbk(data: Path, scratch: Path) -> list[str]:
    path = data / PROJECT
    path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))
    return ["check"]


def _html_and_jinja(data: Path, scratch: Path) -> list[str]:
    edit_file(data / PROJECT, "goal: 按月工资表，及时支付工资保险费用",
          "goal: '<script>alert(1)</script></td></tr>{{ config }}{% include \"/etc/passwd\" %}'")
    return ["build", "--out", str(scratch / "out")]


def _missing_fonts_dir(data: Path, scratch: Path) -> list[str]:
    return ["build", "--out", str(scratch / "out"), "--fonts", str(scratch / "没有这个目录")]


def _broken_template(old: str, new: str) -> Callable[[Path, Path], list[str]]:
    """A copy of the templates with one edit, used through --templates."""
    def setup(data: Path, scratch: Path) -> list[str]:
        templates = scratch / "templates"
        shutil.copytree(REPO / "templates", templates)
        path = templates / "project_table.html.j2"
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        return ["build", "--out", str(scratch / "out"), "--templates", str(templates)]
    return setup


def _new_with_path(data: Path, scratch: Path) -> list[str]:
    return ["new", "../../etc/passwd"]


TRAPS = [
    Trap("norway-no", _replace_value("NO"), SATISFACTION),
    Trap("yes-on", _replace_value("on"), SATISFACTION),
    Trap("leading-zero-text", _replace_value("0012"), SATISFACTION),
    Trap("leading-zero-amount", _replace("budget: 1174", "budget: 0012")),
    Trap("sexagesimal", _replace_value("1:30"), SATISFACTION),
    Trap("date", _replace_value("2023-01-01"), SATISFACTION),
    Trap("unquoted-code", _replace('code: "142001001"', "code: 142001001"), ("code",)),
    Trap("percent-in-plan", _replace("  3月底: 25", "  3月底: 25%")),
    Trap("full-width-amount", _replace("budget: 1174", "budget: １１７４")),
    Trap("amount-with-unit", _replace("budget: 1174", "budget: 1174万元")),
    Trap("three-decimals", _replace("budget: 1174", "budget: 1174.005")),
    Trap("duplicate-key", _replace("goal:", "use: 重复\ngoal:")),
    Trap("misspelled-field", _replace("goal:", "gaol:")),
    Trap("billion-laughs", _billion_laughs),
    Trap("fifty-megabytes", _fifty_megabytes),
    Trap("gbk-encoding", _gbk),
    Trap("tab-indent", _replace("    数量指标:", "\t数量指标:")),
    Trap("unbalanced-quote", _replace("name: 劳务派遣工资", 'name: "劳务派遣工资')),
    Trap("html-and-jinja-in-values", _html_and_jinja),
    Trap("profile-path-traversal", _replace("title: ", "profile: ../../etc/passwd\ntitle: ", "department.yaml")),
    Trap("output-name-with-path", _replace("title: ", "output_name: ../../etc/passwd\ntitle: ", "department.yaml")),
    Trap("new-with-path", _new_with_path),
    Trap("line-separator-pasted", _replace("goal: 按月工资表，", "goal: 按月工资表，\u2028")),
    Trap("four-hundred-nested-brackets", _replace("name: 劳务派遣工资", "name: " + "[" * 400 + "]" * 400)),
    Trap("department-with-slash", _replace("department: 唐山市公安局海港经济开发区分局", "department: 唐山市公安局/海港分局",
                                           "department.yaml")),
    Trap("fonts-dir-missing", _missing_fonts_dir),
    Trap("template-syntax-error", _broken_template("{% else %}{{ c.text }}", "{% else %}{{ c.text }")),
    Trap("template-undefined-value", _broken_template("{% else %}{{ c.text }}", "{% else %}{{ c.texts }}")),
]


def _normalise(text: str, data: Path, scratch: Path) -> str:
    text = text.replace(str(scratch), "<tmp>").replace(str(data), "<data>")
    text = re.sub(r"^提示: 未安装公文字体.*\n", "", text, flags=re.M)  # depends on the machine's fonts
    # The shipped data's own warnings (other projects' plans) are the same in every trap.
    return re.sub(r"^<data>/projects/1420010(?!01)\d\d\.yaml:\d+:\d+: 警告: .*\n", "", text, flags=re.M)


# Full builds: the slow layer. The others stop at the check or before layout, and run through
# perfdoc.cli.main in this process: the same messages and exit status, without a new interpreter each.
BUILDS = {"html-and-jinja-in-values"}


@pytest.mark.parametrize("trap", [pytest.param(t, marks=pytest.mark.slow) if t.name in BUILDS else t for t in TRAPS],
                         ids=[t.name for t in TRAPS])
def test_trap_message_matches_golden(trap: Trap, tmp_path: Path, data_copy: Path, golden):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    args = trap.setup(data_copy, scratch)
    runner = run_cli if trap.name in BUILDS else run_cli_in_process
    result = runner(*args, "--data", str(data_copy))
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr and "内部错误" not in result.stderr
    record = [f"$ perfdoc {' '.join(_normalise(a, data_copy, scratch) for a in args)}",
              f"exit {result.returncode}", _normalise(result.stderr, data_copy, scratch).rstrip()]
    if trap.loaded:
        record.append(f"loaded {'.'.join(map(str, trap.loaded))} = {_value(data_copy, *trap.loaded)!r}")
    if trap.name == "html-and-jinja-in-values":
        html = next((scratch / "out").glob("*.html")).read_text(encoding="utf-8")
        record.append("html " + re.search(r'<td class="left" colspan="6">(&lt;script.*?)</td>', html).group(1))
    golden(f"traps/{trap.name}.txt", "\n".join(record) + "\n")
