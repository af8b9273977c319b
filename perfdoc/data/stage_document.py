"""The monitoring and the self-evaluation as documents of their own: one table per project, in the
layout of a `table: monitoring` or `table: evaluation` profile, after a summary of every project.

A StageDocument is to the stage files what perfdoc.data.model.Document is to the targets: what the
renderers consume (HTML, PDF in pieces, DOCX through the read-back, XLSX). Its records were joined
and scored by perfdoc.data.stages, so nothing here computes a number.
"""

from __future__ import annotations

from dataclasses import dataclass

from perfdoc.data.fields import STAGES
from perfdoc.data.model import Department
from perfdoc.data.profile import Profile
from perfdoc.data.stages import Evaluation, Monitoring

StageRecord = Evaluation | Monitoring


@dataclass(frozen=True)
class StagePart:
    """What one rendering of a stage document holds: the title and summary, and/or a run of records."""

    front: bool
    records: tuple[StageRecord, ...]
    continues_tables: bool = False  # the tables began in an earlier piece (their bookmark is there)


@dataclass(frozen=True)
class StageDocument:
    stage: str  # evaluation | monitoring (perfdoc.data.fields.STAGES)
    department: Department
    profile: Profile  # the stage layout (table: evaluation | monitoring)
    records: tuple[StageRecord, ...]  # in project order
    uses_code: bool  # the targets' profile knows projects by code (else by file name)

    @property
    def title(self) -> str:
        """`2023年度项目支出绩效自评表`: the title's second line, the summary's and the files' name."""
        return f"{self.department.year}年度{self.profile.table_title}"

    @property
    def output_name(self) -> str:
        """The outputs' file name without extension: `<部门><年度>年度<表名>`, beside the targets' outputs."""
        return f"{self.department.name}{self.title}"

    @property
    def period(self) -> str:
        """The monitoring period (1—7月) the rules name; that of the first record, all share the rules."""
        return next((r.period for r in self.records if isinstance(r, Monitoring)), "1—7月")

    @property
    def stage_name(self) -> str:
        return STAGES[self.stage][0]

    @property
    def whole(self) -> StagePart:
        return StagePart(True, self.records)

    def pieces(self) -> list[StagePart]:
        """The title and summary, then each record: each starts a page, so each lays out on its own."""
        return [StagePart(True, ()),
                *(StagePart(False, (record,), continues_tables=i > 0) for i, record in enumerate(self.records))]


def stage_document(stage: str, department: Department, layout: Profile, records: list[StageRecord],
                   uses_code: bool) -> StageDocument:
    ordered = tuple(sorted(records, key=lambda r: (r.project.code, r.project.source_file)))
    return StageDocument(stage, department, layout, ordered, uses_code)
