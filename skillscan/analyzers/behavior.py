"""What a skill's scripts and instructions do: credential access, exfiltration, reverse
shells, persistence and destruction, found by the pattern rules of `behavior.yaml`.

Every text file is read by the rules of its role's scope (markdown, code, config). Prose
that quotes an attack to teach about it (a security skill's table of bad patterns, an
"example of a malicious command") is reported at a lower severity than an instruction,
and a read of a credential store in a skill that also sends data over the network is
raised to one critical finding.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from skillscan.model import Finding, Severity
from skillscan.signatures import Rule, Signatures
from skillscan.skill import Skill, SkillFile

NAME = "behavior"

# Rule options this module reads:
#   quoted     severity when the match sits in prose that quotes it as an example or
#              pattern to detect (default: medium); never raises a rule's severity
#   combo      'skill' or 'file': a read of this credential store, together with a network
#              send in the same skill (or file), makes the correlation rule fire
#   correlate  'credential-send' marks the correlation rule: its patterns are network sends
#              and it is never run on its own (it has no scope)
CORRELATE = "credential-send"
DEFAULT_QUOTED = Severity.MEDIUM
SCOPE_OF_ROLE: Mapping[str, str] = {"markdown": "markdown", "code": "code", "config": "config"}

# Words around a quoted command that say it is shown, not asked for. Directive phrasing
# ("do not tell the user", "never ask") is deliberately absent: it is what injected
# instructions say.
_TEACHING = re.compile(
    r"(?i)(?:(?<![\w./@-])(?:examples?|for instance|malicious|malware|attacks?|attackers?|"
    r"detect(?:s|ed|ion|ions|or|ors|ing)?|patterns?|anti-patterns?|red flags?|suspicious|"
    r"threats?|dangerous|avoid|block(?:s|ed|list)?|flag(?:s|ged)?|warning|scanners?|"
    r"indicators?|iocs?|exploits?|vulnerab\w*|evil|unsafe|insecure|bad|stealers?|"
    r"exfiltration|backdoors?|payloads?|what not to do|should be flagged|signatures?|"
    r"c2|command.and.control|audit(?:s|ed|ing|or)?|defen[cs]e|sanitiz\w*)(?![\w./@-])|"
    r"\be\.g\.|\u274c|\u26a0|\U0001f6ab|\u26d4|\U0001f534|\U0001f6a8)"
)
# Frontmatter words that make a whole skill a security tool: its prose quotes attacks.
_SECURITY_SKILL = re.compile(
    r"(?i)\b(?:security|scanner|scan|audit\w*|malware|threats?|vet(?:ting|ter)?|guard\w*|"
    r"detect\w*|injection|vulnerab\w*|forensic\w*|incident|hardening|defen[cs]e\w*)\b"
)
_HEADING = re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+[^\n]*")
# Characters of a matched line kept as evidence (evidence is shortened further later).
EVIDENCE_WINDOW = 1000
# How far back the quoting context is looked for.
_CONTEXT_LINES = 4
_HEADING_WINDOW = 6000


@dataclass(frozen=True)
class Hit:
    """One line of one file matched by one rule."""

    rule: Rule
    path: str
    line: int
    text: str
    quoted: bool  # prose that shows the pattern rather than asks for it


def _severity(value: object, default: Severity) -> Severity:
    try:
        return Severity(value) if value is not None else default
    except ValueError:
        return default


def quoted_severity(rule: Rule) -> Severity:
    """The severity of a match that prose quotes rather than asks for: never above the rule's."""
    capped = _severity(rule.options.get("quoted"), DEFAULT_QUOTED)
    return capped if capped.rank < rule.severity.rank else rule.severity


def _line_starts(text: str, start: int, count: int) -> int:
    """Offset of the line `count` lines before the one starting at `start`."""
    position = start
    for _ in range(count):
        if position <= 0:
            return 0
        position = text.rfind("\n", 0, position - 1) + 1
    return position


class _Prose:
    """Quoting context of one markdown text, computed lazily and once per line."""

    def __init__(self, text: str, security_skill: bool) -> None:
        self.text = text
        self.security_skill = security_skill
        self._cache: dict[int, bool] = {}

    def quoted(self, line_start: int, line: str) -> bool:
        if self.security_skill:
            return True
        cached = self._cache.get(line_start)
        if cached is None:
            cached = self._compute(line_start, line)
            self._cache[line_start] = cached
        return cached

    def _compute(self, line_start: int, line: str) -> bool:
        stripped = line.lstrip()
        if stripped.startswith("|"):  # a table row lists things; it does not instruct
            return True
        window_start = _line_starts(self.text, line_start, _CONTEXT_LINES)
        if _TEACHING.search(self.text, window_start, line_start + len(line)):
            return True
        heading_from = max(0, line_start - _HEADING_WINDOW)
        headings = _HEADING.findall(self.text, heading_from, line_start)
        return bool(headings and _TEACHING.search(headings[-1]))


# A code or config line that only documents or holds data, not something that runs: a
# comment, or a quoted string that is a list item or an object/mapping value. Plain
# assignments (X="rm -rf ~") stay strict: scripts run them later.
_COMMENT_LINE = re.compile(r"^\s*(?:#(?!!)|//|/\*|\*|<!--|--\s|REM\s|::\s)")
_DATA_LINE = re.compile(
    r"""^\s*(?:-\s+)?(?:[\w$.\-'"]{1,60}\s*:\s*)?[rbuf]{0,2}(?P<q>['"`]).*(?P=q)\s*[,\]})]?\s*$"""
)
# Keys whose string value is executed (package.json scripts, MCP server commands, hooks).
_EXEC_KEY = re.compile(
    r"""^\s*(?:-\s+)?['"]?(?:pre|post)?(?:install|prepare|start|test|build|command|cmd|exec|"""
    r"""run|script|entrypoint|shell|hook|args)['"]?\s*:"""
)


def data_line(line: str) -> bool:
    """Is this line of a script or config a comment or a string held as data?"""
    if len(line) > 2000:
        return False
    if _COMMENT_LINE.match(line):
        return True
    if _EXEC_KEY.match(line):
        return False
    match = _DATA_LINE.match(line)
    if not match:
        return False
    stripped = line.strip()
    # A key: value pair, or a list element ending with a separator.
    return ":" in stripped.split(match.group("q"), 1)[0] or stripped.endswith((",", "]", "}"))


def is_security_skill(skill: Skill) -> bool:
    """Does the skill present itself as a security tool (name, description, or the title
    and tagline at the top of SKILL.md when the frontmatter says nothing)?"""
    meta = skill.frontmatter
    words = " ".join(part for part in (meta.name, meta.description) if part)
    if not meta.description:
        words = f"{words} {skill.body[:400]}"
    return bool(_SECURITY_SKILL.search(words[:2000]))


# Test suites and fixtures hold attack strings as test inputs; they are not what the skill
# runs. Code there is reported as quoted (lowered); semgrep still reads its semantics.
_TEST_PATH = re.compile(
    r"(?i)(?:^|/)(?:tests?|__tests__|spec|specs|fixtures?|test-fixtures|testdata|examples?)/|"
    r"(?:^|/)(?:test_[^/]*|[^/]*[._-](?:test|spec)s?\.[a-z]{1,4}|[^/]*test-[^/]*)$"
)


def test_path(path: str) -> bool:
    """Is this file part of a test suite or a fixture collection?"""
    return bool(_TEST_PATH.search(path))


def _scope(entry: SkillFile) -> str | None:
    return SCOPE_OF_ROLE.get(entry.role)


def _trie_regex(words: Iterable[bytes]) -> bytes:
    """A regex matching any of `words`, factored as a trie so that at each position the
    engine compares one byte per branch level instead of trying every word."""
    trie: dict[int, object] = {}
    for word in words:
        node = trie
        for byte in word:
            node = node.setdefault(byte, {})  # type: ignore[assignment]
        node[-1] = {}  # end of a word

    def build(node: dict[int, object]) -> bytes:
        ends = -1 in node
        branches = [
            re.escape(bytes([byte])) + build(child)  # type: ignore[arg-type]
            for byte, child in sorted(node.items())
            if byte != -1
        ]
        if not branches:
            return b""
        body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
        if ends:
            return b"(?:" + body + b")?"
        return body

    return build(trie)


class NeedleGate:
    """Which of many lower-case literals occur in a text, in few passes.

    Testing each keyword with `in` costs a full pass over the text per keyword. Keywords
    that start with the same byte are found together by one regex beginning with that
    literal byte (a trie of the rest), which the regex engine scans for quickly; the rest
    are tested with `in`. Texts are searched as ASCII-lower-cased bytes: keywords are
    ASCII, and bytes.lower() is far cheaper than str.lower() on non-ASCII text.
    """

    def __init__(self, needles: Iterable[str]) -> None:
        groups: dict[bytes, list[bytes]] = {}
        for needle in sorted({n.encode("utf-8") for n in needles if n}):
            groups.setdefault(needle[:1], []).append(needle)
        singles: list[str] = []
        regexes: list[re.Pattern[bytes]] = []
        # The trie regex reports the longest needle at a position; the needles that are
        # its prefixes occur there too (".env" inside ".environ").
        prefixes: dict[bytes, tuple[str, ...]] = {}
        for first, members in sorted(groups.items()):
            if len(members) < 3:
                singles.extend(m.decode("utf-8") for m in members)
                continue
            regexes.append(re.compile(re.escape(first) + _trie_regex(m[1:] for m in members)))
            for member in members:
                prefixes[member] = tuple(m.decode("utf-8") for m in members if member.startswith(m))
        self.singles = tuple((s, s.encode("utf-8")) for s in singles)
        self.regexes = tuple(regexes)
        self.prefixes = prefixes

    def present(self, lowered: bytes) -> set[str]:
        """The needles that occur in `lowered` (ASCII-lower-cased bytes)."""
        found = {name for name, needle in self.singles if needle in lowered}
        for regex in self.regexes:
            for match in set(regex.findall(lowered)):
                found.update(self.prefixes[match])
        return found


@dataclass(frozen=True)
class ScanPlan:
    """How a set of rules reads texts: per scope, one needle gate and, for each keyword,
    the rules it lets run. Rules are stored without their keywords, so that Rule.search
    does not test them again (the gate already has)."""

    gates: Mapping[str, NeedleGate]
    by_needle: Mapping[str, Mapping[str, tuple[Rule, ...]]]
    ungated: Mapping[str, tuple[Rule, ...]]
    order: Mapping[str, int]  # catalog position of each rule id

    def runnable(self, scope: str, present: Iterable[str]) -> list[Rule]:
        """The rules of `scope` to run on a text holding these needles, in catalog order."""
        chosen: dict[str, Rule] = {r.id: r for r in self.ungated.get(scope, ())}
        table = self.by_needle.get(scope, {})
        for needle in present:
            for rule in table.get(needle, ()):
                chosen[rule.id] = rule
        return sorted(chosen.values(), key=lambda r: self.order.get(r.id, 0))


class _RuleSet:
    """A tuple of rules hashed by identity: rules hold mappings and are not hashable."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self._key = tuple(id(r) for r in rules)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RuleSet) and other._key == self._key


@functools.lru_cache(maxsize=16)
def _plan(rule_set: _RuleSet, every_scope: bool) -> ScanPlan:
    gates: dict[str, NeedleGate] = {}
    by_needle: dict[str, dict[str, list[Rule]]] = {}
    ungated: dict[str, list[Rule]] = {}
    for scope in SCOPE_OF_ROLE.values():
        scoped = [r for r in rule_set.rules if every_scope or scope in r.scopes]
        gates[scope] = NeedleGate(k for r in scoped for k in r.keywords)
        table: dict[str, list[Rule]] = {}
        for rule in scoped:
            bare = replace(rule, keywords=())
            if not rule.keywords:
                ungated.setdefault(scope, []).append(bare)
            for keyword in rule.keywords:
                table.setdefault(keyword, []).append(bare)
        by_needle[scope] = table
    return ScanPlan(
        gates=gates,
        by_needle={s: {k: tuple(v) for k, v in t.items()} for s, t in by_needle.items()},
        ungated={s: tuple(v) for s, v in ungated.items()},
        order={r.id: i for i, r in enumerate(rule_set.rules)},
    )


def scan_plan(rules: Iterable[Rule], *, every_scope: bool = False) -> ScanPlan:
    """The (cached) plan for reading texts with these rules; `every_scope` reads every
    kind of text whatever the rules' scopes say."""
    return _plan(_RuleSet(tuple(rules)), every_scope)


def scan_files(
    skill: Skill, plan: ScanPlan, *, paths: Collection[str] | None = None
) -> Iterator[Hit]:
    """Every line of every text file of the skill (or of `paths` only) that a rule of the
    file's scope matches, file by file: a caller may stop at the first hit."""
    security_skill = is_security_skill(skill)
    for entry in skill.text_files():
        if paths is not None and entry.path not in paths:
            continue
        scope = _scope(entry)
        text = entry.text
        if not scope or not text:
            continue
        raw = entry.data if entry.data is not None else text.encode("utf-8", "replace")
        present = plan.gates[scope].present(raw.lower())
        runnable = plan.runnable(scope, present)
        if runnable:
            yield from scan_text(entry.path, text, runnable, scope == "markdown", security_skill)


def scan_text(
    path: str, text: str, rules: Iterable[Rule], prose: bool, security_skill: bool = False
) -> Iterator[Hit]:
    """The hits of `rules` in one text; `prose` texts get a quoting context per line.
    Rules that still carry keywords are prefiltered here; plan rules carry none."""
    context = _Prose(text, security_skill) if prose else None
    in_tests = test_path(path)
    lowered: str | None = None
    for rule in rules:
        if rule.keywords and lowered is None:
            lowered = text.lower()
        for number, line in rule.search(text, lowered):
            if context is not None:
                quoted = context.quoted(_offset_of_line(text, number), line)
            else:
                quoted = in_tests or data_line(line)
            # Minified files hold megabyte lines; evidence is cut to a bound anyway.
            yield Hit(rule, path, number, line[:EVIDENCE_WINDOW], quoted)


def _offset_of_line(text: str, number: int) -> int:
    position = 0
    for _ in range(number - 1):
        position = text.find("\n", position) + 1
        if position == 0:
            return len(text)
    return position


def finding(hit: Hit, *, detail: str = "") -> Finding:
    """The finding of a hit: the rule's severity, lowered when prose quotes the pattern."""
    rule = hit.rule
    if hit.quoted:
        severity = quoted_severity(rule)
        if severity is not rule.severity:
            note = (
                "Quoted in documentation as an example or pattern, not as an instruction; "
                "severity lowered. Check that the skill never asks for it."
            )
            message = f"{rule.message} {note} {detail}".strip()
            return Finding.create(
                rule.id,
                severity,
                rule.category,
                message,
                file=hit.path,
                line=hit.line,
                evidence=hit.text,
            )
    return rule.finding(hit.path, hit.line, hit.text, detail=detail)


def _correlate(skill: Skill, rules: Iterable[Rule], hits: list[Hit]) -> list[Finding]:
    """One critical finding per file that reads a credential store when the skill (or,
    for stores a legitimate tool reads, the same file) also sends data out."""
    combos = [h for h in hits if not h.quoted and h.rule.options.get("combo") in ("skill", "file")]
    if not combos:
        return []
    out: list[Finding] = []
    for rule in rules:
        if rule.options.get("correlate") != CORRELATE:
            continue
        plan = scan_plan((rule,), every_scope=True)
        # One send is enough: look in the reading file first, then anywhere in the skill
        # (only for stores read at skill level); stop at the first send found.
        sink_of: dict[str, Hit | None] = {}
        anywhere: list[Hit | None] = []
        done: set[str] = set()
        for hit in combos:
            if hit.path in done:
                continue
            if hit.path not in sink_of:
                sink_of[hit.path] = _first(scan_files(skill, plan, paths={hit.path}))
            sink = sink_of[hit.path]
            if sink is None and hit.rule.options.get("combo") == "skill":
                if not anywhere:
                    anywhere.append(_first(scan_files(skill, plan)))
                sink = anywhere[0]
            if sink is None:
                continue
            done.add(hit.path)
            detail = (
                f"Credential read ({hit.rule.id}) at {hit.path}:{hit.line}; "
                f"network send at {sink.path}:{sink.line}: {sink.text.strip()[:120]}"
            )
            out.append(rule.finding(hit.path, hit.line, hit.text, detail=detail))
    return out


def _first(hits: Iterable[Hit]) -> Hit | None:
    """The first hit that is not a quotation, or None."""
    return next((h for h in hits if not h.quoted), None)


def analyze(skill: Skill, signatures: Signatures) -> list[Finding]:
    """Findings of the behaviour rules over every text file, plus credential-send correlation."""
    rules = signatures.for_analyzer(NAME)
    pattern_rules = [r for r in rules if r.patterns and not r.options.get("correlate")]
    hits = list(scan_files(skill, scan_plan(pattern_rules)))
    findings = [finding(h) for h in hits]
    findings.extend(_correlate(skill, rules, hits))
    return findings
