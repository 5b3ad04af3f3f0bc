"""SKILL.md's frontmatter: missing, unparseable or incomplete metadata."""

from __future__ import annotations

from skillscan.model import Finding
from skillscan.signatures import Signatures
from skillscan.skill import Frontmatter, Repair, Skill

NAME = "frontmatter"


def _carries_risk(frontmatter: Frontmatter) -> bool:
    """Does the frontmatter set what other analyzers judge (and an agent reading it strictly
    would not see): pre-approved tools, always-on loading, installs, config paths?"""
    meta = frontmatter.openclaw
    if frontmatter.allowed_tools:
        return True
    return meta is not None and bool(meta.always or meta.install or meta.config)


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
        # The loader already read a broken frontmatter leniently (Frontmatter.repair), and
        # every other analyzer judged that reading; here only the disagreement is reported.
        if fm.repair is Repair.QUOTED and fm.name and not _carries_risk(fm):
            return [rule("SKS-FM-005").finding(file, 1, fm.error)]
        evidence = fm.error
        if fm.repair is Repair.PIECEWISE:
            evidence += " (scanned as read one top-level key at a time)"
        return [rule("SKS-FM-003").finding(file, 1, evidence)]
    missing = [key for key in ("name", "description") if not getattr(fm, key)]
    if missing:
        return [rule("SKS-FM-004").finding(file, 1, "missing: " + ", ".join(missing))]
    return []
