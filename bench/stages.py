#!/usr/bin/env python3
"""Stage times of the seed's PDF, the way this perfdoc builds it and the way it used to, side by side.

    python3 bench/stages.py [--runs 5] [--data data]

Two columns, measured in one process, alternating run by run, medians:
  before  the whole document as one HTML, parsed by WeasyPrint (tinyhtml5), laid out, written;
  after   perfdoc.render.weasy_input (C XML parser, trimmed user-agent sheet), each piece (front matter,
          each project) laid out and drawn on its own, the page numbers, then the assembly.
Both in this one process: the CLI lays the pieces out on two cores (perfdoc.build.workers),
which this table does not show. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perfdoc.data.model import build_department, build_document, build_project
from perfdoc.data.validate import check_data
from perfdoc.render.fonts import check_coverage, choose_fonts, system_faces
from perfdoc.render.html import TEMPLATES_DIR, render_html, render_page_numbers_html
from perfdoc.render.pdf import font_config_for, harfbuzz_subset_available, restricted_url_fetcher, text_by_role
from perfdoc.render.pdf_pieces import assemble, draw
from perfdoc.render.readback import read_layout
from perfdoc.render.weasy_input import weasy_html

STAGES = ("load + validate", "model", "fonts (fontconfig)", "HTML (Jinja) + glyph check",
          "HTML parse (WeasyPrint input)", "layout (WeasyPrint)", "draw (pieces) / write (whole)",
          "page numbers (layout + draw)", "assembly (fonts, PDF write)")


def one_run(data_dir: Path, pieces: bool) -> dict[str, float]:
    gc.collect()  # the previous run's garbage is not this run's time
    times = dict.fromkeys(STAGES, 0.0)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[name] += now - clock
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
    piece_htmls = [render_html(document, fonts, part=part, piece=True) for part in document.pieces()] if pieces else []
    lap("HTML (Jinja) + glyph check")
    fetcher = restricted_url_fetcher([TEMPLATES_DIR])
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")

    def lay_out(source: str, parse: Callable) -> object:
        parsed = parse(source, base_url=str(TEMPLATES_DIR), url_fetcher=fetcher)
        lap("HTML parse (WeasyPrint input)")
        laid_out = parsed.render(**({"font_config": font_config_for(fonts, TEMPLATES_DIR)} if pieces else {}))
        lap("layout (WeasyPrint)")
        return laid_out

    if not pieces:
        import weasyprint

        laid_out = lay_out(html, lambda s, **k: weasyprint.HTML(string=s, **k))  # a new font configuration, as before
        pdf = laid_out.write_pdf(pdf_identifier=identifier)
        lap("draw (pieces) / write (whole)")
    else:
        drawn = []
        for source in piece_htmls:
            laid_out = lay_out(source, weasy_html)
            drawn.append(draw(laid_out))
            lap("draw (pieces) / write (whole)")
        numbers = draw(weasy_html(render_page_numbers_html(html, sum(len(p.pages) for p in drawn)),
                                  base_url=str(TEMPLATES_DIR), url_fetcher=fetcher).render(
                                      font_config=font_config_for(fonts, TEMPLATES_DIR)))
        lap("page numbers (layout + draw)")
        pdf = assemble(drawn, numbers, identifier=identifier, font_config=font_config_for(fonts, TEMPLATES_DIR),
                       url_fetcher=fetcher)
        lap("assembly (fonts, PDF write)")
    times["total"] = sum(times.values())
    times["_bytes"] = len(pdf)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parent.parent / "data")
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # as layout_pdf does
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    one_run(args.data, False), one_run(args.data, True)  # warm-up: imports, font caches
    before, after = [], []
    for _ in range(args.runs):
        before.append(one_run(args.data, False))
        after.append(one_run(args.data, True))
    print(f"seed document, median of {args.runs} runs each, alternating; "
          f"libharfbuzz-subset: {'yes' if harfbuzz_subset_available() else 'NO'}")
    print(f"  {'stage':<32} {'before':>9} {'after':>9}")
    for stage in (*STAGES, "total"):
        print(f"  {stage:<32} {statistics.median(r[stage] for r in before) * 1000:6.1f} ms"
              f" {statistics.median(r[stage] for r in after) * 1000:6.1f} ms")
    print(f"  {'PDF size':<32} {before[0]['_bytes'] / 1024:6.0f} KiB {after[0]['_bytes'] / 1024:6.0f} KiB")


if __name__ == "__main__":
    main()
