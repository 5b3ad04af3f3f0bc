"""Where a skill sends data or fetches code from: published campaign indicators (IPs,
hosts, payload repositories, publisher accounts) and classes of collecting endpoints
(token-bearing webhooks, request catchers, tunnels, anonymous file drops, raw IPs).

The rules are pattern rules of `iocs.yaml`, read like the behaviour rules: every text
file by its role's scope, documentation that quotes an indicator at a lower severity.
Their `decoded` scope lets the encoding analyzer find the same indicators inside
decoded payloads.
"""

from __future__ import annotations

from skillscan.analyzers.behavior import finding, scan_files, scan_plan
from skillscan.model import Finding
from skillscan.signatures import Signatures
from skillscan.skill import Skill

NAME = "iocs"


def analyze(skill: Skill, signatures: Signatures) -> list[Finding]:
    """A finding for each line of the skill that names an indicator."""
    rules = [r for r in signatures.for_analyzer(NAME) if r.patterns]
    return [finding(hit) for hit in scan_files(skill, scan_plan(rules))]
