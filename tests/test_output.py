"""Failures at the output, and the outputs themselves checked by independent tools."""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import pytest
from conftest import DATA, REPO, STEM, run_cli

from perfdoc.build import output, pipeline, preflight
from perfdoc.build.pipeline import BuildOptions, build, load_document
from perfdoc.cli import main
from perfdoc.diagnostics import UserError

EXTS = ("html", "pdf", "docx")

def _previous_build(out: Path) -> dict[Path, bytes]:
    """The files an earlier build left in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    old = {out / f"{STEM}.{ext}": f"old {ext}".encode() for ext in EXTS}
    for path, content in old.items():
        path.write_bytes(content)
    return old


def _new_content(old: dict[Path, bytes]) -> dict[Path, bytes]:
    return {path: b"new " + content for path, content in old.items()}


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".perfdoc-" in p.name or p.name.endswith((".part", ".old")))


def _fail_on_call(monkeypatch, name: str, n: int, failure: OSError) -> None:
    """Make perfdoc.build.output's os.<name> raise `failure` on its n-th call (and only then)."""
    real = getattr(os, name)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise failure
        return real(*args, **kwargs)

    monkeypatch.setattr(output.os, name, failing)


@pytest.mark.parametrize("call, failure, needle", [
    ("fsync", OSError(errno.ENOSPC, "No space left on device"), "磁盘已满"),  # while writing the 3rd
    ("replace", PermissionError(errno.EACCES, "Permission denied"), "正被其他程序打开"),  # renaming the 3rd
])
def test_failure_at_the_last_of_three_writes_keeps_every_previous_output(tmp_path, monkeypatch, call, failure, needle):
    """All or nothing: the first two files (already written, or already renamed) are not new either."""
    old = _previous_build(tmp_path)
    _fail_on_call(monkeypatch, call, 3, failure)
    with pytest.raises(UserError) as caught:
        output.write_all_or_nothing(_new_content(old))
    assert needle in caught.value.text and "原有文件保持不变" in caught.value.text
    assert f"{STEM}.docx" in caught.value.text  # names the file that failed
    assert {path: path.read_bytes() for path in old} == old
    assert _temporaries(tmp_path) == []


def test_failed_rename_removes_the_files_that_did_not_exist_before(tmp_path, monkeypatch):
    targets = {tmp_path / f"{STEM}.{ext}": ext.encode() for ext in EXTS}
    _fail_on_call(monkeypatch, "replace", 3, OSError(errno.EIO, "Input/output error"))
    with pytest.raises(UserError):
        output.write_all_or_nothing(targets)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_where_the_last_output_goes_stops_the_build_before_any_write(tmp_path):
    old = _previous_build(tmp_path)
    docx = tmp_path / f"{STEM}.docx"
    docx.unlink()
    docx.mkdir()
    with pytest.raises(UserError) as caught:
        output.write_all_or_nothing(_new_content(old))
    assert "同名的目录已存在" in caught.value.text and f"{STEM}.docx" in caught.value.text
    assert [path.read_bytes() for path in old if path.is_file()] == [b"old html", b"old pdf"]
    assert _temporaries(tmp_path) == []


def test_all_outputs_replaced_together_and_nothing_left_beside_them(tmp_path):
    old = _previous_build(tmp_path)
    output.write_all_or_nothing(_new_content(old))
    assert {path: path.read_bytes() for path in old} == _new_content(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in old)


def test_replaced_file_keeps_its_mode_and_new_file_follows_the_umask(tmp_path):
    private = tmp_path / f"{STEM}.pdf"
    private.write_bytes(b"old")
    private.chmod(0o600)
    group = tmp_path / f"{STEM}.html"
    group.write_bytes(b"old")
    group.chmod(0o664)  # more than the umask below allows: kept all the same
    fresh = tmp_path / f"{STEM}.docx"
    previous_umask = os.umask(0o027)
    try:
        output.write_all_or_nothing({private: b"new", group: b"new", fresh: b"new"})
    finally:
        os.umask(previous_umask)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(group.stat().st_mode) == 0o664
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640  # 0666 & ~027


def test_refuses_to_write_into_the_data_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(UserError) as caught:
        output.write_all_or_nothing({data / "out" / "x.pdf": b"x"}, data_dir=data)
    assert "位于数据目录" in caught.value.text
    assert not (data / "out").exists()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_stale_temporaries_of_our_outputs_are_swept_at_the_start_of_a_build(tmp_path):
    """Only our pattern, only our outputs, only older than this process, only when the writer is gone."""
    out = tmp_path / "out"
    out.mkdir()
    long_ago = output.PROCESS_STARTED - 3600
    dead, alive = _dead_pid(), os.getppid()

    def plant(name: str, mtime: float) -> Path:
        path = out / name
        path.write_bytes(b"x")
        os.utime(path, (mtime, mtime))
        return path

    stale = [plant(f".{STEM}.pdf.perfdoc-{dead}-0123456789ab.part", long_ago),
             plant(f".{STEM}.docx.perfdoc-{dead}-0123456789ac.old", long_ago)]
    kept = [plant(f".{STEM}.pdf.perfdoc-{alive}-0123456789ad.part", long_ago),  # a build still running
            plant(f".{STEM}.pdf.perfdoc-{dead}-0123456789ae.part", time.time() + 60),  # newer than us
            plant(f".other.pdf.perfdoc-{dead}-0123456789af.part", long_ago),  # not one of our outputs
            plant(f".{STEM}.pdf.part", long_ago),  # not our pattern
            plant(f"{STEM}.pdf.perfdoc-{dead}-0123456789b0.part", long_ago)]  # not hidden: not ours
    options = BuildOptions(data_dir=tmp_path / "data", out_dir=out, use_cache=False)
    preflight.preflight(options, [out / f"{STEM}.{ext}" for ext in EXTS])
    assert [p.exists() for p in stale] == [False, False]
    assert all(p.exists() for p in kept)


_SIGTERM_SCRIPT = """
import os, signal, sys
from pathlib import Path
from perfdoc.build import output

out = Path(sys.argv[1])
call, at = sys.argv[2], int(sys.argv[3])
real = getattr(os, call)
count = 0

def then_terminate(*args):
    global count
    result = real(*args)
    count += 1
    if count == at:
        os.kill(os.getpid(), signal.SIGTERM)
    return result

setattr(output.os, call, then_terminate)
output.write_all_or_nothing({out / f"f{i}.bin": b"new" for i in range(3)})
print("not reached")
"""


@pytest.mark.parametrize("call", ["fsync", "replace"])  # inside the writing pass, inside the rename pass
def test_sigterm_between_writes_leaves_the_old_files_and_no_temporaries(tmp_path, call):
    for i in range(3):
        (tmp_path / f"f{i}.bin").write_bytes(b"old")
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(_SIGTERM_SCRIPT))
    proc = subprocess.run([sys.executable, str(script), str(tmp_path), call, "2"], check=False, capture_output=True,
                          text=True, cwd=REPO, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 128 + signal.SIGTERM, proc.stdout + proc.stderr
    assert "not reached" not in proc.stdout and "Traceback" not in proc.stderr
    assert [(tmp_path / f"f{i}.bin").read_bytes() for i in range(3)] == [b"old"] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f0.bin", "f1.bin", "f2.bin", "kill.py"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # this process's handler untouched


# --- pre-flight: refused before layout starts ---------------------------------------------------

@pytest.fixture(scope="module")
def document():
    loaded, _ = load_document(DATA)
    assert loaded is not None
    return loaded


@pytest.fixture
def no_layout(monkeypatch):
    """A tripwire: the build must stop before any font choice, HTML or layout."""
    def tripped(*args, **kwargs):
        raise AssertionError("layout started before the pre-flight refused")

    for name in ("choose_fonts", "render_html", "read_layout", "render_document_pdf"):
        monkeypatch.setattr(pipeline, name, tripped)


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        for name, content in entries.items():
            package.writestr(name, content)
    return path


def _zip_bomb(path: Path) -> Path:
    """51 MB of zeros, a few hundred KB packed: over the total limit."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("word/styles.xml", b"<w:styles/>")
        with package.open("word/document.xml", "w", force_zip64=True) as stream:
            for _ in range(51):
                stream.write(bytes(1 << 20))
    return path


def _reference_cases(tmp: Path) -> list[tuple[Path, str]]:
    (tmp / "folder.docx").mkdir()
    (tmp / "text.docx").write_text("not a zip", encoding="utf-8")
    return [
        (tmp / "missing.docx", "不存在"),
        (tmp / "folder.docx", "不是普通文件"),
        (tmp / "text.docx", "不是 DOCX（zip）文件"),
        (_zip(tmp / "nostyles.docx", {"word/document.xml": b"<w:document/>"}), "缺少 word/styles.xml"),
        (_zip(tmp / "tight.docx", {"word/document.xml": bytes(2 << 20), "word/styles.xml": b"<w:styles/>"}),
         "压缩比异常"),
        (_zip_bomb(tmp / "bomb.docx"), "解压后共 51 MB"),
    ]


def test_bad_reference_docx_is_refused_before_layout(tmp_path, document, no_layout):
    for reference, needle in _reference_cases(tmp_path):
        options = BuildOptions(data_dir=DATA, out_dir=tmp_path / "out", use_cache=False, reference_docx=reference)
        started = time.perf_counter()
        with pytest.raises(UserError) as caught:
            build(document, options)
        assert time.perf_counter() - started < 0.5
        text = caught.value.text
        assert text.startswith("错误: 参考文档（--reference-docx）") and reference.name in text, text
        assert needle in text, text
        assert "\n" not in text


def test_real_docx_passes_the_reference_check():
    import docx

    preflight.check_reference_docx(Path(docx.__file__).parent / "templates" / "default.docx")


@pytest.mark.parametrize("make_out, needle", [
    (lambda tmp: Path("/proc/perfdoc-output"), "请检查目录权限或磁盘空间"),  # not writable even for root
    (lambda tmp: Path("/proc"), "请检查目录权限或磁盘空间"),  # exists, takes no new file
    (lambda tmp: (tmp / "a-file").with_suffix(".txt"), "已存在但不是目录"),
    (lambda tmp: (tmp / "blocker" / "out"), "无法在"),  # a parent is a file
    (lambda tmp: DATA / "out", "位于数据目录"),
])
def test_unusable_output_folder_is_refused_before_layout(tmp_path, document, no_layout, make_out, needle):
    (tmp_path / "a-file.txt").write_text("x", encoding="utf-8")
    (tmp_path / "blocker").write_text("x", encoding="utf-8")
    out = make_out(tmp_path)
    with pytest.raises(UserError) as caught:
        build(document, BuildOptions(data_dir=DATA, out_dir=out, use_cache=False))
    assert needle in caught.value.text and caught.value.text.startswith("错误: ")
    assert not (DATA / "out").exists()


def test_cache_folder_inside_data_is_refused_before_layout(tmp_path, document, no_layout):
    with pytest.raises(UserError) as caught:
        build(document, BuildOptions(data_dir=DATA, out_dir=tmp_path / "out", cache_dir=DATA / "cache"))
    assert "位于数据目录" in caught.value.text
    assert not (DATA / "cache").exists()


def test_unwritable_cache_folder_turns_caching_off_with_a_note(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    options = BuildOptions(data_dir=DATA, out_dir=tmp_path / "out", cache_dir=blocker / "cache")
    checked = preflight.preflight(options, [tmp_path / "out" / "x.pdf"])
    assert not checked.use_cache
    assert len(checked.notes) == 1 and "本次不使用缓存" in checked.notes[0] and "blocker" in checked.notes[0]


@pytest.fixture
def loop(tmp_path) -> Path:
    """tmp/loop-a → tmp/loop-b → tmp/loop-a."""
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    return tmp_path / "loop-a"


@pytest.mark.parametrize("args", [["--out", "{loop}"], ["--out", "{loop}", "--no-cache"],
                                  ["--out", "{tmp}/out", "--cache-dir", "{loop}"]])
def test_symlink_loop_as_out_or_cache_dir_is_a_clear_message(tmp_path, loop, capsys, args):
    argv = ["build", *(a.format(loop=loop, tmp=tmp_path) for a in args)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "循环的符号链接（symlink loop）" in err and "loop-a" in err, err
    assert "内部错误" not in err and "Traceback" not in err


@pytest.mark.slow
def test_symlink_loop_as_out_through_the_cli(loop):
    result = run_cli("build", "--out", str(loop))
    assert result.returncode == 1 and "循环的符号链接" in result.stderr and "Traceback" not in result.stderr


# --- full builds ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_build_whose_last_write_fails_keeps_the_previous_build(tmp_path, monkeypatch, document):
    out = tmp_path / "out"
    old = _previous_build(out)
    _fail_on_call(monkeypatch, "replace", 3, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(UserError) as caught:
        build(document, BuildOptions(data_dir=DATA, out_dir=out, use_cache=False))
    assert "原有文件保持不变" in caught.value.text
    assert {path: path.read_bytes() for path in old} == old
    assert _temporaries(out) == []


@pytest.mark.slow
def test_rebuild_keeps_a_private_pdf_private(tmp_path):
    out = tmp_path / "out"
    assert run_cli("build", "--out", str(out), "--no-cache").returncode == 0
    pdf = out / f"{STEM}.pdf"
    pdf.chmod(0o600)
    first = pdf.read_bytes()
    pdf.write_bytes(b"changed")  # so the rebuild really writes
    result = run_cli("build", "--out", str(out), "--no-cache")
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes() == first and stat.S_IMODE(pdf.stat().st_mode) == 0o600


@pytest.mark.skipif(not shutil.which("qpdf"), reason="qpdf not installed")
def test_pdf_passes_qpdf_check(seed_build):
    result = subprocess.run(["qpdf", "--check", str(seed_build / f"{STEM}.pdf")], check=False,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def test_docx_package_is_complete_and_consistent(seed_build):
    """What Word requires of the package: every part typed, every relationship resolving,
    well-formed XML, footers referenced from the section, merges and grids that add up."""
    with zipfile.ZipFile(seed_build / f"{STEM}.docx") as package:
        names = set(package.namelist())
        assert package.testzip() is None
        xml = {n: ElementTree.fromstring(package.read(n)) for n in names if n.endswith((".xml", ".rels"))}
    types = xml["[Content_Types].xml"]
    overrides = {o.get("PartName").lstrip("/") for o in types.iter(f"{CT}Override")}
    defaults = {d.get("Extension") for d in types.iter(f"{CT}Default")}
    for name in names - {"[Content_Types].xml"}:
        assert name in overrides or name.rsplit(".", 1)[-1] in defaults, f"no content type for {name}"
    assert {"word/document.xml", "word/styles.xml", "word/settings.xml", "_rels/.rels"} <= names
    for rels_name, rels in ((n, x) for n, x in xml.items() if n.endswith(".rels")):
        base = PurePosixPath(rels_name).parent.parent
        ids = [r.get("Id") for r in rels.iter(f"{PKG}Relationship")]
        assert len(ids) == len(set(ids)), rels_name
        for rel in rels.iter(f"{PKG}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = str(PurePosixPath(os.path.normpath(base / rel.get("Target")))).lstrip("/")
            assert target in names, (rels_name, rel.get("Target"))
    document_rels = {r.get("Id"): r.get("Target") for r in xml["word/_rels/document.xml.rels"].iter(f"{PKG}Relationship")}
    body = xml["word/document.xml"].find(f"{W}body")
    sect = body.find(f"{W}sectPr")
    footers = {f.get(f"{W}type"): f.get(f"{R}id") for f in sect.iter(f"{W}footerReference")}
    assert set(footers) >= {"default", "even"} and all(i in document_rels for i in footers.values())
    for tbl in body.iter(f"{W}tbl"):
        columns = len(tbl.find(f"{W}tblGrid").findall(f"{W}gridCol"))
        open_merges: dict[int, int] = {}
        for tr in tbl.findall(f"{W}tr"):
            col = 0
            for tc in tr.findall(f"{W}tc"):
                assert tc.findall(f"{W}p"), "a cell needs a paragraph"
                pr = tc.find(f"{W}tcPr")
                span_el = pr.find(f"{W}gridSpan")
                span = int(span_el.get(f"{W}val")) if span_el is not None else 1
                merge = pr.find(f"{W}vMerge")
                if merge is not None and merge.get(f"{W}val") == "restart":
                    open_merges[col] = span
                elif merge is not None:
                    assert open_merges.get(col) == span, "vMerge continues nothing above it"
                else:
                    open_merges.pop(col, None)
                col += span
            assert col == columns


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (libreoffice-writer-nogui) not installed")
def test_docx_opens_in_libreoffice_and_round_trips(seed_build, tmp_path):
    """LibreOffice loads the DOCX as Word 2007+ (no repair, no fallback filter) and saves it again."""
    shutil.copy(seed_build / f"{STEM}.docx", tmp_path / "in.docx")
    result = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                             "--convert-to", "odt", "--outdir", str(tmp_path), str(tmp_path / "in.docx")],
                            check=False, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and (tmp_path / "in.odt").is_file(), result.stdout + result.stderr
    assert not re.search(r"error|repair", result.stdout + result.stderr, re.IGNORECASE), result.stdout + result.stderr
    with zipfile.ZipFile(tmp_path / "in.odt") as odt:
        content = odt.read("content.xml").decode("utf-8")
    assert content.count("<table:table ") == 36 and "142001019" in content


# --- the default cache place (hostile testing #20) -------------------------------------------------

def _default_cache_blocked(tmp_path: Path, how: str) -> BuildOptions:
    """Options with no --cache-dir, where <out>/.perfdoc-cache cannot be the cache folder."""
    out = tmp_path / "out"
    out.mkdir()
    cache = out / ".perfdoc-cache"
    if how == "file":
        cache.write_text("not a folder", encoding="utf-8")
    elif how == "loop":
        cache.symlink_to(cache)
    else:  # a link into the data folder: the cache would write there
        data = tmp_path / "data"
        shutil.copytree(DATA, data)
        cache.symlink_to(data / "projects")
        return BuildOptions(data_dir=data, out_dir=out)
    return BuildOptions(data_dir=DATA, out_dir=out)


@pytest.mark.parametrize("how, reason", [("file", "已存在但不是目录"), ("loop", "循环的符号链接"),
                                         ("into-data", "指向数据目录之内")])
def test_an_unusable_default_cache_place_is_one_note_not_an_error(tmp_path, how, reason):
    options = _default_cache_blocked(tmp_path, how)
    preflight.check_paths(options)  # no error: the user never named this folder
    checked = preflight.preflight(options, [options.out_dir / "x.pdf"])
    assert not checked.use_cache
    assert len(checked.notes) == 1, checked.notes
    note = checked.notes[0]
    assert reason in note and "本次不使用缓存" in note and ".perfdoc-cache" in note, note
    assert "缓存目录（--cache-dir）" not in note  # not named as if the user had passed it
    assert not list(options.data_dir.rglob(".*perfdoc-*"))  # nothing written into the data folder


def test_a_file_given_as_cache_dir_is_still_an_error_naming_the_option(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        preflight.check_paths(BuildOptions(data_dir=DATA, out_dir=tmp_path / "out", cache_dir=blocker))
    assert caught.value.text.startswith("错误: 缓存目录（--cache-dir）")


def test_build_with_a_file_where_the_default_cache_goes_builds_without_cache_and_says_so_once(
        tmp_path, monkeypatch, capsys):
    options = _default_cache_blocked(tmp_path, "file")
    seen: list[BuildOptions] = []

    def fake_build(document, options, sources, progress, stages=()):  # the command's part, without the layout
        seen.append(options)
        return pipeline.BuildResult([], ["字体提示"], {})

    monkeypatch.setattr(pipeline, "build", fake_build)
    assert main(["build", "--data", str(options.data_dir), "--out", str(options.out_dir)]) == 0
    err = capsys.readouterr().err
    assert err.count("本次不使用缓存") == 1 and "提示: 缓存目录" in err and "提示: 字体提示" in err, err
    assert "错误" not in err and "缓存目录（--cache-dir）" not in err
    assert [o.use_cache for o in seen] == [False]
    assert (options.out_dir / ".perfdoc-cache").read_text(encoding="utf-8") == "not a folder"


@pytest.mark.slow
def test_build_through_the_cli_with_a_file_where_the_default_cache_goes(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".perfdoc-cache").write_text("not a folder", encoding="utf-8")
    result = run_cli("build", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("本次不使用缓存") == 1 and "--cache-dir）" not in result.stderr
    assert all((out / f"{STEM}.{ext}").is_file() for ext in (*EXTS, "xlsx"))
    assert (out / ".perfdoc-cache").read_text(encoding="utf-8") == "not a folder"
