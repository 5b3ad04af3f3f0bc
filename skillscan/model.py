"""Frozen value types shared by every layer: severities, findings, verdicts, reports."""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field


class Severity(enum.Enum):
    """How bad a finding is; critical and high block, medium asks for review."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for sorting and thresholds."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Category(enum.Enum):
    """What kind of threat a finding points at (DESIGN §4.2)."""

    EXEC = "exec"
    EXFILTRATION = "exfiltration"
    CREDENTIAL_ACCESS = "credential-access"
    PERSISTENCE = "persistence"
    OBFUSCATION = "obfuscation"
    PROMPT_INJECTION = "prompt-injection"
    HIDDEN_CONTENT = "hidden-content"
    INSTALL_INSTRUCTION = "install-instruction"
    NETWORK = "network"
    SUPPLY_CHAIN = "supply-chain"
    CAPABILITY = "capability"
    INTEGRITY = "integrity"


class Verdict(enum.Enum):
    """The decision for one skill: block > review > pass."""

    BLOCK = "block"
    REVIEW = "review"
    PASS = "pass"  # noqa: S105 - a verdict, not a password


EVIDENCE_MAX_CHARS = 200

# Secrets that must never be echoed back in evidence: provider key shapes and
# `key = value` assignments whose name says it is a secret.
_SECRET_PATTERNS = (
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"),
    re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}\b"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    re.compile(r"\b\d{8,10}:AA[A-Za-z0-9_-]{30,}\b"),  # Telegram bot token
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]*"),
)
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b([A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY)[A-Z0-9_]*"
    r"\s*[:=]\s*['\"]?)([^'\"\s]{8,})"
)
_WHITESPACE = re.compile(r"\s+")


def mask_secrets(text: str) -> str:
    """Replace anything shaped like a credential with a fixed mask."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("***", text)
    return _SECRET_ASSIGNMENT.sub(lambda m: m.group(1) + "***", text)


def clean_evidence(text: str) -> str:
    """Evidence as shown and fingerprinted: one line, masked, bounded, printable."""
    # Bound the work first: a minified file hands over megabyte-long lines. The margin
    # keeps a secret that straddles the cut from being shown half unmasked.
    text = text[: EVIDENCE_MAX_CHARS * 4]
    text = _WHITESPACE.sub(" ", text).strip()
    text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    text = mask_secrets(text)
    if len(text) > EVIDENCE_MAX_CHARS:
        text = text[: EVIDENCE_MAX_CHARS - 1] + "…"
    return text


def fingerprint(rule_id: str, file: str, evidence: str) -> str:
    """Stable id of a finding: rule + file + normalised evidence, never the line."""
    normalised = _WHITESPACE.sub(" ", evidence).strip().lower()
    digest = hashlib.sha256(f"{rule_id}\0{file}\0{normalised}".encode()).hexdigest()
    return f"{rule_id}:{digest[:16]}"


@dataclass(frozen=True)
class Finding:
    """One thing an analyzer saw; build it with `Finding.create` (masking, fingerprint)."""

    rule_id: str
    severity: Severity
    category: Category
    file: str
    line: int
    message: str
    evidence: str
    fingerprint: str
    acknowledged: bool = False

    @classmethod
    def create(
        cls,
        rule_id: str,
        severity: Severity,
        category: Category,
        message: str,
        *,
        file: str = "",
        line: int = 0,
        evidence: str = "",
    ) -> Finding:
        """Make a finding with cleaned evidence and its stable fingerprint."""
        shown = clean_evidence(evidence)
        return cls(
            rule_id=rule_id,
            severity=severity,
            category=category,
            file=file,
            line=line,
            message=message,
            evidence=shown,
            fingerprint=fingerprint(rule_id, file, shown),
        )

    def sort_key(self) -> tuple[int, str, int, str]:
        """Worst first, then by place."""
        return (-self.severity.rank, self.file, self.line, self.rule_id)


SCAN_INCOMPLETE = "SKS-SCAN-INCOMPLETE"


def incomplete(analyzer: str, reason: str, *, file: str = "") -> Finding:
    """The fail-closed finding for an analyzer that crashed, timed out or was cut short."""
    return Finding.create(
        SCAN_INCOMPLETE,
        Severity.HIGH,
        Category.INTEGRITY,
        f"The {analyzer} analyzer did not finish ({reason}); the skill was not fully scanned. "
        "Treat it as unscanned until a complete scan passes.",
        file=file,
        evidence=f"{analyzer}: {reason}",
    )


@dataclass(frozen=True)
class SkillReport:
    """The scan result for one skill."""

    path: str
    name: str
    verdict: Verdict
    findings: tuple[Finding, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ScanResult:
    """A whole scan run: versions used and one report per skill, sorted by path."""

    skillscan_version: str
    signatures_version: str
    reports: tuple[SkillReport, ...]

    @property
    def worst(self) -> Verdict:
        """The worst verdict of the run (pass when there are no skills)."""
        verdicts = {r.verdict for r in self.reports}
        for verdict in (Verdict.BLOCK, Verdict.REVIEW):
            if verdict in verdicts:
                return verdict
        return Verdict.PASS
