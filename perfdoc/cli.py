"""Command line: `python build.py [command] …` and `perfdoc [command] …` are the same program.

Exit status: 0 success, 1 problems in the user's data or environment, 2 usage errors,
3 an internal error (a bug in perfdoc: one line, and `--debug` for the traceback).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from perfdoc import __version__
from perfdoc.diagnostics import UserError

EXIT_OK, EXIT_USER, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
COMMANDS = ("build", "check", "diff", "new", "new-stage", "new-year", "schema", "profiles", "serve", "import", "init", "doctor")

DESCRIPTION = """\
perfdoc：把部门预算绩效目标（项目支出绩效目标表）写成 YAML 数据，检查后生成 PDF、DOCX 与 Excel。
perfdoc: the departmental budget performance-target document as code (YAML → checks → PDF/DOCX/XLSX).

命令（commands）:
  build     检查数据并生成文件（默认命令）              validate, then build the document (default)
  check     只检查数据，不生成文件                      validate only
  diff      比较两个版本的数据（金额、指标、合计）      what changed between two revisions
  new       按表格格式生成新项目文件的骨架              a skeleton for a new project
  new-stage 为每个项目生成绩效自评或运行监控的骨架      skeletons for the self-evaluation or the monitoring
  new-year  复制数据为新一年度（改年度、清空支出计划）  roll the data forward to a new year
  schema    按表格格式重新生成 schema.json              regenerate schema.json from the table format
  profiles  列出可用的表格格式                          list the table formats (profiles)
  serve     在浏览器里实时预览，保存即更新              live preview in the browser, updated on save
  import    从去年的 Word / Excel 文件生成数据目录      last year's .docx/.xlsx into a data folder
  init      为本单位新建一个 perfdoc 仓库（数据、CI）   a department's own repository, ready to commit
  doctor    检查这台机器缺什么、怎么装                  what this machine has, lacks, and how to fix it

退出码（exit status）: 0 成功 · 1 数据有误 · 2 用法错误 · 3 内部错误
"""


class _ChineseParser(argparse.ArgumentParser):
    """argparse with Chinese-first usage errors (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: 用法错误（usage error）: {message}\n")
        sys.exit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    common = _ChineseParser(add_help=False)
    common.add_argument("--data", type=Path, default=Path("data"), metavar="DIR",
                        help="数据目录（data directory），默认 data/")
    common.add_argument("--debug", action="store_true", help="内部错误时打印完整回溯（show tracebacks）")

    parser = _ChineseParser(prog="perfdoc", description=DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"perfdoc {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_ChineseParser, metavar="command")

    build = sub.add_parser("build", parents=[common], help="检查并生成文件（默认）",
                           description="检查数据，然后生成 HTML、PDF、DOCX 和 XLSX。Validate, then build the document (HTML, PDF, DOCX, XLSX).")
    build.add_argument("--out", type=Path, default=Path("build"), metavar="DIR",
                       help="输出目录（output directory），默认 build/")
    build.add_argument("--strict", action="store_true", help="有警告也视为失败（warnings fail the build）")
    build.add_argument("--fonts", type=Path, default=None, metavar="DIR",
                       help="自备字体目录（如仿宋_GB2312），优先于系统字体（your own font files）")
    build.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                       help="缓存目录，默认 <输出目录>/.perfdoc-cache，可随时删除（build cache, safe to delete）")
    build.add_argument("--no-cache", action="store_true", help="不读也不写缓存（render everything afresh）")
    build.add_argument("--templates", type=Path, default=None, metavar="DIR",
                       help="模板目录，默认仓库的 templates/（your own copy of the templates）")
    build.add_argument("--reference-docx", type=Path, default=None, metavar="FILE",
                       help="参考 Word 文档：其中同名的样式优先使用（styles from a reference .docx）")
    # Accepted so that scripts written for earlier versions keep working; a note says it is ignored.
    build.add_argument("--projects-per-part", type=int, default=None, help=argparse.SUPPRESS)

    check = sub.add_parser("check", parents=[common], help="只检查数据",
                           description="只检查数据，不生成文件。Validate only.")
    check.add_argument("--strict", action="store_true", help="有警告也以退出码 1 结束（warnings exit 1）")
    check.add_argument("--lint", action="store_true",
                       help="另外提示不可衡量的指标值、没有单位的数字、过时的年份（hints; exit status unchanged）")

    diff = sub.add_parser("diff", parents=[common], help="比较两个版本的数据",
                          description="比较某个 git 修订（默认 HEAD）与工作区（或 --to 修订）的数据：项目增删、"
                                      "字段新旧值、金额差额、指标行、部门文字和合计。"
                                      "Compare the data at a git revision with the working tree.")
    diff.add_argument("revision", nargs="?", default="HEAD", metavar="REV", help="旧版本，默认 HEAD（如 main）")
    diff.add_argument("--to", default=None, metavar="REV", help="新版本，默认工作区（working tree）")
    diff.add_argument("--format", choices=("text", "md"), default="text", help="text（终端）或 md（合并请求评论）")
    diff.add_argument("--exit-code", action="store_true", help="有变更时退出码为 1（like git diff）")

    new = sub.add_parser("new", parents=[common], help="生成新项目文件",
                         description="写出 data/projects/<编码>.yaml 骨架，不覆盖已有文件。Scaffold a project file.")
    new.add_argument("code", metavar="CODE", help="项目编码，如 142001020（表格格式不用编码时：文件名，如 农村供水维修）")
    new.add_argument("--name", default="", help="预算项目名称")

    new_stage = sub.add_parser("new-stage", parents=[common], help="生成绩效自评或运行监控的骨架",
                               description="为每个项目写出 evaluation/<编码>.yaml（年终绩效自评）或 monitoring/<编码>.yaml"
                                           "（年中绩效运行监控）的骨架：每个年度指标按 一级 → 二级 → 三级 列出，指标值写在注释里，"
                                           "年初预算数和分值按绩效目标表和评分规则填好，实际完成值空着。已有的文件保留原样"
                                           "（--force 则重新生成）。Write a self-evaluation or monitoring skeleton for every project.")
    new_stage.add_argument("stage", type=_stage, metavar="STAGE",
                           help="evaluation（绩效自评，也可写 自评）或 monitoring（运行监控，也可写 监控）")
    new_stage.add_argument("--force", action="store_true",
                           help="已有的文件也重新生成，其中填写的内容会清掉（overwrite existing files）")

    new_year = sub.add_parser("new-year", parents=[common], help="复制数据为新一年度",
                              description="把数据目录（department.yaml、projects/、profiles/、scoring/）复制到 --to 指定的新文件夹："
                                          "年度（及标题里的年份）改为新年度，编码和指标不变，资金支出计划的值清空（键保留），"
                                          "注释保留；列出写到往年的文字。绩效自评和运行监控（evaluation/、monitoring/）不复制："
                                          "实际完成值不带到新年度。不覆盖已有的非空文件夹。"
                                          "Copy the data folder to a new budget year.")
    new_year.add_argument("year", type=_year, metavar="YEAR", help="新年度，如 2024")
    new_year.add_argument("--to", type=Path, required=True, metavar="NEWDIR", help="新数据目录（不存在或为空）")

    schema = sub.add_parser("schema", parents=[common], help="重新生成 schema.json",
                            description="按数据目录所用的表格格式（department.yaml 的 profile）重新生成 schema.json。"
                                        "Regenerate schema.json for the data folder's profile.")
    schema.add_argument("--output", type=Path, default=None, metavar="FILE",
                        help="写到哪个文件，默认数据目录旁的 schema.json（项目文件第一行的 ../../schema.json 指向它）")
    sub.add_parser("profiles", parents=[common], help="列出可用的表格格式",
                   description="列出 perfdoc 自带的表格格式和数据目录 profiles/ 下自己写的格式，每行一个：名称、说明。"
                               "List the shipped and local table formats.")
    serve = sub.add_parser("serve", parents=[common], help="在浏览器里实时预览",
                           description="监视数据目录和模板目录，在 http://127.0.0.1:端口/ 显示预览，每次保存后自动更新；"
                                       "数据有错时在上次正确的预览上列出错误；PDF 和 DOCX 在后台重新生成。按 Ctrl-C 停止。"
                                       "Live preview in the browser, updated on every save.")
    serve.add_argument("--port", type=_port, default=None, metavar="N",
                       help="端口（port），默认 8765；0 表示任选一个空闲端口")
    serve.add_argument("--out", type=Path, default=Path("build"), metavar="DIR",
                       help="PDF 和 DOCX 的输出目录（output directory），默认 build/")
    serve.add_argument("--fonts", type=Path, default=None, metavar="DIR",
                       help="自备字体目录（your own font files）")
    imports = sub.add_parser("import", parents=[common], help="从 Word / Excel 导入数据",
                             description="读取去年的 Word（.docx，.doc/.wps 经 LibreOffice）或 Excel（.xlsx，.et）文件，"
                                         "写出 department.yaml 和每个项目一个 projects/<编码>.yaml，并在数据目录旁写 schema.json。"
                                         "Import last year's Word or Excel document into a data folder.")
    imports.add_argument("files", nargs="+", type=Path, metavar="FILE", help="要导入的文件（可以几个）")
    imports.add_argument("--profile", default=None, metavar="NAME",
                         help="表格格式（默认按表头标签自动识别；python3 build.py profiles 列出全部）")
    imports.add_argument("--force", action="store_true", help="覆盖已有的数据文件和 schema.json，并删去 projects/ 中本次没有导入的项目文件（默认拒绝并且什么都不写）")
    imports.add_argument("--stage", type=_stage, default=None, metavar="STAGE",
                         help="导入填好的项目支出绩效自评表（evaluation，也可写 自评）：写出 evaluation/<编码>.yaml；"
                              "数据目录里要已有项目文件（import a filled 自评表 into evaluation/）")
    debug_only = _ChineseParser(add_help=False)
    debug_only.add_argument("--debug", action="store_true", help="内部错误时打印完整回溯（show tracebacks）")
    init = sub.add_parser("init", parents=[debug_only], help="新建本单位的 perfdoc 仓库",
                          description="在 DIR 里生成一个部门自己的仓库：data/（示例数据，或 --from 导入去年的文件）、"
                                      "schema.json、CI（GitHub Actions / GitLab CI）、pre-commit、VS Code 设置、"
                                      "固定 perfdoc 版本的 requirements.txt 和中文 README；并运行 git init。"
                                      "DIR 不是空文件夹时拒绝（--force 则替换同名文件并逐个列出）。"
                                      "Create a department's own repository.")
    init.add_argument("directory", type=Path, metavar="DIR", help="新仓库的文件夹，不存在或为空（the new repository's folder）")
    init.add_argument("--profile", default=None, metavar="NAME",
                      help="表格格式，默认 hebei-2023；perfdoc profiles 列出全部（table format）")
    init.add_argument("--from", dest="sources", nargs="+", type=Path, default=[], metavar="FILE",
                      help="从去年的 Word / Excel 文件导入数据（同 perfdoc import），而不是写示例数据（import instead of the example）")
    init.add_argument("--ci", choices=("github", "gitlab", "both"), default="both",
                      help="写哪种 CI 文件：github、gitlab 或 both（默认）（which CI files）")
    init.add_argument("--perfdoc-url", default=None, metavar="URL",
                      help="requirements.txt 从哪里安装 perfdoc：git 仓库地址（固定在 v版本 标签）、wheel 的网址或本地 "
                           "wheel 文件（复制进 vendor/）；默认按本机 perfdoc 的安装来源（where requirements.txt installs perfdoc from）")
    init.add_argument("--year", type=_year, default=None, metavar="YEAR", help="示例数据的年度，默认明年（the example's budget year）")
    init.add_argument("--force", action="store_true", help="DIR 不是空文件夹也生成：替换同名文件并列出，data/ 已有数据时保留（write into a non-empty folder）")
    doctor = sub.add_parser("doctor", parents=[common], help="检查这台机器",
                            description="列出 Python、WeasyPrint、Pango、HarfBuzz 子集化、每种字体用的是哪个（公文字体或开源替代，"
                                        "在哪里找到）、LibreOffice；缺什么就给出本系统安装它的命令。都齐备时退出码 0，否则 1。"
                                        "Check what this machine has and how to install what it lacks.")
    doctor.add_argument("--fonts", type=Path, default=None, metavar="DIR",
                        help="自备字体目录，默认用 --data 的 department.yaml 里的 fonts_dir（your own font files）")
    return parser


def _year(text: str) -> int:
    """A budget year as the schema allows it (2000–2100); anything else is a usage error."""
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise argparse.ArgumentTypeError(f"年度应为 2000–2100 之间的四位数字，如 2024，而不是“{text}”")
    return int(text)


_STAGE_NAMES = {"evaluation": "evaluation", "自评": "evaluation", "monitoring": "monitoring", "监控": "monitoring"}


def _stage(text: str) -> str:
    """evaluation / monitoring (or 自评 / 监控); anything else is a usage error."""
    if text not in _STAGE_NAMES:
        raise argparse.ArgumentTypeError(f"应为 evaluation（自评）或 monitoring（监控），而不是“{text}”")
    return _STAGE_NAMES[text]


def _port(text: str) -> int:
    """A TCP port (0–65535, 0 = any free one); anything else is a usage error, not a crash."""
    if not (text.isascii() and text.isdigit() and len(text) <= 5) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"端口应为 0–65535 之间的整数（0 表示任选一个空闲端口），而不是“{text}”")
    return int(text)


def _with_default_command(argv: list[str]) -> list[str]:
    """`perfdoc --data d` means `perfdoc build --data d`, as `python build.py` means build."""
    if any(a in ("-h", "--help", "--version") for a in argv[:1]):
        return argv
    if not argv or argv[0] not in COMMANDS:
        return ["build", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(_with_default_command(list(sys.argv[1:] if argv is None else argv)))
    try:
        if args.command == "check":
            from perfdoc.commands import run_check

            return run_check(args.data, strict=args.strict, lint=args.lint)
        if args.command == "diff":
            from perfdoc.commands import run_diff

            return run_diff(args.data, args.revision, args.to, fmt=args.format, exit_code=args.exit_code)
        if args.command == "new":
            from perfdoc.commands import run_new

            return run_new(args.data, args.code, args.name)
        if args.command == "new-stage":
            from perfdoc.commands import run_new_stage

            return run_new_stage(args.data, args.stage, force=args.force)
        if args.command == "new-year":
            from perfdoc.commands import run_new_year

            return run_new_year(args.year, args.data, args.to)
        if args.command == "profiles":
            from perfdoc.commands import run_profiles

            return run_profiles(args.data)
        if args.command == "import":
            from perfdoc.commands import run_import

            return run_import(args.files, args.data, args.profile, force=args.force, stage=args.stage)
        if args.command == "init":
            from perfdoc.commands import run_init

            return run_init(args.directory, profile=args.profile, sources=args.sources, ci=args.ci, force=args.force,
                            perfdoc_url=args.perfdoc_url, year=args.year)
        if args.command == "doctor":
            from perfdoc.commands import run_doctor

            return run_doctor(args.data, args.fonts)
        if args.command == "schema":
            from perfdoc.commands import run_schema

            return run_schema(args.data, args.output)
        if args.command == "serve":
            from perfdoc.commands import run_serve

            return run_serve(args.data, args.out, args.fonts, args.port)
        from perfdoc.build.options import BuildOptions
        from perfdoc.commands import run_build

        if args.projects_per_part is not None:
            print("提示: --projects-per-part 已不需要，忽略：PDF 现在每个项目单独排版、只重排改了的项目"
                  "（no longer needed: every project is laid out on its own）", file=sys.stderr)

        options = BuildOptions(data_dir=args.data, out_dir=args.out, fonts_dir=args.fonts,
                               reference_docx=args.reference_docx, cache_dir=args.cache_dir,
                               use_cache=not args.no_cache,
                               **({"templates_dir": args.templates} if args.templates else {}))
        return run_build(options, strict=args.strict)
    except UserError as exc:
        print(exc.text, file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("已中断（interrupted）", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into one line
        if args.debug:
            traceback.print_exc()
        else:
            print(f"perfdoc 内部错误（internal error）: {type(exc).__name__}: {exc}\n"
                  "这是 perfdoc 的缺陷，不是数据的问题；加 --debug 重新运行可看到详细回溯，请附在问题报告中。",
                  file=sys.stderr)
        return EXIT_INTERNAL
