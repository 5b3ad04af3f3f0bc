"""Encoded payloads: blobs (base64, base32, base85, hex, url-encoding, escapes), char-code
arrays, reversed and split strings; decoded within bounds and scanned again.

Every text file is read. Candidates are found with cheap regexes, decoded lazily (a short
prefix first, the whole blob only when the prefix looks like text or compressed data) and
the decoded text is scanned with every rule whose scope includes `decoded`, whichever
analyzer owns it. Decoded text may itself be encoded: up to MAX_DEPTH layers are peeled,
gzip/zlib included. Findings keep the original file and line and show the decoded text.
"""

from __future__ import annotations

import base64
import binascii
import html
import posixpath
import re
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import NamedTuple

from skillscan.model import Finding, Severity
from skillscan.signatures import Rule, Signatures
from skillscan.skill import Skill, SkillFile

NAME = "encoding"

# Bounds: a blob longer than this is decoded only up to it; past the per-skill totals the
# rest is not decoded and SKS-ENC-040 says so (small blobs go first, so padding a skill
# with decoys cannot push a short payload out of the budget). Candidates whose first bytes
# already show binary data cost little and have a bound of their own.
MAX_BLOB_CHARS = 64 * 1024
MAX_DECODED_BYTES = 2 * 1024 * 1024
MAX_CANDIDATES = 20_000
MAX_DEPTH = 3
MAX_INFLATED = 256 * 1024
MIN_TEXT_CHARS = 8
MAX_DECODED_SCANS = 300  # decoded texts per skill scanned with every `decoded` rule
MAX_FINDINGS_PER_RULE = 20  # per file: a file of a thousand blobs is one story
PREFIX_CHARS = 32  # base64 chars decoded first to judge a blob (24 bytes)

EXEC_RULES = ("SKS-ENC-001", "SKS-ENC-002", "SKS-ENC-003", "SKS-ENC-004")
DECODE_THEN_EXEC = "SKS-ENC-002"
POWERSHELL_DECODE_THEN_EXEC = "SKS-ENC-004"
READABLE_BLOB = "SKS-ENC-020"
QUOTED_EXAMPLE = "SKS-ENC-030"
BUDGET = "SKS-ENC-040"

# --- candidates ------------------------------------------------------------------------
# Every regex below that runs over a whole file starts with a literal, so the regex engine
# can skip ahead with a fast substring search (a leading `\b`, group or `(?i)` makes it try
# every position, 20-80x slower); the rarer ones also run only when a cheap `in` test on the
# file says their marker occurs.

_B64_CHARS = r"A-Za-z0-9+/_\-"
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
# Bytes of a text mapped to 'A' (base64 alphabet) or ' ' (anything else): runs of 'A' are
# then found with bytes.find at memchr speed instead of a regex tried at every position.
_RUN_TABLE = bytes(ord("A") if chr(i) in _B64_ALPHABET else ord(" ") for i in range(256))
_MIN_HEX_RUN = 32
_MIN_B64_RUN = 40
_B64_SHORT = re.compile(rf"(?<![{_B64_CHARS}=])[{_B64_CHARS}]{{12,39}}={{0,2}}(?![{_B64_CHARS}=])")
# Markers (in the lower-cased text) of a line where a short blob is worth decoding.
_DECODE_HINTS = (b"base64", b"b64", b"atob(", b"powershell", b"pwsh")
# Runs of six or more \xHH, \u00HH or \OOO escapes (one pass; the kind is read after).
_ESCAPES = re.compile(
    r"\\(?:x[0-9a-fA-F]{2}|u00[0-7][0-9a-fA-F]|[0-3][0-7]{2})"
    r"(?:\\(?:x[0-9a-fA-F]{2}|u00[0-7][0-9a-fA-F]|[0-3][0-7]{2})){5,}"
)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}(?:[^\s%\"'<>()]{0,3}%[0-9A-Fa-f]{2}){7,}")
_ENTITIES = re.compile(r"&#(?:x[0-9a-fA-F]{1,2}|\d{1,3});(?:&#(?:x[0-9a-fA-F]{1,2}|\d{1,3});){5,}")
_B85_CALL = re.compile(
    r"(?i)(?:b85decode|a85decode|base85|ascii85)[^\n]{0,40}?\(\s*b?([\"'])([^\"'\n]{10,65536})\1"
)
# Char codes: arrays of small integers, chr()/[char] chains, String.fromCharCode(...).
_INT_ARRAY = re.compile(
    r"[\[({]\s*(?:0x[0-9a-fA-F]{1,2}|\d{1,3})(?:\s*,\s*(?:0x[0-9a-fA-F]{1,2}|\d{1,3})){5,}"
    r"\s*,?\s*[\])}]"
)
_INT_ARRAY_MARKERS = (b"chr(", b"[char", b"bytes(", b"fromcharcode(")
_CHR_CHAINS = (
    (
        b"chr(",
        re.compile(
            r"chr\s*\(\s*(?:0x[0-9a-fA-F]{1,2}|\d{1,3})\s*\)(?:\s*[+,.]\s*chr\s*\("
            r"\s*(?:0x[0-9a-fA-F]{1,2}|\d{1,3})\s*\)){3,}"
        ),
    ),
    (
        b"[char",
        re.compile(
            r"\[[Cc][Hh][Aa][Rr]\]\s*(?:0x[0-9a-fA-F]{1,2}|\d{1,3})(?:\s*[+,]\s*"
            r"\[[Cc][Hh][Aa][Rr]\]\s*(?:0x[0-9a-fA-F]{1,2}|\d{1,3})){3,}"
        ),
    ),
)
_CHR_ITEM = re.compile(r"(?i)(?:chr|\[char\])\s*\(?\s*(0x[0-9a-f]{1,2}|\d{1,3})")
_INT_ITEM = re.compile(r"0x[0-9a-fA-F]{1,2}|\d{1,3}")
# Reversed strings, each with the marker that must occur on the line: Python slicing and
# reversed(), JS split/reverse/join, `rev`, PowerShell ranges, strrev/StrReverse.
# A quoted string literal (the other quote may occur inside), as group 2.
_QUOTED = r"([\"'])((?:(?!\1)[^\n\\]){6,4000})\1"
_REVERSED = (
    (b"[::-1]", re.compile(_QUOTED + r"\s*\[\s*::\s*-1\s*\]")),
    (
        b".reverse(",
        re.compile(_QUOTED + r"\s*\.split\(\s*([\"'])\3\s*\)\s*\.reverse\(\s*\)\s*\.join\("),
    ),
    (b"reversed(", re.compile(r"reversed\(\s*" + _QUOTED + r"\s*\)")),
    (
        b"| rev",
        re.compile(r"(?:echo|printf)\s+(?:-\w+\s+)?([\"']?)([^\"'\n|]{6,4000}?)\1\s*\|\s*rev\b"),
    ),
    (
        b"|rev",
        re.compile(r"(?:echo|printf)\s+(?:-\w+\s+)?([\"']?)([^\"'\n|]{6,4000}?)\1\s*\|rev\b"),
    ),
    (b"[-1..", re.compile(_QUOTED + r"\s*\[\s*-1\s*\.\.\s*-?\d+\s*\]")),
)
# Split strings: literal concatenations and joined arrays of short literals.
_CONCAT_MARKERS = (b"'+", b'"+')
_CONCATS = (
    re.compile(r"'[^'\n\\]{0,60}'(?:\s*\+\s*'[^'\n\\]{0,60}'){2,60}"),
    re.compile(r'"[^"\n\\]{0,60}"(?:\s*\+\s*"[^"\n\\]{0,60}"){2,60}'),
)
_ITEMS = r"(?:([\"'])[^\"'\n\\]{0,40}\1\s*,\s*){2,80}([\"'])[^\"'\n\\]{0,40}\2\s*,?\s*"
_JOINED = (
    # ['c', 'u', 'r', 'l'].join('')
    re.compile(r"\[\s*" + _ITEMS + r"\]\s*\.join\(\s*(?:''|\"\")?\s*\)"),
    # ''.join(['c', 'u', 'r', 'l'])
    re.compile(r"''\.join\(\s*[\[(]\s*" + _ITEMS + r"[\])]\s*\)"),
    re.compile(r'""\.join\(\s*[\[(]\s*' + _ITEMS + r"[\])]\s*\)"),
)
_LITERAL = re.compile(r"([\"'])([^\"'\n\\]{0,60})\1")
# Shell words split by empty quotes, backslashes or $IFS: c''url, w"g"et, cu\rl, curl${IFS}x.
_BASE85_CALL = b"<base85 decode>"
# Pseudo-markers (regex groups below) for a shell word split by a backslash or empty quotes.
_SPLIT_BACKSLASH = b"<letter\\letter>"
_SPLIT_QUOTES = b"<letter''letter>"
_SPLIT_DQUOTES = b'<letter""letter>'
_SHELL_MARKERS = (_SPLIT_QUOTES, _SPLIT_DQUOTES, _SPLIT_BACKSLASH, b"ifs")
# Pseudo-marker for a word glued from shell variables: `a=cu; b=rl; $a$b http://x | sh`.
_SPLIT_VARS = b"<$var$var>"
_VAR_LOOKBACK = 10  # lines before a glued word where its variables' assignments are looked up
_ASSIGNMENT = re.compile(
    r"(?m)(?:^|[\s;&|(])([A-Za-z_]\w{0,30})=([\"']?)([^\s;&|\"'`$()]{1,40})\2(?=[\s;&|)]|$)"
)
_EXPANSION = re.compile(r"\$(?:\{([A-Za-z_]\w{0,30})\}|([A-Za-z_]\w{0,30}))")
_SHELL_JOIN = re.compile(r"(?<=[A-Za-z])(?:''|\"\"|\\)(?=[A-Za-z])")
_IFS = re.compile(r"\$\{IFS\}|\$IFS\b")
_COMMAND_WORD = re.compile(
    r"(?i)(?<![\w-])(?:curl|wget|bash|zsh|sh|python[\d.]*|perl|ruby|node|nc|ncat|chmod|sudo"
    r"|base64|powershell|pwsh|iex|eval|exec|osascript|crontab|rm)(?![\w-])"
)

# Data URIs of media are never decoded; others (text/html, javascript) are.
_DATA_URI = re.compile(r"(?i)data:([a-z]+/[\w.+-]+)?(?:;[\w=.-]+)*;base64,\s*$")
_MEDIA_TYPES = ("image/", "font/", "audio/", "video/", "application/font", "application/x-font")
# Hash-shaped contexts: subresource integrity, lockfile digests, checksums.
_HASH_CONTEXT = re.compile(
    r"(?i)(?:sha(?:1|224|256|384|512)|md5|blake2b?|integrity|checksum|digest|hash|commit|oid)"
    r"[^\n]{0,24}$"
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")

# Leading bytes of media and binary formats: decoded base64 starting so is an asset.
_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"wOFF",
    b"wOF2",
    b"OTTO",
    b"\x00\x01\x00\x00",
    b"RIFF",
    b"%PDF",
    b"BM",
    b"\x00\x00\x01\x00",
    b"ID3",
    b"fLaC",
    b"OggS",
    b"\x1aE\xdf\xa3",
    b"PK\x03\x04",
    b"\x00asm",
)

# Where quoting an attack is documentation, not an instruction: test and example folders,
# markdown tables, and lines that say they list patterns to detect.
_EXAMPLE_PATH = re.compile(
    r"(?i)(?:^|/)(?:tests?|__tests__|spec|specs|fixtures?|test[-_]?fixtures|examples?|samples?"
    r"|evals?|testdata|test[-_]data|red[-_]?team|patterns|signatures|detectors?)(?:/|$)"
    r"|(?:^|/)test_[^/]*$|[._-](?:test|spec)\.\w+$"
    r"|(?:^|/)[^/]*(?:pattern|signature|threat|attack|ioc|detect|malicious|evasi|red[-_]?flag)"
    r"[^/]*\.\w+$"
)
_EXAMPLE_WORDS = re.compile(
    r"(?i)(?<!\w)(?:detect(?:s|ed|ing|ion|ions|or|ors)?|scanner|scan(?:s|ning)? for|patterns?"
    r"|signatures?|examples?(?: of|:)|e\.g\.|for example|red flags?|warning signs?|indicators?"
    r"|iocs?|never (?:run|execute|paste)|do not (?:run|execute|paste)|don'?t (?:run|execute|paste)"
    r"|known[- ]malicious|attack (?:vectors?|patterns?|techniques?)|evasions?|evasive"
    r"|test cases?|fixtures?|obfuscation (?:techniques?|patterns?)|flag(?:s|ged)? as"
    r"|decodes? to)(?!\w)"
)
# Section titles under which quoted payloads are documentation (security write-ups).
_EXAMPLE_HEADINGS = re.compile(
    r"(?i)\b(?:attacks?|threats?|payloads?|obfuscation|evasions?|injections?|malicious"
    r"|red flags?|detections?|patterns?|examples?|techniques?|indicators?)\b"
)


@dataclass(frozen=True)
class _Candidate:
    """A piece of a text that may hide something: what it is, where it starts, its payload."""

    kind: str  # base64, base32, base85, hex, url-encoding, char codes, reversed, split, ...
    start: int
    payload: str
    opaque: bool = True  # False: the original is partly readable (percent-encoding, splits)
    readable_blob: bool = False  # eligible for SKS-ENC-020 when nothing else fires


@dataclass
class _Budget:
    """Per-skill work counters (mutable, local to one analyze() call)."""

    candidates: int = 0
    decoded_bytes: int = 0
    scans: int = 0
    exceeded: bool = False
    cache: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def see(self) -> bool:
        """Count a candidate; False once there were too many to look at."""
        self.candidates += 1
        if self.candidates > MAX_CANDIDATES:
            self.exceeded = True
            return False
        return True

    def spend(self, size: int) -> bool:
        """Account a blob about to be decoded whole; False when the bytes budget is spent."""
        if self.decoded_bytes + size > MAX_DECODED_BYTES:
            self.exceeded = True
            return False
        self.decoded_bytes += size
        return True


# --- decoding --------------------------------------------------------------------------


def _b64_bytes(payload: str, limit: int | None = None) -> bytes | None:
    """Standard or URL-safe base64 (padding optional) to bytes; None if it is not base64."""
    body = payload.rstrip("=")
    if limit is not None:
        body = body[: limit - limit % 4]
    if len(body) % 4 == 1:
        body = body[:-1]
    body = body.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _b32_bytes(payload: str) -> bytes | None:
    body = payload.rstrip("=")
    body = body[: len(body) - len(body) % 8] if len(body) % 8 in (1, 3, 6) else body
    try:
        return base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError):
        return None


def _b85_bytes(payload: str) -> bytes | None:
    compact = "".join(payload.split())
    for decoder in (base64.b85decode, base64.a85decode):
        try:
            return decoder(compact)
        except (binascii.Error, ValueError):
            continue
    return None


def _looks_binary(data: bytes) -> bool:
    return data.startswith(_BINARY_MAGIC)


def _compressed(data: bytes) -> bool:
    if data[:2] == b"\x1f\x8b":
        return True
    return len(data) >= 2 and data[0] == 0x78 and (data[0] << 8 | data[1]) % 31 == 0


def _inflate(data: bytes) -> bytes | None:
    """gzip or zlib data, inflated up to MAX_INFLATED bytes (a zip bomb stops there)."""
    try:
        return zlib.decompressobj(wbits=47).decompress(data, MAX_INFLATED)
    except zlib.error:
        return None


def _printable_ratio(text: str) -> float:
    if not text:
        return 0.0
    good = sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r")
    return good / len(text)


def _as_text(data: bytes) -> str | None:
    """Decoded bytes as text, or None when they are binary (UTF-8, or PowerShell's UTF-16LE)."""
    if len(data) >= 8 and data[1::2].count(0) >= len(data) // 2 * 0.9:
        try:
            text = data.decode("utf-16-le")
        except UnicodeDecodeError:
            return None
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    text = text.strip("\x00")
    if len(text) < MIN_TEXT_CHARS or _printable_ratio(text) < 0.9:
        return None
    if not any(ch.isalpha() for ch in text):
        return None
    return text


def _prefix_promising(data: bytes) -> bool:
    """Judge a blob from its first bytes: compressed, UTF-16 or UTF-8 text is worth decoding."""
    if _looks_binary(data):
        return False
    if _compressed(data):
        return True
    for cut in range(4):  # the prefix may end inside a multi-byte character
        try:
            head = data[: len(data) - cut].decode("utf-8") if cut else data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return _printable_ratio(head) >= 0.9 or head.count("\x00") >= len(head) // 3
    return False


def _bytes_to_texts(data: bytes, chain: str) -> tuple[tuple[str, str], ...]:
    """(chain, text) for decoded bytes, through one gzip/zlib layer when present."""
    if _compressed(data):
        inflated = _inflate(data)
        if inflated is None:
            return ()
        text = _as_text(inflated)
        return ((f"{chain} → gzip", text),) if text else ()
    if _looks_binary(data):
        return ()
    text = _as_text(data)
    return ((chain, text),) if text else ()


def _base32ish(payload: str) -> bool:
    return len(payload.rstrip("=")) >= 16 and re.fullmatch(r"[A-Z2-7]+=*", payload) is not None


def _worth_decoding(kind: str, payload: str) -> bool:
    """Judge a blob from its first bytes (cheap): compressed, UTF-16 or text is worth a
    full decode; a blob that starts as binary (an image, a hash) is not."""
    if kind == "base64":
        if _base32ish(payload):
            return True
        head = _b64_bytes(payload, PREFIX_CHARS)
        return head is not None and _prefix_promising(head)
    if kind == "hex" and not payload.startswith("\\"):
        digits = payload[:48]
        try:
            return _prefix_promising(bytes.fromhex(digits[: len(digits) - len(digits) % 2]))
        except ValueError:
            return False
    return True


def _decode_base64ish(payload: str) -> tuple[tuple[str, str], ...]:
    """A run of base64-alphabet characters: try base32 (upper-case only), then base64."""
    payload = payload[:MAX_BLOB_CHARS]
    if _base32ish(payload):
        data = _b32_bytes(payload)
        if data is not None:
            found = _bytes_to_texts(data, "base32")
            if found:
                return found
    data = _b64_bytes(payload)
    return _bytes_to_texts(data, "base64") if data is not None else ()


def _decode_hex(payload: str) -> tuple[tuple[str, str], ...]:
    digits = re.sub(r"\\x|[^0-9a-fA-F]", "", payload)[:MAX_BLOB_CHARS]
    try:
        data = bytes.fromhex(digits[: len(digits) - len(digits) % 2])
    except ValueError:
        return ()
    return _bytes_to_texts(data, "hex")


def _decode_octal(payload: str) -> tuple[tuple[str, str], ...]:
    data = bytes(int(d, 8) & 0xFF for d in re.findall(r"\\([0-3][0-7]{2})", payload))
    return _bytes_to_texts(data, "octal escapes")


def _decode_unicode_escapes(payload: str) -> tuple[tuple[str, str], ...]:
    text = "".join(chr(int(d, 16)) for d in re.findall(r"\\u([0-9a-fA-F]{4})", payload))
    return (("unicode escapes", text),) if len(text) >= MIN_TEXT_CHARS // 2 else ()


def _decode_percent(payload: str) -> tuple[tuple[str, str], ...]:
    text = urllib.parse.unquote(payload[:MAX_BLOB_CHARS], errors="replace")
    return (("url-encoding", text),) if _printable_ratio(text) >= 0.9 else ()


def _decode_entities(payload: str) -> tuple[tuple[str, str], ...]:
    text = html.unescape(payload[:MAX_BLOB_CHARS])
    return (("html entities", text),) if _printable_ratio(text) >= 0.9 else ()


def _decode_base85(payload: str) -> tuple[tuple[str, str], ...]:
    data = _b85_bytes(payload[:MAX_BLOB_CHARS])
    return _bytes_to_texts(data, "base85") if data is not None else ()


def _decode_char_codes(payload: str) -> tuple[tuple[str, str], ...]:
    items = _CHR_ITEM.findall(payload) or _INT_ITEM.findall(payload)
    codes = [int(v, 16) if v.lower().startswith("0x") else int(v) for v in items]
    if len(codes) < 4 or any(not (32 <= c < 127 or c in (9, 10, 13)) for c in codes):
        return ()
    text = "".join(chr(c) for c in codes)
    # Integer tables are common data; only text with letters (or a URL's punctuation) is
    # likely a hidden string.
    letters = sum(ch.isalpha() for ch in text)
    if letters < 3 or (letters < len(text) * 0.4 and "/" not in text and "." not in text):
        return ()
    return (("char codes", text),)


def _decode_reversed(payload: str) -> tuple[tuple[str, str], ...]:
    return (("reversed string", payload[::-1]),)


_DECODERS: dict[str, Callable[[str], tuple[tuple[str, str], ...]]] = {
    "base64": _decode_base64ish,
    "hex": _decode_hex,
    "octal escapes": _decode_octal,
    "unicode escapes": _decode_unicode_escapes,
    "url-encoding": _decode_percent,
    "html entities": _decode_entities,
    "base85": _decode_base85,
    "char codes": _decode_char_codes,
    "reversed string": _decode_reversed,
}


# --- finding candidates ------------------------------------------------------------------


def _media_data_uri(text: str, start: int) -> bool:
    match = _DATA_URI.search(text[max(0, start - 120) : start])
    if match is None:
        return False
    mime = (match.group(1) or "").lower()
    return mime.startswith(_MEDIA_TYPES) or mime in ("", "application/octet-stream")


def _is_jwt_part(text: str, start: int, end: int) -> bool:
    if text[start:end].startswith("eyJ") and text[end : end + 1] == ".":
        return True
    if text[start - 1 : start] == ".":
        window = text[max(0, start - 2048) : start]
        dot = window.rfind("eyJ")
        return dot >= 0 and _JWT.match(window, dot) is not None
    return False


# Markers tested together: one pass of a regex that starts with a literal finds them all
# (about the cost of one substring test, against one test per marker).
_MARKER_GROUPS: tuple[tuple[re.Pattern[bytes], tuple[bytes, ...]], ...] = (
    (
        re.compile(
            rb"\((?:(?<=atob\()|(?<=chr\()|(?<=bytes\()|(?<=\.join\()|(?<=reversed\()"
            rb"|(?<=\.reverse\()|(?<=fromcharcode\()|(?<=exec\()|(?<=eval\())"
        ),
        (
            b"atob(",
            b"chr(",
            b"bytes(",
            b".join(",
            b"reversed(",
            b".reverse(",
            b"fromcharcode(",
            b"exec(",
            b"eval(",
        ),
    ),
    (re.compile(rb"\[(?:::-1\]|char|-1\.\.)"), (b"[::-1]", b"[char", b"[-1..")),
    (re.compile(rb"p(?:owershell|wsh)"), (b"powershell", b"pwsh")),
    (re.compile(rb"b(?:ase(?:64|32)|64)"), (b"base64", b"base32", b"b64")),
    (re.compile(rb"\|[ \t]?rev"), (b"| rev", b"|rev")),
    (re.compile(rb"\$\{?ifs"), (b"ifs",)),
    (re.compile(rb"85(?:decode|(?<=base85)|(?<=ascii85))"), (_BASE85_CALL,)),
    # A shell word split by a backslash or empty quotes: c\url, c''url, c""url.
    (re.compile(rb"\\(?<=[a-z]\\)(?=[a-z])"), (_SPLIT_BACKSLASH,)),
    (re.compile(rb"''(?<=[a-z]'')(?=[a-z])"), (_SPLIT_QUOTES,)),
    (re.compile(rb'""(?<=[a-z]"")(?=[a-z])'), (_SPLIT_DQUOTES,)),
    (re.compile(rb"\$\{?[a-z_]\w{0,30}\}?\$\{?[a-z_]"), (_SPLIT_VARS,)),
    (re.compile(rb"'[ \t]?\+[ \t]?['\"]"), (b"'+",)),
    (re.compile(rb'"[ \t]?\+[ \t]?[\'"]'), (b'"+',)),
)
_WINDOW = 8192  # the part of a long line around a marker that line-level regexes read
_GROUP_OF = {member: group for group in _MARKER_GROUPS for member in group[1]}


class _Text:
    """A text and the cheap views its finders share: an ASCII-lowered byte copy (same
    offsets; non-ASCII characters become '?') and where its markers first occur."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.low = text.encode("ascii", "replace").lower()
        self._first: dict[bytes, int] = {}

    def find(self, marker: bytes, start: int = 0) -> int:
        """Offset of the next occurrence of a marker at or after `start`, or -1."""
        group = _GROUP_OF.get(marker)
        if group is None:
            return self.low.find(marker, start)
        pattern, members = group
        low = self.low
        match = pattern.search(low, start)
        while match is not None:
            if len(members) == 1 or low.endswith(marker, 0, match.end()):
                return match.start()
            match = pattern.search(low, match.end())
        return -1

    def has(self, marker: bytes) -> bool:
        """Does the (lower-cased) text hold `marker`? A group's markers are all looked up
        in one pass of the group's regex."""
        first = self._first.get(marker)
        if first is not None:
            return first >= 0
        group = _GROUP_OF.get(marker)
        if group is None:
            first = self._first[marker] = self.low.find(marker)
        else:
            self._probe(*group)
            first = self._first[marker]
        return first >= 0

    def _probe(self, pattern: re.Pattern[bytes], members: tuple[bytes, ...]) -> None:
        """First offset of every member of a group, from one pass that stops when all are
        found; after 64 matches the members still missing are looked up one by one (a
        frequent member must not make the pass a Python loop over thousands of matches)."""
        low = self.low
        missing = set(members)
        for member in members:
            self._first[member] = -1
        for count, match in enumerate(pattern.finditer(low)):
            if count >= 64:
                for member in missing:
                    self._first[member] = self.find(member, match.start())
                return
            end = match.end()
            for member in missing:
                if len(members) == 1 or low.endswith(member, 0, end):
                    self._first[member] = match.start()
                    missing.discard(member)
                    break
            if not missing:
                break

    def lines_with(self, marker: bytes, limit: int = 500) -> Iterator[tuple[int, str]]:
        """(offset, line) of each line holding `marker` (case-insensitive), at most `limit`.
        Of a very long line (minified code) only the part around the marker is given, so a
        line-level regex never rescans a megabyte per occurrence."""
        if not self.has(marker):
            return
        text, low = self.text, self.low
        pos = self._first[marker]
        count = 0
        while pos >= 0 and count < limit:
            start = max(low.rfind(b"\n", max(0, pos - _WINDOW), pos) + 1, pos - _WINDOW)
            end = low.find(b"\n", pos, pos + _WINDOW)
            end = min(len(low), pos + _WINDOW) if end < 0 else end
            yield start, text[start:end]
            count += 1
            pos = self.find(marker, end)

    def line_of(self, offset: int) -> int:
        """The 1-based line number of an offset."""
        return self.low.count(b"\n", 0, offset) + 1

    def runs(self, minimum: int) -> Iterator[tuple[int, int]]:
        """(start, end) of each run of at least `minimum` base64-alphabet characters."""
        marks = self.low.translate(_RUN_TABLE)
        seed = b"A" * minimum
        pos = marks.find(seed)
        while pos >= 0:
            start = marks.rfind(b" ", 0, pos) + 1
            end = marks.find(b" ", pos)
            end = len(marks) if end < 0 else end
            yield start, end
            pos = marks.find(seed, end)


def _blob_candidates(doc: _Text, nested: bool) -> Iterator[_Candidate]:
    """Long base64/base32 and hex runs, and short blobs on lines that decode something."""
    text = doc.text
    seen: set[int] = set()
    for start, end in doc.runs(_MIN_HEX_RUN):
        payload = text[start:end]
        if not payload.strip(_HEX_STRIP):
            if not _HASH_CONTEXT.search(text, max(0, start - 40), start):
                seen.add(start)
                yield _Candidate("hex", start, payload)
            continue
        # Base64 of text always holds upper-case letters; paths and URLs hold many slashes.
        if end - start < _MIN_B64_RUN or payload.lower() == payload:
            continue
        if payload.count("/") * 12 > len(payload):
            continue
        if _HASH_CONTEXT.search(text, max(0, start - 40), start):
            continue
        if _is_jwt_part(text, start, end) or _media_data_uri(text, start):
            continue
        pad = len(text[end : end + 6]) - len(text[end : end + 6].lstrip("="))
        seen.add(start)
        full = _joined_wrapped(text, payload + "=" * pad, end + pad)
        yield _Candidate("base64", start, full, True, True)
    if nested:
        return
    for hint in _DECODE_HINTS:
        for offset, line in doc.lines_with(hint, 200):
            for match in _B64_SHORT.finditer(line[:4096]):
                begin = offset + match.start()
                if begin not in seen and re.search("[A-Z]", match.group()):
                    seen.add(begin)
                    yield _Candidate("base64", begin, match.group())


def _joined_wrapped(text: str, payload: str, end: int) -> str:
    """A blob wrapped over several lines (MIME style, or split string literals), rejoined."""
    parts = [payload]
    total = len(payload)
    while total < MAX_BLOB_CHARS and len(parts) < 2000 and not parts[-1].endswith("="):
        gap = _WRAP_GAP.match(text, end, end + 60)
        if gap is None:
            break
        nxt = _WRAPPED_PART.match(text, gap.end())
        if nxt is None:
            break
        parts.append(nxt.group())
        total += len(nxt.group())
        end = nxt.end()
        if len(nxt.group().rstrip("=")) < _MIN_B64_RUN:
            break  # the last, shorter line of the blob
    return "".join(parts)


_WRAP_GAP = re.compile(r"[\"']?[ \t]{0,4}\+?[ \t]*\\?\r?\n[ \t]{0,40}\+?[ \t]*[\"']?")
_WRAPPED_PART = re.compile(rf"[{_B64_CHARS}]{{4,}}={{0,2}}")
_HEX_STRIP = "0123456789abcdefABCDEF"


def _escapes(doc: _Text) -> Iterator[_Candidate]:
    for match in _ESCAPES.finditer(doc.text):
        run = match.group()
        if run[1] == "x":
            yield _Candidate("hex", match.start(), run)
        elif run[1] == "u":
            yield _Candidate("unicode escapes", match.start(), run, False)
        else:
            yield _Candidate("octal escapes", match.start(), run)


def _percent(doc: _Text) -> Iterator[_Candidate]:
    for match in _PERCENT.finditer(doc.text):
        yield _Candidate("url-encoding", match.start(), match.group(), False)


def _entities(doc: _Text) -> Iterator[_Candidate]:
    for match in _ENTITIES.finditer(doc.text):
        yield _Candidate("html entities", match.start(), match.group())


def _base85(doc: _Text) -> Iterator[_Candidate]:
    if doc.has(_BASE85_CALL):
        for match in _B85_CALL.finditer(doc.text):
            yield _Candidate("base85", match.start(), match.group(2), True, True)


def _char_codes(doc: _Text) -> Iterator[_Candidate]:
    for marker, pattern in _CHR_CHAINS:
        for offset, line in doc.lines_with(marker):
            for match in pattern.finditer(line):
                yield _Candidate("char codes", offset + match.start(), match.group())
    if any(doc.has(marker) for marker in _INT_ARRAY_MARKERS):
        for match in _INT_ARRAY.finditer(doc.text):
            yield _Candidate("char codes", match.start(), match.group())


def _reversed(doc: _Text) -> Iterator[_Candidate]:
    for marker, pattern in _REVERSED:
        for offset, line in doc.lines_with(marker):
            for match in pattern.finditer(line):
                yield _Candidate("reversed string", offset + match.start(), match.group(2))


def _splits(doc: _Text) -> Iterator[_Candidate]:
    for marker, concat in zip(_CONCAT_MARKERS, _CONCATS, strict=True):
        for offset, line in doc.lines_with(marker):
            for match in concat.finditer(line):
                pieces = [m.group(2) for m in _LITERAL.finditer(match.group())]
                yield _Candidate("split string", offset + match.start(), "\0".join(pieces), False)
    for offset, line in doc.lines_with(b".join("):
        for joined in _JOINED:
            for match in joined.finditer(line):
                pieces = [m.group(2) for m in _LITERAL.finditer(match.group()) if m.group(2)]
                begin = offset + match.start()
                yield _Candidate("split string", begin, "\0".join(pieces), False)


def _shell_splits(doc: _Text) -> Iterator[_Candidate]:
    """Lines where removing shell quote/backslash splits (or $IFS) reveals a command word."""
    done: set[int] = set()
    for marker in _SHELL_MARKERS:
        for offset, line in doc.lines_with(marker):
            if offset in done or len(line) > 4000:
                continue
            done.add(offset)
            unsplit = _SHELL_JOIN.sub("", line)
            joined = _IFS.sub(" ", unsplit)
            if joined == line:
                continue
            before = {m.group().lower() for m in _COMMAND_WORD.finditer(line)}
            after = {m.group().lower() for m in _COMMAND_WORD.finditer(joined)}
            if after - before or joined != unsplit:
                yield _Candidate("shell split", offset, line + "\0" + joined, False)


def _expand(values: dict[str, str], match: re.Match[str]) -> str:
    return values.get(match.group(1) or match.group(2), match.group(0))


def _shell_vars(doc: _Text) -> Iterator[_Candidate]:
    """Lines where a word glued from variables (`$a$b`) spells a command once the literal
    values assigned to them on that line or the few before are substituted."""
    for offset, line in doc.lines_with(_SPLIT_VARS):
        if len(line) > 4000:
            continue
        begin = offset
        for _ in range(_VAR_LOOKBACK):
            if begin <= 0:
                break
            begin = doc.text.rfind("\n", 0, begin - 1) + 1
        values: dict[str, str] = {}
        for match in _ASSIGNMENT.finditer(doc.text, begin, offset + len(line)):
            values[match.group(1)] = match.group(3)
        if not values:
            continue
        joined = _EXPANSION.sub(partial(_expand, values), line)
        before = {m.group().lower() for m in _COMMAND_WORD.finditer(line)}
        after = {m.group().lower() for m in _COMMAND_WORD.finditer(joined)}
        if after - before:
            yield _Candidate("shell split", offset, line + "\0" + joined, False)


Finder = Callable[[_Text], Iterator[_Candidate]]
_ALL_FINDERS: tuple[Finder, ...] = (
    _escapes,
    _percent,
    _entities,
    _base85,
    _char_codes,
    _reversed,
    _splits,
    _shell_splits,
    _shell_vars,
)
# Which finders read which files, by suffix: each language hides strings its own way, and
# every marker test is a pass over the file. Markdown (and anything unknown that is read as
# instructions) gets them all, since its code blocks may be in any language.
_CODE_FINDERS: dict[str, tuple[Finder, ...]] = {
    **dict.fromkeys((".py", ".pyw"), (_escapes, _base85, _char_codes, _reversed, _splits)),
    **dict.fromkeys(
        (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"),
        (_escapes, _percent, _char_codes, _reversed, _splits),
    ),
    **dict.fromkeys(
        ("", ".sh", ".bash", ".zsh", ".ksh", ".fish", ".command"),
        (_escapes, _reversed, _shell_splits, _shell_vars),
    ),
    **dict.fromkeys(
        (".ps1", ".psm1", ".psd1", ".bat", ".cmd", ".vbs"),
        (_char_codes, _reversed, _splits, _shell_splits),
    ),
    ".php": (_escapes, _char_codes, _reversed, _splits),
    ".rb": (_escapes, _reversed, _splits),
    ".pl": (_escapes, _reversed, _splits),
}
_OTHER_CODE_FINDERS: tuple[Finder, ...] = (_escapes, _splits)
_CONFIG_FINDERS: tuple[Finder, ...] = (_escapes, _percent, _entities)
# Machine-written files (lockfiles) hold hashes, not hidden strings: blobs only.
_LOCKFILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "pipfile.lock",
        "uv.lock",
        "cargo.lock",
        "composer.lock",
        "gemfile.lock",
        "go.sum",
        "bun.lock",
    }
)


def _finders(entry: SkillFile, role: str, suffix: str) -> tuple[Finder, ...]:
    """The finders (beyond blobs, which every file gets) that suit a file."""
    if posixpath.basename(entry.path).lower() in _LOCKFILES:
        return ()
    if role == "markdown":
        return _ALL_FINDERS
    if role == "code":
        return _CODE_FINDERS.get(suffix, _OTHER_CODE_FINDERS)
    if role == "config":
        return _CONFIG_FINDERS
    return ()


# Inside decoded text (already a payload), the cheap finders for a further layer.
_NESTED_FINDERS: tuple[Finder, ...] = (_escapes, _percent, _char_codes, _reversed)


# The markers without which a finder has nothing to find (tested before it is called).
_GATES: dict[Finder, tuple[bytes, ...]] = {
    _escapes: (b"\\",),
    _percent: (b"%",),
    _entities: (b"&#",),
    _base85: (_BASE85_CALL,),
    _char_codes: (b"chr(", b"[char", b"bytes(", b"fromcharcode("),
    _reversed: (b"[::-1]", b".reverse(", b"reversed(", b"| rev", b"|rev", b"[-1.."),
    _splits: (b"'+", b'"+', b".join("),
    _shell_splits: (_SPLIT_QUOTES, _SPLIT_DQUOTES, _SPLIT_BACKSLASH, b"ifs"),
    _shell_vars: (_SPLIT_VARS,),
}


def _candidates(
    doc: _Text, finders: tuple[Finder, ...] = (), *, nested: bool = False
) -> Iterator[_Candidate]:
    """Every candidate of a text: blobs, then whatever the given finders see."""
    yield from _blob_candidates(doc, nested)
    has = doc.has
    for finder in finders:
        for marker in _GATES[finder]:
            if has(marker):
                yield from finder(doc)
                break


# --- reporting -------------------------------------------------------------------------


def example_context(entry: SkillFile, lines: list[str], number: int, first: int = 1) -> bool:
    """Is the line at `number` (1-based) quoted as an example rather than an instruction?
    Lines before `first` (SKILL.md's frontmatter) are not read as context."""
    if _EXAMPLE_PATH.search(entry.path):
        return True
    index = number - 1
    if not 0 <= index < len(lines):
        return False
    if entry.role == "markdown" and lines[index].lstrip(" >").startswith("|"):
        return True
    window: list[str] = [lines[index]]
    back = index - 1
    while back >= first - 1 and len(window) < 4 and index - back <= 8:
        if lines[back].strip():
            window.append(lines[back])
        back -= 1
    if any(_EXAMPLE_WORDS.search(line[:2000]) for line in window):
        return True
    if entry.role != "markdown":
        return False
    for back in range(index - 1, max(first - 2, index - 80), -1):
        if lines[back].startswith("#"):
            return _EXAMPLE_HEADINGS.search(lines[back][:300]) is not None
    return False


class _FileScan:
    """The scan of one text file: its lines, line starts and the findings so far."""

    def __init__(self, owner: _Scanner, entry: SkillFile, doc: _Text, first: int) -> None:
        self.owner = owner
        self.entry = entry
        self.doc = doc
        self.text = doc.text
        self.first = first  # first line that is instructions, not frontmatter
        self.seen: set[tuple[str, int, str]] = set()
        self.counts: dict[str, int] = {}
        self.lines: list[str] | None = None
        self.findings: list[Finding] = []

    def source_line(self, offset: int) -> str:
        """The line of the file holding an offset (at most 2000 characters either side)."""
        text = self.text
        start = max(text.rfind("\n", 0, offset) + 1, offset - 2000)
        end = text.find("\n", offset, offset + 2000)
        return text[start : end if end >= 0 else min(len(text), offset + 2000)]

    def example(self, number: int) -> bool:
        if self.lines is None:
            self.lines = self.text.split("\n")
        return example_context(self.entry, self.lines, number, self.first)

    def report_at(self, rule: Rule, offset: int, evidence: str) -> None:
        """`report` for a finding located by an offset into the file."""
        self.report(rule, self.doc.line_of(offset), evidence)

    def report(self, rule: Rule, number: int, evidence: str, *, detail: str = "") -> None:
        """Add a finding; a blocking one quoted as an example becomes SKS-ENC-030. A rule
        reports the same evidence on a line once, and at most 20 findings a file."""
        if self.counts.get(rule.id, 0) >= MAX_FINDINGS_PER_RULE:
            return
        if (rule.id, -number, evidence) in self.seen:
            return
        self.seen.add((rule.id, -number, evidence))
        self.counts[rule.id] = self.counts.get(rule.id, 0) + 1
        if rule.severity in (Severity.CRITICAL, Severity.HIGH) and self.example(number):
            detail = f"(As an instruction it would be {rule.id}: {rule.message})"
            rule = self.owner.signatures.rule(QUOTED_EXAMPLE)
        key = (rule.id, number, evidence)
        if key not in self.seen:
            self.seen.add(key)
            self.findings.append(rule.finding(self.entry.path, number, evidence, detail=detail))


class _ExecRule(NamedTuple):
    """A file-level rule and its keywords as bytes (for the lower-cased byte copy)."""

    rule: Rule
    keywords: tuple[bytes, ...]


class _Scanner:
    """Rules and budget shared by every file of one skill."""

    def __init__(self, signatures: Signatures) -> None:
        self.signatures = signatures
        own = signatures.for_analyzer(NAME)
        self.exec_rules = tuple(
            _ExecRule(r, tuple(k.encode("ascii", "replace") for k in r.keywords))
            for r in own
            if r.id in EXEC_RULES and r.patterns
        )
        self.budget = _Budget()

    @cached_property
    def decoded_rules(self) -> tuple[Rule, ...]:
        """Every rule that reads decoded text (looked up only when something decodes)."""
        return self.signatures.with_scope("decoded")

    def scan_file(self, entry: SkillFile, text: str, first: int = 1) -> list[Finding]:
        doc = _Text(text)
        scan = _FileScan(self, entry, doc, first)
        role, suffix = entry.role, entry.suffix
        if role != "other" and posixpath.basename(entry.path).lower() not in _LOCKFILES:
            self._exec_rules(scan, doc, role, suffix)
        finders = _finders(entry, role, suffix)
        pending = sorted(_candidates(doc, finders), key=lambda c: len(c.payload))
        for candidate in pending:
            if not self.budget.see():
                break
            self._inspect(scan, candidate)
        return scan.findings

    def _exec_rules(self, scan: _FileScan, doc: _Text, role: str, suffix: str) -> None:
        """The file-level rules, run only on the lines that hold one of their keywords
        (with their line continuations): a keyword marks where a match starts."""
        for rule, keywords in self.exec_rules:
            if rule.scopes and role not in rule.scopes:
                continue
            suffixes = rule.options.get("suffixes")
            if role == "code" and isinstance(suffixes, list) and suffix not in suffixes:
                continue
            for keyword in keywords:
                if doc.has(keyword):
                    break
            else:
                continue
            for start, window in _keyword_windows(doc, rule.keywords):
                lowered = doc.low[start : start + len(window)].decode("ascii")
                for number, line in rule.search(window, lowered):
                    scan.report(rule, doc.line_of(start) + number - 1, _clip(rule, line))
        if role == "code":
            for offset, line, word in _decode_then_exec(doc):
                rule_id = POWERSHELL_DECODE_THEN_EXEC if word in _PS_EXEC else DECODE_THEN_EXEC
                scan.report_at(self.signatures.rule(rule_id), offset, line)

    def _decode(self, kind: str, payload: str) -> tuple[str, ...]:
        """Decoded texts of a payload as 'chain\\0text' strings, cached per skill."""
        key = (kind, payload)
        cached = self.budget.cache.get(key)
        if cached is None:
            if kind in ("split string", "shell split"):
                cached = (f"{kind}\0{payload}",)
            elif not _worth_decoding(kind, payload):
                cached = ()
            elif not self.budget.spend(min(len(payload), MAX_BLOB_CHARS)):
                return ()
            else:
                cached = tuple(f"{c}\0{t}" for c, t in _DECODERS[kind](payload))
            self.budget.cache[key] = cached
        return cached

    def _inspect(self, scan: _FileScan, candidate: _Candidate) -> None:
        fired = False
        offset = candidate.start
        for item in self._decode(candidate.kind, candidate.payload):
            chain, _, text = item.partition("\0")
            if candidate.kind in ("split string", "shell split"):
                fired |= self._split_hits(scan, candidate, offset)
                continue
            fired |= self._layers(scan, chain, text, offset, candidate.opaque, 1)
            if not fired and candidate.readable_blob:
                self._readable_blob(scan, chain, text, offset)

    def _layers(
        self, scan: _FileScan, chain: str, text: str, offset: int, opaque: bool, depth: int
    ) -> bool:
        """Scan one decoded text, then what it encodes in turn (up to MAX_DEPTH layers)."""
        fired = self._scan_decoded(scan, chain, text, offset, opaque)
        if depth >= MAX_DEPTH:
            return fired
        stripped = text.strip()
        nested: list[_Candidate] = []
        if re.fullmatch(rf"[{_B64_CHARS}]{{16,}}={{0,2}}", stripped):
            kind = "hex" if re.fullmatch(r"[0-9a-fA-F]+", stripped) else "base64"
            nested.append(_Candidate(kind, 0, stripped))
        elif len(stripped) >= 40:
            found = _candidates(_Text(text), _NESTED_FINDERS, nested=True)
            nested.extend(c for c in found if c.opaque)
        for candidate in nested[:50]:
            if not self.budget.see():
                break
            for item in self._decode(candidate.kind, candidate.payload):
                inner_chain, _, inner = item.partition("\0")
                label = f"{chain} → {inner_chain}"
                fired |= self._layers(scan, label, inner, offset, True, depth + 1)
        return fired

    def _scan_decoded(
        self, scan: _FileScan, chain: str, text: str, offset: int, opaque: bool
    ) -> bool:
        """Run the `decoded` rules over a decoded text; hits are reported at the blob's line."""
        if self.budget.scans >= MAX_DECODED_SCANS:
            self.budget.exceeded = True
            return False
        self.budget.scans += 1
        lowered = text.lower()
        source = scan.source_line(offset)
        hits: list[tuple[Rule, str]] = []
        for rule in self.decoded_rules:
            if not opaque and rule.options.get("opaque_only"):
                continue
            hit = next(rule.search(text, lowered), None)
            # Already readable in the file itself: the plain-text analyzers report it.
            if hit is None or next(rule.search(source), None) is not None:
                continue
            hits.append((rule, hit[1].strip()))
        self._report_worst(scan, offset, chain, hits)
        return bool(hits)

    @staticmethod
    def _report_worst(
        scan: _FileScan, offset: int, chain: str, hits: list[tuple[Rule, str]]
    ) -> None:
        """Report the hits on one decoded text; weaker ones add nothing beside a blocking one."""
        blocking = any(r.severity in (Severity.CRITICAL, Severity.HIGH) for r, _ in hits)
        for rule, line in hits:
            if blocking and rule.severity not in (Severity.CRITICAL, Severity.HIGH):
                continue
            scan.report_at(rule, offset, f"decoded {chain}: {line}")

    def _split_hits(self, scan: _FileScan, candidate: _Candidate, offset: int) -> bool:
        """A split string matters only when joining its pieces makes a pattern match that
        did not match the pieces apart."""
        pieces = candidate.payload.split("\0")
        if candidate.kind == "shell split":  # a shell line and its joined form
            apart, joined = pieces[0], pieces[-1]
        else:
            apart, joined = "\n".join(pieces), "".join(pieces)
        lowered = joined.lower()
        hits: list[tuple[Rule, str]] = []
        for rule in self.decoded_rules:
            if rule.options.get("opaque_only"):
                continue
            line = _new_match(rule, apart, joined, lowered)
            if line is not None:
                hits.append((rule, line.strip()))
        self._report_worst(scan, offset, "split string", hits)
        return bool(hits)

    def _readable_blob(self, scan: _FileScan, chain: str, text: str, offset: int) -> None:
        """SKS-ENC-020: an opaque blob in instructions that decodes to plain prose."""
        number = scan.doc.line_of(offset)
        if scan.entry.role != "markdown" or scan.example(number):
            return
        words = re.findall(r"[^\W\d_]{2,}", text)
        if len(words) < 4 or sum(len(w) for w in words) < len(text) * 0.5:
            return
        rule = self.signatures.rule(READABLE_BLOB)
        scan.findings.append(rule.finding(scan.entry.path, number, f"decoded {chain}: {text}"))


# A name assigned from a decoder and then handed to an executor a few lines later.
_ASSIGNED_NAME = re.compile(r"[ \t]*(?:const |let |var |\$)?([A-Za-z_]\w{0,60})\s*=[^=]")
_DECODER_CALL = re.compile(
    r"(?i)b64decode|b32decode|b85decode|a85decode|decodebytes|unhexlify|fromhex|decompress\("
    r"|atob\s*\(|frombase64string|base64_decode|decode64|['\"]base64['\"]|codecs\.decode"
)
_DECODER_MARKERS = (b"decode", b"hex", b"decompress(", b"atob(", b"base64")
_EXEC_WORDS = ("exec", "eval", "Function", "iex", "Invoke-Expression", "system")
_PS_EXEC = frozenset({"iex", "Invoke-Expression"})


def _decode_then_exec(doc: _Text) -> Iterator[tuple[int, str, str]]:
    """(offset, line, executor) where a value assigned from a decoder is executed."""
    words = [w for w in _EXEC_WORDS if doc.has(w.lower().encode())]
    if not words:
        return
    names: set[str] = set()
    for marker in _DECODER_MARKERS:
        for _, line in doc.lines_with(marker, 200):
            match = _ASSIGNED_NAME.match(line)
            if match and len(names) < 50 and _DECODER_CALL.search(line):
                names.add(match.group(1))
    if not names:
        return
    text = doc.text
    alternatives = "|".join(re.escape(n) for n in sorted(names))
    for word in words:
        sink = re.compile(rf"{re.escape(word)}(?:\s*\(\s*|\s+)\$?(?:{alternatives})\b")
        for match in sink.finditer(text):
            if text[match.start() - 1 : match.start()].isalnum():
                continue
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.start())
            yield start, text[start : end if end >= 0 else len(text)], word


def _new_match(rule: Rule, apart: str, joined: str, lowered: str) -> str | None:
    """The line of `joined` where one of the rule's patterns matches, when that pattern did
    not match `apart` (the same text before joining), else None."""
    if rule.keywords and not any(k in lowered for k in rule.keywords):
        return None
    for pattern in rule.patterns:
        match = pattern.search(joined)
        if match is None or pattern.search(apart) is not None:
            continue
        start = joined.rfind("\n", 0, match.start()) + 1
        end = joined.find("\n", match.start())
        line = joined[start : end if end >= 0 else len(joined)]
        if not any(u.search(line) for u in rule.unless):
            return line
    return None


def _clip(rule: Rule, line: str) -> str:
    """A long line cut to the part around the rule's first match (minified code is one line)."""
    if len(line) <= 400:
        return line
    for pattern in rule.patterns:
        match = pattern.search(line)
        if match is not None:
            return line[max(0, match.start() - 100) : match.start() + 300]
    return line[:400]


def _keyword_windows(doc: _Text, keywords: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """(offset, text) of each run of lines holding a keyword, with continuation lines (a
    trailing backslash) on either side; overlapping windows are merged."""
    spans: list[tuple[int, int]] = []
    for keyword in keywords:
        for offset, line in doc.lines_with(keyword.encode("ascii", "replace")):
            spans.append((offset, offset + len(line)))
    if not spans:
        return
    text = doc.text
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        start, end = _continued(text, start, end)
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        yield start, text[start:end]


def _continued(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a line span [start, end) over up to 5 continuation lines before and after it."""
    for _ in range(5):
        if start < 2 or not _ends_with_backslash(text, start - 1):
            break
        start = text.rfind("\n", 0, start - 1) + 1
    for _ in range(5):
        if end >= len(text) or not _ends_with_backslash(text, end):
            break
        nxt = text.find("\n", end + 1)
        end = len(text) if nxt < 0 else nxt
    return start, end


def _ends_with_backslash(text: str, end: int) -> bool:
    """Does the line ending at `end` (exclusive) end with a backslash, spaces aside?"""
    index = end - 1
    while index >= 0 and end - index < 100 and text[index] in " \t\r":
        index -= 1
    return index >= 0 and text[index] == "\\"


def analyze(skill: Skill, signatures: Signatures) -> list[Finding]:
    """Decode what a skill encodes and report what the decoded text holds."""
    scanner = _Scanner(signatures)
    findings: list[Finding] = []
    for entry in skill.text_files():
        text = entry.text
        if text:
            first = skill.body_line if entry.path == skill.skill_md else 1
            findings.extend(scanner.scan_file(entry, text, first))
    if scanner.budget.exceeded:
        detail = (
            f"More than {MAX_CANDIDATES} candidates, {MAX_DECODED_BYTES} decoded bytes or "
            f"{MAX_DECODED_SCANS} decoded texts; the rest was not decoded and scanned."
        )
        evidence = (
            f"{scanner.budget.candidates} candidates, {scanner.budget.decoded_bytes} bytes, "
            f"{scanner.budget.scans} decoded texts"
        )
        findings.append(signatures.rule(BUDGET).finding(skill.skill_md, 0, evidence, detail=detail))
    return findings
