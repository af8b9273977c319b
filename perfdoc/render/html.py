"""Stage 4 — render: the Document model → one HTML document through the Jinja templates.

Structure and wording live in templates/ (document.html.j2, project_table.html.j2, style.css.j2);
Python only hands them the model. Autoescaping is on, so YAML text is always text (`<img>` or
`</td>` in a value prints literally), and StrictUndefined stops the build on a missing value
instead of printing a blank.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from perfdoc import looks
from perfdoc.data.model import DepartmentTable, Document, Part, Project
from perfdoc.data.stage_document import StageDocument, StagePart
from perfdoc.data.stages import Evaluation, Monitoring
from perfdoc.diagnostics import UserError, display_path, in_file, unlocated
from perfdoc.render.fonts import FontSet
from perfdoc.render.stage_tables import stage_captions, stage_summary, stage_tables
from perfdoc.render.summary import SummaryTable, summary_table
from perfdoc.render.tables import (
    Captions,
    GridTable,
    department_table_tables,
    project_tables,
    record_captions,
    split_at,
)
from perfdoc.resources import TEMPLATES_DIR


@functools.lru_cache(maxsize=8)
def template_environment(templates_dir: Path = TEMPLATES_DIR) -> jinja2.Environment:
    """One environment per templates folder, so each template is compiled once per process (the
    PDF renders one piece per project); Jinja checks the files' times on use, so an edited
    template is read again (serve)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_template(name: str, templates_dir: Path = TEMPLATES_DIR, **context: Any) -> str:
    """Render one template; template mistakes become a message with the template's file and line."""
    try:
        return template_environment(templates_dir).get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = Path(exc.filename) if exc.filename else templates_dir / name
        raise UserError(in_file(where, f"模板语法错误（template syntax error）: {exc.message}", line=exc.lineno,
                                column=1)) from exc
    except jinja2.UndefinedError as exc:
        file, line = _template_frame(exc, templates_dir) or (templates_dir / name, 1)
        raise UserError(in_file(file, f"模板引用了不存在的值（undefined）: {exc.message}", line=line, column=1)) from exc
    except jinja2.TemplateNotFound as exc:
        raise UserError(unlocated(f"找不到模板 {exc.name}（在 {display_path(templates_dir)} 中）")) from exc


def _template_frame(exc: BaseException, templates_dir: Path) -> tuple[Path, int] | None:
    """The innermost template line in the traceback, as (file, line) (Jinja maps frames to templates)."""
    found = None
    tb = exc.__traceback__
    root = str(templates_dir.resolve())
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root):
            found = (Path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found


AnyDocument = Document | StageDocument


def render_html(document: AnyDocument, fonts: FontSet, *, part: Part | StagePart | None = None, piece: bool = False,
                templates_dir: Path = TEMPLATES_DIR, breaks: Breaks | None = None) -> str:
    """The document (or one part of it) as one HTML file, CSS inlined. A `piece` of the PDF is
    styled without page numbers and with odd-page margins throughout (perfdoc.render.pdf_pieces).
    `breaks`: where the PDF's pages begin inside a table's body (perfdoc.render.pdf), by table key:
    the merged cells running across are cut there and their text repeated."""
    css = render_template("style.css.j2", templates_dir, fonts=fonts, font_face_rules=font_face_rules(fonts), piece=piece,
                          paragraph_looks=looks.PARAGRAPH_LOOKS, cell_looks=looks.CELL_LOOKS,
                          page=looks.PAGE, table=looks.TABLE, page_number=looks.PAGE_NUMBER_LOOK,
                          single_line=looks.SINGLE_LINE_CSS, body_line=looks.BODY_LINE_PT)
    if piece and "counter(page" in css:
        # An older copy of the templates (--templates) prints numbers in every piece: each page would
        # get two, one of them wrong.
        raise UserError(in_file(templates_dir / "style.css.j2", "逐段排版 PDF 时样式表仍在印页码"
                                "（counter(page)）：页码要放在 {% if not piece %} … {% endif %} 里，见 perfdoc 自带的 "
                                "templates/style.css.j2（the page numbers must be inside `if not piece`）", line=1, column=1))
    grids = PrintGrids(document, breaks)
    if isinstance(document, StageDocument):
        return render_template("stage_document.html.j2", templates_dir, doc=document, part=part or document.whole,
                               css=markupsafe.Markup(css), tables_of=grids, captions_of=grids.captions,
                               summary=stage_summary(document))
    return render_template("document.html.j2", templates_dir, doc=document, part=part or document.whole,
                           css=markupsafe.Markup(css), tables_of=grids, captions_of=grids.captions,
                           summary=summary_table(document) if document.has_summary else None)


# Where the PDF's pages begin inside tables: table key → the body rows that start a page.
Breaks = Mapping[str, frozenset[int]]


class PrintGrids:
    """`tables_of(record)` in the templates: a record's tables as the profile lays them out
    (perfdoc.render.tables), made when the template asks for them, each with a key (its place in
    this rendering) by which the PDF's page breaks are found and given back (`breaks`);
    `captions_of(record)`: the lines above and below it."""

    def __init__(self, document: AnyDocument, breaks: Breaks | None = None):
        self._profile = document.profile
        self._year = document.department.year
        self._department = document.department.name
        self._breaks = breaks or {}
        self._count = 0

    def __call__(self, record: Project | DepartmentTable | SummaryTable | Evaluation | Monitoring) -> tuple[GridTable, ...]:
        if isinstance(record, Evaluation | Monitoring):
            tables = stage_tables(self._profile, record, self._year)
        elif isinstance(record, Project):
            tables = project_tables(record, self._profile, self._year)
        elif isinstance(record, DepartmentTable):
            tables = department_table_tables(record, self._year)
        else:
            tables = record.tables
        keyed = []
        for table in tables:
            key = str(self._count)
            self._count += 1
            keyed.append(split_at(replace(table, key=key), self._breaks.get(key, ())))
        return tuple(keyed)

    def captions(self, record: Project | DepartmentTable | SummaryTable | Evaluation | Monitoring) -> Captions:
        if isinstance(record, Evaluation | Monitoring):
            return stage_captions(self._profile, record, self._year, self._department)
        if isinstance(record, Project):
            return record_captions(self._profile, dict(record.facts), self._year, self._department)
        if isinstance(record, DepartmentTable):
            return record_captions(record.profile, dict(record.facts), self._year, self._department)
        return Captions()


def render_page_numbers_html(whole_html: str, pages: int) -> str:
    """The whole document's head (its CSS, title, language) over `pages` empty pages.

    Laid out, it numbers each page as the whole document would, and nothing else: perfdoc.render.pdf_pieces
    draws these pages over the pieces' pages, whose own CSS prints no number.
    """
    body = re.search(r"<body[^>]*>", whole_html)
    if body is None:
        raise UserError(unlocated("模板 document.html.j2 生成的 HTML 没有 <body> 标签，无法编排页码"))
    sheets = '<div style="break-before: page"></div>' * (pages - 1)
    return f"{whole_html[:body.start()]}<body><div></div>{sheets}</body>\n</html>\n"


def font_face_rules(fonts: FontSet) -> str:
    """The @font-face rules of the user's own faces (style.css.j2 prints them; assembly of the
    PDF loads the same faces again with them)."""
    return "".join(f'@font-face {{ font-family: "{face["family"]}"; src: url("{face["url"]}"); '
                   f'font-weight: {face["weight"]}; }}\n' for face in font_faces(fonts))


def font_faces(fonts: FontSet) -> list[dict[str, str]]:
    """@font-face rules for faces that come from the user's font folder."""
    return [{"family": choice.family, "url": Path(choice.face.file).resolve().as_uri(),
             "weight": "bold" if choice.face.bold else "normal"}
            for choice in fonts.choices if choice.face.from_user_dir]
