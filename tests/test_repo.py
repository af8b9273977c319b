"""A department's own repository (issue 21): `perfdoc init`, `perfdoc doctor`, Windows fonts under WSL.

Fast tests call the CLI in-process on temporary folders; the end-to-end test builds a wheel of
perfdoc, installs it in a fresh venv and uses the installed `perfdoc` as a department would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from perfdoc import __version__
from perfdoc.cli import main as cli_main
from perfdoc.data.loader import iter_values, load_yaml_file
from perfdoc.data.profile import available_profiles, load_profile, profile_path
from perfdoc.data.validate import check_data
from perfdoc.render import fonts as font_module
from perfdoc.render.fonts import choose_fonts, system_faces
from perfdoc.render.html import font_face_rules
from perfdoc.repo import doctor
from perfdoc.repo.example import example_files
from perfdoc.repo.init import CI_FILES, COMMANDS, PLACEHOLDER_URL, perfdoc_source

REPO = Path(__file__).resolve().parent.parent
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
GIT_URL = "https://git.example.gov.cn/tools/perfdoc.git"


def init(target: Path, *args: str) -> int:
    """`perfdoc init TARGET …` in-process, with a perfdoc source (this checkout has none CI could use)."""
    return cli_main(["init", str(target), "--perfdoc-url", GIT_URL, "--year", "2026", *args])


def tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts}


# ------------------------------------------------------------------------------------------
# init


def test_init_writes_the_repository_and_refuses_a_non_empty_folder(tmp_path, capsys):
    target = tmp_path / "部门"
    assert init(target) == 0
    assert tree(target) == {"README.md", "requirements.txt", ".gitignore", ".editorconfig", ".pre-commit-config.yaml",
                            ".vscode/settings.json", ".vscode/extensions.json", CI_FILES["github"], CI_FILES["gitlab"],
                            "schema.json", "data/department.yaml", "data/projects/100001001.yaml"}
    if shutil.which("git"):
        head = subprocess.run(["git", "-C", str(target), "symbolic-ref", "HEAD"], capture_output=True, text=True)
        assert head.stdout.strip() == "refs/heads/main"
    capsys.readouterr()

    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine", encoding="utf-8")
    assert init(occupied) == 1
    err = capsys.readouterr().err
    assert "不是空文件夹" in err and "notes.txt" in err and "--force" in err
    assert tree(occupied) == {"notes.txt"} and not (occupied / ".git").exists()


def test_init_with_force_names_every_replaced_file_and_keeps_existing_data(tmp_path, capsys):
    target = tmp_path / "repo"
    assert init(target, "--ci", "gitlab") == 0
    department = target / "data" / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8").replace("示例单位", "某某局"), encoding="utf-8")
    (target / ".gitignore").write_text("# 自己写的\n", encoding="utf-8")
    capsys.readouterr()
    assert init(target, "--ci", "gitlab", "--force") == 0
    err = capsys.readouterr().err
    replaced = set(re.findall(r"已替换（replaced）(\S+)", err))
    assert {Path(p).name for p in replaced} >= {".gitignore", "README.md", "requirements.txt", "schema.json"}
    assert "data" not in {Path(p).parent.name for p in replaced}
    assert "某某局" in department.read_text(encoding="utf-8"), "--force must not put the example over real data"
    assert "build/" in (target / ".gitignore").read_text(encoding="utf-8")


@pytest.mark.parametrize(("ci", "present", "absent"), [("gitlab", CI_FILES["gitlab"], CI_FILES["github"]),
                                                        ("github", CI_FILES["github"], CI_FILES["gitlab"])])
def test_init_ci_choice_writes_only_that_systems_file(tmp_path, ci, present, absent):
    target = tmp_path / "repo"
    assert init(target, "--ci", ci) == 0
    assert (target / present).is_file() and not (target / absent).exists()
    readme = (target / "README.md").read_text(encoding="utf-8")
    assert present in readme and absent not in readme


def test_init_refuses_unknown_profile_and_unreadable_import_and_leaves_nothing(tmp_path, capsys):
    assert init(tmp_path / "a", "--profile", "no-such-format") == 1
    assert "no-such-format" in capsys.readouterr().err and not (tmp_path / "a").exists()
    text = tmp_path / "notes.txt"
    text.write_text("x", encoding="utf-8")
    assert init(tmp_path / "b", "--from", str(text)) == 1
    assert not (tmp_path / "b").exists()


def command_lines(text: str) -> list[str]:
    """perfdoc and pip commands of shell text, comments and `> file` dropped, the target branch generic."""
    lines = []
    for line in text.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        line = re.sub(r"\s*>\s*\S+$", "", line)
        line = line.replace("${{ github.base_ref }}", "<目标分支>").replace("$CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "<目标分支>")
        if line.startswith(("perfdoc ", "python3 -m pip install -r")):
            lines.append(line)
    return lines


def test_ci_files_run_the_commands_the_readme_documents(tmp_path):
    target = tmp_path / "repo"
    assert init(target) == 0
    readme = (target / "README.md").read_text(encoding="utf-8")
    documented = {line for block in re.findall(r"```sh\n(.*?)```", readme, re.S) for line in command_lines(block)}

    github = yaml.safe_load((target / CI_FILES["github"]).read_text(encoding="utf-8"))
    assert set(github[True]) == {"push", "pull_request"}  # YAML 1.1 reads the key `on` as true
    github_commands = [c for step in github["jobs"]["document"]["steps"] for c in command_lines(step.get("run", ""))]
    gitlab = yaml.safe_load((target / CI_FILES["gitlab"]).read_text(encoding="utf-8"))
    scripts = gitlab["default"]["before_script"] + [s for job in ("check", "build", "review") for s in gitlab[job]["script"]]
    gitlab_commands = [c for script in scripts for c in command_lines(script)]

    expected = [COMMANDS["install"], COMMANDS["doctor"], COMMANDS["check"], COMMANDS["build"],
                'perfdoc diff "origin/<目标分支>" --format md']
    assert github_commands == expected and gitlab_commands == expected
    assert set(expected) <= documented, set(expected) - documented
    assert gitlab["build"]["artifacts"]["paths"] == ["build/*.pdf", "build/*.docx", "build/*.xlsx"]
    assert gitlab["review"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    review = "\n".join(gitlab["review"]["script"])
    assert "PRIVATE-TOKEN: $PERFDOC_GITLAB_TOKEN" in review and "/merge_requests/$CI_MERGE_REQUEST_IID/notes" in review
    assert "PERFDOC_GITLAB_TOKEN" in readme and "PERFDOC_GITLAB_TOKEN" in (target / CI_FILES["gitlab"]).read_text(encoding="utf-8")


def test_generated_settings_hooks_and_pins(tmp_path):
    target = tmp_path / "repo"
    assert init(target) == 0
    settings = json.loads((target / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    globs = settings["yaml.schemas"]["./schema.json"]
    data_files = [p.relative_to(target).as_posix() for p in (target / "data").rglob("*.yaml")]
    assert data_files and all(any(Path(f).match(g) for g in globs) for f in data_files)
    assert not any(Path("data/profiles/本市格式.yaml").match(g) for g in globs)  # a profile is not a data file
    assert json.loads((target / ".vscode" / "extensions.json").read_text(encoding="utf-8"))["recommendations"][0] \
        == "redhat.vscode-yaml"
    editorconfig = (target / ".editorconfig").read_text(encoding="utf-8")
    assert "charset = utf-8" in editorconfig and "end_of_line = lf" in editorconfig and "indent_size = 2" in editorconfig
    assert (target / ".gitignore").read_text(encoding="utf-8").splitlines().count("build/") == 1

    requirements = [line for line in (target / "requirements.txt").read_text(encoding="utf-8").splitlines()
                    if line and not line.startswith("#")]
    assert requirements == [f"perfdoc @ git+{GIT_URL}@v{__version__}", "weasyprint~=70.0"]

    # The local hook is perfdoc's own published hook, run with the perfdoc requirements.txt installs.
    ours = next(h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
                if h["id"] == "perfdoc-check")
    config = yaml.safe_load((target / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hook = config["repos"][0]["hooks"][0]
    assert config["repos"][0]["repo"] == "local" and hook["language"] == "system"
    assert {k: hook[k] for k in ("id", "entry", "files", "pass_filenames")} == \
        {k: ours[k] for k in ("id", "entry", "files", "pass_filenames")}


def test_perfdoc_source_from_url_or_wheel(tmp_path):
    assert perfdoc_source(GIT_URL).requirement == f"perfdoc @ git+{GIT_URL}@v{__version__}"
    assert perfdoc_source(f"git+{GIT_URL}@abc123").requirement == f"perfdoc @ git+{GIT_URL}@abc123"
    wheel_url = "https://files.example.gov.cn/perfdoc-0.1.0-py3-none-any.whl"
    assert perfdoc_source(wheel_url).requirement == f"perfdoc @ {wheel_url}"
    wheel = tmp_path / f"perfdoc-{__version__}-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    local = perfdoc_source(str(wheel))
    assert local.requirement == f"./vendor/{wheel.name}" and local.wheel == wheel
    target = tmp_path / "repo"
    assert cli_main(["init", str(target), "--perfdoc-url", str(wheel)]) == 0
    assert (target / "vendor" / wheel.name).read_bytes() == b"PK"


def test_checkout_install_gets_a_placeholder_that_says_so(tmp_path, capsys, monkeypatch):
    from perfdoc.repo import init as init_module

    monkeypatch.setattr(init_module, "_installed_source", lambda version: None)  # as from `pip install -e .`
    assert cli_main(["init", str(tmp_path / "repo")]) == 0
    assert "占位" in capsys.readouterr().err
    assert PLACEHOLDER_URL in (tmp_path / "repo" / "requirements.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [name for name, path in available_profiles() if not load_profile(path).is_stage])
def test_example_data_checks_clean_and_marks_every_value_as_example(tmp_path, name):
    data = tmp_path / "data"
    for rel, content in example_files(load_profile(profile_path(name)), 2026).items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(content)
    checked = check_data(data)
    assert not checked.diagnostics, [d.format() for d in checked.diagnostics]
    free_text = {"name", "use", "goal", "description", "basis", "explanation", "scoring", "remark", "department",
                 "duties", "heading", "target", "indicators", "overall_target", "measures", "leader",
                 "department_in_charge", "implementing_unit"}
    for path in sorted(data.rglob("*.yaml")):
        loaded = load_yaml_file(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        for field_path, value in iter_values(loaded.data):
            keys = [k for k in field_path if isinstance(k, str)]
            if isinstance(value, str) and keys and keys[-1] in free_text | {"overall_target", "measures"}:
                assert "示例" in value, (path.name, field_path, value)
        for line in lines:
            if re.match(r"\s*(budget|fiscal_funds|other_funds|medium_term_budget):", line):
                assert "示例" in line, line


# ------------------------------------------------------------------------------------------
# doctor and the Windows fonts


def renamed_face(source: Path, index: int, family: str, target: Path) -> Path:
    """An open font file with its family renamed (name IDs 1, 4, 16; 6 as an ASCII PostScript name)."""
    from fontTools.ttLib import TTFont

    font = TTFont(source, fontNumber=index, lazy=True) if source.suffix.lower() in (".ttc", ".otc") \
        else TTFont(source, lazy=True)
    table = font["name"]
    table.names = [record for record in table.names if record.platformID == 3]
    for language in (0x409, 0x804):
        for name_id in (1, 4, 16):
            table.setName(family, name_id, 3, 1, language)
        table.setName("FangSong_GB2312" if "仿宋" in family else "KaiTi_GB2312", 6, 3, 1, language)
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(target)
    return target


def small_font() -> Path:
    files = sorted({Path(f.file) for f in system_faces() if f.file.lower().endswith(".ttf")}, key=lambda p: p.stat().st_size)
    if not files:
        pytest.skip("no .ttf font installed to rename")
    return files[0]


@pytest.fixture
def windows_drive(tmp_path) -> Path:
    """A folder laid out like C:\\ under WSL: Windows/Fonts with SIMFANG-like files, and one user's own fonts."""
    drive = tmp_path / "c"
    fonts = drive / "Windows" / "Fonts"
    renamed_face(small_font(), 0, "仿宋_GB2312", fonts / "FANGSONG_GB2312.TTF")
    (fonts / "desktop.ini").write_text("[.ShellClassInfo]\n", encoding="utf-8")
    (fonts / "broken.ttf").write_bytes(b"not a font")
    renamed_face(small_font(), 0, "楷体_GB2312", drive / "Users" / "张三" / "AppData" / "Local" / "Microsoft" / "Windows"
                 / "Fonts" / "楷体_GB2312.ttf")
    return drive


def test_windows_faces_come_after_the_system_and_are_embedded_through_font_face(windows_drive):
    fonts = choose_fonts(None, windows_drive / "Windows" / "Fonts")
    fangsong, kaiti = fonts["fangsong"], fonts["kaiti"]
    assert (fangsong.family, fangsong.official, fangsong.face.from_windows) == ("仿宋_GB2312", True, True)
    assert Path(fangsong.face.file).parent == windows_drive / "Windows" / "Fonts"
    assert kaiti.family == "楷体_GB2312" and "张三" in kaiti.face.file
    assert set(fonts.font_dirs) == {Path(fangsong.face.file).parent, Path(kaiti.face.file).parent}
    assert Path(fangsong.face.file).as_uri() in font_face_rules(fonts)
    # Without the folder nothing changes: the system's faces.
    assert not choose_fonts(None, windows_drive / "nowhere")["fangsong"].face.from_windows


def test_doctor_reports_the_role_served_from_the_windows_folder(windows_drive, tmp_path):
    kernel = tmp_path / "osrelease"
    kernel.write_text("5.15.153.1-microsoft-standard-WSL2\n", encoding="utf-8")
    machine = doctor.Machine(system="Linux", windows_fonts=windows_drive / "Windows" / "Fonts", kernel_release=kernel)
    report = doctor.examine(machine)
    findings = {f.label: f for _, section in report.sections for f in section}
    fangsong = findings["仿宋（正文、表格）"]
    assert fangsong.status is doctor.Status.OK
    assert "仿宋_GB2312" in fangsong.detail and "Windows 字体文件夹" in fangsong.detail
    assert str(windows_drive / "Windows" / "Fonts" / "FANGSONG_GB2312.TTF") in fangsong.detail
    assert str(windows_drive / "Windows" / "Fonts") in findings["Windows 字体（WSL）"].detail
    text = doctor.format_report(report)
    assert "（WSL）" in text.splitlines()[1] and "✓ 仿宋（正文、表格）: 仿宋_GB2312" in text


def test_doctor_without_libreoffice_says_how_to_install_it_and_exits_0(tmp_path, monkeypatch, capsys):
    tools = tmp_path / "bin"  # a PATH with fontconfig and git, and no soffice / libreoffice
    tools.mkdir()
    for name in ("fc-list", "fc-query", "fc-scan", "fc-match", "git"):
        if shutil.which(name):
            (tools / name).symlink_to(shutil.which(name))
    monkeypatch.setenv("PATH", str(tools))
    assert cli_main(["doctor", "--data", str(tmp_path / "no-data")]) == 0
    out = capsys.readouterr().out
    machine = doctor.Machine()
    command = doctor.install_command("libreoffice", doctor.package_manager(machine), machine)
    line = next(line for line in out.splitlines() if "LibreOffice" in line)
    assert "未安装" in line
    assert f"→ 解决（fix）: {command}" in out
    assert "可以生成文件（ready）" in out


def test_doctor_exits_1_and_names_the_fix_when_something_needed_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no fontconfig at all
    monkeypatch.setattr(font_module, "system_faces", lambda: ())
    assert cli_main(["doctor", "--data", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "✗ fontconfig" in out and "install fontconfig" in out and "还不能生成文件" in out


@pytest.mark.parametrize(("release", "system", "manager"), [
    ('ID=debian\nPRETTY_NAME="Debian GNU/Linux 12"', "Linux", "apt"),
    ('ID=ubuntu\nID_LIKE=debian', "Linux", "apt"),
    ('ID=uos\nPRETTY_NAME="UnionTech OS Desktop 20"', "Linux", "apt"),
    ('ID="openEuler"\nVERSION_ID="22.03"', "Linux", "dnf"),
    ('ID=fedora', "Linux", "dnf"),
    ('ID="rocky"\nID_LIKE="rhel centos fedora"', "Linux", "dnf"),
    ("", "Darwin", "brew"),
])
def test_package_manager_from_os_release(tmp_path, release, system, manager):
    path = tmp_path / "os-release"
    path.write_text(release + "\n", encoding="utf-8")
    machine = doctor.Machine(system=system, os_release=path, root=False)
    assert doctor.package_manager(machine) == manager
    command = doctor.install_command("fonts", manager, machine)
    assert command.startswith({"apt": "sudo apt-get install ", "dnf": "sudo dnf install ", "brew": "brew install "}[manager])
    assert doctor.install_command("fonts", manager, doctor.Machine(system=system, os_release=path, root=True)) \
        == command.removeprefix("sudo ")


# ------------------------------------------------------------------------------------------
# Slow: a real build with a Windows face, and the whole route from a wheel


def noto_serif_sc() -> tuple[Path, int]:
    face = next((f for f in system_faces() if "Noto Serif CJK SC" in f.families and not f.bold), None)
    if face is None:
        pytest.skip("fonts-noto-cjk is not installed (bash setup.sh installs it)")
    return Path(face.file), face.index


@pytest.mark.slow
def test_build_embeds_the_official_face_found_in_windows_fonts(tmp_path, monkeypatch):
    from pypdf import PdfReader

    fonts = tmp_path / "c" / "Windows" / "Fonts"
    renamed_face(*noto_serif_sc(), "仿宋_GB2312", fonts / "FANGSONG_GB2312.otf")
    monkeypatch.setattr(font_module, "WINDOWS_FONTS", fonts)
    target = tmp_path / "repo"
    assert init(target) == 0
    out = tmp_path / "out"
    assert cli_main(["build", "--data", str(target / "data"), "--out", str(out), "--no-cache"]) == 0
    pdf = next(out.glob("*.pdf"))
    names = {str(font["/BaseFont"]) for page in PdfReader(pdf).pages
             for font in page["/Resources"]["/Font"].values()}
    assert any(name.endswith("+仿宋_GB2312") for name in names), names  # the face exists only in the fake folder


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=GIT_ENV).stdout


def _wheel(tmp_path: Path) -> Path:
    """A wheel of this checkout, built from a copy of its files (a build writes build/ and *.egg-info)."""
    source = tmp_path / "source"
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "-co", "--exclude-standard"], check=True,
                           capture_output=True, text=True).stdout.split("\0")
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    wheels = tmp_path / "wheels"
    offline = ["--no-build-isolation"] if _has_module("wheel") else []  # else pip fetches setuptools and wheel
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(wheels),
                            *offline], capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        pytest.skip(f"could not build a wheel of perfdoc here: {built.stderr.strip()[-300:]}")
    return next(wheels.glob("perfdoc-*.whl"))


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@pytest.mark.slow
def test_end_to_end_from_a_wheel_in_a_fresh_venv(tmp_path):
    wheel = _wheel(tmp_path)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)  # WeasyPrint & co. from the system
    python, bin_dir = env_dir / "bin" / "python", env_dir / "bin"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
                   check=True, timeout=300)
    env = {**GIT_ENV, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(env_dir)}
    env.pop("PYTHONPATH", None)

    def run(*args: str | Path, cwd: Path = tmp_path, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=600)
        assert not ok or done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    where = run(python, "-c", "import perfdoc; print(perfdoc.__file__)", cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(env_dir), f"perfdoc came from {where}, not from the wheel in the venv"

    repo = tmp_path / "部门仓库"
    run(bin_dir / "perfdoc", "init", repo)
    # The installed perfdoc came from a local wheel: the repository carries it and installs from it, offline.
    assert (repo / "vendor" / wheel.name).read_bytes() == wheel.read_bytes()
    assert f"./vendor/{wheel.name}" in (repo / "requirements.txt").read_text(encoding="utf-8")
    run(python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "-r", "requirements.txt", cwd=repo)

    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-q", "-m", "初始化", cwd=repo)
    built = run("perfdoc", "build", cwd=repo)
    assert {p.suffix for p in (repo / "build").iterdir()} >= {".pdf", ".docx", ".xlsx"}, built.stderr
    assert _git(repo, "status", "--porcelain") == ""  # build/ is ignored

    project = repo / "data" / "projects" / "100001001.yaml"
    project.write_text(project.read_text(encoding="utf-8").replace("budget: 50", "budget: 60"), encoding="utf-8")
    diff = run("perfdoc", "diff", "HEAD", cwd=repo).stdout
    assert re.search(r"预算数: 50(\.00)? → 60(\.00)? 万元", diff), diff

    pre_commit = shutil.which("pre-commit", path=env["PATH"])
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (python3 -m pip install pre-commit): the hook was not run")
    run("git", "add", "-A", cwd=repo)
    hooked = run(pre_commit, "run", "--all-files", cwd=repo)
    assert "perfdoc check" in hooked.stdout and "Passed" in hooked.stdout, hooked.stdout
    project.write_text(project.read_text(encoding="utf-8").replace("budget: 60", "budget: 很多"), encoding="utf-8")
    run("git", "add", "-A", cwd=repo)
    failed = run(pre_commit, "run", "--all-files", cwd=repo, ok=False)
    assert failed.returncode == 1 and "100001001.yaml" in failed.stdout, failed.stdout


def test_perfdoc_url_that_pip_cannot_use_is_refused(tmp_path, capsys):
    assert cli_main(["init", str(tmp_path / "repo"), "--perfdoc-url", "git@git.example.gov.cn:tools/perfdoc.git"]) == 1
    assert "ssh://" in capsys.readouterr().err and not (tmp_path / "repo").exists()


def test_readme_init_examples_are_valid_commands():
    from perfdoc.cli import _parser

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## 在自己的仓库里用"):]
    examples = [line.split("  #")[0].split() for line in section.splitlines() if line.startswith("perfdoc init ")]
    assert len(examples) == 2
    for words in examples:
        args = _parser().parse_args(words[1:])
        assert args.command == "init" and args.directory.name == "我局绩效目标"
    assert "## 在 Windows 上（WSL）" in readme
    assert readme.splitlines()[3:5] == [
        "bash setup.sh && python3 build.py                 # 安装并用 data/ 生成文件 · set up, build the shipped document",
        "bash setup.sh --test && python3 -m pytest -q      # 安装并运行测试 · set up, run the tests"]
