"""An Office file's XML parts looked at before python-docx or openpyxl parse them.

A part with a DOCTYPE can declare entities: a "billion laughs" that expands to gigabytes, or an
external entity that reads a file of this machine into the imported text. Word and Excel never
write one, so a part that has one is refused, before any entity is expanded. Every part whose
first bytes are XML's is looked at, whatever its name; only its prolog is read (expat stops at the
root element), so the check costs next to nothing. A part that cannot be unpacked or is no XML is
refused in the same words as any damaged file.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import IO
from xml.parsers import expat

from perfdoc.diagnostics import UserError, unlocated

# Parts that are never parsed as XML, though they may start with `<` (an HTML altChunk may even have
# a DOCTYPE of its own): images and the like are told apart by their first bytes.
NOT_XML = (".htm", ".html", ".mht", ".mhtml", ".txt", ".css")
XML_PARTS = (".xml", ".rels", ".vml")  # bad XML in these is a damaged file
_CHUNK = 64 * 1024


class _Doctype(Exception):
    pass


class _RootReached(Exception):
    pass


def _doctype(_name: str, _system: str | None, _public: str | None, _internal: int) -> None:
    raise _Doctype


def _root(_name: str, _attributes: dict[str, str]) -> None:
    raise _RootReached


def _looks_like_xml(start: bytes) -> bool:
    """Whether a part's first bytes are XML's: `<` after an optional byte-order mark and spaces
    (UTF-8), or a UTF-16 byte-order mark. Parts are found by content, not by name: a workbook's
    relationships may point at a worksheet called `sheet1.dat`."""
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return start.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"<")


def _has_doctype(stream: IO[bytes], named_xml: bool) -> bool:
    """Whether the part is XML with a DOCTYPE in its prolog; reads up to its root element only.
    Bad XML is an error in a part named as XML (ExpatError); elsewhere (an obfuscated font that
    happens to start with `<`) it only means that the part is no XML."""
    chunk = stream.read(_CHUNK)
    if not _looks_like_xml(chunk):
        return False
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _doctype
    parser.StartElementHandler = _root
    try:
        while chunk:
            parser.Parse(chunk, False)
            chunk = stream.read(_CHUNK)
        parser.Parse(b"", True)
    except _Doctype:
        return True
    except _RootReached:
        return False
    except (expat.ExpatError, LookupError):
        if named_xml:
            raise
    return False


def refuse_unsafe_parts(content: bytes, name: str, kind: str, advice: str) -> None:
    """UserError naming the file when one of its XML parts has a DOCTYPE, is no XML, or cannot be
    unpacked (a truncated or damaged file). `kind`: Word 文档（.docx） or Excel 工作簿（.xlsx）."""
    part = ""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            for info in package.infolist():
                part = info.filename
                if info.is_dir() or part.lower().endswith(NOT_XML):
                    continue
                with package.open(info) as stream:
                    if _has_doctype(stream, part.lower().endswith(XML_PARTS)):
                        raise UserError(unlocated(
                            f"{name} 不是可读的 {kind}：其中的 {part} 含有 DOCTYPE（文档类型声明，可用来展开实体，"
                            f"Word/Excel 从不写它），为安全起见不读取；{advice}"))
    except (expat.ExpatError, LookupError) as exc:  # LookupError: an encoding that Python does not know
        raise UserError(unlocated(f"{name} 不是可读的 {kind}：其中的 {part} 不是有效的 XML（{exc}）；{advice}")) from exc
    # BadZipFile: a bad CRC; zlib.error / EOFError: cut or changed compressed data; NotImplementedError:
    # an unknown compression method; RuntimeError: an encrypted part.
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise UserError(unlocated(f"{name} 不是可读的 {kind}：文件已损坏或不完整（{exc}）；{advice}")) from exc
