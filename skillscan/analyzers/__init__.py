"""The analyzers, registered in one place.

Each per-skill analyzer is a pure function `analyze(skill, signatures) -> list[Finding]`:
a loaded Skill in, findings out, no I/O outside the skill. Semgrep is the one batch analyzer
(one process per batch of skills) and is driven by `skillscan.scan`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from skillscan.analyzers import (
    behavior,
    capabilities,
    encoding,
    frontmatter,
    instructions,
    iocs,
    structure,
    unicode,
)
from skillscan.model import Finding
from skillscan.signatures import Signatures
from skillscan.skill import Skill

Analyzer = Callable[[Skill, Signatures], list[Finding]]

ANALYZERS: Mapping[str, Analyzer] = {
    "structure": structure.analyze,
    "frontmatter": frontmatter.analyze,
    "instructions": instructions.analyze,
    "behavior": behavior.analyze,
    "iocs": iocs.analyze,
    "capabilities": capabilities.analyze,
    "encoding": encoding.analyze,
    "unicode": unicode.analyze,
}
