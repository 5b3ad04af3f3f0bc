"""What the folder itself says: symlinks, special files, bounds hit, native binaries, archives."""

from __future__ import annotations

from skillscan.model import Finding
from skillscan.signatures import Signatures
from skillscan.skill import Encoding, EntryKind, Skill

NAME = "structure"

# Leading bytes of native executables and archives, which no reviewer can read in a diff.
_EXECUTABLE_MAGIC = (
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows PE executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "Mach-O executable"),
)
_ARCHIVE_MAGIC = (
    (b"PK\x03\x04", "zip archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-zip archive"),
    (b"Rar!\x1a\x07", "rar archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"BZh", "bzip2 archive"),
)
# Formats that share a magic prefix with an archive but are ordinary documents and assets.
_DOCUMENT_SUFFIXES = frozenset(
    {".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub", ".jar", ".whl", ".svgz"}
)


def _magic(data: bytes, table: tuple[tuple[bytes, str], ...]) -> str | None:
    return next((name for magic, name in table if data.startswith(magic)), None)


def analyze(skill: Skill, signatures: Signatures) -> list[Finding]:
    """Flag entries and bounds that stop a skill from being fully, safely read."""
    rule = signatures.rule
    findings: list[Finding] = []
    for entry in skill.files:
        if entry.kind is EntryKind.SYMLINK:
            target = entry.link_target or ""
            rule_id = "SKS-STRUCT-002" if entry.link_inside else "SKS-STRUCT-001"
            findings.append(rule(rule_id).finding(entry.path, 0, f"{entry.path} -> {target}"))
        elif entry.kind is EntryKind.SPECIAL:
            evidence = f"{entry.path} ({entry.special})"
            findings.append(rule("SKS-STRUCT-003").finding(entry.path, 0, evidence))
        elif entry.data is not None and entry.encoding is Encoding.BINARY:
            native = _magic(entry.data, _EXECUTABLE_MAGIC)
            archive = _magic(entry.data, _ARCHIVE_MAGIC)
            if native:
                findings.append(
                    rule("SKS-STRUCT-005").finding(entry.path, 0, f"{entry.path}: {native}")
                )
            elif archive and entry.suffix not in _DOCUMENT_SUFFIXES:
                findings.append(
                    rule("SKS-STRUCT-006").finding(entry.path, 0, f"{entry.path}: {archive}")
                )
        elif entry.encoding is Encoding.INVALID_UTF8:
            findings.append(rule("SKS-STRUCT-008").finding(entry.path, 0, entry.path))
    for breach in skill.breaches:
        evidence = f"{breach.kind.value}: {breach.path}: {breach.detail}"
        findings.append(rule("SKS-STRUCT-004").finding(breach.path, 0, evidence))
    for folder in skill.skipped:
        findings.append(rule("SKS-STRUCT-007").finding(folder, 0, folder))
    return findings
