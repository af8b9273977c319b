#!/usr/bin/env python3
"""Stage times of a build of the shipped seed document, as medians of several runs.

    python3 bench/stages.py [--runs 5] [--data data] [--plain]

Prints one line per stage (load+validate, model, fonts, HTML, HTML parse, layout, PDF write) and the
total. Measured in one process, side by side; nothing here is a pass/fail test. --plain hands the
HTML to weasyprint.HTML itself instead of perfdoc.weasy_input (the before of an A/B comparison).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perfdoc.fonts import check_coverage, choose_fonts, system_faces
from perfdoc.layout import read_layout
from perfdoc.model import build_department, build_document, build_project
from perfdoc.render_html import TEMPLATES_DIR, render_html
from perfdoc.render_pdf import harfbuzz_subset_available, restricted_url_fetcher, text_by_role, write_pdf
from perfdoc.validator import check_data
from perfdoc.weasy_input import weasy_html


def one_run(data_dir: Path, plain: bool = False) -> dict[str, float]:
    times: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[name] = now - clock
        clock = now

    checked = check_data(data_dir)
    lap("load + validate")
    department = build_department(checked.department.data, checked.department.path)
    projects = [build_project(p.data, checked.profile, p.display) for p in checked.projects]
    document = build_document(department, projects, checked.profile)
    lap("model")
    system_faces.cache_clear()
    fonts = choose_fonts(None)
    lap("fonts (fontconfig)")
    html = render_html(document, fonts)
    check_coverage(fonts, text_by_role(read_layout(html)))
    lap("HTML (Jinja) + glyph check")
    # What render_pdf.layout_pdf does, with the parse timed on its own.
    fetcher = restricted_url_fetcher([TEMPLATES_DIR])
    if plain:
        import weasyprint
        document_html = weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR), url_fetcher=fetcher)
    else:
        document_html = weasy_html(html, base_url=str(TEMPLATES_DIR), url_fetcher=fetcher)
    lap("HTML parse (WeasyPrint input)")
    laid_out = document_html.render()
    lap("layout (WeasyPrint)")
    pdf = write_pdf(laid_out, html)
    lap("PDF write (subset fonts)")
    times["total"] = sum(times.values())
    times["_pages"] = len(laid_out.pages)
    times["_bytes"] = len(pdf)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parent.parent / "data")
    parser.add_argument("--plain", action="store_true", help="weasyprint.HTML(string=...), not weasy_input")
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # as layout_pdf does
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    one_run(args.data, args.plain)  # warm-up: imports, font caches
    runs = [one_run(args.data, args.plain) for _ in range(args.runs)]
    print(f"seed document: {int(runs[0]['_pages'])} pages, {runs[0]['_bytes'] / 1024:.0f} KiB PDF; "
          f"median of {args.runs} runs; libharfbuzz-subset: {'yes' if harfbuzz_subset_available() else 'NO'}")
    for stage in runs[0]:
        if not stage.startswith("_"):
            print(f"  {stage:<30} {statistics.median(r[stage] for r in runs) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
