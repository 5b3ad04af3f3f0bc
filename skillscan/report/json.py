"""The JSON report (DESIGN §4.3): {"skillscan", "signatures", "skills": [...]}."""

from __future__ import annotations

import json

from skillscan.model import Finding, ScanResult, SkillReport


def finding_json(finding: Finding) -> dict[str, object]:
    """One finding as a JSON object."""
    return {
        "rule_id": finding.rule_id,
        "severity": finding.severity.value,
        "category": finding.category.value,
        "file": finding.file,
        "line": finding.line,
        "message": finding.message,
        "evidence": finding.evidence,
        "fingerprint": finding.fingerprint,
        "acknowledged": finding.acknowledged,
    }


def report_json(report: SkillReport) -> dict[str, object]:
    """One skill's report as a JSON object."""
    return {
        "path": report.path,
        "name": report.name,
        "verdict": report.verdict.value,
        "findings": [finding_json(f) for f in report.findings],
    }


class JsonFormatter:
    """Machine-readable report, stable key order."""

    name = "json"

    def render(self, result: ScanResult, *, color: bool = False) -> str:
        """The JSON document."""
        doc = {
            "skillscan": result.skillscan_version,
            "signatures": result.signatures_version,
            "skills": [report_json(r) for r in result.reports],
        }
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
