"""perfdoc: 部门预算绩效目标 as code.

Pipeline, one module per stage:
    loader (YAML → plain data with source positions)
    → validator (schema + semantic checks → diagnostics)
    → model (immutable dataclasses the renderers consume)
    → render (Jinja templates → HTML → PDF / DOCX)
    → output (atomic writes).
"""

__version__ = "0.1.0"
