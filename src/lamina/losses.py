"""What a rollback would really lose, counted on the live database.

A down that drops a table or column its own up created (rule ``down-loses-data``) loses
data only when something was written there since. Before a rollback runs, under the
migration lock, each such finding is checked against the database: a table that holds no
rows, or a column that holds no value, is nothing to lose, so the finding becomes
information and the step no longer needs ``--force``; one that holds data keeps the refusal,
with the number of rows in the message. A count the database refuses (a name lamina cannot
resolve) leaves the finding as it was: unknown is never reported as empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lamina.engines.base import Backend
from lamina.errors import StatementError
from lamina.risk import RiskFinding, RiskLevel, Subject
from lamina.safety import StepPreview

__all__ = ["COUNT_CAP", "weigh_rollback"]

#: Rows are counted up to this many; beyond it the message says "more than".
COUNT_CAP = 1000


def weigh_rollback(previews: Sequence[StepPreview], backend: Backend) -> tuple[StepPreview, ...]:
    """``previews`` with every ``down-loses-data`` finding checked on ``backend``."""
    counted: dict[Subject, int | None] = {}
    weighed = []
    for preview in previews:
        findings = preview.risk.findings
        if not any(_checkable(f) for f in findings):
            weighed.append(preview)
            continue
        findings = tuple(_weighed(f, backend, counted) for f in findings)
        weighed.append(replace(preview, risk=replace(preview.risk, findings=findings)))
    return tuple(weighed)


def _checkable(finding: RiskFinding) -> bool:
    return finding.rule == "down-loses-data" and finding.subject is not None


def _weighed(
    finding: RiskFinding, backend: Backend, counted: dict[Subject, int | None]
) -> RiskFinding:
    subject = finding.subject
    if subject is None or finding.rule != "down-loses-data":
        return finding
    if subject not in counted:
        counted[subject] = count_rows(backend, subject)
    rows = counted[subject]
    if rows is None:
        return finding
    what = "table" if subject.column is None else "column"
    if rows == 0:
        holds = "no rows" if subject.column is None else "no value in any row"
        return replace(
            finding,
            level=RiskLevel.INFO,
            message=f"drops {what} {subject.label}, which this migration's up created; it "
            f"holds {holds} now (counted on the database), so nothing is lost",
            reason="a rollback loses only what was written since the up, and the database "
            "holds none of it",
            suggestion="",
        )
    amount = f"more than {COUNT_CAP:,}" if rows > COUNT_CAP else f"{rows:,}"
    noun = "row" if rows == 1 else "rows"
    held = f"{amount} {noun}" if subject.column is None else f"values in {amount} {noun}"
    return replace(
        finding,
        message=f"drops {what} {subject.label}, which this migration's up created: it holds "
        f"{held} now, lost on rollback",
    )


def count_rows(backend: Backend, subject: Subject) -> int | None:
    """Rows of the subject's table (with a value in its column), up to ``COUNT_CAP + 1``;
    None when the database cannot tell."""
    table = ".".join(subject.table)
    where = "" if subject.column is None else f" WHERE {subject.column} IS NOT NULL"
    sql = (
        f"SELECT COUNT(*) FROM (SELECT 1 AS one FROM {table}{where} LIMIT {COUNT_CAP + 1}) AS probe"
    )
    try:
        rows = backend.query(sql)
    except StatementError:
        return None
    return int(rows[0][0]) if rows else None
