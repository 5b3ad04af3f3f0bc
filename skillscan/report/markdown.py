"""A markdown report for pull-request comments and issue trackers."""

from __future__ import annotations

from collections import Counter

from skillscan.model import ScanResult, Verdict

_ICON = {Verdict.BLOCK: "⛔ block", Verdict.REVIEW: "⚠️ review", Verdict.PASS: "✅ pass"}


def _cell(text: str) -> str:
    """Text safe inside a table cell: no pipes, no newlines, no HTML or links rendered."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return escaped.replace("`", "'").replace("\n", " ")


class MarkdownFormatter:
    """A summary table, then the findings of each skill that did not pass."""

    name = "markdown"

    def render(self, result: ScanResult, *, color: bool = False) -> str:
        """The markdown document."""
        counts = Counter(r.verdict for r in result.reports)
        lines = [
            "# skillscan report",
            "",
            f"{len(result.reports)} skill(s): {counts[Verdict.BLOCK]} blocked, "
            f"{counts[Verdict.REVIEW]} to review, {counts[Verdict.PASS]} passed "
            f"(skillscan {result.skillscan_version}, signatures {result.signatures_version}).",
            "",
            "| verdict | skill | path | findings |",
            "|---|---|---|---|",
        ]
        for report in result.reports:
            lines.append(
                f"| {_ICON[report.verdict]} | {_cell(report.name)} | `{_cell(report.path)}` "
                f"| {len(report.findings)} |"
            )
        for report in result.reports:
            if report.verdict is Verdict.PASS:
                continue
            lines += ["", f"## {_cell(report.name)} — {_ICON[report.verdict]}", ""]
            lines += ["| severity | rule | where | evidence |", "|---|---|---|---|"]
            for f in report.findings:
                where = f"{f.file}:{f.line}" if f.line else f.file
                ack = " (acknowledged)" if f.acknowledged else ""
                lines.append(
                    f"| {f.severity.value}{ack} | {f.rule_id} | `{_cell(where)}` "
                    f"| `{_cell(f.evidence)}` |"
                )
        return "\n".join(lines) + "\n"
