"""Findings to verdict: critical/high block, medium asks for review, the rest pass.

Acknowledgements are the reviewer's (a fingerprint recorded at review time), never the
skill's own: an acknowledged finding stays in every report, marked as such, but no longer
counts toward the verdict.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from skillscan.model import Finding, Severity, Verdict, replace

BLOCKING = frozenset({Severity.CRITICAL, Severity.HIGH})
REVIEWABLE = frozenset({Severity.MEDIUM})


def acknowledge(findings: Iterable[Finding], acknowledged: Collection[str]) -> list[Finding]:
    """The findings, each marked acknowledged when its fingerprint is in `acknowledged`."""
    return [replace(f, acknowledged=True) if f.fingerprint in acknowledged else f for f in findings]


def verdict(findings: Iterable[Finding]) -> Verdict:
    """Block on any unacknowledged critical/high, review on any medium, else pass."""
    open_severities = {f.severity for f in findings if not f.acknowledged}
    if open_severities & BLOCKING:
        return Verdict.BLOCK
    if open_severities & REVIEWABLE:
        return Verdict.REVIEW
    return Verdict.PASS


def deduplicate(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (fingerprint, line), worst first then by place."""
    seen: set[tuple[str, int]] = set()
    unique = []
    for finding in sorted(findings, key=Finding.sort_key):
        key = (finding.fingerprint, finding.line)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique
