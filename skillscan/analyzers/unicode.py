"""Hidden content: invisible and bidi Unicode, tag-character and variation-selector
smuggling, homoglyphs and punycode, HTML comments and hidden HTML aimed at the agent, and
text pushed out of view.

What a reviewer sees on screen and what an agent reads can differ: Unicode tag characters
spell text no renderer shows, zero-width and bidi controls split or reorder words, lookalike
letters turn a domain or a command into another one, and markdown can hide text from its
rendered view (comments, hidden elements, hundreds of blank lines). Hidden text that can be
decoded (tag characters, variation-selector and zero-width bit encodings, lookalike letters)
is scanned again with every rule whose scope includes `decoded`.

Speed: most text is ASCII (`str.isascii` is a memory scan) and skips the Unicode checks;
the rest is first tested on its UTF-8 bytes with regexes that start with a literal byte
sequence, and read character by character only where one of them hit.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from skillscan.analyzers.encoding import example_context
from skillscan.model import Finding, Severity
from skillscan.signatures import Rule, Signatures
from skillscan.skill import Skill, SkillFile

NAME = "unicode"

TAG_TEXT = "SKS-UNI-001"
TAG_CHARS = "SKS-UNI-002"
SMUGGLED_TEXT = "SKS-UNI-003"
SMUGGLED_RUN = "SKS-UNI-004"
BIDI_CODE = "SKS-UNI-005"
BIDI_PROSE = "SKS-UNI-006"
INVISIBLE_CODE = "SKS-UNI-007"
INVISIBLE_WORD = "SKS-UNI-008"
INVISIBLE_PROSE = "SKS-UNI-009"
HOMOGLYPH_HOST = "SKS-UNI-010"
HOMOGLYPH_CODE = "SKS-UNI-011"
HOMOGLYPH_PROSE = "SKS-UNI-012"
PUNYCODE_LOOKALIKE = "SKS-UNI-013"
PUNYCODE = "SKS-UNI-014"
HIDDEN_SENSITIVE = "SKS-UNI-020"
HIDDEN_DIRECTIVE = "SKS-UNI-021"
OUT_OF_VIEW = "SKS-UNI-022"
HIDDEN_ELEMENT = "SKS-UNI-023"
QUOTED_EXAMPLE = "SKS-UNI-030"

MAX_FINDINGS_PER_RULE = 20  # per file: a file full of stray characters is one story
MAX_DECODED_SCANS = 20  # hidden texts per file scanned again with the `decoded` rules
MAX_ITEMS = 5000  # runs, tokens, comments or elements examined per file
MAX_HIDDEN_CHARS = 4000  # hidden text read per comment, element or pushed-away block
MIN_BLANK_LINES = 30
MIN_PADDING = 200

# --- characters ------------------------------------------------------------------------

_TAGS = range(0xE0000, 0xE0080)
_CANCEL_TAG = 0xE007F
_BLACK_FLAG = "\U0001f3f4"  # base of emoji subdivision flags (England, Scotland, Wales)
_VARIATION = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BIDI_OVERRIDES = frozenset("\u202d\u202e\u2066\u2067\u2068")
_BIDI_MARKS = frozenset("\u200e\u200f\u061c")
# Runs of characters that render as nothing (or reorder what is rendered): zero-width
# space/joiners, direction marks and controls, word joiner, invisible operators, BOM, soft
# hyphen, Mongolian vowel separator, Hangul fillers, grapheme joiner, Khmer inherent vowels,
# variation selectors and tag characters.
_SUSPECT = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]+"
)
# The same characters as UTF-8, tested on a file's bytes first; each pattern starts with a
# literal byte sequence so the regex engine skips ahead at memory-search speed. A single
# variation selector (emoji presentation, CJK variants) is normal and not looked for.
_SUSPECT_BYTES = (
    re.compile(rb"\xe2(?:\x80[\x8b-\x8f\xaa-\xae]|\x81[\xa0-\xa4\xa6-\xa9])"),
    re.compile(rb"\xef(?:\xbb\xbf|\xb8[\x80-\x8f]\xef\xb8[\x80-\x8f]|\xbe\xa0)"),
    re.compile(rb"\xf3\xa0[\x80\x81\x84-\x87]"),
    re.compile(rb"\xc2\xad"),
    re.compile(rb"\xe1(?:\x85[\x9f\xa0]|\xa0\x8e)"),
    re.compile(rb"\xe3\x85\xa4"),
    re.compile(rb"\xcd\x8f"),
)
_RTL_LETTERS = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")

# Letters that look like Latin ones (Cyrillic, Greek, Latin lookalikes); fullwidth and
# mathematical letters are folded by NFKC instead.
_LOOKALIKES = {
    # Cyrillic lower-case
    **dict(
        zip(
            "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501\u051b\u051d\u04bb\u04cf",
            "aeopcyxijsdqwhl",
            strict=True,
        )
    ),
    # Cyrillic upper-case
    **dict(
        zip(
            "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0406\u0408\u0405\u050c\u051a\u051c\u0423",
            "ABEKMHOPCTXIJSGQWY",
            strict=True,
        )
    ),
    # Greek lower-case
    **dict(zip("\u03b1\u03bf\u03c1\u03bd\u03b9\u03ba\u03c5\u03c7", "aopvikux", strict=True)),
    # Greek upper-case
    **dict(
        zip(
            "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
            "ABEZHIKMNOPTYX",
            strict=True,
        )
    ),
}
# Latin letters from other alphabets that imitate ASCII ones in a host name (g-dotless-i-thub);
# in words they are ordinary Turkish, IPA and so on, so only host names use them.
_HOST_LOOKALIKES = {
    **_LOOKALIKES,
    **dict(zip("\u0131\u0251\u0269\u029f\ua7ae", "iailI", strict=True)),
}
# Lead bytes of Greek and Cyrillic letters (and of dotless i and IPA letters), kept by a
# byte translation that drops every other byte; fullwidth and mathematical letters are
# looked for by their own byte sequences.
_NOT_LOOKALIKE_LEAD = bytes(
    b for b in range(256) if b not in (0xC4, 0xC9, 0xCE, 0xCF, 0xD0, 0xD1, 0xD3, 0xD4)
)
_LOOKALIKE_BYTES = (
    re.compile(rb"\xef(?:\xbc[\xa1-\xba]|\xbd[\x81-\x9a])"),
    re.compile(rb"\xf0\x9d[\x90-\x9f]"),
)
_CONFUSABLE_LETTER = re.compile(
    "[\u0131\u0250-\u02af\u0370-\u03ff\u0400-\u052f\uff21-\uff3a\uff41-\uff5a\U0001d400-\U0001d7ff]"
)
_TOKEN_CHARS = re.compile(r"[\w.\-@:/$~]")
_COMMAND_WORDS = frozenset(
    {
        "curl",
        "wget",
        "bash",
        "sh",
        "zsh",
        "sudo",
        "python",
        "python3",
        "pip",
        "pip3",
        "npm",
        "npx",
        "node",
        "git",
        "ssh",
        "scp",
        "nc",
        "ncat",
        "chmod",
        "chown",
        "rm",
        "mv",
        "cp",
        "eval",
        "exec",
        "iex",
        "powershell",
        "pwsh",
        "base64",
        "openssl",
        "osascript",
        "crontab",
        "systemctl",
        "launchctl",
        "docker",
        "kubectl",
        "brew",
        "apt",
        "yum",
        "cat",
        "echo",
        "export",
        "source",
    }
)
_DOMAIN = re.compile(r"(?i)^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}$")
_PUNYCODE = re.compile(r"xn--[a-z0-9-]{1,59}", re.IGNORECASE)
_HOST_CHARS = re.compile(r"[^\s/:?#\"'<>()\[\]{}`|\\,;]{1,253}")

# --- markdown that hides text ------------------------------------------------------------

_COMMENT_LINK = re.compile(
    r"(?m)^\[[^\]\n]{1,40}\]:[ \t]*(?:#|<>)[ \t]*(?:\(([^\n]{1,2000})\)|\"([^\n]{1,2000})\")"
)
_HIDDEN_STYLE = re.compile(
    r"(?i)<([a-z][a-z0-9]{0,10})\b([^<>]{0,500}?)(?:style[ \t]*=[ \t]*[\"']([^\"'<>]{0,500})"
    r"[\"']|[ \t]hidden(?=[ \t>=/]))([^<>]{0,500})>"
)
_HIDING_CSS = re.compile(
    r"(?i)display[ \t]*:[ \t]*none|visibility[ \t]*:[ \t]*hidden|font-size[ \t]*:[ \t]*0"
    r"(?![.\d])|opacity[ \t]*:[ \t]*0(?![.\d])|(?:^|;)[ \t]*(?:max-)?height[ \t]*:[ \t]*0"
    r"(?![.\d])|(?:left|top|text-indent)[ \t]*:[ \t]*-\d{4,}"
)
_WHITE_TEXT = re.compile(r"(?i)(?:^|;)[ \t]*color[ \t]*:[ \t]*(?:white|#fff(?:fff)?\b|transparent)")
_HIDING_BYTES = (b"display", b"hidden", b"font-size", b"opacity", b"visibility", b"color")
# On the UTF-8 bytes: blank lines may hold spaces, tabs, no-break, ideographic, braille and
# zero-width spaces.
_BLANK_RUN = re.compile(
    rb"\n(?:(?:[ \t\r\f\v]|\xc2\xa0|\xe3\x80\x80|\xe2\xa0\x80|\xe2\x80\x8b)*\n)"
    rb"{%d,}(?=[ \t]*[^\s])" % MIN_BLANK_LINES
)
_BLANK_BYTES = b" \t\r\f\v\xc2\xa0\xe3\x80\xe2\x8b"
_PADDING = re.compile(rf"[ \t\u00a0\u3000]{{{MIN_PADDING},}}(?=[^\s|])")
_TAGS_STRIP = re.compile(r"<[^<>]{0,500}>")


@dataclass
class _FileScan:
    """One file being scanned: where things are, and the findings so far."""

    signatures: Signatures
    entry: SkillFile
    text: str
    role: str
    first: int  # first line of instructions (SKILL.md: after the frontmatter)
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seen: set[tuple[str, int]] = field(default_factory=set)
    decoded_seen: set[str] = field(default_factory=set)
    _fences: list[int] | None = None
    _lines: list[str] | None = None
    _starts: list[int] | None = None
    _rtl: bool | None = None

    @property
    def markdown(self) -> bool:
        return self.role == "markdown"

    def line_of(self, offset: int) -> int:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in re.finditer("\n", self.text))]
        return bisect.bisect_right(self._starts, offset)

    def full(self, rule_id: str) -> bool:
        """Has a rule (and its quoted-example twin) reported all it may for this file?"""
        cap = MAX_FINDINGS_PER_RULE
        return self.counts.get(rule_id, 0) >= cap and self.counts.get(QUOTED_EXAMPLE, 0) >= cap

    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    def in_block(self, offset: int) -> bool:
        """Is an offset inside a fenced code block of this markdown file?"""
        if self._fences is None:
            self._fences = _fence_lines(self.text)
        return bisect.bisect_right(self._fences, offset) % 2 == 1

    def rtl(self) -> bool:
        """Does the file hold right-to-left script (where bidi marks are ordinary)?"""
        if self._rtl is None:
            self._rtl = _RTL_LETTERS.search(self.text) is not None
        return self._rtl

    def in_code(self, offset: int) -> bool:
        """Is an offset inside code: a script or config file, a markdown code block, or an
        inline code span (an odd number of backticks before it on its line)?"""
        if not self.markdown:
            return self.role in ("code", "config")
        line_start = max(self.text.rfind("\n", max(0, offset - 2000), offset) + 1, offset - 2000)
        if self.text.count("`", line_start, offset) % 2 == 1:
            return True
        return self.in_block(offset)

    def report(self, rule_id: str, offset: int, evidence: str, *, detail: str = "") -> None:
        """Add a finding at an offset; a blocking one quoted as an example is lowered to
        SKS-UNI-030, and each rule reports a line once and a file at most 20 times."""
        if self.full(rule_id):
            return
        rule = self.signatures.rule(rule_id)
        number = self.line_of(offset)
        if (rule_id, -number) in self.seen:
            return  # this rule already reported this line (possibly as a quoted example)
        self.seen.add((rule_id, -number))
        if rule.severity in (Severity.CRITICAL, Severity.HIGH) and example_context(
            self.entry, self.lines(), number, self.first
        ):
            detail = f"(As an instruction it would be {rule.id}: {rule.message})"
            rule = self.signatures.rule(QUOTED_EXAMPLE)
        key = (rule.id, number)
        if key in self.seen or self.counts.get(rule.id, 0) >= MAX_FINDINGS_PER_RULE:
            return
        self.seen.add(key)
        self.counts[rule.id] = self.counts.get(rule.id, 0) + 1
        self.findings.append(rule.finding(self.entry.path, number, evidence, detail=detail))

    def report_decoded(self, rules: tuple[Rule, ...], text: str, offset: int, label: str) -> int:
        """Scan hidden text with the `decoded` rules; report each hit at `offset`. Each text
        is scanned once, and at most MAX_DECODED_SCANS texts a file."""
        if text in self.decoded_seen or len(self.decoded_seen) >= MAX_DECODED_SCANS:
            return 0
        self.decoded_seen.add(text)
        lowered = text.lower()
        hits = 0
        for rule in rules:
            hit = next(rule.search(text, lowered), None)
            if hit is not None:
                self.report(rule.id, offset, f"{label}: {hit[1].strip()}")
                hits += 1
        return hits


# --- invisible characters, tags, variation selectors, bidi -------------------------------


def _tag_text(run: str) -> str:
    return "".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E)


def _is_flag(text: str, start: int, run: str) -> bool:
    """An emoji subdivision flag: black flag, lower-case tag letters, cancel tag."""
    if (
        ord(run[-1]) != _CANCEL_TAG
        or not 2 <= len(run) <= 8
        or text[start - 1 : start] != _BLACK_FLAG
    ):
        return False
    return all(0xE0030 <= ord(c) <= 0xE007A for c in run[:-1])


def _variation_bytes(run: str) -> bytes:
    """Bytes hidden as variation selectors (one selector a byte, as published smuggling
    tools encode them: U+FE00..FE0F for 0..15, U+E0100.. for 16..255)."""
    out = bytearray()
    for ch in run:
        cp = ord(ch)
        if 0xFE00 <= cp <= 0xFE0F:
            out.append(cp - 0xFE00)
        elif 0xE0100 <= cp <= 0xE01EF:
            out.append(cp - 0xE0100 + 16)
    return bytes(out)


def _zero_width_bits(run: str) -> str | None:
    """Text hidden as bits in a run of two kinds of zero-width characters, if it decodes."""
    kinds = sorted(set(run))
    if len(kinds) != 2 or len(run) < 16:
        return None
    for zero in kinds:
        bits = "".join("0" if ch == zero else "1" for ch in run)
        data = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))
        text = _readable(data)
        if text:
            return text
    return None


def _readable(data: bytes) -> str | None:
    """Decoded bytes as text when they are mostly printable and hold some letters."""
    text = data.decode("utf-8", errors="replace").strip("\x00 ")
    if len(text) < 4:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\t")
    if printable < len(text) * 0.9 or sum(ch.isalpha() for ch in text) < 3:
        return None
    return text


def _visible(text: str, start: int, end: int) -> str:
    """The visible text around a hidden run, with the run shown as code points."""
    before = text[max(0, start - 40) : start].rsplit("\n", 1)[-1]
    after = text[end : end + 40].split("\n", 1)[0]
    shown = "".join(f"<U+{ord(c):04X}>" for c in text[start:end][:8])
    more = "…" if end - start > 8 else ""
    return f"{before}{shown}{more}{after}"


class _Scanner:
    """The analyzer's state for one skill: rules read once."""

    def __init__(self, signatures: Signatures) -> None:
        self.signatures = signatures
        self.sensitive = signatures.rule(HIDDEN_SENSITIVE)
        self.directive = signatures.rule(HIDDEN_DIRECTIVE)

    @cached_property
    def decoded(self) -> tuple[Rule, ...]:
        """Every rule that reads decoded text (looked up only when something decodes)."""
        return self.signatures.with_scope("decoded")

    def scan(self, entry: SkillFile, text: str, first: int) -> list[Finding]:
        role = entry.role
        scan = _FileScan(self.signatures, entry, text, role, first)
        data = entry.data if entry.data is not None else text.encode("utf-8", "replace")
        if not data.isascii():
            for pattern in _SUSPECT_BYTES:
                if pattern.search(data):
                    self._invisible(scan)
                    break
            if data.translate(None, _NOT_LOOKALIKE_LEAD) or any(
                p.search(data) for p in _LOOKALIKE_BYTES
            ):
                self._lookalikes(scan)
        if b"n--" in data or b"N--" in data:
            self._punycode(scan)
        if role == "markdown":
            self._hidden_markdown(scan, data)
        if role in ("markdown", "code"):
            self._out_of_view(scan, data)
        return scan.findings

    # Invisible characters ---------------------------------------------------------------

    def _invisible(self, scan: _FileScan) -> None:
        text = scan.text
        for _, match in zip(range(MAX_ITEMS), _SUSPECT.finditer(text), strict=False):
            start, end = match.span()
            run = match.group()
            if any(ord(c) in _TAGS for c in run):
                self._tags(scan, start, run)
            elif all(any(ord(c) in r for r in _VARIATION) for c in run):
                self._variation_run(scan, start, end, run)
            elif any(c in _BIDI_CONTROLS or c in _BIDI_MARKS for c in run):
                self._bidi(scan, start, end, run)
            else:
                self._zero_width(scan, start, end, run)

    def _tags(self, scan: _FileScan, start: int, run: str) -> None:
        tags = "".join(c for c in run if ord(c) in _TAGS)
        if _is_flag(scan.text, start, tags):
            return
        hidden = _tag_text(tags)
        if sum(ch.isalpha() for ch in hidden) >= 3:
            scan.report(TAG_TEXT, start, f"hidden tag text: {hidden}")
            scan.report_decoded(self.decoded, hidden, start, "hidden tag text")
        else:
            scan.report(TAG_CHARS, start, _visible(scan.text, start, start + len(run)))

    def _variation_run(self, scan: _FileScan, start: int, end: int, run: str) -> None:
        if len(run) < 4:
            return  # doubled emoji presentation selectors are sloppy, not hidden data
        hidden = _readable(_variation_bytes(run))
        if hidden:
            scan.report(SMUGGLED_TEXT, start, f"text hidden in variation selectors: {hidden}")
            scan.report_decoded(self.decoded, hidden, start, "hidden variation-selector text")
        elif len(run) >= 8:
            scan.report(SMUGGLED_RUN, start, f"{len(run)} variation selectors in a row")

    def _bidi(self, scan: _FileScan, start: int, end: int, run: str) -> None:
        if scan.in_code(start):
            scan.report(BIDI_CODE, start, _visible(scan.text, start, end))
            return
        if scan.rtl():
            return  # marks and embeddings are how right-to-left prose is written
        if any(c in _BIDI_OVERRIDES for c in run):
            scan.report(BIDI_PROSE, start, _visible(scan.text, start, end))
        else:
            scan.report(INVISIBLE_PROSE, start, _visible(scan.text, start, end))

    def _zero_width(self, scan: _FileScan, start: int, end: int, run: str) -> None:
        text = scan.text
        if start == 0 and run == "\ufeff":
            return  # a byte-order mark at the start of a file
        hidden = _zero_width_bits(run)
        if hidden:
            scan.report(SMUGGLED_TEXT, start, f"text hidden in zero-width characters: {hidden}")
            scan.report_decoded(self.decoded, hidden, start, "hidden zero-width text")
            return
        if len(run) >= 16:
            scan.report(SMUGGLED_RUN, start, f"{len(run)} invisible characters in a row")
            return
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        # Emoji ZWJ sequences, joiners in Indic/Arabic/Persian words, zero-width spaces in
        # CJK line breaking: an invisible character between two non-ASCII characters.
        if not before.isascii() and not after.isascii():
            return
        if scan.in_code(start):
            scan.report(INVISIBLE_CODE, start, _visible(text, start, end))
            return
        if run == "\u00ad" and before.isalpha() and after.isalpha():
            return  # a soft hyphen in prose is a hyphenation hint
        if (before.isascii() and before.isalnum() and after.isascii() and after.isalnum()) or len(
            run
        ) >= 2:
            scan.report(INVISIBLE_WORD, start, _visible(text, start, end))
        else:
            scan.report(INVISIBLE_PROSE, start, _visible(text, start, end))

    # Lookalike letters -----------------------------------------------------------------

    def _lookalikes(self, scan: _FileScan) -> None:
        text = scan.text
        done_until = -1
        examined = 0
        prose_lines: dict[int, str] = {}
        for match in _CONFUSABLE_LETTER.finditer(text):
            pos = match.start()
            if pos < done_until:
                continue
            examined += 1
            if examined > MAX_ITEMS:
                break
            start, end = _token_span(text, pos)
            done_until = end
            token = text[start:end].strip(".:/-@")
            if not token or len(token) > 253:
                continue
            as_host = _skeleton(token, _HOST_LOOKALIKES)
            host = _host_of(as_host) if as_host else ""
            if host and _DOMAIN.match(host) and not _host_of(token).isascii():
                scan.report(HOMOGLYPH_HOST, start, f"{token} (reads as {as_host})")
                continue
            skeleton = _skeleton(token)
            if skeleton is None or skeleton == token:
                continue
            mixed = _mixed(token)
            if scan.in_code(start):
                if mixed or (skeleton.lower() in _COMMAND_WORDS and _latin_line(text, start, end)):
                    scan.report(HOMOGLYPH_CODE, start, f"{token} (reads as {skeleton})")
            elif mixed and len(skeleton) >= 3:
                line_start = text.rfind("\n", 0, start) + 1
                prose_lines.setdefault(line_start, skeleton)
                scan.report(HOMOGLYPH_PROSE, start, f"{token} (reads as {skeleton})")
        for line_start in list(prose_lines)[:20]:
            line_end = text.find("\n", line_start)
            line = text[line_start : line_end if line_end >= 0 else len(text)][:2000]
            normal = "".join(_LOOKALIKES.get(c, c) for c in unicodedata.normalize("NFKC", line))
            scan.report_decoded(self.decoded, normal, line_start, "read without lookalikes")

    def _punycode(self, scan: _FileScan) -> None:
        text = scan.text
        for match in _PUNYCODE.finditer(text):
            start = match.start()
            head = max(text.rfind(c, 0, start) for c in " \t\n/@\"'(<`") + 1
            host_match = _HOST_CHARS.match(text, head)
            host = host_match.group() if host_match else match.group()
            if not _DOMAIN.match(host.rstrip(".")):
                continue
            try:
                shown = host.encode("ascii").decode("idna")
            except (UnicodeError, ValueError):
                shown = host
            skeleton = _skeleton(shown, _HOST_LOOKALIKES)
            rule_id = PUNYCODE_LOOKALIKE if skeleton and skeleton != shown else PUNYCODE
            scan.report(rule_id, start, f"{host} = {shown}")

    # Markdown that hides text --------------------------------------------------------

    def _hidden_markdown(self, scan: _FileScan, data: bytes) -> None:
        text = scan.text
        html = scan.entry.suffix in (".html", ".htm")
        if b"<!--" in data:
            for offset, body in _comments(scan):
                self._judge_hidden(scan, offset, body, "in an HTML comment", weak=not html)
        if b"]: #" in data or b"]: <>" in data:
            for match in _COMMENT_LINK.finditer(text):
                body = match.group(1) or match.group(2) or ""
                self._judge_hidden(scan, match.start(), body, "in a markdown comment link")
        low = data.lower()
        # In an HTML page, hiding elements is how interfaces work: only hidden text that
        # instructs the agent is reported there.
        if (b"style" in low or b"hidden" in low) and any(b in low for b in _HIDING_BYTES):
            for _, match in zip(range(MAX_ITEMS), _HIDDEN_STYLE.finditer(text), strict=False):
                style = match.group(3) or ""
                before = match.group(2)
                if match.group(3) is None and (before.count('"') % 2 or before.count("'") % 2):
                    continue  # "hidden" inside an attribute value (a CSS class), not the attribute
                hides = match.group(3) is None or _HIDING_CSS.search(style) is not None
                white = not hides and _WHITE_TEXT.search(style) is not None
                if not (hides or white) or scan.in_block(match.start()):
                    continue
                inner = _element_text(text, match.end(), match.group(1))
                if not inner:
                    continue
                where = "in an HTML element hidden from the rendered view"
                reported = self._judge_hidden(scan, match.start(), inner, where, weak=False)
                if not reported and hides and not html:
                    scan.report(HIDDEN_ELEMENT, match.start(), f"{match.group()} {inner}")

    def _judge_hidden(
        self, scan: _FileScan, offset: int, body: str, where: str, *, weak: bool = True
    ) -> bool:
        """Report hidden text that instructs the agent; True when something was reported."""
        body = body[:MAX_HIDDEN_CHARS]
        if not body.strip():
            return False
        lowered = body.lower()
        hit = next(self.sensitive.search(body, lowered), None)
        if hit is not None:
            scan.report(HIDDEN_SENSITIVE, offset, hit[1].strip(), detail=f"(Found {where}.)")
            return True
        if weak:
            hit = next(self.directive.search(body, lowered), None)
            if hit is not None:
                scan.report(HIDDEN_DIRECTIVE, offset, hit[1].strip(), detail=f"(Found {where}.)")
                return True
        return False

    def _out_of_view(self, scan: _FileScan, data: bytes) -> None:
        # Cheap gate: with spaces dropped, a run of blank lines is a run of newlines.
        if b"\n" * (MIN_BLANK_LINES + 1) in data.translate(None, _BLANK_BYTES):
            self._blank_runs(scan, data)
        if b" " * 64 in data or b"\t" * 16 in data:
            self._padding(scan)

    def _blank_runs(self, scan: _FileScan, data: bytes) -> None:
        text = scan.text
        for match in _BLANK_RUN.finditer(data):
            blanks = match.group().count(b"\n") - 1
            offset = len(data[: match.end()].decode("utf-8", "replace"))
            rest = text[offset : offset + MAX_HIDDEN_CHARS].strip()
            where = f"after {blanks} blank lines"
            if not self._judge_hidden(scan, offset, rest, where, weak=False):
                scan.report(OUT_OF_VIEW, offset, rest[:150], detail=f"(Text {where}.)")

    def _padding(self, scan: _FileScan) -> None:
        text = scan.text
        for match in _PADDING.finditer(text):
            line_end = text.find("\n", match.end())
            rest = text[match.end() : line_end if line_end >= 0 else len(text)]
            if sum(ch.isalpha() for ch in rest) < 3:
                continue
            where = f"after {len(match.group())} spaces on one line"
            if not self._judge_hidden(scan, match.end(), rest, where, weak=False):
                scan.report(OUT_OF_VIEW, match.end(), rest[:150], detail=f"(Text {where}.)")


def _comments(scan: _FileScan) -> Iterator[tuple[int, str]]:
    """(offset, body) of each HTML comment outside code blocks, at most 500."""
    text = scan.text
    pos = text.find("<!--")
    count = 0
    while pos >= 0 and count < MAX_ITEMS:
        end = text.find("-->", pos + 4)
        body = text[pos + 4 : end if end >= 0 else min(len(text), pos + 4 + MAX_HIDDEN_CHARS)]
        if not scan.in_block(pos):
            yield pos, body
            count += 1
        if end < 0:
            break
        pos = text.find("<!--", end + 3)


def _fence_lines(text: str) -> list[int]:
    """Offsets of the lines that open and close fenced code blocks, in pairs (an unclosed
    fence runs to the end): a cheap reading of CommonMark fences, enough to tell code from
    prose."""
    starts: list[int] = []
    opener = ""
    for fence in ("```", "~~~"):
        pos = text.find(fence)
        while pos >= 0:
            line_start = text.rfind("\n", 0, pos) + 1
            if not text[line_start:pos].strip(" \t>"):
                starts.append(line_start)
            end = text.find("\n", pos)
            if end < 0:
                break
            pos = text.find(fence, end)
    starts.sort()
    pairs: list[int] = []
    for start in starts:
        line = text[start : start + 40].lstrip(" \t>")
        if not pairs or len(pairs) % 2 == 0:
            opener = line[:3]
            pairs.append(start)
        elif line.startswith(opener):
            pairs.append(start + 1)
    return pairs


def _element_text(text: str, start: int, tag: str) -> str:
    """The text inside an element, up to its closing tag (bounded), with tags removed."""
    close = re.compile(rf"(?i)</{re.escape(tag)}\s*>")  # cached by the re module
    match = close.search(text, start, start + MAX_HIDDEN_CHARS)
    inner = text[start : match.start() if match else start + 500]
    return " ".join(_TAGS_STRIP.sub(" ", inner).split())


def _token_span(text: str, pos: int) -> tuple[int, int]:
    """The span of the word/host/path token around a position (at most 256 characters)."""
    start = pos
    while start > 0 and pos - start < 256 and _TOKEN_CHARS.match(text[start - 1]):
        start -= 1
    end = pos + 1
    while end < len(text) and end - pos < 256 and _TOKEN_CHARS.match(text[end]):
        end += 1
    return start, end


def _mixed(token: str) -> bool:
    """Does a lookalike letter touch a Latin one (`curl` with a Cyrillic `c`), rather than
    sit apart (a Greek `rho_xy` in a formula)?"""
    for index, ch in enumerate(token):
        if ch in _LOOKALIKES or (not ch.isascii() and unicodedata.normalize("NFKC", ch).isascii()):
            near = token[max(0, index - 1) : index] + token[index + 1 : index + 2]
            if any(c.isascii() and c.isalpha() for c in near):
                return True
    return False


def _latin_line(text: str, start: int, end: int) -> bool:
    """Is the rest of the token's line free of non-ASCII letters? A Cyrillic word among
    Russian words is Russian; alone in an ASCII command line it is a disguise."""
    line_start = max(text.rfind("\n", max(0, start - 2000), start) + 1, start - 2000)
    line_end = text.find("\n", end, end + 2000)
    rest = text[line_start:start] + text[end : line_end if line_end >= 0 else end + 2000]
    return not any(ch.isalpha() and not ch.isascii() for ch in rest)


def _host_of(token: str) -> str:
    """The host part of a URL, e-mail address or bare domain token."""
    host = token.split("://", 1)[-1]
    for stop in "/?#":
        host = host.split(stop, 1)[0]
    return host.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")


def _skeleton(token: str, table: dict[str, str] = _LOOKALIKES) -> str | None:
    """The token with lookalike letters replaced by the Latin letters they imitate, when
    every letter then is Latin (None otherwise: real non-Latin words stay unflagged)."""
    folded = unicodedata.normalize("NFKC", token)
    skeleton = "".join(table.get(c, c) for c in folded)
    if not skeleton.isascii() or not any(c.isalpha() for c in skeleton):
        return None
    return skeleton


def analyze(skill: Skill, signatures: Signatures) -> list[Finding]:
    """Report what a skill hides from the reader's view."""
    scanner = _Scanner(signatures)
    findings: list[Finding] = []
    for entry in skill.text_files():
        text = entry.text
        if text:
            first = skill.body_line if entry.path == skill.skill_md else 1
            findings.extend(scanner.scan(entry, text, first))
    return findings
