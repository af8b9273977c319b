"""Review: what really changed between two versions of the data, through the model, not the text.

A reviewer in the budget office wants "142001014 智慧平安社区运维费: 预算数 61.53 → 70.00 万元
(+8.47)", not a list of changed YAML lines. Both sides are loaded and validated like a build
(a revision is read with plain `git`: perfdoc.review.git), then compared: projects added / removed / renamed (a new
code with the same name), changed fields with old → new and the difference for amounts, indicator
rows matched by 一级 / 二级 / 三级 (not by position), department text as a character-level diff
(Chinese has no spaces between words), and the totals. The year's later stages (data/evaluation/,
data/monitoring/) are compared through their scored records: changed actuals, weights and scores
("得分: 9.00 → 10.00"), the execution rate and the 总分. perfdoc.review.report writes the result.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from perfdoc.build.pipeline import load_document
from perfdoc.data.fields import (
    DEPARTMENT_FIELDS,
    EVALUATION_FIELDS,
    EVALUATION_INDICATOR_FIELDS,
    INDICATOR_FIELDS,
    MONITORING_FIELDS,
    MONITORING_INDICATOR_FIELDS,
    PROJECT_FIELDS,
    SUB_TARGET_FIELDS,
    stage_text,
)
from perfdoc.data.model import Document, IndicatorKey, Project, numbered_key
from perfdoc.data.stage_check import StageCheck
from perfdoc.data.stages import Evaluation, Monitoring
from perfdoc.data.text import amount_text, value_text
from perfdoc.diagnostics import UserError, unlocated
from perfdoc.review.git import export_revision

WORKING_TREE = "工作区"


def load_side(data_dir: Path, revision: str | None) -> tuple[Document, StageCheck]:
    """The Document at `revision` (None: the working tree) and its stage records; invalid data is
    reported, not crashed on."""
    label = revision or WORKING_TREE
    with tempfile.TemporaryDirectory(prefix="perfdoc-diff-") as temp:
        source = export_revision(data_dir, revision, Path(temp)) if revision else data_dir
        document, checked = load_document(source)
        if document is None:
            shown = f"{label}:{data_dir.as_posix().rstrip('/')}"
            errors = [replace(d, file=d.file.replace(str(source), shown)) for d in checked.errors]
            raise UserError([*errors, unlocated(f"{label} 的数据没有通过检查，无法比较（{len(errors)} 个错误）")])
        return document, checked.stages


# ------------------------------------------------------------------------------------------
# The differences


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str
    delta: Decimal | None = None  # for amounts


@dataclass(frozen=True)
class RowChange:
    kind: str  # added / removed / changed
    key: tuple[str, str, str]  # 一级, 二级, 三级
    changes: tuple[FieldChange, ...] = ()
    values: tuple[str, ...] = ()  # the row's filled fields in table order (added / removed rows)


@dataclass(frozen=True)
class ProjectChange:
    kind: str  # added / removed / changed / renamed
    code: str
    name: str
    old_code: str = ""
    budget: Decimal = Decimal(0)
    fields: tuple[FieldChange, ...] = ()
    rows: tuple[RowChange, ...] = ()
    note: str = ""  # e.g. which file an added project with an already used code is in


@dataclass(frozen=True)
class TextChange:
    where: str
    old: str
    new: str


@dataclass(frozen=True)
class StageChange:
    """A project's self-evaluation or monitoring, compared: its own fields, its indicators, its total."""

    stage: str  # evaluation / monitoring
    kind: str  # added / removed / changed
    code: str
    name: str
    fields: tuple[FieldChange, ...] = ()
    rows: tuple[RowChange, ...] = ()
    total: FieldChange | None = None  # 总分, when it changed (or the total of an added / removed one)


@dataclass
class DocumentDiff:
    old_label: str
    new_label: str
    projects: list[ProjectChange] = field(default_factory=list)
    department: list[TextChange] = field(default_factory=list)
    totals: list[FieldChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. one code in two files: the pairing is a guess
    stages: list[StageChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.projects or self.department or self.stages or any(t.old != t.new for t in self.totals))


def _amount_change(label: str, old: Decimal, new: Decimal) -> FieldChange | None:
    if old == new:
        return None
    return FieldChange(label, amount_text(old), amount_text(new), new - old)


def _text_change(label: str, old: str, new: str) -> FieldChange | None:
    return None if old == new else FieldChange(label, old, new)


Labels = dict[tuple[str, str], str]


def _label(labels: Labels, kind: str, key: str) -> str:
    """What the table calls a field (its profile's caption), else the field's usual name."""
    fields = INDICATOR_FIELDS if kind == "indicator" else PROJECT_FIELDS
    return labels.get((kind, key), fields[key].label if key in fields else key)


def _rows(project: Project) -> dict[tuple[str, str, str], dict[str, str]]:
    """Every indicator row of every block by (一级, 二级, 三级), its filled fields as text."""
    seen: dict = {}
    rows = {}
    for block in project.blocks:
        prefix = "" if block.source == "annual" else "长期："
        for r in block.rows:
            key = numbered_key(prefix + r.level1, r.level2, r.indicator.name, seen)
            rows[key] = {k: value_text(v) for k, v in r.indicator.as_dict().items() if k != "name"}
    return rows


def _row_changes(old: Project, new: Project, labels: Labels) -> list[RowChange]:
    old_rows, new_rows = _rows(old), _rows(new)
    changes = []
    for key, values in old_rows.items():
        if key not in new_rows:
            changes.append(RowChange("removed", key, values=tuple(values.values())))
    for key, values in new_rows.items():
        if key not in old_rows:
            changes.append(RowChange("added", key, values=tuple(values.values())))
        elif old_rows[key] != values:
            before = old_rows[key]
            fields = [c for c in (_text_change(_label(labels, "indicator", k), before.get(k, ""), values.get(k, ""))
                                  for k in INDICATOR_FIELDS if k in before or k in values) if c]
            changes.append(RowChange("changed", key, tuple(fields)))
    return changes


def _project_fields(old: Project, new: Project, labels: Labels) -> list[FieldChange]:
    """Every structured fact, the plan and each block's goal: old → new, amounts with their difference."""
    candidates: list[FieldChange | None] = []
    # perfdoc.data.fields' own, then any a profile declares (项目来源 …) that either side fills in.
    own = [key for project in (old, new) for key, _ in project.facts if key not in PROJECT_FIELDS]
    for key in [*PROJECT_FIELDS, *dict.fromkeys(own)]:
        spec = PROJECT_FIELDS.get(key)
        before, after = old.fact(key), new.fact(key)
        label = _label(labels, "record", key)
        if spec is not None and spec.kind == "amount" and before is not None and after is not None:
            candidates.append(_amount_change(label, Decimal(before), Decimal(after)))
        else:
            candidates.append(_text_change(label, value_text(before) or "空", value_text(after) or "空"))
    old_plan = {p.label: p.text for p in old.spending_plan}
    candidates += [_text_change(f"资金支出计划 {p.label}", old_plan.get(p.label) or "空", p.text or "空")
                   for p in new.spending_plan]
    old_goals = {b.source: b.goal for b in old.blocks}
    for block in new.blocks:
        name = "绩效目标" if block.source == "annual" else "长期目标"
        candidates.append(_text_change(name, old_goals.get(block.source, ""), block.goal))
    return [c for c in candidates if c]


def _department_changes(old: Document, new: Document) -> list[TextChange]:
    def texts(doc: Document) -> dict[str, str]:
        d = doc.department
        label = {key: field.label for key, field in DEPARTMENT_FIELDS.items()}
        items = {label["department"]: d.name, label["title"]: d.title, label["year"]: str(d.year)}
        items.update({f"{label['overall_target']} 第{i}段": t for i, t in enumerate(d.overall_target, 1)})
        for item in d.sub_targets:
            for key, sub_field in SUB_TARGET_FIELDS.items():
                items[f"{label['sub_targets']}（{item.number}）{sub_field.label}"] = getattr(item, key)
        items.update({f"{label['measures']}（{m.number}）": m.text for m in d.measures})
        return items

    before, after = texts(old), texts(new)
    keys = list(before) + [k for k in after if k not in before]
    return [TextChange(k, before.get(k, ""), after.get(k, "")) for k in keys if before.get(k) != after.get(k)]


def _file_name(project: Project) -> str:
    return Path(project.source_file).name


def _match(before: list[Project], after: list[Project], key: Callable[[Project], str],
           pairs: list[tuple[Project, Project]]) -> tuple[list[Project], list[Project]]:
    """Pair projects with equal `key` (first come, first paired) into `pairs`; returns the rest of each side."""
    rest = list(after)
    unmatched = []
    for project in before:
        twin = next((other for other in rest if key(other) == key(project)), None)
        if twin is None:
            unmatched.append(project)
        else:
            pairs.append((project, twin))
            rest.remove(twin)
    return unmatched, rest


def _by_code(projects: tuple[Project, ...]) -> dict[str, list[Project]]:
    groups: dict[str, list[Project]] = {}
    for project in projects:
        groups.setdefault(project.code, []).append(project)
    return groups


def _duplicate_warnings(groups: dict[str, list[Project]], label: str) -> list[str]:
    return [f"{label}：项目编码 {code} 出现在 {len(projects)} 个文件中（{'、'.join(_file_name(p) for p in projects)}）"
            f"——复制文件后忘了改 code？每个项目应有自己的编码，且与文件名一致；下面按文件名配对"
            for code, projects in sorted(groups.items()) if len(projects) > 1]


def _duplicate_note(project: Project, groups: dict[str, list[Project]]) -> str:
    """For an added / removed project whose code is used by another file on its side."""
    others = [_file_name(p) for p in groups[project.code] if p is not project]
    return f"文件 {_file_name(project)}，编码与 {'、'.join(others)} 重复" if others else ""


def _pair_projects(old_groups: dict[str, list[Project]], new_groups: dict[str, list[Project]]
                   ) -> tuple[list[tuple[Project, Project]], list[tuple[Project, Project]], list[Project], list[Project]]:
    """Same code → same project; (kept, renamed, removed, added).

    Only when one side has the code in several files (a copied file whose `code` was not changed)
    are they told apart, by file name and then by name. What is left unmatched may be a changed
    code (改编码): the same file name, or else the same project name."""
    kept: list[tuple[Project, Project]] = []
    removed: list[Project] = []
    added: list[Project] = []
    for code in sorted(old_groups.keys() | new_groups.keys()):
        before, after = old_groups.get(code, []), new_groups.get(code, [])
        if len(before) == 1 and len(after) == 1:
            kept.append((before[0], after[0]))
            continue
        before, after = _match(before, after, _file_name, kept)
        before, after = _match(before, after, lambda p: p.name, kept)
        removed += before
        added += after
    renamed: list[tuple[Project, Project]] = []
    removed, added = _match(removed, added, _file_name, renamed)
    removed, added = _match(removed, added, lambda p: p.name, renamed)
    return kept, renamed, removed, added


# ------------------------------------------------------------------------------------------
# The stages: each value as the table would print it, with its number where a difference means something

Value = tuple[str, Decimal | None]  # (text, number)
Shown = dict[str, Value]  # label → value
StageShown = tuple[Shown, dict[IndicatorKey, Shown], Value]  # the file's fields, its rows, its total


def _amount_value(value: Decimal | None) -> Value:
    return ("", None) if value is None else (amount_text(value), value)


def _percent_value(value: Decimal | None) -> Value:
    return ("", None) if value is None else (f"{value}%", None)


def _points_value(value: Decimal | None) -> Value:
    return ("", None) if value is None else (amount_text(value), value)


def _text_value(text: str) -> Value:
    return text, None


def _evaluation_shown(evaluation: Evaluation) -> StageShown:
    label = {key: f.label for key, f in EVALUATION_FIELDS.items()}
    fields: Shown = {
        label["initial_budget"]: _amount_value(evaluation.initial_budget),
        label["annual_budget"]: _amount_value(evaluation.annual_budget),
        label["executed"]: _amount_value(evaluation.executed),
        "执行率": _percent_value(evaluation.execution_rate),
        "预算执行率得分": _points_value(evaluation.execution_score.points if evaluation.execution_score else None),
        label["execution_reason"]: _text_value(evaluation.execution_reason),
        label["goal_achieved"]: _text_value(evaluation.goal_achieved),
    }
    row_label = {key: f.label for key, f in EVALUATION_INDICATOR_FIELDS.items()}
    rows = {i.key: {row_label["actual"]: _text_value(i.actual), row_label["weight"]: _points_value(i.weight),
                    row_label["score"]: _points_value(i.points),
                    row_label["score_reason"]: _text_value(i.override.rule.removeprefix("人工评分：") if i.override else ""),
                    row_label["deviation"]: _text_value(i.deviation)}
            for i in evaluation.indicators}
    return fields, rows, _points_value(evaluation.total)


def _monitoring_shown(monitoring: Monitoring) -> StageShown:
    label = {key: stage_text(f.label, monitoring.period) for key, f in MONITORING_FIELDS.items()}
    fields: Shown = {
        label["initial_budget"]: _amount_value(monitoring.initial_budget),
        label["executed_to_date"]: _amount_value(monitoring.executed_to_date),
        f"{monitoring.period}执行率": _percent_value(monitoring.rate_to_date),
        label["forecast"]: _amount_value(monitoring.forecast),
        "预计全年执行率": _percent_value(monitoring.forecast_rate),
        label["execution_reason"]: _text_value(monitoring.execution_reason),
        label["progress"]: _text_value(monitoring.progress),
    }
    row_label = {key: stage_text(f.label, monitoring.period) for key, f in MONITORING_INDICATOR_FIELDS.items()}
    rows = {i.key: {row_label["done"]: _text_value(i.done), row_label["expected"]: _text_value(i.expected),
                    row_label["causes"]: _text_value("、".join(i.causes)), row_label["deviation"]: _text_value(i.deviation),
                    row_label["likelihood"]: _text_value(i.likelihood), row_label["remark"]: _text_value(i.remark)}
            for i in monitoring.indicators}
    return fields, rows, _text_value("")


def _shown_changes(before: Shown, after: Shown) -> list[FieldChange]:
    changes = []
    for label in [*before, *(k for k in after if k not in before)]:
        (old, old_number), (new, new_number) = before.get(label, ("", None)), after.get(label, ("", None))
        if old != new:
            delta = new_number - old_number if old_number is not None and new_number is not None else None
            changes.append(FieldChange(label, old or "空", new or "空", delta))
    return changes


def _total_change(before: Value, after: Value) -> FieldChange | None:
    return next(iter(_shown_changes({"总分": before}, {"总分": after})), None)


def _shown(record: Evaluation | Monitoring) -> StageShown:
    return _evaluation_shown(record) if isinstance(record, Evaluation) else _monitoring_shown(record)


def _stage_changes(stage: str, before: Sequence[Evaluation | Monitoring],
                   after: Sequence[Evaluation | Monitoring]) -> list[StageChange]:
    """Each project's stage file old → new, paired by project code; rows by their 一级/二级/三级 key."""
    old = {record.code: record for record in before}
    new = {record.code: record for record in after}
    changes = []
    for code in sorted(old.keys() | new.keys()):
        if code not in old or code not in new:
            record = new.get(code) or old[code]
            total_text = _shown(record)[2][0]
            kind = "added" if code in new else "removed"
            summary = FieldChange("总分", total_text, total_text) if total_text else None
            changes.append(StageChange(stage, kind, code, record.project.name, total=summary))
            continue
        old_fields, old_rows, old_total = _shown(old[code])
        new_fields, new_rows, new_total = _shown(new[code])
        rows = [RowChange("removed", key) for key in old_rows if key not in new_rows]
        rows += [RowChange("added", key) for key in new_rows if key not in old_rows]
        rows += [RowChange("changed", key, tuple(found)) for key in new_rows if key in old_rows
                 if (found := _shown_changes(old_rows[key], new_rows[key]))]
        fields = _shown_changes(old_fields, new_fields)
        total_change = _total_change(old_total, new_total)
        if fields or rows or total_change:
            changes.append(StageChange(stage, "changed", code, new[code].project.name, tuple(fields), tuple(rows),
                                       total_change))
    return changes


def compare(old: Document, new: Document, old_label: str, new_label: str, *,
            old_stages: StageCheck | None = None, new_stages: StageCheck | None = None) -> DocumentDiff:
    diff = DocumentDiff(old_label, new_label)
    before, after = old_stages or StageCheck(), new_stages or StageCheck()
    diff.stages = (_stage_changes("monitoring", before.monitorings, after.monitorings)
                   + _stage_changes("evaluation", before.evaluations, after.evaluations))
    labels = {**{("record", key): field.label for key, field in new.profile.record_fields.items()},
              **new.profile.field_labels()}
    old_groups, new_groups = _by_code(old.projects), _by_code(new.projects)
    diff.warnings = _duplicate_warnings(old_groups, old_label) + _duplicate_warnings(new_groups, new_label)
    kept, renamed, removed, added = _pair_projects(old_groups, new_groups)
    changes: list[ProjectChange] = []
    for a, b in kept:
        fields, rows = _project_fields(a, b, labels), _row_changes(a, b, labels)
        if fields or rows:
            changes.append(ProjectChange("changed", b.code, b.name, budget=b.budget, fields=tuple(fields),
                                         rows=tuple(rows), note=_duplicate_note(b, new_groups)))
    for a, b in renamed:
        changes.append(ProjectChange("renamed", b.code, b.name, old_code=a.code, budget=b.budget,
                                     fields=tuple(_project_fields(a, b, labels)),
                                     rows=tuple(_row_changes(a, b, labels))))
    changes += [ProjectChange("added", p.code, p.name, budget=p.budget, note=_duplicate_note(p, new_groups))
                for p in added]
    changes += [ProjectChange("removed", p.code, p.name, budget=p.budget, note=_duplicate_note(p, old_groups))
                for p in removed]
    diff.projects = sorted(changes, key=lambda c: c.code)
    diff.department = _department_changes(old, new)
    diff.totals = [
        FieldChange("项目数", str(len(old.projects)), str(len(new.projects)), Decimal(len(new.projects) - len(old.projects))),
        FieldChange("预算数合计", amount_text(old.total_budget), amount_text(new.total_budget),
                    new.total_budget - old.total_budget),
        FieldChange("财政资金合计", amount_text(old.total_fiscal_funds), amount_text(new.total_fiscal_funds),
                    new.total_fiscal_funds - old.total_fiscal_funds),
    ]
    return diff


def diff_revisions(data_dir: Path, old_revision: str, new_revision: str | None) -> DocumentDiff:
    old, old_stages = load_side(data_dir, old_revision)
    new, new_stages = load_side(data_dir, new_revision)
    return compare(old, new, old_revision, new_revision or WORKING_TREE, old_stages=old_stages, new_stages=new_stages)
