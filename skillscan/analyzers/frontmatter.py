"""SKILL.md's frontmatter: missing, unparseable or incomplete metadata."""

from __future__ import annotations

from skillscan.model import Finding
from skillscan.signatures import Signatures
from skillscan.skill import Skill

NAME = "frontmatter"


def analyze(skill: Skill, signatures: Signatures) -> list[Finding]:
    """Flag a SKILL.md that is absent or whose frontmatter an agent would read differently."""
    rule = signatures.rule
    fm = skill.frontmatter
    file = skill.skill_md or "SKILL.md"
    if not skill.skill_md or (not fm.present and "SKILL.md is" in (fm.error or "")):
        return [rule("SKS-FM-001").finding(file, 0, fm.error or "no SKILL.md")]
    if not fm.present:
        return [rule("SKS-FM-002").finding(file, 1, fm.error or "no frontmatter")]
    if fm.error:
        return [rule("SKS-FM-003").finding(file, 1, fm.error)]
    missing = [key for key in ("name", "description") if not getattr(fm, key)]
    if missing:
        return [rule("SKS-FM-004").finding(file, 1, "missing: " + ", ".join(missing))]
    return []
