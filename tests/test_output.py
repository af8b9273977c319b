"""Failures at the output, and the outputs themselves checked by independent tools."""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import pytest

from conftest import DATA, STEM, run_cli
from perfdoc import output
from perfdoc.diagnostics import UserError
from perfdoc.pipeline import BuildOptions, build, load_document


def _previous_build(out: Path) -> dict[str, bytes]:
    out.mkdir(parents=True, exist_ok=True)
    old = {f"{STEM}.{ext}": f"old {ext}".encode() for ext in ("html", "pdf", "docx")}
    for name, content in old.items():
        (out / name).write_bytes(content)
    return old


def _build_in_process(out: Path):
    document, checked = load_document(DATA)
    options = BuildOptions(data_dir=DATA, out_dir=out, use_cache=False)
    return build(document, options, [checked.department, *checked.projects])


@pytest.mark.parametrize("failure, needle", [
    (OSError(errno.ENOSPC, "No space left on device"), "磁盘已满"),
    (PermissionError(errno.EACCES, "Permission denied"), "正被其他程序打开"),
])
def test_failed_write_keeps_the_previous_output_and_leaves_no_partial_file(tmp_path, monkeypatch, failure, needle):
    """A full disk (at fsync) or a target another program holds open (at rename): old files stay."""
    out = tmp_path / "out"
    old = _previous_build(out)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second output: the first is already replaced
            raise failure
        return real(*args, **kwargs)

    target = "fsync" if failure.errno == errno.ENOSPC else "replace"
    real = getattr(os, target)
    monkeypatch.setattr(output.os, target, failing)
    with pytest.raises(UserError) as caught:
        _build_in_process(out)
    assert needle in caught.value.text and "原有文件保持不变" in caught.value.text
    names = sorted(p.name for p in out.iterdir() if p.name != ".perfdoc-cache")
    assert names == sorted(old), names  # no temporary file left
    unchanged = [n for n in old if (out / n).read_bytes() == old[n]]
    assert len(unchanged) == 2  # the file being written and the one not yet reached


def test_output_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("build", "--out", str(blocker / "out"))
    assert result.returncode == 1
    assert "无法在" in result.stderr and "写入输出文件" in result.stderr and "Traceback" not in result.stderr


def test_output_folder_that_is_not_writable_even_for_root():
    result = run_cli("build", "--out", "/proc/perfdoc-output")
    assert result.returncode == 1 and "请检查目录权限或磁盘空间" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not shutil.which("qpdf"), reason="qpdf not installed")
def test_pdf_passes_qpdf_check(seed_build):
    result = subprocess.run(["qpdf", "--check", str(seed_build / f"{STEM}.pdf")], capture_output=True, text=True)
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
                            capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and (tmp_path / "in.odt").is_file(), result.stdout + result.stderr
    assert not re.search(r"error|repair", result.stdout + result.stderr, re.I), result.stdout + result.stderr
    with zipfile.ZipFile(tmp_path / "in.odt") as odt:
        content = odt.read("content.xml").decode("utf-8")
    assert content.count("<table:table ") == 36 and "142001019" in content
