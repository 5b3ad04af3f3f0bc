"""SKILL.md's frontmatter: missing, unparseable or incomplete metadata."""

from __future__ import annotations

import re

from skillscan.model import Finding
from skillscan.signatures import Signatures
from skillscan.skill import Frontmatter, Skill, parse_frontmatter

NAME = "frontmatter"

# A top-level `key: value` line whose value is a plain (unquoted) scalar. Strict YAML
# rejects such a value when it holds ': ' or ' #' or starts with a YAML indicator;
# line-based readers (and agents that fall back to one) take the rest of the line.
# Anchors, aliases and tags (`&`, `*`, `!`) are never repaired: they stay SKS-FM-003.
_PLAIN_LINE = re.compile(r"^(?P<key>[A-Za-z_][\w-]{0,63}):[ \t]+(?P<value>[^\s'\"{\[|>&*!][^\n]*)$")
_NEEDS_QUOTES = re.compile(r": |\s#|:$|^[?:,\]}%@`]")


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def lenient_reading(text: str) -> Frontmatter | None:
    """The frontmatter as a line-based reader takes it: each top-level plain `key: value`
    line whose value strict YAML rejects is quoted, and the result parsed again (aliases
    still refused). None when that repair changes nothing or does not make it parse."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        return None
    repaired = list(lines[:end])
    changed = False
    for index in range(1, end):
        match = _PLAIN_LINE.match(lines[index].rstrip())
        if match and _NEEDS_QUOTES.search(match.group("value").rstrip()):
            value = match.group("value").rstrip()
            repaired[index] = f"{match.group('key')}: {_quoted(value)}"
            changed = True
    if not changed:
        return None
    frontmatter, _, _ = parse_frontmatter("\n".join([*repaired, "---", ""]))
    return frontmatter if frontmatter.present and not frontmatter.error else None


def _carries_risk(frontmatter: Frontmatter) -> bool:
    """Does the frontmatter set what other analyzers judge (and could not read while it
    failed to parse): pre-approved tools, always-on loading, installs, config paths?"""
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
        entry = skill.file(skill.skill_md)
        lenient = lenient_reading(entry.text) if entry is not None and entry.text else None
        if lenient is not None and not _carries_risk(lenient) and lenient.name:
            return [rule("SKS-FM-005").finding(file, 1, fm.error)]
        return [rule("SKS-FM-003").finding(file, 1, fm.error)]
    missing = [key for key in ("name", "description") if not getattr(fm, key)]
    if missing:
        return [rule("SKS-FM-004").finding(file, 1, "missing: " + ", ".join(missing))]
    return []
