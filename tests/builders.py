"""In-memory builders for the fast test layer: models, fonts and layouts without a CLI build.

A unit test describes only what it is about (`make_project(indicators={...})`) and gets the
same immutable model objects the renderers consume; `layout_of` runs the real templates and the
real HTML read-back, with a fixed, machine-independent font set, in a few milliseconds.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from perfdoc.data.model import Department, Document, Project, build_department, build_document, build_project
from perfdoc.data.profile import DEFAULT_PROFILE, Profile, load_profile, profile_path
from perfdoc.render.fonts import ROLE_CANDIDATES, Face, FontChoice, FontSet
from perfdoc.render.html import render_html
from perfdoc.render.readback import Layout, read_layout

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"

# The open faces Debian ships, by role: what the shipped build uses on a machine without the
# official fonts. Tests that only look at HTML or layout use these names whatever is installed.
FIXED_FAMILIES = {"fangsong": ("Noto Serif CJK SC", False), "xiaobiaosong": ("Noto Serif CJK SC", True),
                  "heiti": ("Noto Sans CJK SC", False), "kaiti": ("LXGW WenKai", False),
                  "songti": ("Noto Serif CJK SC", False)}


def fixed_fonts() -> FontSet:
    """A FontSet naming fixed families (no fontconfig call): HTML output is the same on any machine."""
    choices = []
    for role, (label, _candidates) in ROLE_CANDIDATES.items():
        family, bold = FIXED_FAMILIES[role]
        face = Face((family,), bold, f"/fonts/{family.replace(' ', '')}.ttc", 0)
        choices.append(FontChoice(role, label, family, bold, False, face))
    return FontSet(tuple(choices), None)


@cache
def profile(name: str = DEFAULT_PROFILE) -> Profile:
    return load_profile(profile_path(name))


def indicator(name: str = "指标", description: str = "描述", value: str = "100%",
              basis: str = "年度计划") -> dict[str, str]:
    return {"name": name, "description": description, "value": value, "basis": basis}


def project_data(code: str = "142001001", *, name: str = "测试项目", budget: int | str = 10,
                 fiscal_funds: int | str | None = None, use: str = "主要用于测试。",
                 plan: tuple[int | None, ...] = (25, 50, 75, 100), goal: str = "完成测试目标",
                 indicators: dict[str, dict[str, list[dict[str, str]]]] | None = None) -> dict[str, Any]:
    """A project as the loader would hand it over (amounts as Decimal, plan by checkpoint)."""
    checkpoints = profile().checkpoints
    if indicators is None:
        indicators = {"产出指标": {"数量指标": [indicator("数量")]}, "效果指标": {"社会效益指标": [indicator("效益")]},
                      "满意度指标": {"服务对象满意度指标": [indicator("满意度", value="≥95%")]}}
    return {
        "code": code, "name": name, "budget": Decimal(str(budget)),
        "fiscal_funds": Decimal(str(budget if fiscal_funds is None else fiscal_funds)), "use": use,
        "spending_plan": {point: None if value is None else Decimal(value) for point, value in zip(checkpoints, plan, strict=False)},
        "goal": goal, "indicators": indicators,
    }


def make_project(code: str = "142001001", **fields: Any) -> Project:
    return build_project(project_data(code, **fields), profile(), f"projects/{code}.yaml")


def department_data(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "department": "测试分局", "year": 2023, "title": "2023年部门预算绩效目标",
        "overall_target": ["总体目标第一段。"],
        "sub_targets": [{"heading": "分项一。", "target": "目标一", "indicators": "指标一"}],
        "measures": ["措施一。"],
    }
    data.update(fields)
    return data


def make_department(**fields: Any) -> Department:
    return build_department(department_data(**fields), DATA / "department.yaml")


def make_document(*projects: Project, department: Department | None = None) -> Document:
    return build_document(department or make_department(), list(projects or [make_project()]), profile())


# Amounts as their authors wrote them, trailing zeros included: what the workbook must keep.
WRITTEN_AMOUNTS = {"142001001": "135.00", "142001002": "20.1", "142001003": "1174", "142001004": "0.50"}


def written_decimals_document() -> Document:
    """Four projects whose amounts carry 2, 1, 0 and 2 written decimals, each with a weight of 12.50;
    amounts as the loader hands them over (`1174` an int, `135.00` a Decimal)."""
    rows = {"产出指标": {"数量指标": [{**indicator("辅警人数"), "weight": Decimal("12.50")}]},
            "效果指标": {"社会效益指标": [indicator("效益")]}, "满意度指标": {"服务对象满意度指标": [indicator("满意度")]}}
    projects = []
    for code, amount in WRITTEN_AMOUNTS.items():
        loaded = int(amount) if amount.isdigit() else Decimal(amount)
        data = {**project_data(code, indicators=rows), "budget": loaded, "fiscal_funds": loaded}
        projects.append(build_project(data, profile(), f"projects/{code}.yaml"))
    return make_document(*projects)


@lru_cache(maxsize=1)
def seed_document() -> Document:
    """The shipped data as a model (loaded once per test session)."""
    from perfdoc.build.pipeline import load_document

    document, checked = load_document(DATA)
    assert document is not None, [d.format() for d in checked.errors]
    return document


def layout_of(document: Document, fonts: FontSet | None = None) -> tuple[str, Layout]:
    """The real templates' HTML for `document`, and the layout read back from it."""
    html = render_html(document, fonts or fixed_fonts())
    return html, read_layout(html)


# ---------------------------------------------------------------------------------------------
# The year's later stages (perfdoc.data.stages)

STAGE_INDICATORS = {
    "产出指标": {"数量指标": [indicator("辅警人数", value="183人")], "质量指标": [indicator("验收合格率", value="≥95%")],
             "时效指标": [indicator("响应时间", value="≤3天")], "成本指标": [indicator("运行成本", value="≤43.2万元")]},
    "效果指标": {"社会效益指标": [indicator("治安环境", value="明显改善")]},
    "满意度指标": {"服务对象满意度指标": [indicator("满意度", value="≥90%")]},
}


def stage_project(**fields: Any) -> Project:
    """A project whose indicators exercise every kind of target: =, ≥, ≤ (reverse), an amount, a
    qualitative one; default weights 12.5 × 4 (产出), 30 (效果), 10 (满意度), with 10 for execution."""
    return make_project(indicators=fields.pop("indicators", STAGE_INDICATORS), **fields)


def make_evaluation(data: dict[str, Any], project: Project | None = None, rules: Any = None):
    """(Evaluation, findings) for a self-evaluation file's data, joined to `project`."""
    from perfdoc.data.scoring import NATIONAL
    from perfdoc.data.stages import build_evaluation

    project = project or stage_project()
    return build_evaluation({"code": project.code, **data}, project, rules or NATIONAL, f"evaluation/{project.code}.yaml")


def make_monitoring(data: dict[str, Any], project: Project | None = None, rules: Any = None):
    """(Monitoring, findings) for a monitoring file's data, joined to `project`."""
    from perfdoc.data.scoring import NATIONAL
    from perfdoc.data.stages import build_monitoring

    project = project or stage_project()
    return build_monitoring({"code": project.code, **data}, project, rules or NATIONAL, f"monitoring/{project.code}.yaml")
