"""What the folder itself says: symlinks, special files, bounds hit, native binaries, archives,
Python bytecode, opaque binary data."""

from __future__ import annotations

import posixpath

from skillscan.model import Finding
from skillscan.signatures import Signatures
from skillscan.skill import Encoding, EntryKind, Skill, SkillFile

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


# CPython bytecode (.pyc) starts with a 2-byte little-endian version number and b"\r\n".
# From 3.7 (magic 3390 on) a 4-byte flags word follows (PEP 552): 0 = validated against the
# source's mtime and size, 0b11 = against a hash of the source, 0b01 = a hash that import
# never checks (importlib.util / `--check-hash-based-pycs`), so the source is ignored.
_PYC_SUFFIXES = frozenset({".pyc", ".pyo"})
_PEP552_MAGIC = 3390
_UNCHECKED_HASH = 0b01


def _bytecode(entry: SkillFile, sources: frozenset[str]) -> tuple[bool, str] | None:
    """Is `entry` Python bytecode, and does Python run it with no source a reviewer can read?
    (True, why) for code without a reviewable source, (False, note) for a compiled copy of
    a source the skill ships, None when it is not bytecode."""
    data = entry.data or b""
    if len(data) < 4 or data[2:4] != b"\r\n":
        return None
    magic = int.from_bytes(data[:2], "little")
    if entry.suffix not in _PYC_SUFFIXES and not (3000 <= magic < 4000 and _opaque(data)):
        return None  # under another name, only CPython 3's magic of a file no asset matches
    flags = int.from_bytes(data[4:8], "little") if len(data) >= 16 else -1
    if _PEP552_MAGIC <= magic < 4000 and flags == _UNCHECKED_HASH:
        return True, "Unchecked hash-based .pyc: Python loads it without reading its source."
    folder, name = posixpath.split(entry.path)
    if entry.suffix not in _PYC_SUFFIXES:
        return True, f"Bytecode under the name {name!r}: `python {name}` runs it as bytecode."
    if posixpath.basename(folder) == "__pycache__":
        # PEP 3147: import uses a cached .pyc only when its source exists.
        source = posixpath.join(posixpath.dirname(folder), name.split(".", 1)[0] + ".py")
        if source in sources:
            return False, f"A compiled copy of {source}; the source is what should be reviewed."
        return False, f"No {source} beside it: import ignores it, but `python <file>` runs it."
    # Outside __pycache__ (a "sourceless" .pyc) it is imported when no .py of the same name
    # is beside it, and `python file.pyc` runs it either way.
    stem = posixpath.splitext(name)[0]
    source = posixpath.join(folder, stem + ".py")
    if source in sources:
        return False, f"Legacy bytecode beside {source}, which import prefers."
    loads = f"`import {stem}` loads it and " if stem.isidentifier() else ""
    return True, f"Sourceless bytecode: {loads}`python {name}` runs it; no {stem}.py beside it."


def _magic(data: bytes, table: tuple[tuple[bytes, str], ...]) -> str | None:
    return next((name for magic, name in table if data.startswith(magic)), None)


def _opaque(data: bytes) -> bool:
    """Binary content of no known asset format (executables and archives are judged apart)."""
    return not data.startswith(_ASSET_MAGIC) and data[4:8] not in _ASSET_AT_4


def analyze(skill: Skill, signatures: Signatures) -> list[Finding]:
    """Flag entries and bounds that stop a skill from being fully, safely read."""
    rule = signatures.rule
    findings: list[Finding] = []
    sources: frozenset[str] | None = None
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
            elif not archive:
                if sources is None:
                    sources = frozenset(
                        f.path for f in skill.files if f.suffix == ".py" and f.text is not None
                    )
                evidence = f"{entry.path}: {entry.data[:8].hex()}"
                bytecode = _bytecode(entry, sources)
                if bytecode is not None:
                    unreviewable, detail = bytecode
                    rule_id = "SKS-STRUCT-011" if unreviewable else "SKS-STRUCT-010"
                    findings.append(rule(rule_id).finding(entry.path, 0, evidence, detail=detail))
                elif _opaque(entry.data):
                    findings.append(rule("SKS-STRUCT-010").finding(entry.path, 0, evidence))
        elif entry.encoding is Encoding.INVALID_UTF8:
            findings.append(rule("SKS-STRUCT-008").finding(entry.path, 0, entry.path))
    for breach in skill.breaches:
        evidence = f"{breach.kind.value}: {breach.path}: {breach.detail}"
        findings.append(rule("SKS-STRUCT-004").finding(breach.path, 0, evidence))
    for folder in skill.skipped:
        findings.append(rule("SKS-STRUCT-007").finding(folder, 0, folder))
    return findings
