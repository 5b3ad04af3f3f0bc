"""SARIF 2.1.0, for code-scanning dashboards: one run, one result per finding."""

from __future__ import annotations

import json
import posixpath

from skillscan.model import Finding, ScanResult, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads `security-severity` (0.0-10.0) to rank alerts.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _rule(finding: Finding) -> dict[str, object]:
    return {
        "id": finding.rule_id,
        "shortDescription": {"text": finding.message.split(". ")[0][:200]},
        "fullDescription": {"text": finding.message},
        "defaultConfiguration": {"level": _LEVEL[finding.severity]},
        "properties": {
            "category": finding.category.value,
            "security-severity": _SECURITY_SEVERITY[finding.severity],
            "tags": ["security", finding.category.value],
        },
    }


def _result(skill_path: str, finding: Finding, rule_index: int) -> dict[str, object]:
    uri = posixpath.join(skill_path, finding.file) if finding.file else skill_path
    location: dict[str, object] = {"artifactLocation": {"uri": uri}}
    if finding.line > 0:
        location["region"] = {"startLine": finding.line}
    result: dict[str, object] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": f"{finding.message} Evidence: {finding.evidence}"},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {"skillscan/v1": finding.fingerprint},
        "properties": {"severity": finding.severity.value},
    }
    if finding.acknowledged:
        result["suppressions"] = [
            {"kind": "external", "justification": "acknowledged by a reviewer"}
        ]
    return result


class SarifFormatter:
    """SARIF 2.1.0 log; per-skill verdicts ride in the run's properties."""

    name = "sarif"

    def render(self, result: ScanResult, *, color: bool = False) -> str:
        """The SARIF document."""
        rules: dict[str, int] = {}
        rule_objects: list[dict[str, object]] = []
        results: list[dict[str, object]] = []
        for report in result.reports:
            for finding in report.findings:
                if finding.rule_id not in rules:
                    rules[finding.rule_id] = len(rule_objects)
                    rule_objects.append(_rule(finding))
                results.append(_result(report.path, finding, rules[finding.rule_id]))
        doc = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "skillscan",
                            "version": result.skillscan_version,
                            "semanticVersion": result.skillscan_version,
                            "rules": rule_objects,
                            "properties": {"signatures": result.signatures_version},
                        }
                    },
                    "results": results,
                    "properties": {
                        "skills": [
                            {"path": r.path, "name": r.name, "verdict": r.verdict.value}
                            for r in result.reports
                        ]
                    },
                }
            ],
        }
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
