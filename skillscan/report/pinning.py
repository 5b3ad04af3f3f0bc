"""Output of the pinning commands (add, update, review, remove, list, show, check, resolve).

Two formats: `text` for people (plain, no colour, every untrusted string escaped so a file
name from a hostile repository cannot drive the terminal) and `json` for programs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from skillscan.lockfile import LockEntry, Lockfile, ReviewStatus
from skillscan.model import Finding, Severity
from skillscan.pins import (
    AddResult,
    CheckResult,
    Install,
    InstallState,
    Outcome,
    RemoveResult,
    Resolved,
    ReviewResult,
    UpdateResult,
)
from skillscan.report.json import finding_json


def _safe(text: str) -> str:
    """Untrusted text for a terminal: controls and invisible characters escaped."""
    return "".join(
        ch if ch.isprintable() else (f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
        for ch in text
    )


def _dump(document: object) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def reference(entry: LockEntry) -> str:
    """`source@commit[#path]` of a lockfile entry."""
    text = f"{entry.source}@{entry.commit}"
    return f"{text}#{entry.path}" if entry.path else text


def entry_json(entry: LockEntry) -> dict[str, object]:
    """A lockfile entry as JSON, exactly as the lockfile holds it."""
    return entry.to_json()


def _install_json(install: Install | None) -> dict[str, object] | None:
    if install is None:
        return None
    return {"path": str(install.path), "state": install.state.value}


def _counts_text(entry: LockEntry) -> str:
    parts = [f"{entry.findings.count(s)} {s.value}" for s in Severity if entry.findings.count(s)]
    return ", ".join(parts) if parts else "no findings"


def _review_text(entry: LockEntry) -> str:
    review = entry.review
    if review.status is ReviewStatus.PENDING:
        text = "pending"
    else:
        at = review.at.strftime("%Y-%m-%d %H:%M:%SZ") if review.at else "?"
        text = f"{review.status.value} by {_safe(review.by or '?')} at {at}"
    if review.note:
        text += f": {_safe(review.note)}"
    return text


def _entry_lines(entry: LockEntry) -> list[str]:
    lines = [
        f"  source      {_safe(entry.source)}",
        f"  commit      {entry.commit}",
        f"  path        {_safe(entry.path) or '(repository root)'}",
        f"  digest      {entry.digest}",
        f"  verdict     {entry.verdict.value} (signatures {entry.signatures}; "
        f"{_counts_text(entry)})",
        f"  review      {_review_text(entry)}",
    ]
    if entry.review.acknowledged:
        lines.append("  acknowledged")
        lines += [f"    {fp}" for fp in entry.review.acknowledged]
    return lines


def _finding_lines(findings: Iterable[Finding], indent: str = "  ") -> list[str]:
    lines = []
    for f in findings:
        where = f"{f.file}:{f.line}" if f.line else (f.file or ".")
        ack = "  (acknowledged)" if f.acknowledged else ""
        lines.append(f"{indent}{f.severity.value:8} {f.rule_id}  {_safe(where)}{ack}")
        pad = indent + " " * 9
        lines.append(f"{pad}fingerprint {f.fingerprint}")
        lines.append(f"{pad}{_safe(f.message)}")
        if f.evidence:
            lines.append(f"{pad}evidence: {_safe(f.evidence)}")
    return lines


def _install_lines(install: Install | None, name: str) -> list[str]:
    if install is None:
        return []
    path = _safe(str(install.path))
    key, text = {
        InstallState.INSTALLED: ("installed", f"{path} (files read-only)"),
        InstallState.ALREADY: ("installed", f"{path} already holds the pinned content"),
        InstallState.WITHHELD: (
            "not installed",
            f"{path}: only approved skills are installed; after reading the findings run: "
            f"skillscan review {name} --approve --install-dir {_safe(str(install.path.parent))}",
        ),
        InstallState.RETIRED: (
            "deleted",
            f"{path} (the previous version); the new one is installed once approved: skillscan "
            f"review {name} --approve --install-dir {_safe(str(install.path.parent))}",
        ),
        InstallState.REMOVED: ("deleted", path),
        InstallState.ABSENT: ("not deleted", f"{path} was not installed"),
    }[install.state]
    return [f"  {key:11} {text}"]


# --- add ------------------------------------------------------------------------------


def render_add(result: AddResult, fmt: str) -> str:
    """What `add` did."""
    if fmt == "json":
        return _dump(
            {
                "command": "add",
                "outcome": result.outcome.value,
                "name": result.name,
                "reference": str(result.ref),
                "verdict": result.verdict.value,
                "signatures": result.signatures,
                "digest": result.digest,
                "entry": entry_json(result.entry) if result.entry else None,
                "findings": [finding_json(f) for f in result.findings],
                "install": _install_json(result.install),
            }
        )
    name = result.name
    lines: list[str] = []
    if result.outcome is Outcome.BLOCKED or result.entry is None:
        lines.append(
            f"BLOCKED {name}: {_safe(str(result.ref))} was not pinned; nothing was written "
            "or installed"
        )
        lines.append(f"  verdict     block (signatures {result.signatures})")
    elif result.outcome is Outcome.UNCHANGED:
        lines.append(f"{name} is already pinned to this commit; the lockfile is unchanged")
        lines += _entry_lines(result.entry)
    else:
        lines.append(f"added {name} to the lockfile")
        lines += _entry_lines(result.entry)
    lines += _install_lines(result.install, name)
    if result.findings:
        lines.append("findings:")
        lines += _finding_lines(result.findings)
    if (
        result.entry is not None
        and result.outcome is Outcome.ADDED
        and result.entry.review.status is ReviewStatus.PENDING
    ):
        lines.append(
            f"{name} waits for a review: read the findings above, then run "
            f"skillscan review {name} --approve (or --reject)"
        )
    return "\n".join(lines) + "\n"


# --- update ---------------------------------------------------------------------------


def render_update(result: UpdateResult, fmt: str) -> str:
    """What `update` did: changed files and only the new findings."""
    if fmt == "json":
        return _dump(
            {
                "command": "update",
                "outcome": result.outcome.value,
                "name": result.name,
                "from": result.previous.commit,
                "to": result.ref.commit,
                "baseline": result.baseline,
                "changes": [{"path": c.path, "change": c.kind.value} for c in result.changes],
                "new_findings": [finding_json(f) for f in result.new_findings],
                "findings": [finding_json(f) for f in result.findings],
                "verdict": result.verdict.value,
                "signatures": result.signatures,
                "entry": entry_json(result.entry) if result.entry else None,
                "install": _install_json(result.install),
            }
        )
    name = result.name
    old, new = result.previous.commit, result.ref.commit
    if result.outcome is Outcome.UNCHANGED:
        return f"{name} is already pinned to {new}; the lockfile is unchanged\n"
    lines = [f"{name}: {old[:12]} -> {new[:12]}"]
    if not result.baseline:
        lines.append(
            f"  the pinned commit {old} could not be fetched any more, so every file is "
            "listed as added and every finding as new"
        )
    lines.append(f"files changed ({len(result.changes)}):")
    lines += [f"  {c.kind.value:8} {_safe(c.path)}" for c in result.changes] or ["  (none)"]
    old_count = len(result.findings) - len(result.new_findings)
    lines.append(
        f"new findings ({len(result.new_findings)}; {old_count} already present at the pinned "
        "commit are not shown):"
    )
    lines += _finding_lines(result.new_findings) or ["  (none)"]
    if result.outcome is Outcome.BLOCKED or result.entry is None:
        blocking = [
            f
            for f in result.findings
            if not f.acknowledged and f.severity in (Severity.CRITICAL, Severity.HIGH)
        ]
        lines.append(f"BLOCKED: {name} stays pinned to {old}; nothing was written or installed")
        old_blocking = [f for f in blocking if f not in result.new_findings]
        if old_blocking:
            lines.append("blocking findings also present before:")
            lines += _finding_lines(old_blocking)
        return "\n".join(lines) + "\n"
    lines.append(f"updated {name} in the lockfile")
    lines += _entry_lines(result.entry)
    lines += _install_lines(result.install, name)
    if result.entry.review.status is ReviewStatus.PENDING:
        lines.append(
            f"{name} needs a review again: read the new findings and changes above, then run "
            f"skillscan review {name} --approve (or --reject)"
        )
    return "\n".join(lines) + "\n"


# --- review, remove -------------------------------------------------------------------


def render_review(result: ReviewResult, fmt: str) -> str:
    """What `review` recorded."""
    if fmt == "json":
        return _dump(
            {
                "command": "review",
                "name": result.name,
                "status": result.entry.review.status.value,
                "entry": entry_json(result.entry),
                "findings": [finding_json(f) for f in result.findings],
                "implicitly_acknowledged": list(result.implicit),
                "install": _install_json(result.install),
            }
        )
    status = result.entry.review.status.value
    lines = [f"{status} {result.name}"]
    lines += _entry_lines(result.entry)
    lines += _install_lines(result.install, result.name)
    if result.implicit:
        lines.append(
            "the approval acknowledges these medium findings (a later check --rescan tells "
            "them from new ones):"
        )
        lines += [f"  {fp}" for fp in result.implicit]
    if result.findings:
        lines.append("findings:")
        lines += _finding_lines(result.findings)
    return "\n".join(lines) + "\n"


def render_remove(result: RemoveResult, fmt: str) -> str:
    """What `remove` did."""
    if fmt == "json":
        return _dump(
            {
                "command": "remove",
                "name": result.name,
                "entry": entry_json(result.entry),
                "install": _install_json(result.install),
            }
        )
    lines = [f"removed {result.name} ({_safe(reference(result.entry))}) from the lockfile"]
    lines += _install_lines(result.install, result.name)
    return "\n".join(lines) + "\n"


# --- list, show, resolve --------------------------------------------------------------


def render_list(lock: Lockfile, path: Path, fmt: str) -> str:
    """Every pinned skill, one line each."""
    if fmt == "json":
        skills: Mapping[str, LockEntry] = lock.skills
        return _dump(
            {
                "lockfile": str(path),
                "skills": {name: entry_json(entry) for name, entry in skills.items()},
            }
        )
    if not lock.skills:
        return f"{_safe(str(path))}: no skills pinned\n"
    width = max(len(name) for name in lock.skills)
    lines = [
        f"{name:{width}}  {entry.review.status.value:8}  {entry.verdict.value:6}  "
        f"{entry.commit[:12]}  {_safe(entry.source)}"
        + (f"#{_safe(entry.path)}" if entry.path else "")
        for name, entry in lock.skills.items()
    ]
    return "\n".join(lines) + "\n"


def render_show(name: str, entry: LockEntry, fmt: str) -> str:
    """One pinned skill in full."""
    if fmt == "json":
        return _dump({"name": name, **entry_json(entry)})
    return "\n".join([name, *_entry_lines(entry)]) + "\n"


def render_resolve(result: Resolved, fmt: str) -> str:
    """The full commit a ref names, as a reference ready for `skillscan add`."""
    if fmt == "json":
        return _dump(
            {
                "source": result.source,
                "ref": result.ref,
                "subpath": result.subpath,
                "commit": result.commit,
                "reference": result.reference,
            }
        )
    return result.reference + "\n"


# --- check ----------------------------------------------------------------------------


def render_check(result: CheckResult, fmt: str) -> str:
    """Every problem with its fix, then a one-line summary."""
    if fmt == "json":
        return _dump(
            {
                "lockfile": str(result.lockfile),
                "ok": not result.problems,
                "skills": list(result.skills),
                "installed": str(result.installed) if result.installed else None,
                "rescanned_with": result.rescanned_with,
                "problems": [
                    {
                        "skill": p.skill,
                        "reason": p.reason.value,
                        "message": p.message,
                        "fix": p.fix,
                        "findings": [finding_json(f) for f in p.findings],
                    }
                    for p in result.problems
                ],
            }
        )
    lines = []
    for problem in result.problems:
        lines.append(
            f"FAIL {_safe(problem.skill)} [{problem.reason.value}]: {_safe(problem.message)}"
        )
        lines += _finding_lines(problem.findings, indent="     ")
        lines.append(f"     fix: {_safe(problem.fix)}")
    failing = {p.skill for p in result.problems}
    lines += [f"ok   {name}" for name in result.skills if name not in failing]
    scope = ["pinned", "approved"]
    if result.installed is not None:
        scope.append(f"installed as locked in {_safe(str(result.installed))}")
    if result.rescanned_with is not None:
        scope.append(f"clean with signatures {result.rescanned_with}")
    where = _safe(str(result.lockfile))
    if result.problems:
        lines.append(
            f"check failed: {len(result.problems)} problem(s) in {where} "
            f"({len(result.skills)} skill(s) checked)"
        )
    else:
        lines.append(f"check passed: {len(result.skills)} skill(s) in {where}: {', '.join(scope)}")
    return "\n".join(lines) + "\n"
