"""perfdoc: 部门预算绩效目标 as code.

The pipeline, one package per stage, each importing only the ones below it (docs/internals.md;
import-linter checks it):

    data    YAML files → checked plain data with positions → the immutable model
    render  model → print grids → HTML (Jinja) → PDF (WeasyPrint), DOCX (python-docx), XLSX
    build   build(): cache, all-or-nothing output, no-change replay
    io | review | serve   import of Word/Excel | diff, new, new-year | the live preview
    commands, cli         what each command says and its exit status

Below them all: diagnostics (the one shape of a problem), resources (where perfdoc's own files
are) and looks (how paragraphs, cells and pages look).
"""

__version__ = "0.1.0"
