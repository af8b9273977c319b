"""Property-based hardening: whatever people type or paste, perfdoc answers clearly and loses nothing.

Each example mutates one shipped data file (text-level or structure-level) and runs perfdoc on it.
For every example: exit status 0 or 1 (never an internal error or a traceback), every message
names a file and a line, the data files are untouched, and no partial output is left behind.
The `ci` profile runs a few thousand examples; `--hypothesis-profile=long` runs ten thousand.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import DATA, STEM
from hypothesis import event, given, settings
from hypothesis import strategies as st

from perfdoc import cli
from perfdoc.data.loader import iter_values

PROJECT_FILES = sorted((DATA / "projects").glob("*.yaml"))
SOURCES = {path: path.read_bytes() for path in [DATA / "department.yaml", *PROJECT_FILES]}
DIAGNOSTIC = re.compile(r"^(?P<file>.+?\.ya?ml|.+?projects|.+?department\.yaml):(?P<line>\d+):(?P<col>\d+): (错误|警告): ")
SUMMARY = re.compile(r"^检查完成：|^--strict|^提示: |^已生成 ")

NASTY = st.sampled_from([
    "\t", "\r\n", "\x00", "\x07", "\ufeff", "\u200b", "\u3000", "：", "% ", "%", "１２３", "１２.５",
    "\"", "'", "{", "}", "[", "]", ": ", " #", "&a ", "*a", "!!int ", "!!python/object:os.system ",
    "<td>", "</td>", "{{ x }}", "{% if %}", "---\n", "...\n", "? ", "- ", "|\n", ">\n", "@", "`",
    "-1", "1e400", "99999999999999999999999", "0012", "1:30", "2023-01-01", "NO", "yes", "~", "null",
    "\\u0000", "😀", "𠀀", "\U000F0000", "\x85", "\u2028",
])
LONG_TEXT = st.integers(min_value=1_000, max_value=300_000).map(lambda n: "很长" * (n // 2))
ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(NASTY, min_size=1, max_size=6).map("".join),
    LONG_TEXT,
)
ODD_VALUE = st.one_of(
    ODD_TEXT, st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.decimals(allow_nan=False, allow_infinity=False).map(float),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from([-1, -0.01, 1e15, 10**30, 0.001, 12.345, "100%", "1,174", "1174万元"]),
)


def _at(node, path):
    for part in path:
        node = node[part]
    return node


@st.composite
def structural_mutation(draw, source: bytes) -> bytes:
    """Load, change one place (drop, retype, replace, nest deeply), dump back."""
    data = yaml.safe_load(source.decode("utf-8"))
    paths = [p for p, _ in iter_values(data) if p]
    path = draw(st.sampled_from(paths))
    parent, key = _at(data, path[:-1]), path[-1]
    action = draw(st.sampled_from(["drop", "replace", "nest", "duplicate_list_item"]))
    if action == "drop":
        del parent[key]
    elif action == "replace":
        parent[key] = draw(ODD_VALUE)
    elif action == "nest":
        depth = draw(st.integers(min_value=1, max_value=200))
        value = parent[key]
        for _ in range(depth):
            value = {"x": value}
        parent[key] = value
    elif isinstance(parent, list):
        parent.insert(key, parent[key])
    else:
        parent[key] = [parent[key], parent[key]]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10**6).encode("utf-8")


@st.composite
def text_mutation(draw, source: bytes) -> bytes:
    """Change the bytes as an editor, a paste from Word or another encoding would."""
    text = source.decode("utf-8")
    lines = text.splitlines(keepends=True)
    action = draw(st.sampled_from(["drop_line", "duplicate_line", "insert", "replace_value", "bom",
                                   "crlf", "gbk", "empty", "truncate", "aliases", "tab_indent"]))
    if action == "drop_line":
        del lines[draw(st.integers(0, len(lines) - 1))]
        return "".join(lines).encode("utf-8")
    if action == "duplicate_line":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        return "".join(lines).encode("utf-8")
    if action == "insert":
        at = draw(st.integers(0, len(text)))
        return (text[:at] + draw(ODD_TEXT) + text[at:]).encode("utf-8", "surrogatepass")
    if action == "replace_value":
        candidates = [i for i, msg in enumerate(lines) if re.match(r"^\s*[-\w\u4e00-\u9fff]+:\s*\S", msg)]
        i = draw(st.sampled_from(candidates))
        key = lines[i].split(":", 1)[0]
        lines[i] = f"{key}: {draw(ODD_TEXT)}\n"
        return "".join(lines).encode("utf-8", "surrogatepass")
    if action == "bom":
        return b"\xef\xbb\xbf" + source
    if action == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8")
    if action == "gbk":
        return text.encode("gb18030")
    if action == "empty":
        return draw(st.sampled_from([b"", b"\n", b"# \n", b"---\n", b"~\n", b"[]\n", b"just text\n"]))
    if action == "truncate":
        return source[: draw(st.integers(0, len(source)))]
    if action == "aliases":
        laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 12))
        return (laughs + text).encode("utf-8")
    i = draw(st.integers(0, len(lines) - 1))
    lines[i] = "\t" + lines[i]
    return "".join(lines).encode("utf-8")


@st.composite
def mutated_data(draw):
    """(name of the mutated file, its new bytes): one of the shipped files, changed one way."""
    path = draw(st.sampled_from(list(SOURCES)))
    source = SOURCES[path]
    mutate = draw(st.sampled_from([structural_mutation, text_mutation]))
    return path, draw(mutate(source))


_counter = itertools.count()


def _write_case(root: Path, path: Path, content: bytes) -> Path:
    """A data folder: the department file and one project, one of the two mutated."""
    case = root / f"case{next(_counter)}"
    (case / "projects").mkdir(parents=True)
    project = path if path.parent.name == "projects" else PROJECT_FILES[0]
    for source in (DATA / "department.yaml", project):
        target = case / ("projects" if source.parent.name == "projects" else "") / source.name
        target.write_bytes(content if source == path else SOURCES[source])
    return case


def _run(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(list(args))
    return code, err.getvalue()


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_clear_messages(code: int, stderr: str) -> None:
    assert code in (0, 1), stderr
    assert "Traceback" not in stderr and "内部错误" not in stderr, stderr
    for line in stderr.splitlines():
        if line.startswith(" ") or not line.strip():
            continue  # continuation lines of a multi-line message
        # Only the data was mutated, so every problem is in a data file and must name it.
        assert DIAGNOSTIC.match(line) or SUMMARY.match(line), line
        match = DIAGNOSTIC.match(line)
        if match:
            assert int(match["line"]) >= 1 and int(match["col"]) >= 1


@pytest.mark.slow
@given(case=mutated_data())
def test_check_answers_every_mutation_clearly(tmp_path_factory, case):
    path, content = case
    root = tmp_path_factory.getbasetemp() / "fuzz-check"
    folder = _write_case(root, path, content)
    before = _digest(folder)
    code, stderr = _run("check", "--data", str(folder))
    _assert_clear_messages(code, stderr)
    if code == 1:
        assert re.search(r": 错误: ", stderr) or "--strict" in stderr
    assert _digest(folder) == before, "check changed a data file"
    shutil.rmtree(folder)


REALISTIC = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),  # common Chinese
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # ASCII, HTML and Jinja syntax included
    st.sampled_from("，。、；：“”‘’（）％《》—…·\t\n\u3000０１２"),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),  # now and then, anything at all
)


@pytest.mark.slow
@settings(max_examples=max(12, settings.default.max_examples // 200))  # 12 in CI, 50 in the long run
@given(text=st.text(alphabet=REALISTIC, min_size=1, max_size=60))
def test_any_text_value_either_renders_literally_or_is_refused_clearly(tmp_path_factory, text):
    """A text value with any characters: the build writes PDF and DOCX holding it, or explains why not."""
    root = tmp_path_factory.getbasetemp() / "fuzz-build"
    source = SOURCES[PROJECT_FILES[0]].decode("utf-8")
    content = source.replace("goal: 按月工资表，及时支付工资保险费用", "goal: " + yaml.safe_dump(text, allow_unicode=True, width=10**6).split("\n...")[0].strip())
    folder = _write_case(root, PROJECT_FILES[0], content.encode("utf-8"))
    out = folder.parent / (folder.name + "-out")
    code, stderr = _run("build", "--data", str(folder), "--out", str(out))
    _assert_clear_messages(code, stderr)
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) if out.exists() else []
    event("built" if code == 0 else "refused")
    assert not [n for n in written if n.endswith(".part")], written
    if code == 0:
        assert written == sorted(f"{STEM}.{ext}" for ext in ("docx", "html", "pdf", "xlsx"))
        import docx

        cells = [c.text for t in docx.Document(str(out / f"{STEM}.docx")).tables for r in t.rows for c in r.cells]
        shown = " ".join(text.split())  # HTML, and so both outputs, fold white space as a browser does
        if shown:
            assert any(shown in cell for cell in cells), (shown, cells[:12])
        import pypdf

        pdf_text = "".join(page.extract_text() or "" for page in pypdf.PdfReader(out / f"{STEM}.pdf").pages)
        assert set(shown) - set(pdf_text) <= {" "}, (shown, set(shown) - set(pdf_text))
    else:
        assert written == []
    shutil.rmtree(folder)
    shutil.rmtree(out, ignore_errors=True)
