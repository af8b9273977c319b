"""The build, as one readable function: load → validate → model → render → write."""

from __future__ import annotations

from pathlib import Path

from .model import Document, build_department, build_document, build_project
from .output import write_atomically
from .render_html import render_html
from .validator import CheckedData, check_data


def load_document(data_dir: Path) -> tuple[Document | None, CheckedData]:
    """Validated data as a Document, or None when any file has errors (all reported in `checked`)."""
    checked = check_data(data_dir)
    if checked.errors or checked.profile is None or checked.department is None:
        return None, checked
    department = build_department(checked.department.data, checked.department.path)
    projects = [build_project(p.data, checked.profile, p.display) for p in checked.projects]
    return build_document(department, projects, checked.profile), checked


def build(document: Document, data_dir: Path, out_dir: Path) -> list[Path]:
    """Render the document and write every output atomically; returns the files written."""
    stem = document.department.output_name
    html = render_html(document)
    targets = {out_dir / f"{stem}.html": html.encode("utf-8")}
    for target, content in targets.items():
        write_atomically(target, content, data_dir=data_dir)
    return list(targets)
