"""README.md and docs/: links that resolve, nothing outside the repository, commands that parse and run.

A command block is marked runnable by an HTML comment (a forge does not show it) on the line right
above its ```sh fence (docs/testing.md explains this to writers):

    <!-- runnable -->          the block runs with bash -e: every command must exit 0
    <!-- runnable slow -->     the same, for a block that builds the document
    <!-- runnable server -->   one long-running command (serve): it prints its address, the address
                               answers with the page, and Ctrl-C stops it with exit status 130

The runnable blocks of one page run in order in one temporary copy of the repository (its files
without tests/, in a fresh git repository on `main` with one commit), from the copy's root, as a
reader following the page would; the real data/ is never touched. Every `python3 build.py` is a
new process, so running them is the slow layer's job; the fast layer checks that every documented
command line is accepted by perfdoc's own argument parser.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import unicodedata
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

from perfdoc.cli import _parser, _with_default_command
from perfdoc.data.fields import DEPARTMENT_TABLE_FIELDS, INDICATOR_FIELDS, PROJECT_FIELDS
from perfdoc.data.profile import PROFILE_SCHEMA

README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
README_LIMIT_BYTES = 12_000  # "≤ 12 KB", read the stricter way

# The top of the README, byte for byte: CI and people copy these two commands from it.
README_TOP = """\
# perfdoc — 部门预算绩效目标，写成代码

```sh
bash setup.sh && python3 build.py                 # 安装并用 data/ 生成文件 · set up, build the shipped document
bash setup.sh --test && python3 -m pytest -q      # 安装并运行测试 · set up, run the tests
```
"""

MARKERS = {"<!-- runnable -->": "plain", "<!-- runnable slow -->": "slow", "<!-- runnable server -->": "server"}

# What a clone does not have: the folder beside the checkout, and the spec files kept there.
# The third is the folder these were written in (split, so this line does not match itself).
OUTSIDE = [re.compile(r"\.\./shared(?![-\w])"), re.compile(r"(?<![-\w])formats?\.md\b"), re.compile("/work" "/")]
SCANNED = ["README.md", "docs", "perfdoc", "templates", "profiles", "examples", "tests", "bench"]


# ---------------------------------------------------------------------------------------------
# Reading the Markdown


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    body: str  # dedented to the fence's indentation
    marker: str | None  # plain / slow / server, or None when not runnable


@dataclass(frozen=True)
class Page:
    path: Path
    prose: list[tuple[int, str]]  # (line number, text) outside code blocks, inline code blanked
    headings: list[str]
    blocks: list[Block]


FENCE = re.compile(r"^(\s*)(```|~~~)(.*)$")


def read_page(path: Path) -> Page:
    lines = path.read_text(encoding="utf-8").splitlines()
    prose: list[tuple[int, str]] = []
    headings: list[str] = []
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            text = lines[index]
            prose.append((index + 1, re.sub(r"`[^`]*`", "``", text)))
            if heading := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", text):
                headings.append(heading.group(1))
            index += 1
            continue
        indent, fence, lang = opening.group(1), opening.group(2), opening.group(3).strip()
        end = next((j for j in range(index + 1, len(lines))
                    if lines[j].strip() == fence and lines[j].startswith(indent)), len(lines))
        body = "\n".join(line[len(indent):] if line.startswith(indent) else line.lstrip()
                         for line in lines[index + 1:end]) + "\n"
        above = lines[index - 1].strip() if index else ""
        blocks.append(Block(path, index + 1, lang, body, MARKERS.get(above)))
        index = end + 1
    return Page(path, prose, headings, blocks)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: inline markup dropped, lower case, punctuation removed,
    spaces to hyphens (GitLab does the same, but also folds "--", which the links avoid)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("**", "").lower()
    kept = "".join(ch for ch in text if ch in " -" or unicodedata.category(ch)[0] in "LMN"
                   or unicodedata.category(ch) == "Pc")
    return kept.replace(" ", "-")


def anchors(page: Page) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in page.headings:
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)")


def links(page: Page) -> list[tuple[int, str]]:
    found = []
    for number, text in page.prose:
        found += [(number, m.group(1)) for m in LINK.finditer(text)]
        found += [(number, m.group(1)) for m in REFERENCE.finditer(text)]
    return found


def command_lines(block: Block) -> list[list[str]]:
    """The words of each `python3 build.py …` command in a sh block (`a && b` is two)."""
    commands = []
    for line in block.body.splitlines():
        for part in line.split("&&"):
            words = shlex.split(part, comments=True)
            if words[:2] == ["python3", "build.py"]:
                commands.append(words[2:])
    return commands


READ = {path: read_page(path) for path in PAGES}


def page_id(path: Path) -> str:
    return str(path.relative_to(REPO))


# ---------------------------------------------------------------------------------------------
# Fast: the pages themselves


def test_readme_is_short_and_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= README_LIMIT_BYTES, f"README.md is {len(text.encode())} bytes"
    assert text[:len(README_TOP)] == README_TOP


def test_docs_have_the_pages_the_readme_promises():
    names = {path.name for path in DOCS.glob("*.md")}
    assert {"README.md", "data-format.md", "profiles.md", "import-export.md", "review-and-ci.md", "serve.md",
            "building.md", "internals.md", "layout-spec.md", "testing.md"} <= names
    index = READ[DOCS / "README.md"]
    linked = {target.split("#")[0] for _, target in links(index)}
    assert names - {"README.md"} <= linked, "docs/README.md lists every page"


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_every_relative_link_resolves(path: Path):
    page = READ[path]
    problems = []
    for number, target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …: not a file of this repository
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        where = f"{page_id(path)}:{number}: {target}"
        if not resolved.is_relative_to(REPO):
            problems.append(f"{where}: points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where}: no such file")
        elif anchor:
            if resolved.suffix != ".md":
                problems.append(f"{where}: an anchor into a file that is not a page")
            elif anchor not in anchors(READ.get(resolved) or read_page(resolved)):
                problems.append(f"{where}: no heading has this anchor")
            elif "--" in anchor:
                problems.append(f"{where}: GitLab folds '--' in anchors; reword the heading")
    assert not problems, "\n".join(problems)


def test_the_anchor_rule_is_githubs():
    assert slug("新增一个项目 (Adding a project)") == "新增一个项目-adding-a-project"
    assert slug("为本省/本单位写一个格式 (Writing your own table format)") == \
        "为本省本单位写一个格式-writing-your-own-table-format"
    assert slug("从去年的 Word 或 Excel 开始 (Importing last year's document)") == \
        "从去年的-word-或-excel-开始-importing-last-years-document"
    assert slug("提交前检查 (`pre-commit`)") == "提交前检查-pre-commit"


def test_nothing_refers_to_paths_outside_the_repository():
    problems = []
    for name in SCANNED:
        root = REPO / name
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts or path.suffix in (".pyc", ".png", ".pdf", ".docx", ".xlsx"):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for pattern in OUTSIDE:
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(f"{path.relative_to(REPO)}:{line}: {match.group(0)}")
    assert not problems, "\n".join(problems)


def test_markers_are_spelled_right_and_stand_above_a_sh_block():
    """A misspelt marker would silently leave a block untested."""
    problems = []
    for path, page in READ.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        marked_lines = {block.line - 1 for block in page.blocks if block.marker}
        for number, line in enumerate(lines, start=1):
            if re.match(r"<!--\s*run", line.strip(), re.IGNORECASE):
                if line.strip() not in MARKERS:
                    problems.append(f"{page_id(path)}:{number}: unknown marker {line.strip()}")
                elif number not in marked_lines:
                    problems.append(f"{page_id(path)}:{number}: a marker must stand right above a fence")
        for block in page.blocks:
            if block.marker and block.lang != "sh":
                problems.append(f"{page_id(path)}:{block.line}: only ```sh blocks can be runnable")
            if block.marker == "server" and len(command_lines(block)) != 1:
                problems.append(f"{page_id(path)}:{block.line}: a server block holds one command")
    assert not problems, "\n".join(problems)


def test_the_tour_is_runnable_build_edit_diff_serve():
    marked = [block for block in READ[README].blocks if block.marker]
    commands = [words[0] if words else "build" for block in marked for words in command_lines(block)]
    assert [block.marker for block in marked] == ["slow", "plain", "plain", "server"]
    assert commands[0] == "build" and "diff" in commands and commands[-1] == "serve"
    assert "sed -i" in marked[1].body


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_every_documented_command_line_is_accepted_by_the_cli(path: Path, capsys):
    """Options renamed in the code would leave the docs behind: argparse says so here, in memory."""
    problems = []
    for block in READ[path].blocks:
        if block.lang != "sh":
            continue
        for words in command_lines(block):
            try:
                _parser().parse_args(_with_default_command(words))
            except SystemExit as stop:
                if stop.code != 0:
                    problems.append(f"{page_id(path)}:{block.line}: python3 build.py {shlex.join(words)}: "
                                    f"{capsys.readouterr().err.strip()}")
    assert not problems, "\n".join(problems)


def test_every_repository_path_the_pages_name_exists():
    """`perfdoc/render/readback.py` and the like: the layout moves, the pages must follow."""
    named = re.compile(r"`((?:perfdoc|tests|templates|profiles|examples|bench|scripts|docs)/[^`\s*<>…]*)`")
    problems = []
    for path in PAGES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            problems += [f"{page_id(path)}:{number}: {m.group(1)}" for m in named.finditer(line)
                         if not (REPO / m.group(1)).exists()]
    assert not problems, "\n".join(problems)


def test_every_field_is_documented():
    """Every field perfdoc/data/fields.py declares, and every key of a profile, has its row in the docs."""
    data_format = (DOCS / "data-format.md").read_text(encoding="utf-8")
    profiles = (DOCS / "profiles.md").read_text(encoding="utf-8")
    missing = [key for key in [*PROJECT_FIELDS, *INDICATOR_FIELDS] if f"`{key}`" not in data_format]
    missing += [key for key in DEPARTMENT_TABLE_FIELDS if key != "department" and f"`{key}`" not in profiles]
    missing += [key for key in PROFILE_SCHEMA["properties"] if f"`{key}`" not in profiles]
    assert not missing, missing


# ---------------------------------------------------------------------------------------------
# Slow: the runnable blocks, run


RUNNABLE_PAGES = [path for path, page in READ.items() if any(block.marker for block in page.blocks)]
# What a page promises its runnable blocks print (a silent no-op, like a sed that matched nothing,
# would otherwise pass): the tour's diff shows the edit it just made.
PROMISED_OUTPUT = {README: "预算数: 61.53 → 70.00 万元（+8.47）"}
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def repository_copy(target: Path) -> Path:
    """The repository's files (tracked and new, not ignored, tests/ left out) in a fresh git repository."""
    # -z: names as they are (examples/anhui-2025 names its projects in Chinese; git quotes them otherwise)
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "-co", "--exclude-standard"], check=True,
                            capture_output=True, text=True).stdout.split("\0")
    for name in listed:
        source = REPO / name
        if name.startswith("tests/") or not source.is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(source.read_bytes())
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "as shipped"]):
        subprocess.run(["git", "-C", str(target), *args], check=True, capture_output=True, env=env)
    return target


def data_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO / "data").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def run_server(command: list[str], cwd: Path, env: dict[str, str], where: str) -> None:
    """Start it, wait for its address, ask for the page, press Ctrl-C."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    said: list[str] = []
    try:
        url = None
        while url is None:
            line = lines.get(timeout=120)
            if line is None:
                break
            said.append(line)
            if found := re.search(r"http://127\.0\.0\.1:\d+/", line):
                url = found.group(0)
        if url is None:
            process.wait(timeout=10)
            if "已被占用" in "".join(said):
                pytest.skip(f"{where}: the port is in use on this machine: {''.join(said).strip()}")
            pytest.fail(f"{where}: no address printed (exit {process.returncode}):\n{''.join(said)}")
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and "text/html" in response.headers["Content-Type"], where
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130, f"{where}: Ctrl-C gave exit {process.returncode}:\n{''.join(said)}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("path", RUNNABLE_PAGES, ids=page_id)
def test_runnable_blocks_run_in_order(path: Path, tmp_path: Path):
    before = data_digest()
    copy = repository_copy(tmp_path / "repo")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)  # the interpreter running the tests
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    printed = ""
    for block in READ[path].blocks:
        where = f"{page_id(path)}:{block.line}"
        if block.marker in ("plain", "slow"):
            result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.body], cwd=copy, env=env,
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, f"{where}: exit {result.returncode}\n{block.body}\n{result.stderr}"
            printed += result.stdout + result.stderr
        elif block.marker == "server":
            run_server(shlex.split(block.body, comments=True), copy, env, where)
    assert PROMISED_OUTPUT.get(path, "") in printed
    assert data_digest() == before, "the repository's data/ changed"
