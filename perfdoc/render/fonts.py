"""Fonts: pick the official face for each role when the machine has it, an open one otherwise,
and prove before rendering that every character has a glyph (never a blank box in the PDF).

Roles follow GB/T 9704 (docs/layout-spec.md, 版面与字体). The choice is made with fontconfig (`fc-list`,
`fc-query`), which is what Pango — and so WeasyPrint — uses too, so what we check is what renders.
A folder of the user's own font files (licensed 仿宋_GB2312 …) can be named in the department file
(`fonts_dir`) or with `--fonts DIR`; its faces are preferred and embedded through @font-face.
Under WSL the Windows font folder (`/mnt/c/Windows/Fonts`, and each user's own font folder) holds the
official faces most users already have; they are candidates after the system's own faces, read by
fontconfig from the folder (fc-scan) and embedded the same way.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import subprocess
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from perfdoc.data.loader import LoadedFile, iter_values
from perfdoc.diagnostics import UserError, display_path, one_line, unlocated
from perfdoc.looks import CELL_LOOKS, PARAGRAPH_LOOKS

# Family names go into CSS; a name with quotes or angle brackets (a hostile font file) is dropped.
SAFE_FAMILY = re.compile(r"[\w \-.()（）\u3000-\u9fff]{1,80}")
FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc"}
INSTALL_HINT = "sudo apt-get install fonts-noto-cjk fonts-lxgw-wenkai"
# C:\Windows\Fonts as WSL mounts it. Fonts a user installs "for me only" go to the user's own folder,
# C:\Users\<name>\AppData\Local\Microsoft\Windows\Fonts, which is searched too.
WINDOWS_FONTS = Path("/mnt/c/Windows/Fonts")
WINDOWS_USER_FONTS = "Users/*/AppData/Local/Microsoft/Windows/Fonts"  # under the drive that holds Windows/


@dataclass(frozen=True)
class Candidate:
    family: str
    bold: bool = False
    official: bool = False


# Official faces first (as GB/T 9704 names them), then the open faces Debian ships.
ROLE_CANDIDATES: dict[str, tuple[str, tuple[Candidate, ...]]] = {
    "fangsong": ("仿宋（正文、表格）", (
        Candidate("仿宋_GB2312", official=True), Candidate("FangSong_GB2312", official=True),
        Candidate("仿宋", official=True), Candidate("FangSong", official=True), Candidate("STFangsong", official=True),
        Candidate("Noto Serif CJK SC"), Candidate("Source Han Serif SC"), Candidate("Source Han Serif CN"))),
    "xiaobiaosong": ("小标宋（标题）", (
        Candidate("方正小标宋简体", official=True), Candidate("方正小标宋_GBK", official=True),
        Candidate("FZXiaoBiaoSong-B05S", official=True), Candidate("FZXiaoBiaoSong-B05", official=True),
        Candidate("Noto Serif CJK SC", bold=True), Candidate("Source Han Serif SC", bold=True))),
    "heiti": ("黑体（一级标题）", (
        Candidate("黑体", official=True), Candidate("SimHei", official=True),
        Candidate("Noto Sans CJK SC"), Candidate("Source Han Sans SC"), Candidate("Source Han Sans CN"))),
    "kaiti": ("楷体（二级标题）", (
        Candidate("楷体_GB2312", official=True), Candidate("KaiTi_GB2312", official=True),
        Candidate("楷体", official=True), Candidate("KaiTi", official=True), Candidate("STKaiti", official=True),
        Candidate("LXGW WenKai"), Candidate("LXGW WenKai GB"), Candidate("AR PL UKai CN"),
        Candidate("Noto Serif CJK SC"))),  # no 楷体-style face at all: the body face, and a note says so
    "songti": ("宋体（页码）", (
        Candidate("宋体", official=True), Candidate("SimSun", official=True),
        Candidate("Noto Serif CJK SC"), Candidate("Source Han Serif SC"))),
}


@dataclass(frozen=True)
class Face:
    """One font file as fontconfig describes it."""

    families: tuple[str, ...]
    bold: bool
    file: str
    index: int
    # Found in a folder rather than through fontconfig's configuration (the user's folder, or Windows'
    # under WSL): Pango knows it only through the @font-face rule perfdoc writes for it.
    from_user_dir: bool = False
    from_windows: bool = False  # in one of the Windows font folders (windows_font_dirs)


@dataclass(frozen=True)
class FontChoice:
    role: str
    role_label: str
    family: str
    bold: bool
    official: bool
    face: Face

    @property
    def css_weight(self) -> str:
        return "bold" if self.bold else "normal"


@dataclass(frozen=True)
class FontSet:
    """The chosen face for each role; what the CSS and the DOCX styles name."""

    choices: tuple[FontChoice, ...]
    user_dir: Path | None

    @property
    def font_dirs(self) -> list[Path]:
        """Folders the renderer may read font files from: the user's folder, and the Windows folders
        the chosen faces come from (fontconfig's own fonts need no reading through a URL)."""
        windows = sorted({Path(c.face.file).parent for c in self.choices if c.face.from_windows})
        return ([self.user_dir] if self.user_dir else []) + windows

    def __getitem__(self, role: str) -> FontChoice:
        return next(c for c in self.choices if c.role == role)

    def fallback_notes(self) -> list[str]:
        fallbacks = [f"{c.role_label}→{c.family}" for c in self.choices if not c.official]
        if not fallbacks:
            return []
        return ["未安装公文字体，使用开源字体：" + "；".join(fallbacks)
                + "。要用仿宋_GB2312 等正式字体，请安装到系统或用 --fonts 指定字体目录"]


def font_identity(fonts: FontSet) -> list[list]:
    """Which font files the build uses, as they are on disk right now (size and time, so a face
    replaced on disk counts as another): part of every cache key, and of the PDF's font set."""
    identity: list[list] = []
    for choice in fonts.choices:
        path = Path(choice.face.file)
        try:
            on_disk = path.stat()
            identity.append([choice.role, choice.family, choice.bold, str(path), choice.face.index,
                             on_disk.st_size, on_disk.st_mtime_ns])
        except OSError:
            identity.append([choice.role, choice.family, choice.bold, str(path), choice.face.index])
    return identity


# Which font roles draw each kind of text, as the layout's read-back groups it
# (perfdoc.render.readback.text_by_style): a paragraph by its class, table text by every cell look.
# Derived from perfdoc.looks, where each look names its role: the roles are declared only there.
ROLES_OF_TEXT: dict[str, tuple[str, ...]] = {
    **{name: (look.role,) for name, look in PARAGRAPH_LOOKS.items()},
    "table": tuple(dict.fromkeys(look.role for look in CELL_LOOKS.values())),
}


def role_of_value(loaded: LoadedFile, path: tuple) -> str:
    """The font role that draws a data value: the look of the place the templates put it (the
    department's name and the title in the title line, a sub-target's heading as a （一） heading,
    everything else as body text)."""
    if loaded.path.name == "department.yaml":
        if path[:1] in (("department",), ("title",)):
            return PARAGRAPH_LOOKS["doc-title-line"].role
        if len(path) == 3 and path[0] == "sub_targets" and path[2] == "heading":
            return PARAGRAPH_LOOKS["heading-2"].role
    return PARAGRAPH_LOOKS["body"].role


def _run(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
    except FileNotFoundError as exc:
        raise UserError(unlocated(f"找不到 fontconfig 命令 {args[0]}：请安装 fontconfig（sudo apt-get install fontconfig）")) from exc
    except subprocess.SubprocessError as exc:
        raise UserError(unlocated(f"fontconfig 命令 {' '.join(args[:2])} 失败：{exc}")) from exc


_FORMAT = "%{family}\t%{weight}\t%{file}\t%{index}\n"


def _parse_faces(listing: str, from_user_dir: bool, from_windows: bool = False) -> list[Face]:
    faces = []
    for line in listing.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or not parts[2]:
            continue
        family, weight, file, index = parts
        families = tuple(f.strip() for f in family.split(",") if SAFE_FAMILY.fullmatch(f.strip()))
        if not families:
            continue
        faces.append(Face(families, int(float(weight or 80)) >= 180, file, int(index or 0), from_user_dir,
                          from_windows))
    return faces


@lru_cache(maxsize=1)
def system_faces() -> tuple[Face, ...]:
    return tuple(_parse_faces(_run(["fc-list", "-f", _FORMAT]), False))


def _require_folder(folder: Path) -> None:
    """A font folder that is missing, a file or a symlink loop gets a message saying which."""
    shown = display_path(folder)
    try:
        is_folder = stat.S_ISDIR(os.stat(folder).st_mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UserError(unlocated(f"字体目录 {shown} 是循环的符号链接（symlink loop），无法打开：请改为真实的字体文件夹"
                            "（fonts_dir / --fonts）")) from exc
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise UserError(unlocated(f"字体目录 {shown} 无法访问（{exc.strerror}）（fonts_dir / --fonts）")) from exc
        is_folder = False
    if not is_folder:
        raise UserError(unlocated(f"字体目录 {shown} 不存在或不是文件夹（fonts_dir / --fonts）"))


def user_faces(folder: Path) -> list[Face]:
    _require_folder(folder)
    faces: list[Face] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in FONT_SUFFIXES and path.is_file():
            faces += _parse_faces(_run(["fc-query", "-f", _FORMAT, str(path)]), True)
    if not faces:
        raise UserError(unlocated(f"字体目录 {display_path(folder)} 里没有可用的字体文件（.ttf/.otf/.ttc）"))
    return faces


def windows_font_dirs(root: Path = WINDOWS_FONTS) -> list[Path]:
    """The Windows font folders that exist: `root` (C:\\Windows\\Fonts), then each user's own, sorted."""
    if not root.is_dir():
        return []
    users = sorted(p for p in root.parent.parent.glob(WINDOWS_USER_FONTS) if p.is_dir())
    return [root, *users]


@lru_cache(maxsize=8)
def windows_faces(root: Path = WINDOWS_FONTS) -> tuple[Face, ...]:
    """The faces of the Windows font folders, each read by fontconfig in one `fc-scan`; () without them.

    A folder that cannot be read (permissions, a drive not mounted) gives no faces instead of stopping
    the build: these are extra candidates, never required ones."""
    faces: list[Face] = []
    for folder in windows_font_dirs(root):
        try:
            listing = _run(["fc-scan", "-f", _FORMAT, str(folder)])
        except UserError:
            continue
        faces += [f for f in _parse_faces(listing, True, True) if Path(f.file).suffix.lower() in FONT_SUFFIXES]
    return tuple(faces)


def _find(candidate: Candidate, faces: list[Face] | tuple[Face, ...]) -> Face | None:
    matches = [f for f in faces if candidate.family in f.families]
    exact = [f for f in matches if f.bold == candidate.bold]
    found = exact or matches
    return found[0] if found else None


def _pick(candidates: tuple[Candidate, ...], pools: list[list[Face]]) -> tuple[Candidate, Face] | None:
    """The first candidate found in the first pool that has any of them."""
    for pool in pools:
        found = next(((c, f) for c in candidates if (f := _find(c, pool))), None)
        if found:
            return found
    return None


def choose_fonts(user_dir: Path | None = None, windows_fonts: Path | None = None) -> FontSet:
    """The first installed candidate for each role; faces from the user's folder come first.

    Then the system's faces and, after them, the Windows folders under `windows_fonts` (default:
    WINDOWS_FONTS as it is when called, so a test can point it elsewhere): for each candidate in
    order, the system's face of that family, else Windows' — so a 仿宋 in C:\\Windows\\Fonts wins
    over an open fallback the system has. The Windows folders are only scanned when some role would
    otherwise get no official face (reading them through WSL's /mnt/c is slow)."""
    preferred = user_faces(user_dir) if user_dir else []
    system = list(system_faces())
    picks = {role: _pick(candidates, [preferred, system]) for role, (_label, candidates) in ROLE_CANDIDATES.items()}
    unofficial = any(p is None or not (p[0].official or p[1].from_user_dir) for p in picks.values())
    if unofficial:
        windows = list(windows_faces(windows_fonts or WINDOWS_FONTS))
        if windows:
            picks = {role: _pick(candidates, [preferred, system + windows])
                     for role, (_label, candidates) in ROLE_CANDIDATES.items()}
    choices = []
    missing = []
    for role, (label, candidates) in ROLE_CANDIDATES.items():
        found = picks[role]
        if not found:
            missing.append(f"{label}：{' / '.join(c.family for c in candidates)}")
            continue
        candidate, face = found
        choices.append(FontChoice(role, label, candidate.family, candidate.bold, candidate.official, face))
    if missing:
        raise UserError(unlocated("找不到可用的中文字体，无法生成 PDF。缺少：", *missing,
                                  f"请安装开源字体：{INSTALL_HINT}，或用 fonts_dir / --fonts 指定字体目录"))
    return FontSet(tuple(choices), user_dir)


@lru_cache(maxsize=64)
def _charset(file: str, index: int) -> frozenset[int]:
    """Code points the face has glyphs for (fontconfig's charset, e.g. `20-7e a0-ff`)."""
    ranges = _run(["fc-query", "-i", str(index), "-f", "%{charset}", file]).split()
    points: set[int] = set()
    for item in ranges:
        start, _, end = item.partition("-")
        points.update(range(int(start, 16), int(end or start, 16) + 1))
    return frozenset(points)


def _needs_no_glyph(ch: str) -> bool:
    """Tab, line breaks and space separators (U+0020, U+3000 …) are laid out as space without a glyph.

    Not every `str.isspace()` character: vertical tab, form feed, U+001C–U+001F, NEL (U+0085),
    U+2028 and U+2029 are drawn as a box, so they must be checked like any other character.
    """
    return ch in "\t\n\r" or unicodedata.category(ch) == "Zs"


def missing_glyphs(fonts: FontSet, role: str, text: str) -> list[str]:
    """Characters of `text` the role's font has no glyph for (ordinary white space needs none)."""
    choice = fonts[role]
    charset = _charset(choice.face.file, choice.face.index)
    return sorted({ch for ch in text if ord(ch) not in charset and not _needs_no_glyph(ch)})


def describe_missing(fonts: FontSet, role: str, absent: list[str]) -> str:
    choice = fonts[role]
    shown = "、".join(f"“{one_line(ch)}”(U+{ord(ch):04X})" for ch in absent[:20])
    more = f" 等 {len(absent)} 个" if len(absent) > 20 else ""
    return f"{choice.role_label}字体 {choice.family} 没有这些字符的字形：{shown}{more}"


GLYPH_HINT = f"请改用常见字符、删去不可见的控制字符，或安装覆盖更全的字体（{INSTALL_HINT}），或用 fonts_dir / --fonts 指定字体目录"


def check_source_glyphs(fonts: FontSet, sources: list[LoadedFile], role_of: Callable[[LoadedFile, tuple], str]) -> None:
    """Every text value of the data files, drawn in its role's font: a message per value, with file:line."""
    problems = []
    for loaded in sources:
        for path, value in iter_values(loaded.data):
            if not isinstance(value, str):
                continue
            role = role_of(loaded, path)
            absent = missing_glyphs(fonts, role, value)
            if absent:
                problems.append(loaded.diagnostic(path, describe_missing(fonts, role, absent) + "，无法生成 PDF；" + GLYPH_HINT))
    if problems:
        raise UserError(problems)


def check_coverage(fonts: FontSet, text_by_role: dict[str, str]) -> None:
    """The whole rendered text (templates' wording included): stop naming what cannot be drawn."""
    problems = [describe_missing(fonts, role, absent) for role, text in text_by_role.items()
                if (absent := missing_glyphs(fonts, role, text))]
    if problems:
        raise UserError(unlocated("文档（含模板中的文字）有字体无法显示的字符，未生成 PDF：", *problems, GLYPH_HINT))
