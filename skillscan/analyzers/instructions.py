"""Instructions in markdown: fake prerequisites, download-and-run lines, prompt injection.

Reads every markdown file of a skill (SKILL.md whole, frontmatter included), prose, code
blocks and inline code alike, and runs the `instructions` catalog over it. The catalog says
what to match; this module adds the judgement a regex cannot make on its own:

- a hit whose command fetches from a risky source (raw IP, paste host, ...) is reported as
  the rule's escalated, more severe twin; a hit whose every URL is a well-known vendor
  installer is dropped;
- a hit quoted as an example (a section about detection or attacks, a table of patterns, a
  line that negates or labels it) is lowered, never dropped, since an attacker can write
  the same words;
- rules of one family report a line once, most severe first;
- the fake-prerequisite rules combine signals spread over a few lines: "X is required",
  a way to fetch X from outside a package manager, and a name that imitates the platform.

Speed: a rule's patterns run only on the lines around its keywords, over an ASCII-lowered
copy of the text with a case-sensitive variant of each `(?i)` pattern (CPython's regex
engine scans a case-insensitive pattern, or one that starts with `\\b`, many times slower).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from skillscan.markdown import Document, strip_invisible
from skillscan.model import Finding, Severity
from skillscan.signatures import MATCH_WINDOW, Rule, Signatures
from skillscan.skill import Skill

NAME = "instructions"

# Shell line continuations: a trailing backslash, or a pipe/&&/|| that leaves the command
# open. Joined before matching so `curl ... \` + `| bash` reads as one command.
_MAYBE_CONTINUED = re.compile(r"[\\|&][ \t]*\r?\n")
_TABLE_ROW = re.compile(r"^\s{0,3}\|")
_URL = re.compile(r"(?:https?|ftp)://[^\s<>\"'`()\[\]{}|\\^]{1,2000}")
_URL_TRAILING = ".,;:!?*_~"
_LEADING_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")
_MAX_LINES_PER_KEYWORD = 400  # past this many lines a rule scans the whole text instead
_JOIN_MAX = 50  # at most this many continued lines are joined into one
_SECTION_LINES = 400  # how far back a code block's introducing sentence is looked for
_REGION_SEPARATOR = "\n\0\n"
_SPANS_LINES = re.compile(r"\\n(?![^\[]*\])")  # a \n outside a character class
_MAX_MATCHES_PER_RULE = 500  # per file: a file repeating a command 10^5 times stays cheap


# Bytes -> token characters: ASCII letters lower-cased, digits kept, everything else a
# separator (non-ASCII bytes included, so a UTF-8 character splits a token).
_TOKEN_TABLE = bytes(
    c if (48 <= c <= 57 or 97 <= c <= 122) else (c + 32 if 65 <= c <= 90 else 32)
    for c in range(256)
)
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(frozen=True)
class Keyword:
    """A lower-case literal that gates a pattern. A pattern runs only on the lines holding
    one of its keywords, and only if the text's token index holds every ASCII word of the
    keyword (as a whole word); a keyword without ASCII words is searched for as is."""

    text: str
    parts: frozenset[bytes]

    @classmethod
    def of(cls, text: str) -> Keyword:
        words = bytes(text.lower(), "utf-8").translate(_TOKEN_TABLE).split()
        return cls(text.lower(), frozenset(words) if text.isascii() else frozenset())


@dataclass(frozen=True)
class _Gate:
    """A group's keywords arranged for a cheap test against a text's token index."""

    keywords: tuple[Keyword, ...]
    single: frozenset[bytes]  # one-word keywords: a set intersection decides
    other: tuple[Keyword, ...]  # several words, or no ASCII word

    @classmethod
    def of(cls, keywords: Iterable[Keyword]) -> _Gate:
        keywords = tuple(keywords)
        single = frozenset(w for k in keywords if len(k.parts) == 1 for w in k.parts)
        return cls(keywords, single, tuple(k for k in keywords if len(k.parts) != 1))


def _ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only: same length and offsets as `text` (str.lower is not)."""
    if text.isascii():
        return text.lower()
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


# --- fast pattern variants ------------------------------------------------------------


def _uppercase_literal(pattern: str) -> bool:
    """Would the pattern, its `(?i)` dropped, miss lower-cased text? True when it holds an
    upper-case ASCII letter outside escapes, or a class with one but without `a-z`."""
    index, in_class, klass = 0, False, ""
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if in_class:
                klass += " "  # an escape (\\S, \\]) is no letter of the class
            index += 2
            continue
        if in_class:
            if char == "]" and klass:
                in_class = False
                upper = any("A" <= c <= "Z" for c in klass)
                if upper and "a-z" not in klass:
                    return True
            else:
                klass += char
        elif char == "[":
            in_class, klass = True, ""
        elif "A" <= char <= "Z":
            return True
        index += 1
    return False


def _top_level_alternation(pattern: str) -> bool:
    """Does the pattern have a `|` outside every group and class (`a|b`, not `(?:a|b)`)?"""
    index, depth, in_class = 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[index + 1 : index + 2] == "^":
                index += 1
            if pattern[index + 1 : index + 2] == "]":
                index += 1  # a leading ] is a literal of the class
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        index += 1
    return False


@dataclass(frozen=True)
class FastPattern:
    """A catalog pattern as this analyzer runs it.

    `lowered`: run over the ASCII-lowered text (the source had `(?i)`, dropped here).
    `word_start`: the source began with `\\b`, checked after each match instead.
    """

    regex: re.Pattern[str]
    lowered: bool
    word_start: bool


def fast_pattern(source: re.Pattern[str]) -> FastPattern:
    """The fast, equivalent variant of a pattern: a `(?i)` pattern without upper-case
    literals runs case-sensitively over lowered text, and a leading `\\b` is checked after
    the match (the pattern itself when no variant applies)."""
    text = source.pattern
    flags = _LEADING_FLAGS.match(text)
    kept = flags.group(1) if flags else ""
    rest = text[flags.end() :] if flags else text
    lowered = "i" in kept
    if lowered and _uppercase_literal(rest):
        return FastPattern(source, False, False)  # would not match lowered text
    kept = kept.replace("i", "")
    # `\bx|y` puts the \b before x only: checked after the match, it would bind y too.
    word_start = rest.startswith(r"\b") and not _top_level_alternation(rest)
    if word_start:
        rest = rest[2:]
    if not lowered and not word_start:
        return FastPattern(source, False, False)
    try:
        regex = re.compile(f"(?{kept}){rest}" if kept else rest)
    except re.error:
        return FastPattern(source, False, False)
    return FastPattern(regex, lowered, word_start)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _at_boundary(text: str, pos: int) -> bool:
    before = pos > 0 and _is_word(text[pos - 1])
    after = pos < len(text) and _is_word(text[pos])
    return before != after


# --- the catalog as this analyzer reads it --------------------------------------------


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        # Nested lists come from YAML aliases to shared lists ([*a, *b]): flatten them.
        return tuple(
            str(item)
            for v in value
            for item in (v if isinstance(v, list | tuple) else [v])
            if isinstance(item, str | int | float)
        )
    return ()


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _regexes(value: object) -> tuple[re.Pattern[str], ...]:
    out = []
    for source in _strings(value):
        try:
            out.append(re.compile(source))
        except re.error:
            continue  # a broken knob must not stop a scan; the catalog tests catch it
    return tuple(out)


def _fast(value: object) -> tuple[FastPattern, ...]:
    return tuple(fast_pattern(rx) for rx in _regexes(value))


def _int(value: object, default: int, bound: int) -> int:
    return value if isinstance(value, int) and 0 <= value <= bound else default


@dataclass(frozen=True)
class _Options:
    """The analyzer knobs of one pattern rule, read once from its `options`."""

    groups: tuple[tuple[_Gate, tuple[FastPattern, ...]], ...]  # keywords, patterns
    before: int
    after: int
    family: str
    escalate_to: str | None
    risky: tuple[tuple[str, FastPattern], ...]
    trusted: tuple[re.Pattern[str], ...]
    discount_to: Severity | None
    cues: tuple[FastPattern, ...]
    headings: tuple[FastPattern, ...]
    quoted: bool  # a hit inside quotes reads as quoted
    imperative: bool  # a hit not phrased as a command reads as described
    near: tuple[tuple[int, int, tuple[FastPattern, ...]], ...]  # (before, after, patterns)
    requires: tuple[_Gate, ...]  # each must have a keyword in the text for the rule to run
    joinable: bool  # regions may be read as one string (no pattern matches across newlines)
    gate: _Gate  # every keyword of the rule; a rule with an ungated pattern never skips


@dataclass(frozen=True)
class _Composite:
    """Knobs of the fake-prerequisite rules (a strong and a weak one)."""

    rule: Rule
    weak_rule: Rule | None
    window: int
    strong_rules: frozenset[str]
    binary_rules: frozenset[str]
    necessity_keywords: _Gate
    delivery_keywords: _Gate
    necessity: tuple[FastPattern, ...]
    impersonation: tuple[FastPattern, ...]
    delivery: tuple[FastPattern, ...]
    delivery_unless: tuple[FastPattern, ...]
    official_hosts: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class _Catalog:
    rules: tuple[tuple[Rule, _Options], ...]
    by_id: Mapping[str, Rule]
    composite: _Composite | None


def _groups(rule: Rule) -> tuple[tuple[_Gate, tuple[FastPattern, ...]], ...]:
    """The rule's patterns grouped by the keywords that gate them: `options.pattern_keywords`
    (one list per pattern) when given, else the rule's `keywords` for every pattern; no
    keyword means the whole text is read."""
    patterns = tuple(fast_pattern(p) for p in rule.patterns)
    raw = rule.options.get("pattern_keywords")
    if (
        isinstance(raw, list)
        and len(raw) == len(patterns)
        and all(isinstance(item, list) for item in raw)
    ):
        per_pattern = [tuple(k.lower() for k in _strings(item)) for item in raw]
    else:
        per_pattern = [rule.keywords] * len(patterns)
    grouped: dict[tuple[str, ...], list[FastPattern]] = {}
    for keywords, pattern in zip(per_pattern, patterns, strict=True):
        grouped.setdefault(keywords, []).append(pattern)
    return tuple(
        (_Gate.of(Keyword.of(k) for k in keys), tuple(group)) for keys, group in grouped.items()
    )


def _options(rule: Rule) -> _Options:
    opts = rule.options
    escalate = opts.get("escalate")
    escalate_to: str | None = None
    risky: list[tuple[str, FastPattern]] = []
    if isinstance(escalate, Mapping):
        target = escalate.get("rule")
        escalate_to = target if isinstance(target, str) else None
        sources = escalate.get("sources")
        if isinstance(sources, Mapping):
            for name, source in sources.items():
                risky.extend((str(name), fp) for fp in _fast(source))
    discount = opts.get("discount")
    discount_to: Severity | None = None
    cues: tuple[FastPattern, ...] = ()
    headings: tuple[FastPattern, ...] = ()
    quoted = imperative = False
    if isinstance(discount, Mapping):
        quoted = discount.get("quoted") is True
        imperative = discount.get("imperative") is True
        try:
            discount_to = Severity(discount.get("severity"))
        except ValueError:
            discount_to = None
        cues = _fast(discount.get("cues"))
        headings = _fast(discount.get("headings"))
    near_raw = opts.get("near")
    near_list = near_raw if isinstance(near_raw, list) else [near_raw] if near_raw else []
    near = tuple(
        (_int(n.get("before"), 0, 20), _int(n.get("after"), 0, 20), _fast(n.get("patterns")))
        for n in near_list
        if isinstance(n, Mapping)
    )
    context = opts.get("context")
    context = context if isinstance(context, Mapping) else {}
    family = opts.get("family")
    groups = _groups(rule)
    every = [k for gate, _ in groups for k in gate.keywords]
    ungated = any(not gate.keywords for gate, _ in groups)
    return _Options(
        gate=_Gate(tuple(every), frozenset(), (Keyword("", frozenset()),))
        if ungated
        else _Gate.of(every),
        groups=groups,
        before=_int(context.get("before"), 0, 20),
        after=_int(context.get("after"), 0, 20),
        family=family if isinstance(family, str) else rule.id,
        escalate_to=escalate_to,
        risky=tuple(risky),
        trusted=_regexes(opts.get("trusted")),
        discount_to=discount_to,
        cues=cues,
        headings=headings,
        quoted=quoted,
        imperative=imperative,
        near=near,
        # A pattern that matches newlines itself could run from one region into the next.
        joinable=not any(_SPANS_LINES.search(p.pattern) for p in rule.patterns),
        requires=tuple(
            _Gate.of(Keyword.of(k) for k in _strings(group))
            for group in _list(opts.get("requires"))
            if isinstance(group, list)
        ),
    )


def _composite(rule: Rule, rules: Iterable[Rule]) -> _Composite:
    opts = rule.options
    weak = next((r for r in rules if r.options.get("composite_of") == rule.id), None)
    return _Composite(
        rule=rule,
        weak_rule=weak,
        window=_int(opts.get("window"), 8, 50),
        strong_rules=frozenset(_strings(opts.get("strong_rules"))),
        binary_rules=frozenset(_strings(opts.get("binary_rules"))),
        necessity_keywords=_Gate.of(
            Keyword.of(k) for k in _strings(opts.get("necessity_keywords"))
        ),
        delivery_keywords=_Gate.of(Keyword.of(k) for k in _strings(opts.get("delivery_keywords"))),
        necessity=_fast(opts.get("necessity")),
        impersonation=_fast(opts.get("impersonation")),
        delivery=_fast(opts.get("delivery")),
        delivery_unless=_fast(opts.get("delivery_unless")),
        official_hosts=_regexes(opts.get("official_hosts")),
    )


def _build_catalog(signatures: Signatures) -> _Catalog:
    own = signatures.for_analyzer(NAME)
    rules = tuple(
        (rule, _options(rule))
        for rule in own
        if rule.patterns and (not rule.scopes or "markdown" in rule.scopes)
    )
    composite = next((_composite(r, own) for r in own if r.options.get("composite") is True), None)
    return _Catalog(rules, {r.id: r for r in own}, composite)


def _catalog(signatures: Signatures) -> _Catalog:
    """The compiled catalog, built once per loaded bundle (kept with the bundle)."""
    return signatures.derived("instructions.catalog", _build_catalog)


# --- one markdown text, prepared -------------------------------------------------------


def _is_continued(line: str) -> bool:
    """Does this line leave a shell command open (`\\`, `&&`, `||`, or a pipe that does
    not close a markdown table row)?"""
    stripped = line.rstrip(" \t\r")
    if stripped.endswith(("\\", "&&", "||")):
        return True
    return stripped.endswith("|") and not _TABLE_ROW.match(stripped)


def join_continuations(text: str) -> str:
    """Join continued shell lines onto their first line, keeping every line number: the
    newlines removed from a run are put back after it, so the joined command sits on its
    first line and the lines it absorbed become empty."""
    joins: list[int] = []  # offsets of the newlines to remove
    for mark in _MAYBE_CONTINUED.finditer(text):
        newline = mark.end() - 1
        start = text.rfind("\n", 0, mark.start()) + 1
        if _is_continued(text[start:newline]):
            joins.append(newline)
    if not joins:
        return text
    pieces: list[str] = []
    pos = 0
    pending = 0
    for index, newline in enumerate(joins):
        piece = text[pos:newline].rstrip(" \t\r")
        pieces.append((piece[:-1] if piece.endswith("\\") else piece) + " ")
        pending += 1
        pos = newline + 1
        next_newline = text.find("\n", pos)
        run_goes_on = (
            index + 1 < len(joins) and joins[index + 1] == next_newline and pending < _JOIN_MAX
        )
        if not run_goes_on:
            end = next_newline if next_newline >= 0 else len(text)
            pieces.append(text[pos:end])
            pieces.append("\n" * pending)
            pos, pending = end, 0
    pieces.append(text[pos:])
    return "".join(pieces)


def _lines_around(text: str, pos: int, before: int, after: int) -> tuple[int, int]:
    """Offsets (start, end) of the lines from `before` lines above the line holding `pos`
    to `after` lines below it."""
    start = text.rfind("\n", 0, pos) + 1
    for _ in range(before):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    end = text.find("\n", pos)
    end = len(text) if end < 0 else end
    for _ in range(after):
        if end >= len(text):
            break
        following = text.find("\n", end + 1)
        end = len(text) if following < 0 else following
    return start, end


class _Text:
    """One markdown file, ready for matching; the parsed structure is built on demand."""

    def __init__(self, file: str, raw: str) -> None:
        self.file = file
        self.text = strip_invisible(raw)
        self.joined = join_continuations(self.text)
        if self.joined.isascii():
            self.lowered = self.joined.lower()
            data = self.lowered.encode("ascii")
        else:  # lower ASCII letters only, so offsets stay those of `joined`
            data = self.joined.encode("utf-8", "surrogatepass").lower()
            self.lowered = data.decode("utf-8", "surrogatepass")
        self.tokens = frozenset(data.translate(_TOKEN_TABLE).split())
        self._spans: dict[str, list[tuple[int, int]] | None] = {}

    def has(self, keyword: Keyword) -> bool:
        """Can `keyword` occur in this text (judged from the token index)?"""
        if keyword.parts:
            return self.tokens.issuperset(keyword.parts)
        return keyword.text in self.lowered

    def present(self, gate: _Gate) -> list[Keyword]:
        """The gate's keywords that can occur in this text."""
        found = gate.single & self.tokens
        if not gate.other:
            # Every keyword is one word: a subset test against the words found decides it.
            if not found:
                return []
            if len(found) == len(gate.single):
                return list(gate.keywords)
            return [k for k in gate.keywords if k.parts <= found]
        return [
            k for k in gate.keywords if (k.parts <= found if len(k.parts) == 1 else self.has(k))
        ]

    def keyword_lines(self, keyword: Keyword) -> list[tuple[int, int]] | None:
        """(start, end) of each joined line holding `keyword` (as whole words when it has
        ASCII words); None past the bound."""
        if keyword.text in self._spans:
            return self._spans[keyword.text]
        text, lowered, word = self.joined, self.lowered, keyword.text
        whole = bool(keyword.parts)
        last = len(word) - 1
        spans: list[tuple[int, int]] = []
        pos = lowered.find(word)
        while pos >= 0:
            if whole and (
                (word[0] in _TOKEN_CHARS and pos > 0 and lowered[pos - 1] in _TOKEN_CHARS)
                or (
                    word[last] in _TOKEN_CHARS
                    and lowered[pos + last + 1 : pos + last + 2] in _TOKEN_CHARS
                )
            ):
                pos = lowered.find(word, pos + 1)  # inside a longer word
                continue
            if len(spans) >= _MAX_LINES_PER_KEYWORD:
                self._spans[word] = None
                return None
            start = text.rfind("\n", 0, pos) + 1
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            spans.append((start, end))
            pos = lowered.find(word, end)
        self._spans[word] = spans
        return spans

    def subject(self, pattern: FastPattern) -> str:
        return self.lowered if pattern.lowered else self.joined

    @cached_property
    def doc(self) -> Document:
        return Document.parse(self.text)

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def line_number(self, offset: int) -> int:
        return self.joined.count("\n", 0, offset) + 1

    def line_text(self, line: int) -> str:
        lines = self.lines
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def regions(self, gate: _Gate, before: int, after: int) -> list[tuple[int, int]]:
        """Offsets (start, end) of the joined lines holding a keyword, widened by `before`
        and `after` lines and merged. Empty when no keyword occurs."""
        text = self.joined
        spans: list[tuple[int, int]] = []
        for keyword in self.present(gate):
            found = self.keyword_lines(keyword)
            if found is None:
                return [(0, len(text))]
            spans.extend(found)
        if not spans:
            return []
        if before or after:
            spans = [
                (_lines_around(text, start, before, 0)[0], _lines_around(text, end, 0, after)[1])
                for start, end in spans
            ]
        spans.sort()
        merged = [spans[0]]
        for start, end in spans[1:]:
            if start <= merged[-1][1] + 1:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged


# --- matching -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Match:
    line: int  # line number in the file
    offset: int  # where that line starts in the joined text
    joined_line: str  # the whole (joined) line the match starts on
    column: int  # where the match starts in `joined_line`
    end_column: int  # where it ends (at most the end of `joined_line`)
    span: str  # lower-cased match, to the end of its (joined) line at least


def _finditer(pattern: FastPattern, text: _Text, start: int, end: int) -> Iterator[re.Match[str]]:
    subject = text.subject(pattern)
    for match in pattern.regex.finditer(subject, start, end):
        if pattern.word_start and not _at_boundary(subject, match.start()):
            continue
        yield match


def _search(patterns: Iterable[FastPattern], text: _Text, start: int, end: int) -> bool:
    return any(True for p in patterns for _ in _finditer(p, text, start, end))


def _search_str(patterns: Iterable[FastPattern], value: str, lowered: str | None = None) -> bool:
    """Does any pattern match `value`? Pass `lowered` when its ASCII-lowered form is known."""
    if lowered is None:
        lowered = _ascii_lower(value)
    for pattern in patterns:
        subject = lowered if pattern.lowered else value
        for match in pattern.regex.finditer(subject):
            if not pattern.word_start or _at_boundary(subject, match.start()):
                return True
    return False


def _match_starts(
    patterns: Sequence[FastPattern],
    text: _Text,
    regions: Sequence[tuple[int, int]],
    single_lines: bool = True,
) -> Iterator[tuple[int, int]]:
    """(start, end) offsets in the text of each match of each pattern within the regions.

    Several one-line regions are read as one string, so a rule gated by a common word
    costs one regex call per pattern, not one per line. They are joined by a separator no
    pattern crosses (`\\s` does not match NUL, `[^\\n]` does not match a newline)."""
    if len(regions) == 1 or not single_lines:
        for start, end in regions:
            for pattern in patterns:
                for match in _finditer(pattern, text, start, end):
                    yield match.start(), match.end()
        return
    offsets: list[int] = []  # where each region starts in the joined string
    length = 0
    for start, end in regions:
        offsets.append(length)
        length += end - start + len(_REGION_SEPARATOR)
    pieces: dict[bool, str] = {}
    for pattern in patterns:
        subject = pieces.get(pattern.lowered)
        if subject is None:
            source = text.lowered if pattern.lowered else text.joined
            subject = pieces[pattern.lowered] = _REGION_SEPARATOR.join(
                source[a:b] for a, b in regions
            )
        for match in pattern.regex.finditer(subject):
            if pattern.word_start and not _at_boundary(subject, match.start()):
                continue
            index = bisect.bisect_right(offsets, match.start()) - 1
            shift = regions[index][0] - offsets[index]
            yield match.start() + shift, match.end() + shift


def _matches(rule: Rule, options: _Options, text: _Text) -> Iterator[_Match]:
    """Each match of a pattern of `rule` on a line that no `unless` pattern matches (every
    match is judged; one finding per line is kept later, the most severe)."""
    joined, lowered, tokens = text.joined, text.lowered, text.tokens
    if not all(text.present(gate) for gate in options.requires):
        return
    seen: set[tuple[int, int]] = set()
    for gate, patterns in options.groups:
        if gate.keywords:
            if gate.single.isdisjoint(tokens) and not gate.other:
                continue  # no keyword of this group occurs: the common, cheap case
            regions = text.regions(gate, options.before, options.after)
            if not regions:
                continue
        else:
            regions = [(0, len(joined))]
        for start, end in _match_starts(patterns, text, regions, options.joinable):
            if (start, end) in seen or len(seen) >= _MAX_MATCHES_PER_RULE:
                continue
            seen.add((start, end))
            line_start = joined.rfind("\n", 0, start) + 1
            line_end = joined.find("\n", start)
            line_end = line_end if line_end >= 0 else len(joined)
            line = joined[line_start:line_end]
            if any(u.search(line[:MATCH_WINDOW]) for u in rule.unless):
                continue
            span = lowered[start : max(line_end, end)][:MATCH_WINDOW]
            number = joined.count("\n", 0, line_start) + 1
            column = start - line_start
            yield _Match(number, line_start, line, column, min(len(line), end - line_start), span)


def _urls(lowered: str) -> list[str]:
    out = []
    for match in _URL.finditer(lowered):
        url = match.group(0).rstrip(_URL_TRAILING)
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1].rstrip(_URL_TRAILING)
        out.append(url)
    return out


def _evidence(match: _Match) -> str:
    """The matched command with a little context, not a whole minified line."""
    line = match.joined_line
    if len(line) <= 200:
        return line
    index = _ascii_lower(line).find(match.span[:40])
    return line[max(0, index - 40) : index + 160] if index >= 0 else line[:200]


# --- context: is the hit quoted as an example? ----------------------------------------


def _table_header(text: _Text, line: int) -> str:
    """The first row of the markdown table holding `line`."""
    first = line
    while first > 1 and line - first < 500 and _TABLE_ROW.match(text.line_text(first - 1)):
        first -= 1
    return text.line_text(first)


def _introduction(text: _Text, line: int) -> str:
    """For a line inside a code block: the prose lines just before the block."""
    block = text.doc.block_at(line)
    if block is None:
        return ""
    first = block.line - 1 if block.fenced else block.line
    out: list[str] = []
    number = first - 1
    while number >= 1 and len(out) < 2 and first - number < _SECTION_LINES:
        value = text.line_text(number).strip()
        if value:
            out.append(value)
        elif out:
            break
        number -= 1
    return " ".join(reversed(out))


# Words after which a phrase reads as a command ("please ignore ...", "you must ignore ...").
_COMMAND_LEAD = frozenset(
    [
        "and",
        "then",
        "please",
        "now",
        "must",
        "should",
        "will",
        "shall",
        "so",
        "always",
        "just",
        "also",
        "simply",
        "immediately",
        "first",
        "next",
        "finally",
        "instead",
        "therefore",
        "thus",
        "kindly",
        "you",
        "the",
        "your",
        "a",
    ]
)
# Opening a sentence, list item, quote or code span: a phrase after these is a command.
_COMMAND_PUNCTUATION = tuple(".!?:;>*-\"'([|`#,)_~\u201c\u2018")


def _inside_quotes(before: str) -> bool:
    """Does text ending in `before` leave an open quote or code span?"""
    return (
        before.count('"') % 2 == 1
        or before.count("`") % 2 == 1
        or before.count("\u201c") > before.count("\u201d")
        or before.count("\u00ab") > before.count("\u00bb")
    )


def _commanded(before: str) -> bool:
    """Does a phrase preceded by `before` (on its line) read as a command?"""
    stripped = before.rstrip()
    if not stripped or stripped.endswith(_COMMAND_PUNCTUATION) or stripped[-1].isdigit():
        return True
    words = stripped.rsplit(maxsplit=1)
    return words[-1].lower().strip("*_") in _COMMAND_LEAD


def _quoted_as_example(text: _Text, match: _Match, options: _Options) -> str | None:
    """Why a hit reads as a quoted example (its section, table or line says so), or None."""
    line = match.line
    before = match.joined_line[: match.column]
    if options.quoted and _inside_quotes(before):
        return "inside quotes"
    if options.imperative and not _commanded(before):
        return "described rather than commanded"
    skill_md = text.file.rsplit("/", 1)[-1].lower() == "skill.md"
    # SKILL.md's title (level 1) names the skill, not a section of examples.
    titles = [h.title for h in text.doc.section(line) if h.level > 1 or not skill_md]
    if titles and _search_str(options.headings, "\n".join(titles)):
        title = next(t for t in titles if _search_str(options.headings, t))
        return f"under the heading '{title[:60]}'"
    value = text.line_text(line)
    # The matched command itself is not a cue ("curl --insecure" is no quote of "insecure").
    own = match.joined_line
    prose = own[: match.column] + " " + own[match.end_column :]
    if _TABLE_ROW.match(value):
        header = _table_header(text, line)
        if _search_str(options.cues, header) or _search_str(options.headings, header):
            return "in a table of examples"
    context = [prose[:MATCH_WINDOW]]
    if text.doc.in_code_block(line):
        context.append(_introduction(text, line))
    elif line > 1:
        context.append(text.line_text(line - 1)[:MATCH_WINDOW])
    if _search_str(options.cues, "\n".join(context)):
        return "quoted as an example"
    return None


# --- hits -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    """One rule matched one line (after escalation and discount)."""

    rule: Rule
    severity: Severity
    line: int
    evidence: str
    family: str
    detail: str = ""
    base_rule: str = ""  # the rule whose pattern matched (differs when escalated)
    offset: int = 0  # where the line starts in the joined text


def _discount_floor(rule: Rule, default: Severity | None) -> Severity | None:
    """How far a quoted hit of `rule` is lowered: the rule's own `discount.severity` (an
    escalated rule keeps a higher floor than the rule it came from), else `default`."""
    if default is None:
        return None
    own = rule.options.get("discount")
    if isinstance(own, Mapping):
        try:
            floor = Severity(own.get("severity"))
        except ValueError:
            return default
        return floor if floor.rank > default.rank else default
    return default


def _risky_source(span: str, options: _Options) -> str | None:
    for name, pattern in options.risky:
        if _search_str((pattern,), span, span):  # the span is lower-cased already
            return name
    return None


def _near(text: _Text, offset: int, options: _Options) -> bool:
    """Does every `near` condition of the rule hold around the line at `offset`?"""
    for before, after, patterns in options.near:
        start, end = _lines_around(text.joined, offset, before, after)
        if not _search(patterns, text, start, end):
            return False
    return True


def _hits(text: _Text, catalog: _Catalog) -> list[_Hit]:
    hits: list[_Hit] = []
    tokens = text.tokens
    for rule, options in catalog.rules:
        if options.gate.single.isdisjoint(tokens) and not options.gate.other:
            continue  # no keyword of the rule occurs in this text
        for match in _matches(rule, options, text):
            if options.near and not _near(text, match.offset, options):
                continue
            urls = _urls(match.span)
            if (
                options.trusted
                and urls
                and all(any(rx.search(url) for rx in options.trusted) for url in urls)
            ):
                continue
            effective, detail = rule, ""
            target = catalog.by_id.get(options.escalate_to or "")
            risky = _risky_source(match.span, options) if target is not None else None
            if target is not None and risky:
                effective, detail = target, f"Source: {risky}."
            severity = effective.severity
            discount_to = _discount_floor(effective, options.discount_to)
            if discount_to is not None and discount_to.rank < severity.rank:
                why = _quoted_as_example(text, match, options)
                if why:
                    severity = discount_to
                    detail = (
                        f"{detail} Lowered to {severity.value}: {why}; "
                        "check that it is only quoted."
                    ).strip()
            hits.append(
                _Hit(
                    effective,
                    severity,
                    match.line,
                    _evidence(match),
                    options.family,
                    detail,
                    rule.id,
                    match.offset,
                )
            )
    return hits


def _best_per_family(hits: Iterable[_Hit]) -> list[_Hit]:
    """One hit per (line, family): the most severe."""
    best: dict[tuple[int, str], _Hit] = {}
    for hit in hits:
        key = (hit.line, hit.family)
        current = best.get(key)
        if current is None or hit.severity.rank > current.severity.rank:
            best[key] = hit
    return sorted(best.values(), key=lambda h: (h.line, h.rule.id))


# --- fake prerequisites ---------------------------------------------------------------


def _delivery_lines(text: _Text, composite: _Composite) -> set[int]:
    """Offsets of the lines that send the reader to a page or a pasted command to get a
    tool (and are not about an API key or an account)."""
    found: set[int] = set()
    joined = text.joined
    for start, end in text.regions(composite.delivery_keywords, 0, 0):
        for pattern in composite.delivery:
            for match in _finditer(pattern, text, start, end):
                line_start, line_end = _lines_around(joined, match.start(), 0, 0)
                if not _search_str(composite.delivery_unless, joined[line_start:line_end]):
                    found.add(line_start)
    return found


def _all_official(text: _Text, start: int, end: int, composite: _Composite) -> bool:
    """Do all URLs between the offsets point at the platform's own sites?"""
    urls = _urls(text.lowered[start:end])
    return bool(urls) and all(
        any(rx.search(url) for rx in composite.official_hosts) for url in urls
    )


def _fake_prerequisites(text: _Text, hits: Sequence[_Hit], composite: _Composite) -> list[_Hit]:
    """'X is required' near a way to fetch X from outside a package manager: strong (high)
    when X imitates the platform's name or is a binary to download and run; weak (medium)
    when the fetch is only a link to a download page."""
    if not text.present(composite.necessity_keywords):
        return []
    strong = sorted(
        ((h.offset, h) for h in hits if h.base_rule in composite.strong_rules),
        key=lambda item: item[0],
    )
    weak = _delivery_lines(text, composite)
    weak_hit: _Hit | None = None
    for offset in sorted({o for o, _ in strong} | weak):
        start, end = _lines_around(text.joined, offset, composite.window, composite.window)
        if not _search(composite.necessity, text, start, end):
            continue
        if _all_official(text, start, end, composite):
            continue  # the platform's own tool from the platform's own site
        nearby = [h for o, h in strong if start <= o <= end]
        binary = [h for h in nearby if h.base_rule in composite.binary_rules]
        if binary or _search(composite.impersonation, text, start, end):
            rule = composite.rule
            line = (binary or nearby)[0].line if nearby else text.line_number(offset)
            return [_Hit(rule, rule.severity, line, text.line_text(line), rule.id)]
        if offset in weak and composite.weak_rule is not None and weak_hit is None:
            rule, line = composite.weak_rule, text.line_number(offset)
            weak_hit = _Hit(rule, rule.severity, line, text.line_text(line), rule.id)
    return [weak_hit] if weak_hit is not None else []


# --- entry point ------------------------------------------------------------------------


def scan_text(file: str, raw: str, signatures: Signatures) -> list[Finding]:
    """The instructions findings for one markdown text (a file of a skill, or any text)."""
    catalog = _catalog(signatures)
    text = _Text(file, raw)
    hits = _hits(text, catalog)
    if catalog.composite is not None:
        hits.extend(_fake_prerequisites(text, hits, catalog.composite))
    findings = []
    for hit in _best_per_family(hits):
        message = f"{hit.rule.message} {hit.detail}".strip() if hit.detail else hit.rule.message
        findings.append(
            Finding.create(
                hit.rule.id,
                hit.severity,
                hit.rule.category,
                message,
                file=file,
                line=hit.line,
                evidence=hit.evidence,
            )
        )
    return findings


def analyze(skill: Skill, signatures: Signatures) -> list[Finding]:
    """Flag install lures, download-and-run commands and agent manipulation in markdown."""
    findings: list[Finding] = []
    for entry in skill.text_files():
        if entry.role == "markdown" and entry.text:
            findings.extend(scan_text(entry.path, entry.text, signatures))
    return findings
