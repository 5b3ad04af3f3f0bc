"""What the folder itself says: symlinks, special files, bounds hit, native binaries, archives,
opaque binary data."""

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
# Binary formats a skill ships as assets (images, fonts, audio, video, documents, data).
# Binary content matching none of these, nor an executable or archive, is opaque: compiled
# bytecode (.pyc, .class, .wasm), pickles, encrypted or packed blobs.
_ASSET_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"RIFF",  # WAV, AVI, WebP
    b"BM",  # BMP
    b"II*\x00",  # TIFF
    b"MM\x00*",
    b"\x00\x00\x01\x00",  # ICO
    b"icns",
    b"8BPS",  # Photoshop
    b"%PDF",
    b"\xd0\xcf\x11\xe0",  # legacy Office (OLE)
    b"{\\rtf",
    b"OTTO",  # fonts
    b"\x00\x01\x00\x00",
    b"true",
    b"ttcf",
    b"wOFF",
    b"wOF2",
    b"ID3",  # audio
    b"\xff\xfb",
    b"\xff\xf3",
    b"\xff\xf2",
    b"\xff\xf1",  # AAC
    b"OggS",
    b"fLaC",
    b"FORM",  # AIFF
    b"\x1aE\xdf\xa3",  # Matroska, WebM
    b"SQLite format 3\x00",
    b"PAR1",  # Parquet
    b"\x93NUMPY",
    b"ARROW1",
    b"\x89HDF",
    b"\xde\x12\x04\x95",  # gettext .mo
    b"\x95\x04\x12\xde",
    b"glTF",
    b"\xef\xbb\xbf",  # a UTF-8 BOM before text with control bytes
)
_ASSET_AT_4 = (b"ftyp", b"moov", b"mdat", b"wide")  # MP4, MOV, HEIC, AVIF

# Formats that share a magic prefix with an archive but are ordinary documents and assets.
_DOCUMENT_SUFFIXES = frozenset(
    {".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub", ".jar", ".whl", ".svgz"}
)


def _magic(data: bytes, table: tuple[tuple[bytes, str], ...]) -> str | None:
    return next((name for magic, name in table if data.startswith(magic)), None)


def _opaque(data: bytes) -> bool:
    """Binary content of no known asset format (executables and archives are judged apart)."""
    return not data.startswith(_ASSET_MAGIC) and data[4:8] not in _ASSET_AT_4


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
            elif not archive and _opaque(entry.data):
                evidence = f"{entry.path}: {entry.data[:8].hex()}"
                findings.append(rule("SKS-STRUCT-010").finding(entry.path, 0, evidence))
        elif entry.encoding is Encoding.INVALID_UTF8:
            findings.append(rule("SKS-STRUCT-008").finding(entry.path, 0, entry.path))
    for breach in skill.breaches:
        evidence = f"{breach.kind.value}: {breach.path}: {breach.detail}"
        findings.append(rule("SKS-STRUCT-004").finding(breach.path, 0, evidence))
    for folder in skill.skipped:
        findings.append(rule("SKS-STRUCT-007").finding(folder, 0, folder))
    return findings
