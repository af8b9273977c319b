"""The cache never serves what it should not: stale code, other templates, damaged entries,
a damaged or foreign record, a reference DOCX that is not there."""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, STEM, Run

from perfdoc.build.cache import ENTRY_MAGIC, BuildCache, build_context, cache_key
from perfdoc.build.options import BuildOptions
from perfdoc.build.uptodate import (
    MANIFEST,
    fingerprint,
    record_build,
    replay_if_unchanged,
    writing_into,
)


def _entry_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.bin"))


# --- entries: sealed, checked on read, a bad one deleted --------------------------------------

def _damages(content: bytes, other_entry: bytes) -> dict[str, bytes]:
    return {"garbage": b"garbage\n", "truncated": content[: len(content) // 2],
            "flipped byte": content[:-1] + bytes([content[-1] ^ 1]), "swapped": other_entry}


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped byte", "swapped"])
def test_a_damaged_bin_entry_is_deleted_and_missed(tmp_path, damage):
    cache = BuildCache(tmp_path)
    cache.put("key-a", b"%PDF-1.7 the real piece")
    cache.put("key-b", b"%PDF-1.7 another piece")
    assert cache.get("key-a") == b"%PDF-1.7 the real piece"
    a, b = (next(p for p in _entry_files(tmp_path) if p.read_bytes().endswith(tail))
            for tail in (b"real piece", b"another piece"))
    a.write_bytes(_damages(a.read_bytes(), b.read_bytes())[damage])
    assert cache.get("key-a") is None
    assert not a.exists()  # deleted: the next build writes a good one
    assert cache.get_or_make("key-a", lambda: b"%PDF-1.7 made again") == b"%PDF-1.7 made again"
    assert cache.get("key-a") == b"%PDF-1.7 made again"


def test_a_plausible_but_unsealed_entry_is_not_believed(tmp_path):
    """A hand-edited entry keeping the header: the seal no longer matches."""
    cache = BuildCache(tmp_path)
    cache.put("piece", b'{"pages": 12}')
    (entry,) = _entry_files(tmp_path)
    entry.write_bytes(entry.read_bytes().replace(b"12", b"99"))
    assert cache.get("piece") is None


def test_pruning_removes_the_entries_used_longest_ago(tmp_path):
    """A live preview adds entries on every save: the cache stays within its limit, and what was
    read recently (this build's pieces) outlives what was only written long ago."""
    cache = BuildCache(tmp_path)
    for age, key in enumerate(["old", "older", "oldest"]):
        cache.put(key, key.encode() * 1000)
        (path,) = [p for p in _entry_files(tmp_path) if p.read_bytes().endswith(key.encode())]
        os.utime(path, (1_000_000 - age * 1000, 1_000_000 - age * 1000))
    assert cache.get("oldest") == b"oldest" * 1000  # read now: the most recently used
    cache.put("new", b"new" * 1000)
    (tmp_path / "last-build.json").write_text("{}")  # not an entry: never pruned
    sizes = {p: p.stat().st_size for p in _entry_files(tmp_path)}
    cache.prune(limit=sum(sizes.values()) - 1)  # one entry too many: the one used longest ago goes
    assert [cache.get(k) is not None for k in ("new", "oldest", "old", "older")] == [True, True, True, False]
    cache.prune(limit=0)
    assert _entry_files(tmp_path) == [] and (tmp_path / "last-build.json").exists()


def test_entries_of_another_context_are_not_served(tmp_path):
    BuildCache(tmp_path, "templates A").put("key", b"made with A")
    assert BuildCache(tmp_path, "templates B").get("key") is None
    assert BuildCache(tmp_path, "templates A").get("key") == b"made with A"
    assert BuildCache(tmp_path, None).get("key") is None  # an unknown context: no cache at all


def test_cache_keys_include_perfdoc_code_not_just_its_version(tmp_path, monkeypatch):
    from perfdoc.build import cache

    assert "perfdoc" not in cache._library_versions()  # the version number proves nothing
    copy = tmp_path / "perfdoc"
    shutil.copytree(cache.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache.source_digest(copy, {"weasyprint": "70.0"})
    assert before == cache.source_digest(copy, {"weasyprint": "70.0"})
    docx = copy / "render" / "docx.py"  # a module in a subpackage, whose version number does not change
    docx.write_text(docx.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    edited = cache.source_digest(copy, {"weasyprint": "70.0"})
    assert edited != before
    assert cache.source_digest(copy, {"weasyprint": "71.0"}) != edited  # a library upgrade
    key = cache_key("pdf", "<html>")
    monkeypatch.setattr(cache, "code_identity", lambda: edited)  # as a process running the edited code
    assert cache_key("pdf", "<html>") != key
    assert cache_key("pdf", "<html>") != cache_key("docx", "<html>")


# --- the context: templates folder (every file), profiles, the reference DOCX -----------------

def test_a_file_of_the_templates_folder_that_the_html_does_not_hold_changes_the_context(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    (templates / "logo.png").write_bytes(b"\x89PNG old logo")
    before = build_context(templates, None)
    assert before is not None and before == build_context(templates, None)
    (templates / "logo.png").write_bytes(b"\x89PNG new logo")
    after = build_context(templates, None)
    assert after != before
    options = BuildOptions(out_dir=tmp_path / "out", templates_dir=templates)
    BuildCache.for_options(options).put("pdf-key", b"PDF with the old logo")
    assert BuildCache.for_options(options).get("pdf-key") == b"PDF with the old logo"
    (templates / "logo.png").write_bytes(b"\x89PNG newest logo")
    assert BuildCache.for_options(options).get("pdf-key") is None


def test_a_missing_reference_docx_never_shares_entries_with_no_reference(tmp_path):
    assert build_context(REPO / "templates", tmp_path / "no-such.docx") is None
    assert build_context(REPO / "templates", tmp_path) is None  # a folder is not a DOCX either
    options = BuildOptions(out_dir=tmp_path / "out", reference_docx=tmp_path / "no-such.docx")
    assert BuildCache.for_options(options).folder is None
    assert BuildCache.for_options(BuildOptions(out_dir=tmp_path / "out")).folder == tmp_path / "out" / ".perfdoc-cache"
    assert BuildCache.for_options(BuildOptions(out_dir=tmp_path / "out", use_cache=False)).folder is None


def test_the_fingerprint_gives_up_on_an_unreadable_reference(data_copy, tmp_path):
    def key(reference: Path | None) -> str | None:
        return fingerprint(data_dir=data_copy, templates_dir=REPO / "templates", profiles_dir=REPO / "profiles",
                           fonts_dir=None, reference_docx=reference, settings={})

    assert key(None) is not None
    assert key(tmp_path / "no-such.docx") is None


# --- the record of the last build -------------------------------------------------------------

@pytest.mark.parametrize("record", [
    [], "text", None, {"key": "k", "outputs": {}, "messages": None}, {"key": "k", "outputs": [], "messages": ""},
    {"key": "k", "outputs": "x", "messages": ""}, {"key": 1, "outputs": {}, "messages": ""},
    {"key": "k", "outputs": {"relative/path.pdf": "0" * 64}, "messages": ""},
    {"key": "k", "outputs": {"/abs/x.pdf": None}, "messages": ""},
])
def test_a_malformed_record_is_no_record(tmp_path, record):
    (tmp_path / MANIFEST).write_text(json.dumps(record), encoding="utf-8")
    assert replay_if_unchanged(tmp_path, "k") is None


def test_the_record_vouches_only_for_the_bytes_its_build_wrote(tmp_path):
    import hashlib

    output = tmp_path / "out.pdf"
    ours = b"%PDF ours"
    output.write_bytes(ours)
    record_build(tmp_path, "k", {output: hashlib.sha256(ours).hexdigest()}, "已生成 out.pdf\n")
    record = replay_if_unchanged(tmp_path, "k")
    assert record is not None and record.messages == "已生成 out.pdf\n"
    assert replay_if_unchanged(tmp_path, "other inputs") is None
    output.write_bytes(b"%PDF another build's")
    assert replay_if_unchanged(tmp_path, "k") is None


def test_a_second_build_into_the_same_folder_waits(tmp_path):
    out = tmp_path / "out"
    with writing_into(out):
        other = os.open(out, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
    other = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when the build is done
    finally:
        os.close(other)
    assert list(out.iterdir()) == []  # the lock leaves no file behind


# --- whole builds -----------------------------------------------------------------------------

def _build(data: Path, out: Path, *extra: str, build_py: Path = REPO / "build.py", cwd: Path = REPO) -> Run:
    """`python build.py build …` in its own process, as a user runs it (`build_py` may be a copy)."""
    proc = subprocess.run([sys.executable, str(build_py), "build", "--data", str(data), "--out", str(out), *extra], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.slow
def test_editing_perfdoc_code_invalidates_the_cache(data_copy, tmp_path):
    copy = tmp_path / "perfdoc-copy"
    copy.mkdir()
    for name in ("perfdoc", "templates", "profiles"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "build.py", copy / "build.py")
    cache_dir, out = tmp_path / "cache", tmp_path / "out"
    first = _build(data_copy, out, "--cache-dir", str(cache_dir), build_py=copy / "build.py")
    assert first.returncode == 0, first.stderr
    entries = set(_entry_files(cache_dir))
    module = copy / "perfdoc" / "render" / "docx.py"  # a module in a subpackage
    source = module.read_text(encoding="utf-8")
    assert 'TABLE_STYLE = "项目表格"' in source
    module.write_text(source.replace('TABLE_STYLE = "项目表格"', 'TABLE_STYLE = "项目表格新"'), encoding="utf-8")
    second = _build(data_copy, out, "--cache-dir", str(cache_dir), build_py=copy / "build.py")
    assert second.returncode == 0, second.stderr
    assert "已是最新" not in second.stderr
    assert len(set(_entry_files(cache_dir)) - entries) >= 4  # the PDF's pieces and the DOCX, made afresh
    with zipfile.ZipFile(io.BytesIO((out / f"{STEM}.docx").read_bytes())) as docx:
        assert "项目表格新" in docx.read("word/styles.xml").decode("utf-8")


@pytest.mark.slow
def test_damaged_entries_are_rebuilt_not_shipped(data_copy, tmp_path):
    out = tmp_path / "out"
    assert _build(data_copy, out).returncode == 0
    pdf = (out / f"{STEM}.pdf").read_bytes()
    cache_dir = out / ".perfdoc-cache"
    largest = max(_entry_files(cache_dir), key=lambda p: p.stat().st_size)
    largest.write_bytes(b"garbage")
    for entry in _entry_files(cache_dir):  # the pieces and the rest: wrong content behind a real-looking header
        if entry != largest:
            entry.write_bytes(ENTRY_MAGIC + b"0" * 64 + b"\n" + entry.read_bytes()[-100:])
    (out / f"{STEM}.pdf").unlink()
    again = _build(data_copy, out)
    assert again.returncode == 0, again.stderr
    assert (out / f"{STEM}.pdf").read_bytes() == pdf


@pytest.mark.slow
def test_a_malformed_record_means_a_normal_build(data_copy, tmp_path):
    out = tmp_path / "out"
    assert _build(data_copy, out).returncode == 0
    for record in ("[]", '{"key": "x", "outputs": {}, "messages": null}'):
        (out / ".perfdoc-cache" / MANIFEST).write_text(record, encoding="utf-8")
        again = _build(data_copy, out)
        assert again.returncode == 0, again.stderr
        assert "已是最新" not in again.stderr and "已生成" in again.stderr
    assert "已是最新" in _build(data_copy, out).stderr  # and the good record it wrote is used


@pytest.mark.slow
def test_a_missing_reference_docx_fails_with_a_warm_cache(data_copy, tmp_path):
    out = tmp_path / "out"
    assert _build(data_copy, out).returncode == 0
    missing = _build(data_copy, out, "--reference-docx", str(tmp_path / "no-such.docx"))
    assert missing.returncode == 1, missing.stderr
    assert "参考文档" in missing.stderr and "no-such.docx" in missing.stderr


@pytest.mark.slow
def test_the_no_change_replay_names_files_from_where_it_runs(data_copy, tmp_path):
    out = tmp_path / "out"
    assert _build(data_copy, out, cwd=tmp_path).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = _build(data_copy, out, cwd=elsewhere)
    assert again.returncode == 0, again.stderr
    assert f"已生成 {out / STEM}.pdf" in again.stderr  # not the earlier run's "out/…"
    assert f"已生成 out/{STEM}.pdf" not in again.stderr


def test_the_fingerprint_never_reads_a_device_or_a_fifo(tmp_path):
    """department.yaml pointing at /dev/zero or a FIFO: no fingerprint (the normal build explains it)."""
    import os

    from perfdoc.build.uptodate import fingerprint

    data = tmp_path / "data"
    data.mkdir()
    (data / "department.yaml").symlink_to("/dev/zero")
    kwargs = dict(templates_dir=tmp_path, profiles_dir=tmp_path, fonts_dir=None, reference_docx=None, settings={})
    assert fingerprint(data_dir=data, **kwargs) is None
    (data / "department.yaml").unlink()
    os.mkfifo(data / "department.yaml")
    assert fingerprint(data_dir=data, **kwargs) is None
