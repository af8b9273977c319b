"""`perfdoc doctor`: can this machine build the document, and if not, the one command that fixes it.

Lives beside `init` (perfdoc.repo) because both set up a department's working place, and because it
asks the same modules a build and an import ask (perfdoc.render.fonts, perfdoc.render.pdf,
perfdoc.io.convert), so what it reports is what a build will do: the face each font role gets, from
the user's folder, the system or, under WSL, the Windows font folders.

Exit status 0 when everything a build needs is there (advice and optional tools may be missing),
1 otherwise. Every fix names this system's package manager: apt (Debian, Ubuntu, UOS, Kylin desktop),
dnf (Fedora, openEuler, RHEL-likes, Kylin server) or brew (macOS), found from /etc/os-release and the
platform; `Machine` carries all of that so tests can describe another machine.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from perfdoc import __version__
from perfdoc.diagnostics import UserError
from perfdoc.render.fonts import WINDOWS_FONTS, FontSet, choose_fonts, user_faces, windows_font_dirs
from perfdoc.render.pdf_pieces import TESTED_WEASYPRINT

MIN_PYTHON = (3, 11)
MIN_PANGO = (1, 44, 0)  # what WeasyPrint ≥ 53 needs


class Status(Enum):
    OK = "✓"
    MISSING = "✗"  # a build cannot work: exit 1
    ADVICE = "!"  # a build works, worse (slow font subsetting, an open fallback face, an untested WeasyPrint)
    OPTIONAL = "–"  # an optional tool is not installed (LibreOffice for .doc import)


@dataclass(frozen=True)
class Finding:
    status: Status
    label: str
    detail: str
    fix: str = ""  # the one command (or, where no package has it, the one step) that fixes it
    need: str = ""  # what to install (a key of PACKAGES); examine() spells the command as `fix`


@dataclass(frozen=True)
class Machine:
    """What doctor looks at; the defaults are this machine."""

    system: str = field(default_factory=platform.system)
    os_release: Path = Path("/etc/os-release")
    kernel_release: Path = Path("/proc/sys/kernel/osrelease")
    windows_fonts: Path = WINDOWS_FONTS
    fonts_dir: Path | None = None  # --fonts, or the department file's fonts_dir
    root: bool = field(default_factory=lambda: hasattr(os, "geteuid") and os.geteuid() == 0)

    def release(self) -> dict[str, str]:
        """/etc/os-release as key → value ({} where there is none)."""
        try:
            text = self.os_release.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
        pairs = (line.partition("=") for line in text.splitlines() if "=" in line)
        return {key.strip(): value.strip().strip('"').strip("'") for key, _, value in pairs}

    @property
    def wsl(self) -> bool:
        """Windows Subsystem for Linux: its kernel says `microsoft` in its release string."""
        if self.system != "Linux":
            return False
        if os.environ.get("WSL_DISTRO_NAME"):
            return True
        try:
            return "microsoft" in self.kernel_release.read_text(encoding="utf-8", errors="replace").lower()
        except OSError:
            return False


APT_FAMILY = {"debian", "ubuntu", "uos", "deepin", "linuxmint", "raspbian", "pop", "elementary", "kali"}
DNF_FAMILY = {"fedora", "openeuler", "rhel", "centos", "rocky", "almalinux", "anolis", "ol", "euleros"}


def package_manager(machine: Machine) -> str | None:
    """apt, dnf or brew; None where neither the release file nor the platform says."""
    if machine.system == "Darwin":
        return "brew"
    release = machine.release()
    ids = {release.get("ID", "").lower(), *release.get("ID_LIKE", "").lower().split()}
    if ids & APT_FAMILY:
        return "apt"
    if ids & DNF_FAMILY:
        return "dnf"
    if "kylin" in ids:  # desktop editions are Ubuntu-based, server editions openEuler/CentOS-based
        return "apt" if shutil.which("apt-get") else "dnf"
    if shutil.which("apt-get"):
        return "apt"
    if shutil.which("dnf"):
        return "dnf"
    return None


# What to install, by package manager. Package names are each system's own.
PACKAGES: dict[str, dict[str, str]] = {
    "apt": {"python": "python3.11 python3.11-venv", "pango": "libpango-1.0-0 libpangoft2-1.0-0",
            "harfbuzz-subset": "libharfbuzz-subset0", "fontconfig": "fontconfig", "fonts": "fonts-noto-cjk",
            "kaiti": "fonts-lxgw-wenkai", "libreoffice": "libreoffice-writer libreoffice-calc", "git": "git"},
    "dnf": {"python": "python3.11", "pango": "pango", "harfbuzz-subset": "harfbuzz", "fontconfig": "fontconfig",
            "fonts": "google-noto-serif-cjk-ttc-fonts google-noto-sans-cjk-ttc-fonts", "kaiti": "cjkuni-ukai-fonts",
            "libreoffice": "libreoffice-writer libreoffice-calc", "git": "git"},
    "brew": {"python": "python@3.11", "pango": "pango", "harfbuzz-subset": "harfbuzz", "fontconfig": "fontconfig",
             "fonts": "--cask font-noto-serif-cjk-sc font-noto-sans-cjk-sc", "kaiti": "--cask font-lxgw-wenkai",
             "libreoffice": "--cask libreoffice", "git": "git"},
}
GENERIC = {"python": "Python ≥ 3.11", "pango": "Pango ≥ 1.44", "harfbuzz-subset": "HarfBuzz（含 libharfbuzz-subset）",
           "fontconfig": "fontconfig", "fonts": "Noto CJK 字体（Noto Serif/Sans CJK SC）", "kaiti": "霞鹜文楷（LXGW WenKai）",
           "libreoffice": "LibreOffice（Writer 与 Calc）", "git": "git"}
WEASYPRINT_FIX = f'python3 -m pip install "weasyprint~={TESTED_WEASYPRINT}.0"'


def install_command(need: str, manager: str | None, machine: Machine) -> str:
    """The command that installs `need` here, e.g. `sudo apt-get install fonts-noto-cjk`."""
    if manager is None:
        return f"用本系统的软件包管理器安装 {GENERIC[need]}（未识别的系统 · unknown system）"
    packages = PACKAGES[manager][need]
    if manager == "brew":
        return f"brew install {packages}"
    sudo = "" if machine.root else "sudo "
    return f"{sudo}{'apt-get' if manager == 'apt' else 'dnf'} install {packages}"


# ---------------------------------------------------------------------------------------------
# The checks


def _python() -> Finding:
    version = ".".join(str(n) for n in sys.version_info[:3])
    if sys.version_info[:2] >= MIN_PYTHON:
        return Finding(Status.OK, "Python", f"{version}（{sys.executable}）")
    return Finding(Status.MISSING, "Python", f"{version}，perfdoc 需要 Python ≥ 3.11（too old）", need="python")


def _weasyprint() -> tuple[list[Finding], bool]:
    """WeasyPrint and the Pango it loads; (findings, whether WeasyPrint works)."""
    try:
        import weasyprint
        from weasyprint.text.ffi import pango
    except ImportError as exc:
        return [Finding(Status.MISSING, "WeasyPrint", f"未安装（not installed: {exc}）", WEASYPRINT_FIX)], False
    except OSError as exc:  # WeasyPrint is there, the Pango library it loads is not
        return [Finding(Status.MISSING, "Pango", f"WeasyPrint 找不到 Pango 库（cannot load Pango: {exc}）", need="pango")], False
    version = weasyprint.__version__
    tested = version.split(".")[0] == TESTED_WEASYPRINT
    findings = [Finding(Status.OK, "WeasyPrint", f"{version}（PDF 逐段排版测试过的版本 · tested {TESTED_WEASYPRINT}.x）")
                if tested else
                Finding(Status.ADVICE, "WeasyPrint", f"{version}：perfdoc 的 PDF 逐段排版只在 {TESTED_WEASYPRINT}.x 上测试过"
                        "（untested version），生成可能出错", WEASYPRINT_FIX)]
    number = pango.pango_version()
    pango_version = (number // 10000, number // 100 % 100, number % 100)
    shown = ".".join(str(n) for n in pango_version)
    findings.append(Finding(Status.OK, "Pango", shown) if pango_version >= MIN_PANGO else
                    Finding(Status.MISSING, "Pango", f"{shown}，需要 ≥ 1.44（too old）", need="pango"))
    return findings, True


def _harfbuzz_subset() -> Finding:
    from perfdoc.render.pdf import harfbuzz_subset_available

    if harfbuzz_subset_available():
        return Finding(Status.OK, "HarfBuzz 子集化（font subsetting）", "可用（available）")
    return Finding(Status.ADVICE, "HarfBuzz 子集化（font subsetting）",
                   "没有 libharfbuzz-subset：PDF 仍能生成，但字体子集化要慢约 10 秒（slow without it）", need="harfbuzz-subset")


def _fontconfig() -> Finding:
    program = shutil.which("fc-list")
    if program is None:
        return Finding(Status.MISSING, "fontconfig", "找不到 fc-list（not found）：perfdoc 用它选字体、查缺字", need="fontconfig")
    try:
        version = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30).stderr.strip()
    except (OSError, subprocess.SubprocessError):
        version = ""
    return Finding(Status.OK, "fontconfig", version.removeprefix("fontconfig version ") or program)


def _where(choice_file: str, from_user_dir: bool, from_windows: bool, fonts: FontSet) -> str:
    if from_windows:
        return f"Windows 字体文件夹（Windows fonts）{choice_file}"
    if from_user_dir and fonts.user_dir is not None:
        return f"字体目录（fonts_dir / --fonts）{choice_file}"
    return f"系统字体（system）{choice_file}"


def _font_findings(machine: Machine) -> list[Finding]:
    if machine.fonts_dir is not None:
        try:
            user_faces(machine.fonts_dir)
        except UserError as exc:
            return [Finding(Status.MISSING, "字体目录（fonts_dir / --fonts）", exc.diagnostics[0].message,
                            "改正 department.yaml 的 fonts_dir（或 --fonts）所指的文件夹")]
    try:
        fonts = choose_fonts(machine.fonts_dir, machine.windows_fonts)
    except UserError as exc:
        need = "fonts" if shutil.which("fc-list") else "fontconfig"
        return [Finding(Status.MISSING, "字体（fonts）", exc.diagnostics[0].message + "".join(
            f" {d}" for d in exc.diagnostics[0].details), need=need)]
    findings = []
    fallbacks = []
    for choice in fonts.choices:
        face = choice.face
        kind = "公文字体（official）" if choice.official else "开源替代（fallback）"
        weight = " 粗体" if choice.bold else ""
        detail = f"{choice.family}{weight} — {kind}，{_where(face.file, face.from_user_dir, face.from_windows, fonts)}"
        if choice.official:
            findings.append(Finding(Status.OK, choice.role_label, detail))
        elif choice.role == "kaiti" and choice.family == "Noto Serif CJK SC":  # no 楷体-style face at all
            findings.append(Finding(Status.ADVICE, choice.role_label, detail + "：没有楷体风格的字体", need="kaiti"))
        else:
            findings.append(Finding(Status.ADVICE, choice.role_label, detail))
            fallbacks.append(choice.role_label.split("（")[0])
    if fallbacks:
        if machine.wsl and windows_font_dirs(machine.windows_fonts):
            fix = "在 Windows 里安装公文字体（右键字体文件 → 为所有用户安装），然后重新运行 perfdoc doctor"
        else:
            fix = ("把公文字体文件（如 仿宋_GB2312.ttf）放进一个文件夹，在 department.yaml 里写 fonts_dir: 该文件夹"
                   "（或 perfdoc build --fonts 该文件夹）")
        findings.append(Finding(Status.ADVICE, "公文字体（official fonts）",
                                f"{'、'.join(fallbacks)}用的是开源替代：文件能生成，但不是 GB/T 9704 规定的字体", fix))
    return findings


def _windows_fonts(machine: Machine) -> Finding | None:
    folders = windows_font_dirs(machine.windows_fonts)
    if folders:
        shown = "、".join(str(folder) for folder in folders)
        return Finding(Status.OK, "Windows 字体（WSL）",
                       f"{shown}：其中的字体排在系统字体之后使用（used after the system's own fonts）")
    if machine.wsl:
        return Finding(Status.ADVICE, "Windows 字体（WSL）",
                       f"在 WSL 里，但找不到 {machine.windows_fonts}（C 盘没有挂载？）：Windows 的仿宋、黑体、楷体用不上",
                       "在 Windows 的 PowerShell 里运行 wsl --shutdown，再重新打开 WSL")
    return None


def _libreoffice(machine: Machine) -> Finding:
    from perfdoc.io.convert import soffice

    program = soffice()
    label = "LibreOffice（可选 · optional：导入 .doc/.wps/.et/.xls）"
    if program:
        return Finding(Status.OK, label, program)
    also = "；也可以在 Windows 的 Word/WPS 里另存为 .docx/.xlsx 后导入" if machine.wsl else \
        "；也可以在 Word/WPS 里另存为 .docx/.xlsx 后导入"
    return Finding(Status.OPTIONAL, label, f"未安装（not installed）：只影响旧格式文件的导入{also}", need="libreoffice")


def _git() -> Finding:
    program = shutil.which("git")
    if program:
        return Finding(Status.OK, "git（diff、init）", program)
    return Finding(Status.ADVICE, "git（diff、init）", "未安装（not installed）：perfdoc diff 比较版本要用它", need="git")


@dataclass(frozen=True)
class Report:
    system: str
    manager: str | None
    sections: tuple[tuple[str, tuple[Finding, ...]], ...]

    @property
    def ok(self) -> bool:
        return not any(f.status is Status.MISSING for _, findings in self.sections for f in findings)


def examine(machine: Machine | None = None) -> Report:
    """Every check, grouped as printed; fixes already spelled for this system."""
    machine = machine or Machine()
    manager = package_manager(machine)
    release = machine.release()
    system = release.get("PRETTY_NAME") or (f"macOS {platform.mac_ver()[0]}" if machine.system == "Darwin" else machine.system)
    if machine.wsl:
        system += "（WSL）"
    libraries = [_python()]
    weasy, works = _weasyprint()
    libraries += weasy
    if works:
        libraries.append(_harfbuzz_subset())
    libraries.append(_fontconfig())
    fonts = _font_findings(machine)
    windows = _windows_fonts(machine)
    if windows is not None:
        fonts.append(windows)
    sections = (("生成 PDF 所需（needed to build）", libraries), ("字体（fonts, by role）", fonts),
                ("其他（other tools）", [_libreoffice(machine), _git()]))

    def spelled(finding: Finding) -> Finding:
        if finding.need:
            return Finding(finding.status, finding.label, finding.detail, install_command(finding.need, manager, machine),
                           finding.need)
        return finding

    return Report(system, manager, tuple((title, tuple(spelled(f) for f in findings)) for title, findings in sections))


def format_report(report: Report) -> str:
    manager = report.manager or "未识别（unknown）"
    lines = [f"perfdoc {__version__} doctor：这台机器能否生成文件（can this machine build the document）",
             f"系统（system）: {report.system} · 软件包管理器（package manager）: {manager}"]
    for title, findings in report.sections:
        lines += ["", f"{title}:"]
        for finding in findings:
            lines.append(f"  {finding.status.value} {finding.label}: {finding.detail}")
            if finding.fix and finding.status is not Status.OK:
                lines.append(f"      → 解决（fix）: {finding.fix}")
    problems = sum(f.status is Status.MISSING for _, fs in report.sections for f in fs)
    advice = sum(f.status is Status.ADVICE for _, fs in report.sections for f in fs)
    lines.append("")
    if problems:
        lines.append(f"结论（result）: 缺少 {problems} 项，还不能生成文件（not ready）：按上面 ✗ 后的命令安装后重新运行 perfdoc doctor")
    else:
        extra = f"；{advice} 条建议（!）可以改进" if advice else ""
        lines.append(f"结论（result）: 可以生成文件（ready）{extra}")
    return "\n".join(lines) + "\n"


def department_fonts_dir(data_dir: Path) -> Path | None:
    """The department file's fonts_dir (as a build resolves it), when it has one and can be read."""
    from perfdoc.data.loader import load_yaml_file

    department = data_dir / "department.yaml"
    if not department.is_file():
        return None
    loaded = load_yaml_file(department, root=data_dir)
    value = loaded.data.get("fonts_dir") if loaded.ok and isinstance(loaded.data, dict) else None
    return Path(os.path.realpath(department.parent / value)) if isinstance(value, str) and value else None

