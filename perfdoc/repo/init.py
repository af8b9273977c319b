"""`perfdoc init DIR`: a department's own repository, with perfdoc as a pinned dependency.

`plan_files` decides every file and its bytes (the templates in perfdoc/repo/files/, rendered with
jinja2 StrictUndefined, and the example data of perfdoc.repo.example); `init_repository` refuses a
non-empty folder unless forced, writes everything at once (perfdoc.build.output), imports `--from`
files through perfdoc.io, and runs `git init`. Nothing is overwritten without --force, and with it
every replaced file is named.

How perfdoc itself gets installed in the department's repository (requirements.txt) is the one
decision that needs knowledge of where perfdoc lives; `perfdoc_source` takes it from `--perfdoc-url`,
or else from how the running perfdoc was installed (PEP 610 direct_url.json): from a git repository
(pinned at the installed commit), a wheel URL, or a local wheel (copied into vendor/ and installed
from there, which works offline, as an office network often is).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

import jinja2

from perfdoc import __version__
from perfdoc.data.profile import Profile, load_profile, profile_path, where_profiles_live
from perfdoc.diagnostics import UserError, display_path, unlocated
from perfdoc.render.pdf_pieces import TESTED_WEASYPRINT

FILES_DIR = Path(__file__).resolve().parent / "files"
CI_FILES = {"github": ".github/workflows/perfdoc.yml", "gitlab": ".gitlab-ci.yml"}
VENDOR = "vendor"
PLACEHOLDER_URL = "https://git.example.invalid/perfdoc/perfdoc.git"  # .invalid never resolves: pip says so at once
INITIAL_BRANCH = "main"

# The commands the generated README documents and the CI files run, spelled once here so the two
# cannot drift apart (tests/test_repo.py reads them back out of both).
COMMANDS = {
    "install": "python3 -m pip install -r requirements.txt",
    "doctor": "perfdoc doctor",
    "check": "perfdoc check",
    "build": "perfdoc build",
}


def diff_command(target: str) -> str:
    """What a merge request's note shows: the data compared with the target branch, as Markdown."""
    return f'perfdoc diff "origin/{target}" --format md'


# System packages CI installs (Debian/Ubuntu names, as setup.sh): Pango for WeasyPrint, HarfBuzz
# subsetting (fast PDF font subsets), fontconfig, the open CJK faces; 霞鹜文楷 where the release has it.
CI_PACKAGES = ("fontconfig", "libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-noto-cjk")
CI_OPTIONAL_PACKAGES = ("fonts-lxgw-wenkai",)
# The pre-commit hook: the same id, entry and files as perfdoc's own .pre-commit-hooks.yaml.
HOOK = {"id": "perfdoc-check", "name": "perfdoc check（检查绩效目标数据）", "entry": "perfdoc check",
        "files": r"^data/.*\.ya?ml$"}


@dataclass(frozen=True)
class PerfdocSource:
    """Where the department's machines and CI install perfdoc from: one line of requirements.txt."""

    requirement: str
    how: str  # one Chinese sentence for the README and the terminal
    wheel: Path | None = None  # a local wheel, copied to vendor/ and installed from there
    known: bool = True  # False: a placeholder the department must replace


def _git_requirement(url: str, version: str) -> str:
    """`perfdoc @ git+URL@REV`; REV is the URL's own `@rev`, else the release tag v<version>."""
    url = url.removeprefix("git+")
    path = urlparse(url).path
    rev = path.rsplit("@", 1)[1] if "@" in path.rsplit("/", 1)[-1] else None
    if rev is None:
        url = f"{url}@v{version}"
    return f"perfdoc @ git+{url}"


def _from_url(url: str, version: str) -> PerfdocSource:
    local = Path(url).expanduser()
    if url.endswith(".whl") and local.is_file():
        return PerfdocSource(f"./{VENDOR}/{local.name}", f"从本仓库 {VENDOR}/ 里的 wheel 文件安装（{local.name}），不需要访问 perfdoc 的仓库",
                             wheel=local)
    if url.endswith(".whl") and urlparse(url).scheme in ("http", "https"):
        return PerfdocSource(f"perfdoc @ {url}", f"从 {url} 下载 wheel 文件安装")
    if url.endswith(".whl"):
        raise UserError(unlocated(f"找不到 wheel 文件 {url}（--perfdoc-url）"))
    if "://" not in url:  # a local folder or `git@host:group/perfdoc.git`: pip cannot install either from CI
        raise UserError(unlocated(f"--perfdoc-url {url} 不是 git 仓库的网址或 wheel 文件：请写成 https://主机/组/perfdoc.git、"
                                  "ssh://git@主机/组/perfdoc.git，或一个 .whl 文件"))
    requirement = _git_requirement(url, version)
    return PerfdocSource(requirement, f"从 perfdoc 的 git 仓库安装（{requirement.removeprefix('perfdoc @ ')}）")


def _installed_source(version: str) -> PerfdocSource | None:
    """How the running perfdoc was installed (PEP 610), when that is something CI can install again."""
    try:
        distribution = metadata.distribution("perfdoc")
        text = distribution.read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if distribution.version != version:  # metadata of another copy than the one running
        return None
    if text is None:  # from a package index (a department's mirror): the same index has it
        return PerfdocSource(f"perfdoc=={version}", "从软件包索引（pip 配置的镜像）安装")
    try:
        direct = json.loads(text)
    except json.JSONDecodeError:
        return None
    url = direct.get("url", "")
    vcs = direct.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and vcs.get("commit_id"):
        requirement = f"perfdoc @ git+{url}@{vcs['commit_id']}"
        return PerfdocSource(requirement, f"从 perfdoc 的 git 仓库安装，固定在提交 {vcs['commit_id'][:12]}"
                                          f"（{vcs.get('requested_revision') or 'perfdoc ' + version}）")
    archive = direct.get("archive_info")
    if isinstance(archive, dict) and url.endswith(".whl"):
        parsed = urlparse(url)
        if parsed.scheme == "file":
            wheel = Path(unquote(parsed.path))
            return _from_url(str(wheel), version) if wheel.is_file() else None
        digest = archive.get("hash") or (archive.get("hashes") or {}).get("sha256", "")
        fragment = f"#{digest}" if "=" in str(digest) else (f"#sha256={digest}" if digest else "")
        return PerfdocSource(f"perfdoc @ {url}{fragment}", f"从 {url} 下载 wheel 文件安装")
    return None  # a checkout on this machine (pip install -e .): CI cannot reach it


def perfdoc_source(url: str | None, version: str = __version__) -> PerfdocSource:
    """requirements.txt's perfdoc line: --perfdoc-url, else how this perfdoc was installed, else a placeholder."""
    if url:
        return _from_url(url, version)
    found = _installed_source(version)
    if found is not None:
        return found
    return PerfdocSource(_git_requirement(PLACEHOLDER_URL, version),
                         "地址是占位的：请改为 perfdoc 仓库的地址（或用 perfdoc init --perfdoc-url 重新生成）",
                         known=False)


# ---------------------------------------------------------------------------------------------
# The files


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(FILES_DIR), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


TEMPLATES = {  # target in the new repository → template in perfdoc/repo/files/
    "README.md": "README.md.j2",
    "requirements.txt": "requirements.txt.j2",
    ".gitignore": "gitignore.j2",
    ".editorconfig": "editorconfig.j2",
    ".pre-commit-config.yaml": "pre-commit-config.yaml.j2",
    ".vscode/settings.json": "vscode-settings.json.j2",
    ".vscode/extensions.json": "vscode-extensions.json.j2",
    CI_FILES["github"]: "github-workflow.yml.j2",
    CI_FILES["gitlab"]: "gitlab-ci.yml.j2",
}


def ci_systems(ci: str) -> tuple[str, ...]:
    return ("github", "gitlab") if ci == "both" else (ci,)


def plan_files(*, ci: str, source: PerfdocSource, data: dict[str, bytes], imported_from: list[str],
               kept_data: bool = False) -> dict[str, bytes]:
    """Every file of the new repository (POSIX path relative to it → bytes): the templates' files for
    the chosen CI, the vendored wheel if any, and `data` (data/… and schema.json, already made)."""
    systems = ci_systems(ci)
    context = {
        "version": __version__, "ci": systems, "ci_files": {s: CI_FILES[s] for s in systems},
        "commands": COMMANDS, "diff": diff_command, "source": source, "vendor": VENDOR,
        "weasyprint": TESTED_WEASYPRINT, "packages": " ".join(CI_PACKAGES),
        "optional_packages": " ".join(CI_OPTIONAL_PACKAGES), "hook": HOOK, "branch": INITIAL_BRANCH,
        "imported_from": imported_from, "kept_data": kept_data,
    }
    environment = _environment()
    files: dict[str, bytes] = {}
    skipped = {CI_FILES[s] for s in ("github", "gitlab") if s not in systems}
    for target, template in TEMPLATES.items():
        if target not in skipped:
            files[target] = environment.get_template(template).render(context).encode("utf-8")
    files.update(data)
    if source.wheel is not None:
        files[f"{VENDOR}/{source.wheel.name}"] = source.wheel.read_bytes()
    return files


# ---------------------------------------------------------------------------------------------
# Writing


@dataclass
class InitResult:
    target: Path
    written: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)
    kept_data: bool = False  # --force over a folder whose data/ was kept as it was
    notes: list[str] = field(default_factory=list)
    source: PerfdocSource | None = None


def shipped_profile(name: str | None) -> Profile:
    """The shipped table format a new repository starts with (hebei-2023 unless --profile says)."""
    from perfdoc.data.profile import DEFAULT_PROFILE

    name = name or DEFAULT_PROFILE
    try:
        path = profile_path(name)
    except ValueError:
        raise UserError(unlocated(f"格式名“{name}”无效：只能是字母、数字、汉字、- 和 _（--profile）")) from None
    if not path.is_file():
        raise UserError(unlocated(f"找不到表格格式“{name}”（{where_profiles_live(name)}；perfdoc profiles 列出全部）"))
    return load_profile(path)


def _checked_example(profile: Profile, year: int) -> dict[str, bytes]:
    """The example data and the schema.json its profile makes, checked as `perfdoc check` would:
    an example that does not check clean is a perfdoc bug, never the user's problem."""
    from perfdoc.data.schema import schema_text
    from perfdoc.data.validate import check_data
    from perfdoc.repo.example import example_files

    files = {f"data/{name}": content for name, content in example_files(profile, year).items()}
    with tempfile.TemporaryDirectory(prefix="perfdoc-init-") as folder:
        for name, content in files.items():
            (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / name).write_bytes(content)
        checked = check_data(Path(folder) / "data")
        if checked.diagnostics or checked.profile is None:
            raise RuntimeError("example data does not check clean: " + "; ".join(d.format() for d in checked.diagnostics))
        files["schema.json"] = schema_text(checked.profile, checked.table_profile).encode("utf-8")
    return files


def _existing_data_schema(data_dir: Path) -> bytes:
    """schema.json for data that is already there (--force over a repository): its own profile's."""
    from perfdoc.data.schema import schema_text
    from perfdoc.data.validate import check_data, select_profile_for

    checked = check_data(data_dir)
    profile = checked.profile or select_profile_for(data_dir)
    return schema_text(profile, checked.table_profile).encode("utf-8")


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _snapshot(folder: Path) -> dict[Path, str | None]:
    """Each file under `folder` (the data a --force import may replace) → its digest."""
    if not folder.is_dir():
        return {}
    return {p: _digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _refuse_non_empty(target: Path, force: bool) -> bool:
    """Whether `target` existed; a file, or a non-empty folder without --force, stops here."""
    if target.exists() and not target.is_dir():
        raise UserError(unlocated(f"{display_path(target)} 已存在且不是文件夹：请换一个目录名"))
    if not target.exists():
        return False
    entries = sorted(p.name for p in target.iterdir())
    if entries and not force:
        shown = "、".join(entries[:5]) + (" 等" if len(entries) > 5 else "")
        raise UserError(unlocated(f"{display_path(target)} 不是空文件夹（有 {shown}），perfdoc init 什么都没写：请换一个新目录，"
                        "或加 --force 在其中生成（已有的同名文件会被替换，并逐个列出）"))
    return True


def _git_init(target: Path) -> str:
    """`git init` with `main` as the first branch, in a way every git version understands
    (`git init -b` needs git ≥ 2.28): a note for the terminal."""
    git = shutil.which("git")
    if git is None:
        return "没有找到 git：装好 git 后在该目录里运行 git init（git not found）"
    if (target / ".git").exists():
        return "已是 git 仓库，未重新初始化（already a git repository）"
    try:
        subprocess.run([git, "init", "-q", str(target)], check=True, capture_output=True, timeout=60)
        subprocess.run([git, "-C", str(target), "symbolic-ref", "HEAD", f"refs/heads/{INITIAL_BRANCH}"],
                       check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"git init 失败（{exc}）：请在该目录里手工运行 git init"
    return f"已初始化 git 仓库，分支 {INITIAL_BRANCH}（git init）"


def init_repository(target: Path, *, profile_name: str | None, sources: list[Path], ci: str, force: bool,
                    perfdoc_url: str | None, year: int) -> InitResult:
    """Create the repository in `target`. Raises UserError (and leaves `target` as it was) for a
    non-empty folder without --force, an unknown profile, or import files that give nothing."""
    from perfdoc.build.output import write_all_or_nothing

    existed = _refuse_non_empty(target, force)
    was_empty = not existed or not any(target.iterdir())
    source = perfdoc_source(perfdoc_url)
    result = InitResult(target, source=source)
    data_dir = target / "data"
    if sources:
        data: dict[str, bytes] = {}  # the import writes data/ and schema.json
    elif (data_dir / "department.yaml").is_file():  # --force over a department's repository: its data stays
        data = {"schema.json": _existing_data_schema(data_dir)}
        result.kept_data = True
        if profile_name:
            result.notes.append(f"{display_path(data_dir)} 里已有数据，保留原样，--profile {profile_name} 未使用"
                                "（改表格格式请编辑 department.yaml 的 profile，再运行 perfdoc schema）")
    else:
        data = _checked_example(shipped_profile(profile_name), year)
    files = plan_files(ci=ci, source=source, data=data, imported_from=[path.name for path in sources],
                       kept_data=result.kept_data)
    paths = {target / name: content for name, content in files.items()}
    replaced = sorted(path for path in paths if path.is_file())
    imported_before = {**_snapshot(data_dir), target / "schema.json": _digest(target / "schema.json")} if sources else {}
    try:
        if sources:
            from perfdoc.io.importer import import_files

            if import_files(sources, data_dir, profile_name, force) != 0:
                raise UserError(unlocated(f"没有从 {'、'.join(display_path(p) for p in sources)} 导入数据，"
                                          f"perfdoc init 没有生成 {display_path(target)}（原因见上面的说明）"))
        write_all_or_nothing(paths)
    except BaseException:
        if not existed:
            shutil.rmtree(target, ignore_errors=True)
        elif was_empty:
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
    after = {**_snapshot(data_dir), target / "schema.json": _digest(target / "schema.json")} if sources else {}
    imported = [p for p, digest in after.items() if digest is not None and imported_before.get(p) != digest]
    result.written = sorted({*paths, *imported})
    result.replaced = replaced + [p for p in imported if imported_before.get(p) is not None]
    result.notes.append(_git_init(target))
    return result
