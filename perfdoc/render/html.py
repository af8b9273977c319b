"""Stage 4 — render: the Document model → one HTML document through the Jinja templates.

Structure and wording live in templates/ (document.html.j2, project_table.html.j2, style.css.j2);
Python only hands them the model. Autoescaping is on, so YAML text is always text (`<img>` or
`</td>` in a value prints literally), and StrictUndefined stops the build on a missing value
instead of printing a blank.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from perfdoc.build.options import TEMPLATES_DIR
from perfdoc.data.model import Document, Part
from perfdoc.diagnostics import UserError, display_path
from perfdoc.render import looks
from perfdoc.render.fonts import FontSet


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
        where = display_path(Path(exc.filename)) if exc.filename else name
        raise UserError(f"{where}:{exc.lineno}:1: 错误: 模板语法错误（template syntax error）: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        where = _template_frame(exc, templates_dir) or f"{display_path(templates_dir / name)}:1"
        raise UserError(f"{where}:1: 错误: 模板引用了不存在的值（undefined）: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise UserError(f"错误: 找不到模板 {exc.name}（在 {display_path(templates_dir)} 中）") from exc


def _template_frame(exc: BaseException, templates_dir: Path) -> str | None:
    """`file:line` of the innermost template line in the traceback (Jinja maps frames to templates)."""
    found = None
    tb = exc.__traceback__
    root = str(templates_dir.resolve())
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root):
            found = f"{display_path(Path(filename))}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def render_html(document: Document, fonts: FontSet, *, part: Part | None = None, piece: bool = False,
                templates_dir: Path = TEMPLATES_DIR) -> str:
    """The document (or one part of it) as one HTML file, CSS inlined. A `piece` of the PDF is
    styled without page numbers and with odd-page margins throughout (perfdoc.render.pdf_pieces)."""
    css = render_template("style.css.j2", templates_dir, fonts=fonts, font_face_rules=font_face_rules(fonts), piece=piece,
                          paragraph_looks=looks.PARAGRAPH_LOOKS, cell_looks=looks.CELL_LOOKS,
                          page=looks.PAGE, table=looks.TABLE, page_number=looks.PAGE_NUMBER_LOOK,
                          single_line=looks.SINGLE_LINE_CSS, body_line=looks.BODY_LINE_PT)
    if piece and "counter(page" in css:
        # An older copy of the templates (--templates) prints numbers in every piece: each page would
        # get two, one of them wrong.
        raise UserError(f"{display_path(templates_dir / 'style.css.j2')}:1:1: 错误: 逐段排版 PDF 时样式表仍在印页码"
                        "（counter(page)）：页码要放在 {% if not piece %} … {% endif %} 里，见 perfdoc 自带的 "
                        "templates/style.css.j2（the page numbers must be inside `if not piece`）")
    return render_template("document.html.j2", templates_dir, doc=document, part=part or document.whole,
                           css=markupsafe.Markup(css))


def render_page_numbers_html(whole_html: str, pages: int) -> str:
    """The whole document's head (its CSS, title, language) over `pages` empty pages.

    Laid out, it numbers each page as the whole document would, and nothing else: perfdoc.render.pdf_pieces
    draws these pages over the pieces' pages, whose own CSS prints no number.
    """
    body = re.search(r"<body[^>]*>", whole_html)
    if body is None:
        raise UserError("错误: 模板 document.html.j2 生成的 HTML 没有 <body> 标签，无法编排页码")
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
