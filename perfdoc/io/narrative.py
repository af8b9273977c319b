"""The department's text read back: title lines, 一、 sections, （一） items, 绩效目标： / 绩效指标： lines.

The sections are recognised by their titles (总体绩效目标, 分项绩效目标, 保障措施), not by their
numbers, because the numbers depend on which sections a department writes; perfdoc numbers them
again when it builds. A paragraph that fits nowhere is reported, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from perfdoc.io.notes import Note, Where
from perfdoc.io.source import Paragraph

_HEADING_1 = re.compile(r"[一二三四五六七八九十]+[、.．]\s*(?P<title>.+)")
_NUMBERED = re.compile(r"[（(][一二三四五六七八九十百零]+[）)]\s*(?P<text>.*)", re.DOTALL)
_YEAR = re.compile(r"(?P<year>(?:19|20)\d\d)\s*年")
_TARGET = re.compile(r"绩效目标\s*[：:]\s*(?P<text>.*)", re.DOTALL)
_INDICATORS = re.compile(r"绩效指标\s*[：:]\s*(?P<text>.*)", re.DOTALL)
SECTIONS = (("overall_target", ("总体绩效目标", "总体目标")), ("sub_targets", ("分项绩效目标", "分项目标")),
            ("measures", ("保障措施", "目标规划")))


@dataclass
class Narrative:
    data: dict[str, Any] = field(default_factory=dict)
    comments: dict[tuple[str | int, ...], str] = field(default_factory=dict)


def _section(title: str) -> str | None:
    return next((key for key, words in SECTIONS if any(word in title for word in words)), None)


def read_narrative(paragraphs: list[Paragraph], file: str, notes: list[Note]) -> Narrative:
    """department, year, title and the three optional sections from the paragraphs before the tables."""
    narrative = Narrative()
    data = narrative.data
    title_lines: list[str] = []
    section: str | None = None
    for number, paragraph in enumerate(paragraphs, 1):
        text = paragraph.text
        where = Where(file, row=number)
        heading = _HEADING_1.fullmatch(text)
        if heading and _section(heading.group("title")):
            section = _section(heading.group("title"))
            continue
        if section is None:
            if heading:
                notes.append(Note(where, f"段落“{text[:30]}”未导入：不认识的一级标题（应为 总体绩效目标、分项绩效目标、目标规划及保障措施）"))
            else:
                title_lines.append(text)
            continue
        if section == "overall_target":
            data.setdefault("overall_target", []).append(text)
        elif section == "measures":
            numbered = _NUMBERED.fullmatch(text)
            items = data.setdefault("measures", [])
            if numbered or not items:
                items.append(numbered.group("text") if numbered else text)
            else:
                items[-1] += text
                message = f"第 {number} 段没有（一）（二）编号，已接在上一条保障措施之后"
                notes.append(Note(where, message))
                narrative.comments[("measures", len(items) - 1)] = message
        else:
            _sub_target(text, data.setdefault("sub_targets", []), where, notes)
    _title(title_lines, narrative, Where(file, row=1), notes)
    return narrative


def _sub_target(text: str, items: list[dict[str, str]], where: Where, notes: list[Note]) -> None:
    numbered = _NUMBERED.fullmatch(text)
    target, indicators = _TARGET.fullmatch(text), _INDICATORS.fullmatch(text)
    if numbered:
        items.append({"heading": numbered.group("text"), "target": "", "indicators": ""})
    elif items and target:
        items[-1]["target"] = target.group("text")
    elif items and indicators:
        items[-1]["indicators"] = indicators.group("text")
    else:
        notes.append(Note(where, f"段落“{text[:30]}”未导入：分项绩效目标下应为（一）标题、绩效目标：…、绩效指标：…"))


def _title(lines: list[str], narrative: Narrative, where: Where, notes: list[Note]) -> None:
    """`唐山市…分局` + `2023年部门预算绩效目标` (two lines), or one line split where the year starts."""
    data = narrative.data
    department, title = "", ""
    if len(lines) >= 2:
        department, title = lines[0], "".join(lines[1:])
    elif lines:
        year = _YEAR.search(lines[0])
        if year and year.start() > 0:
            department, title = lines[0][:year.start()].strip(), lines[0][year.start():].strip()
            narrative.comments[("department",)] = "原文标题只有一行，在年份前分成单位名称与文件标题"
        else:
            title = lines[0]
    if department:
        data["department"] = department
    found = _YEAR.search(title)
    if found:
        data["year"] = int(found.group("year"))
    if title:
        data["title"] = title
    if lines and not (department and found):
        notes.append(Note(where, f"标题“{''.join(lines)[:40]}”中没有找到{'单位名称' if not department else '年度'}，请在 department.yaml 里补上"))
