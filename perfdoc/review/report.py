"""A DocumentDiff written for people: text for the terminal, Markdown for a merge-request comment.

User text is shown literally in both (Markdown's special characters escaped, deleted and inserted
text as <del>/<ins>), department text as a character-level diff with a little context."""

from __future__ import annotations

import difflib
import re
from decimal import Decimal

from perfdoc.data.fields import STAGES
from perfdoc.data.text import amount_text
from perfdoc.review.diff import DocumentDiff, FieldChange, RowChange, StageChange


def _signed(value: Decimal | None) -> str:
    """`+8.47`, `-5.63`, `0`: a difference; nothing when there is none to show."""
    if value is None:
        return ""
    return ("+" if value > 0 else "") + amount_text(value)


# ASCII characters GitHub Markdown could read as markup (emphasis, ~strike~, `code`, [links], <html>,
# &entities;, |tables|, $math$); CommonMark lets any ASCII punctuation be escaped with a backslash.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~\[\]<>&|$#!])")
_LINE_BREAK = re.compile(r"\r\n|[\r\n\u2028\u2029]")


def _literal(text: str, markdown: bool) -> str:
    """User text as it is: in Markdown `检查2~3次` is not struck through, `<b>` is not HTML, and a line
    break is `<br>` instead of ending the list item (where `- x` would start a new one)."""
    if not markdown:
        return text
    return _LINE_BREAK.sub("<br>", _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def inline_text_diff(old: str, new: str, *, markdown: bool, context: int = 12) -> str:
    """A short character-level diff: `…相同[-删去-]{+新增+}相同…`.

    Markdown uses <del>删去</del><ins>新增</ins>: `~~` and `**` do not open or close next to Chinese
    punctuation (CommonMark flanking rules: `门**（2024）**年` stays literal)."""
    deleted, inserted = ("<del>{}</del>", "<ins>{}</ins>") if markdown else ("[-{}-]", "{{+{}+}}")
    pieces = []
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            text = old[i1:i2]
            first, last = index == 0, index == len(opcodes) - 1
            if first and len(text) > context:
                text = "…" + text[-context:]
            elif last and len(text) > context:
                text = text[:context] + "…"
            elif len(text) > 2 * context:
                text = text[:context] + "…" + text[-context:]
            pieces.append(_literal(text, markdown))
            continue
        if i2 > i1:
            pieces.append(deleted.format(_literal(old[i1:i2], markdown)))
        if j2 > j1:
            pieces.append(inserted.format(_literal(new[j1:j2], markdown)))
    return "".join(pieces)


def _field_line(change: FieldChange, markdown: bool) -> str:
    if change.delta is not None and change.label not in ("项目数",):
        amount = any(word in change.label for word in ("预算", "资金", "执行数")) and "得分" not in change.label
        unit = " 万元" if amount else ""
        return f"{change.label}: {change.old} → {change.new}{unit}（{_signed(change.delta)}）"
    if max(len(change.old), len(change.new)) > 40:
        return f"{change.label}: {inline_text_diff(change.old, change.new, markdown=markdown)}"
    return f"{change.label}: {_literal(change.old, markdown)} → {_literal(change.new, markdown)}"


def _sign(kind: str, markdown: bool) -> str:
    """+ / - / ~ before a line; in Markdown `+` and `-` after a list bullet would open a nested list."""
    sign = {"added": "+", "removed": "-", "changed": "~", "renamed": "~"}[kind]
    return "\\" + sign if markdown and sign in "+-" else sign


def _row_line(change: RowChange, markdown: bool) -> str:
    where = _literal("/".join(change.key), markdown)
    if change.kind == "changed":
        return f"~ 三级指标 {where}: " + "；".join(_field_line(c, markdown) for c in change.changes)
    if not change.values:  # a stage file's row: the indicator came or went with the targets
        return f"{_sign(change.kind, markdown)} 三级指标 {where}"
    shown = "｜".join(_literal(v, markdown) for v in change.values)
    return f"{_sign(change.kind, markdown)} 三级指标 {where}: {shown}"


_KIND_TEXT = {"added": "新增", "removed": "删除", "changed": "修改", "renamed": "改编码"}


def _stage_lines(change: StageChange, bullet: str, indent: str, markdown: bool) -> list[str]:
    """`~ 142001010 科防二期…（修改）`, then its fields, its indicators and its 总分."""
    code = f"`{change.code}`" if markdown else change.code
    note = _KIND_TEXT[change.kind]
    if change.kind != "changed" and change.total is not None:
        note += f"，总分 {change.total.new}"
    lines = [f"{bullet}{_sign(change.kind, markdown)} {code} {_literal(change.name, markdown)}（{note}）"]
    lines += [indent + _field_line(field_change, markdown) for field_change in change.fields]
    lines += [indent + _row_line(row, markdown) for row in change.rows]
    if change.kind == "changed" and change.total is not None:
        lines.append(indent + _field_line(change.total, markdown))
    return lines


def format_diff(diff: DocumentDiff, fmt: str = "text") -> str:
    markdown = fmt == "md"
    lines: list[str] = []
    title = _literal(f"绩效目标数据变更：{diff.old_label} → {diff.new_label}", markdown)
    lines.append(f"### {title}" if markdown else title)
    bullet = "- " if markdown else ""
    indent = "  - " if markdown else "    "
    if diff.warnings:
        lines.append("")
        lines += [f"{bullet}注意: {_literal(warning, markdown)}" for warning in diff.warnings]
    if not diff.changed:
        lines.append("没有变更。")
        return "\n".join(lines) + "\n"
    if diff.projects:
        lines.append("")
        lines.append("**项目**" if markdown else "项目")
        for change in diff.projects:
            code = f"`{change.code}`" if markdown else change.code
            note = f"（{_KIND_TEXT[change.kind]}"
            if change.kind in ("added", "removed"):
                note += f"，预算数 {amount_text(change.budget)} 万元"
            if change.kind == "renamed":
                note += f"，原编码 {change.old_code}"
            if change.note:
                note += f"，{_literal(change.note, markdown)}"
            lines.append(f"{bullet}{_sign(change.kind, markdown)} {code} {_literal(change.name, markdown)}{note}）")
            for field_change in change.fields:
                if field_change.label != "项目编码":
                    lines.append(indent + _field_line(field_change, markdown))
            for row in change.rows:
                lines.append(indent + _row_line(row, markdown))
    if diff.department:
        lines.append("")
        lines.append("**部门文字**" if markdown else "部门文字")
        for text in diff.department:
            lines.append(f"{bullet if markdown else indent}{_literal(text.where, markdown)}: "
                         f"{inline_text_diff(text.old, text.new, markdown=markdown)}")
    for stage, (name, _, _) in STAGES.items():
        changes = [change for change in diff.stages if change.stage == stage]
        if changes:
            lines.append("")
            lines.append(f"**{name}**" if markdown else name)
            lines += [line for change in changes for line in _stage_lines(change, bullet, indent, markdown)]
    lines.append("")
    if markdown:
        lines += ["| 合计 | 变更前 | 变更后 | 差额 |", "|---|---:|---:|---:|"]
        lines += [f"| {t.label} | {t.old} | {t.new} | {_signed(t.delta)} |" for t in diff.totals]
    else:
        lines.append("合计")
        for t in diff.totals:
            unit = "" if t.label == "项目数" else " 万元"
            lines.append(f"    {t.label}: {t.old} → {t.new}{unit}（{_signed(t.delta)}）")
    return "\n".join(lines) + "\n"
