"""The human report: one block per skill, worst findings first, and a summary line."""

from __future__ import annotations

import io
from collections import Counter

from rich.console import Console
from rich.markup import escape

from skillscan.model import ScanResult, Severity, Verdict

_VERDICT_STYLE = {
    Verdict.BLOCK: "bold red",
    Verdict.REVIEW: "bold yellow",
    Verdict.PASS: "bold green",
}
_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


class TextFormatter:
    """Readable on a terminal (colour when asked) and in a CI log (plain)."""

    name = "text"

    def render(self, result: ScanResult, *, color: bool = False) -> str:
        """The report as text."""
        buffer = io.StringIO()
        console = Console(
            file=buffer,
            force_terminal=color,
            no_color=not color,
            width=100,
            highlight=False,
            soft_wrap=True,
        )
        for report in result.reports:
            style = _VERDICT_STYLE[report.verdict]
            label = f"[{style}]{report.verdict.value.upper():6}[/]"
            console.print(f"{label} {escape(report.name)}  [dim]{escape(report.path)}[/]")
            for f in report.findings:
                where = f"{f.file}:{f.line}" if f.line else f.file
                ack = " [dim](acknowledged)[/]" if f.acknowledged else ""
                sev = _SEVERITY_STYLE[f.severity]
                console.print(f"  [{sev}]{f.severity.value:8}[/] {f.rule_id}  {escape(where)}{ack}")
                console.print(f"           {escape(f.message)}")
                if f.evidence:
                    console.print(f"           [dim]evidence:[/] {escape(f.evidence)}")
        counts = Counter(r.verdict for r in result.reports)
        console.print(
            f"{len(result.reports)} skill(s): {counts[Verdict.BLOCK]} blocked, "
            f"{counts[Verdict.REVIEW]} to review, {counts[Verdict.PASS]} passed "
            f"(skillscan {result.skillscan_version}, signatures {result.signatures_version})"
        )
        return buffer.getvalue()
