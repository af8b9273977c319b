"""Stage 4b, the PDF from pieces: each laid out on its own, drawn once, kept, and assembled.

Why: after one value changes, only that project's pages should be laid out again, in a document
of any length. WeasyPrint lays out one HTML document at a time and makes its font subsets when it
writes it, so PDFs written separately cannot share them (merging the seed's 19 pieces as PDFs
gave 6 MB instead of 0.6 MB). So:

1. Each piece (perfdoc.data.model.Document.pieces: the front matter, then each project, each starting
   on a page of its own) is laid out as its own WeasyPrint document and *drawn*: each page's
   content stream, the glyphs each font drew, the bookmarks, as plain data (DrawnPiece). That is
   what the cache keeps and what a worker process sends back.
2. The page numbers are laid out for the whole page count as a document of their own, pages with
   only the numbers (perfdoc.render.html.render_page_numbers_html); it also carries the document's title
   and language.
3. Assembly replays the recorded pages, each with its number drawn over it, into one WeasyPrint
   document, which WeasyPrint writes as it writes any: one subset per font, one outline.

Where a piece lands changes two things, neither of which is in the piece: its page numbers (2.)
and, GB/T 9704's side margins being mirrored, the margins of its even pages. Pieces are laid out
on odd-page margins throughout; a page landing on an even page is moved over by the difference.
So a piece is cached by its HTML alone, and a project that grows by a page moves the pieces after
it without laying them out again. A cold build assembles in exactly the same way from pieces it
has just drawn: incremental output is byte-identical to cold.

What a piece may draw is what perfdoc's templates draw: text, rules, fills. Anything else (an
image, a link, transparency groups) or a glyph a font lacks raises PieceNotDrawable instead of an
assembly that would be wrong, and the build takes WeasyPrint's public path (perfdoc.build.pdf).

All this reaches inside WeasyPrint and pydyf (Stream, Font, Page.paint, Document's constructor,
FontConfiguration.font_map, Pango through cffi), which change between releases: the pieces path is
taken only on the releases it is tested on, with every internal it uses in place
(pieces_path_problem); anywhere else the build takes the public path.
"""

from __future__ import annotations

import copy
import dis
import functools
import importlib
import importlib.metadata
import inspect
import json
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from perfdoc.looks import PAGE

DRAW_SCALE = 0.75  # PDF points per CSS pixel: WeasyPrint's scale at zoom 1
POINTS_PER_MM = 72 / 25.4
# A piece's page that lands on an even page moves right by this much (odd pages have the wider
# inner margin on the left, even pages the outer one).
EVEN_PAGE_SHIFT_PT = (PAGE.outer_mm - PAGE.inner_mm) * POINTS_PER_MM
FORMAT_VERSION = 1  # of DrawnPiece.to_bytes; a cache entry of another version is drawn again
# The WeasyPrint major version whose internals (Stream, fonts, Document) draw() and assemble() are
# written and tested against; `perfdoc doctor` says when another is installed, and `perfdoc init`
# pins it in a department's requirements.txt.
TESTED_WEASYPRINT = "70"

Bookmark = tuple[int, str, tuple[float, float], str]  # level, label, (x, y) in CSS px, "open"/"closed"


class PieceNotDrawable(RuntimeError):
    """A piece drew something assembly cannot replay (an image or a gradient in the user's
    templates …): the build takes WeasyPrint's public path instead (perfdoc.build.pdf)."""

    def __init__(self, what: str):
        super().__init__(f"PDF 的一段画出了无法组装的内容：{what}（a PDF piece cannot be assembled）")
        self.what = what

    def __reduce__(self) -> tuple[type, tuple[str]]:  # raised in a worker, pickled to the parent
        return (type(self), (self.what,))

    @property
    def reason(self) -> str:
        """Why the build took the public path, for the note the user sees."""
        return f"逐段排版画不了的内容：{self.what}"


# --- the gate: the releases and internals the pieces path is tested on ----------------------------

# The WeasyPrint and pydyf release series the pieces path is tested on: leading version components.
# pyproject.toml pins the same ranges (weasyprint>=70,<71, pydyf>=0.13,<0.14; a test checks they
# agree), and a version outside them takes the public path.
TESTED_RELEASES: dict[str, tuple[int, ...]] = {"weasyprint": (70,), "pydyf": (0, 13)}


def _installed_version(distribution: str) -> str:
    module = importlib.import_module(distribution)
    return str(getattr(module, "__version__", None) or importlib.metadata.version(distribution))


def _in_series(version: str, series: tuple[int, ...]) -> bool:
    parts = version.split(".")
    try:
        return tuple(int(part) for part in parts[:len(series)]) == series
    except ValueError:  # "71rc1"-style components: not a tested release
        return False


def _parameters(function: Any) -> list[str]:
    """A function's parameter names, without `self`."""
    return [name for name in inspect.signature(function).parameters if name != "self"]


def _stored_attributes(cls: type) -> set[str]:
    """The attributes a class's constructor sets on the instance (its `self.x = …` stores)."""
    return {instruction.argval for instruction in dis.get_instructions(cls.__init__)  # type: ignore[misc]
            if instruction.opname == "STORE_ATTR"}


def _internals() -> list[tuple[str, Callable[[], bool]]]:
    """Every WeasyPrint, pydyf and Pango internal the pieces path uses (this module, and the page
    breaks of perfdoc.render.pdf.page_breaks), with how it must look."""
    def module(name: str) -> Any:
        return importlib.import_module(name)

    def stream_class() -> Any:
        return module("weasyprint.pdf.stream").Stream

    def font_class() -> Any:
        return module("weasyprint.pdf.fonts").Font

    def document_class() -> Any:
        return module("weasyprint.document").Document

    def page_class() -> Any:
        return module("weasyprint.document").Page

    pango_functions = ("pango_font_describe_with_absolute_size", "pango_font_description_free",
                       "pango_font_description_to_string", "pango_font_map_create_context", "pango_font_map_load_font")
    return [
        ("pydyf.Stream(stream, extra, compress)",
         lambda: _parameters(module("pydyf").Stream.__init__)[:3] == ["stream", "extra", "compress"]
         and "stream" in _stored_attributes(module("pydyf").Stream)),
        ("pydyf.Dictionary", lambda: isinstance(module("pydyf").Dictionary(), dict)),
        ("weasyprint.pdf.stream.Stream(fonts, page_rectangle, resources, images, tags, color_profiles, output_intent)",
         lambda: _parameters(stream_class().__init__)[:7] == ["fonts", "page_rectangle", "resources", "images", "tags",
                                                              "color_profiles", "output_intent"]
         and issubclass(stream_class(), module("pydyf").Stream)),
        ("weasyprint.pdf.stream.Stream._resources", lambda: "_resources" in _stored_attributes(stream_class())),
        ("weasyprint.pdf.stream.Stream.add_font(pango_font)",
         lambda: _parameters(stream_class().add_font) == ["pango_font"]),
        ("weasyprint.pdf.fonts.Font(pango_font, description, font_size)",
         lambda: _parameters(font_class().__init__) == ["pango_font", "description", "font_size"]),
        ("weasyprint.pdf.fonts.Font.to_unicode/widths/missing/hash",
         lambda: {"to_unicode", "widths", "missing", "hash"} <= _stored_attributes(font_class())),
        ("weasyprint.document.Page._page_box", lambda: "_page_box" in _stored_attributes(page_class())),
        ("weasyprint.formatting_structure.boxes.TableBox/TableRowGroupBox/TableRowBox, Box.descendants()",
         lambda: all(hasattr(module("weasyprint.formatting_structure.boxes"), name)
                     for name in ("TableBox", "TableRowGroupBox", "TableRowBox"))
         and callable(getattr(module("weasyprint.formatting_structure.boxes").Box, "descendants", None))),
        ("weasyprint.document.Page.paint(stream, scale)", lambda: _parameters(page_class().paint) == ["stream", "scale"]),
        ("weasyprint.document.Page.width/height/bleed/links/forms/bookmarks/anchors",
         lambda: {"width", "height", "bleed", "links", "forms", "bookmarks", "anchors"} <= _stored_attributes(page_class())),
        ("weasyprint.document.Document(pages, metadata, url_fetcher, font_config, color_profiles, output_intent)",
         lambda: _parameters(document_class().__init__) == ["pages", "metadata", "url_fetcher", "font_config",
                                                             "color_profiles", "output_intent"]),
        ("weasyprint.document.Document.fonts/font_config/pages/metadata",
         lambda: {"fonts", "font_config", "pages", "metadata", "color_profiles", "output_intent"}
         <= _stored_attributes(document_class())),
        ("weasyprint.pdf.metadata.DocumentMetadata",
         lambda: {"title", "authors", "description", "keywords", "generator", "created", "modified", "lang",
                  "attachments"} <= set(_parameters(module("weasyprint.pdf.metadata").DocumentMetadata.__init__))),
        ("weasyprint.text.fonts.FontConfiguration.font_map",
         lambda: "font_map" in _stored_attributes(module("weasyprint.text.fonts").FontConfiguration)),
        ("weasyprint.text.fonts.get_pango_font_key(pango_font)",
         lambda: _parameters(module("weasyprint.text.fonts").get_pango_font_key) == ["pango_font"]),
        ("weasyprint.text.ffi.ffi/pango/gobject",
         lambda: all(hasattr(module("weasyprint.text.ffi").pango, name) for name in pango_functions)
         and hasattr(module("weasyprint.text.ffi").gobject, "g_object_unref")
         and hasattr(module("weasyprint.text.ffi").ffi, "gc")),
    ]


@functools.cache
def pieces_path_problem() -> str | None:
    """Why the pieces path cannot be trusted here, or None: the installed WeasyPrint and pydyf are
    the tested releases (TESTED_RELEASES), every internal this module uses is there with the
    expected signature and attributes, and Pango can be opened. Once per process."""
    import cffi

    for distribution, series in TESTED_RELEASES.items():
        try:
            version = _installed_version(distribution)
        except (ImportError, importlib.metadata.PackageNotFoundError):
            return f"没有安装 {distribution}（{distribution} is not installed）"
        tested = ".".join(map(str, series)) + ".x"
        if not _in_series(version, series):
            return (f"已安装的 {distribution} {version} 不是逐段排版测试过的 {tested}"
                    f"（{distribution} {version} is not the tested {tested}）")
    for what, looks_right in _internals():
        try:
            right = looks_right()
        except (ImportError, AttributeError, TypeError, ValueError, cffi.FFIError):
            right = False
        if not right:
            return f"WeasyPrint 的内部接口 {what} 不存在或已改变（internal missing or changed）"
    try:
        _pango_description_parser()
    except (PieceNotDrawable, ImportError, AttributeError, TypeError, cffi.FFIError, cffi.CDefError):
        return "无法载入 Pango 库 libpango-1.0（cannot load libpango）"
    return None


@dataclass(frozen=True)
class FontUse:
    """One font as a piece used it: enough to load the same face again and to subset it."""

    key: int  # WeasyPrint's key of the font (a hash of its Pango description without size)
    description: str  # Pango's description of the face at its size: loads that face again
    face_hash: str  # WeasyPrint's name for the face, checked when it is loaded again
    to_unicode: dict[int, str] = field(default_factory=dict)  # glyph id → the text it stands for
    widths: dict[int, float] = field(default_factory=dict)  # glyph id → advance, 1/1000 em


@dataclass(frozen=True)
class DrawnPage:
    width: float  # CSS px
    height: float
    bleed: dict[str, float]
    ops: bytes  # the page's content stream, as WeasyPrint draws it (uncompressed)
    bookmarks: tuple[Bookmark, ...] = ()
    anchors: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()


@dataclass(frozen=True)
class DrawnPiece:
    pages: tuple[DrawnPage, ...]
    fonts: tuple[FontUse, ...]
    graphic_states: tuple[tuple[str, str, float], ...] = ()  # ExtGState name, its one key (ca/CA), alpha
    metadata: dict[str, Any] = field(default_factory=dict)  # DocumentMetadata's fields

    def to_bytes(self) -> bytes:
        """A JSON header, then the pages' content streams: what the cache stores (no pickle, so
        a cache entry can only ever be data)."""
        header = {
            "version": FORMAT_VERSION,
            "pages": [{"width": p.width, "height": p.height, "bleed": p.bleed, "ops": len(p.ops),
                       "bookmarks": p.bookmarks, "anchors": p.anchors} for p in self.pages],
            "fonts": [{"key": f.key, "description": f.description, "face_hash": f.face_hash,
                       "to_unicode": list(f.to_unicode.items()), "widths": list(f.widths.items())}
                      for f in self.fonts],
            "graphic_states": self.graphic_states,
            "metadata": self.metadata,
        }
        raw = json.dumps(header, ensure_ascii=False).encode("utf-8")
        return len(raw).to_bytes(8, "big") + raw + b"".join(p.ops for p in self.pages)

    @classmethod
    def from_bytes(cls, raw: bytes) -> DrawnPiece | None:
        """The piece `to_bytes` stored, or None for an entry of another format version."""
        size = int.from_bytes(raw[:8], "big")
        header = json.loads(raw[8:8 + size])
        if header.get("version") != FORMAT_VERSION:
            return None
        offset = 8 + size
        pages = []
        for page in header["pages"]:
            ops = raw[offset:offset + page["ops"]]
            offset += page["ops"]
            pages.append(DrawnPage(page["width"], page["height"], page["bleed"], ops,
                                   tuple((level, label, (x, y), state) for level, label, (x, y), state in page["bookmarks"]),
                                   tuple((name, (x, y, w, h)) for name, (x, y, w, h) in page["anchors"])))
        fonts = tuple(FontUse(f["key"], f["description"], f["face_hash"], dict(f["to_unicode"]), dict(f["widths"]))
                      for f in header["fonts"])
        states = tuple((name, key, alpha) for name, key, alpha in header["graphic_states"])
        return cls(tuple(pages), fonts, states, header["metadata"])


# --- drawing (in the process that laid the piece out) -------------------------------------------

# The faces loaded for each font configuration (perfdoc.render.pdf.font_config_for: one per process and
# font set), by WeasyPrint's font key. Loading one copies the whole font file (20+ MB for a CJK
# face) into memory: once per configuration, not once per piece.
_loaded_faces: weakref.WeakKeyDictionary[Any, dict[int, Any]] = weakref.WeakKeyDictionary()


def draw(laid_out: Any) -> DrawnPiece:
    """A laid-out WeasyPrint document as a DrawnPiece: each page painted as generate_pdf paints
    it, into a stream of its own; the fonts it used, with the glyphs it drew."""
    import pydyf
    from weasyprint.pdf.stream import Stream
    from weasyprint.text.ffi import ffi, pango
    from weasyprint.text.fonts import get_pango_font_key

    fonts: dict[int, Any] = {}  # this piece's own copy of each face: its glyph lists start empty
    descriptions: dict[int, str] = {}
    loaded = _loaded_faces.setdefault(laid_out.font_config, {})

    class PieceStream(Stream):
        def add_font(self, pango_font: Any) -> tuple[Any, float]:
            key, description, font_size = get_pango_font_key(pango_font)
            if key not in fonts:
                if key not in loaded:
                    from weasyprint.pdf.fonts import Font
                    loaded[key] = Font(pango_font, description, font_size)
                font = copy.copy(loaded[key])
                font.to_unicode, font.widths, font.missing = {}, {}, {}
                fonts[key] = font
                sized = ffi.gc(pango.pango_font_describe_with_absolute_size(pango_font),
                               pango.pango_font_description_free)
                descriptions[key] = ffi.string(pango.pango_font_description_to_string(sized)).decode("utf-8")
            return fonts[key], font_size

    resources = pydyf.Dictionary({"ExtGState": pydyf.Dictionary(), "XObject": pydyf.Dictionary(),
                                  "Pattern": pydyf.Dictionary(), "Shading": pydyf.Dictionary(),
                                  "ColorSpace": pydyf.Dictionary()})
    images: dict = {}
    pages = []
    for page in laid_out.pages:
        if page.links or any(page.forms.values()):
            raise PieceNotDrawable("链接或表单（links or forms）")
        stream = PieceStream(fonts, (0, 0, page.width, page.height), resources, images, None,
                             laid_out.color_profiles, laid_out.output_intent, compress=False)
        page.paint(stream, DRAW_SCALE)
        pages.append(DrawnPage(page.width, page.height, dict(page.bleed), _stream_bytes(stream.stream),
                               tuple((level, label, (x, y), state) for level, label, (x, y), state in page.bookmarks),
                               tuple((name, tuple(box)) for name, box in page.anchors.items())))
    if images or any(resources[kind] for kind in ("XObject", "Pattern", "Shading")):
        raise PieceNotDrawable("图片、图案或渐变（images, patterns or shadings）")
    states = []
    for name, state in resources["ExtGState"].items():
        if len(state) != 1 or next(iter(state)) not in ("ca", "CA"):
            raise PieceNotDrawable(f"图形状态 {name}（graphic state）")
        key, alpha = next(iter(state.items()))
        states.append((name, key, alpha))
    if any(font.missing for font in fonts.values()):
        raise PieceNotDrawable("字体缺字（a glyph missing from a font）")
    uses = tuple(FontUse(key, descriptions[key], font.hash, font.to_unicode, font.widths)
                 for key, font in fonts.items())
    metadata = laid_out.metadata
    if metadata.attachments:
        raise PieceNotDrawable("附件（attachments）")
    return DrawnPiece(tuple(pages), uses, tuple(states),
                      {name: getattr(metadata, name) for name in ("title", "authors", "description", "keywords",
                                                                  "generator", "created", "modified", "lang")})


def _stream_bytes(items: list) -> bytes:
    """A content stream's operators as pydyf joins them (one item a line). What perfdoc's pages
    draw is bytes and text; a PDF object in the stream (tagged PDF's property lists) is not kept."""
    lines = []
    for item in items:
        if isinstance(item, bytes):
            lines.append(item)
        elif isinstance(item, str):
            lines.append(item.encode("ascii"))
        else:
            raise PieceNotDrawable(f"绘图指令中的对象 {type(item).__name__}（PDF object in a content stream）")
    return b"\n".join(lines)


# --- assembly -----------------------------------------------------------------------------------

class _ReplayedPage:
    """A recorded page, with its number drawn over it, as WeasyPrint's PDF writer reads a page."""

    def __init__(self, page: DrawnPage, number: DrawnPage, shift_pt: float,
                 graphic_states: Sequence[tuple[str, str, float]]):
        self.width, self.height, self.bleed = page.width, page.height, page.bleed
        shift_px = shift_pt / DRAW_SCALE
        self.bookmarks = [(level, label, (x + shift_px, y), state) for level, label, (x, y), state in page.bookmarks]
        self.anchors = {name: (x + shift_px, y, w, h) for name, (x, y, w, h) in page.anchors}
        self.links: list = []
        self.forms: dict = {None: []}
        moved = f"q 1 0 0 1 {shift_pt:.4f} 0 cm".encode("ascii") if shift_pt else b"q"
        self._ops = b"\n".join((moved, page.ops, b"Q", number.ops))
        self._graphic_states = graphic_states

    def paint(self, stream: Any, scale: float = 1) -> None:
        import pydyf

        if scale != DRAW_SCALE:  # the pages were drawn at zoom 1
            raise PieceNotDrawable(f"缩放 {scale / DRAW_SCALE}（zoom）")
        states = stream._resources["ExtGState"]
        for name, key, alpha in self._graphic_states:
            if name not in states:
                states[name] = pydyf.Dictionary({key: alpha})
        stream.stream.append(self._ops)


def assemble(pieces: Sequence[DrawnPiece], numbers: DrawnPiece, *, identifier: bytes,
             font_config: Any, url_fetcher: Any) -> bytes:
    """The PDF of the pieces in order, each page numbered from `numbers` (the page-number
    document laid out for the same page count), written by WeasyPrint in one pass.

    `font_config` must know the user's own faces (@font-face), so that they load again here as
    in layout (perfdoc.render.pdf.font_config_for).
    """
    from weasyprint.document import Document as WeasyDocument
    from weasyprint.pdf.metadata import DocumentMetadata

    pages = [page for piece in pieces for page in piece.pages]
    if len(pages) != len(numbers.pages):
        raise PieceNotDrawable(f"页码页数 {len(numbers.pages)} ≠ 页数 {len(pages)}（page count）")
    everything = [*pieces, numbers]
    states = list(dict.fromkeys(state for piece in everything for state in piece.graphic_states))
    replayed = [_ReplayedPage(page, numbers.pages[index], EVEN_PAGE_SHIFT_PT if index % 2 else 0.0, states)
                for index, page in enumerate(pages)]
    document = WeasyDocument(replayed, DocumentMetadata(**numbers.metadata), url_fetcher, font_config, {}, None)
    document.fonts = _load_fonts(everything, font_config)
    return document.write_pdf(pdf_identifier=identifier)


def _load_fonts(pieces: Sequence[DrawnPiece], font_config: Any) -> dict[int, Any]:
    """Each face the pieces used, loaded again from the description the first piece recorded,
    with the glyphs of all pieces: what WeasyPrint would have gathered drawing them as one."""
    from weasyprint.pdf.fonts import Font
    from weasyprint.text.ffi import ffi, gobject, pango
    from weasyprint.text.fonts import get_pango_font_key

    context = ffi.gc(pango.pango_font_map_create_context(font_config.font_map), gobject.g_object_unref)
    fonts: dict[int, Any] = {}
    for piece in pieces:
        for use in piece.fonts:
            if use.key not in fonts:
                description = ffi.gc(_pango_description_parser()(use.description.encode("utf-8")),
                                     pango.pango_font_description_free)
                pango_font = pango.pango_font_map_load_font(font_config.font_map, context, description)
                if pango_font == ffi.NULL:
                    raise PieceNotDrawable(f"字体 {use.description} 无法再次载入（font not loaded again）")
                key, pango_description, size = get_pango_font_key(pango_font)
                font = Font(pango_font, pango_description, size)
                if key != use.key or font.hash != use.face_hash:
                    raise PieceNotDrawable(f"字体 {use.description} 再次载入时不是同一字形文件（another font file）")
                fonts[key] = font
            fonts[use.key].to_unicode.update(use.to_unicode)
            fonts[use.key].widths.update(use.widths)
    return fonts


@functools.cache
def _pango_description_parser() -> Any:
    """Pango's parser of font descriptions, which WeasyPrint's bindings leave out: declared here,
    on top of WeasyPrint's own declarations, so what it returns is the type their functions take."""
    import cffi
    from weasyprint.text import ffi as weasy_ffi

    ours = cffi.FFI()
    ours.include(weasy_ffi.ffi)
    ours.cdef("PangoFontDescription * pango_font_description_from_string (const char *str);")
    for name in ("libpango-1.0.so.0", "libpango-1.0-0", "pango-1.0", "libpango-1.0.dylib", "libpango-1.0-0.dll"):
        try:
            return ours.dlopen(name).pango_font_description_from_string
        except OSError:
            continue
    raise PieceNotDrawable("找不到 Pango 库 libpango-1.0（libpango not found）")
