"""The detection content: load the signature bundle (rule catalogs, semgrep rules, lists).

Rules are data in `signatures/` (shipped in the wheel, read through importlib.resources, or
any folder given with `--signatures`). Each catalog `signatures/rules/<analyzer>.yaml` holds
that analyzer's rules with their fixtures: snippets that must fire and must not fire.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TypeVar, cast

import yaml

from skillscan.errors import InputError
from skillscan.model import Category, Finding, Severity

_T = TypeVar("_T")

# libyaml's safe loader parses the bundle about 10x faster than the pure-Python one (the
# same safe constructors; each worker process loads the bundle once).
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> object:
    """Parse one YAML document of the bundle with the safe (fast when available) loader."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader


# `unless` patterns read at most this much of a matched line (minified files hold
# megabyte-long lines).
MATCH_WINDOW = 4096


def bundled_path(name: str) -> Path:
    """A top-level data folder (`signatures`, `registry`) of an installed wheel or a checkout."""
    packaged = resources.files("skillscan") / "_data" / name
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise InputError(
        f"the bundled {name}/ folder is missing from this installation", hint="reinstall skillscan"
    )


# Where a pattern rule looks (a rule lists one or more):
#   markdown - SKILL.md and other prose files (.md, .txt, .rst ...), code blocks included
#   code     - scripts (by extension or shebang)
#   config   - data and config files (.json, .yaml, .toml, .env ...)
#   decoded  - text recovered from encoded payloads (base64, hex, ...) by the encoding analyzer
SCOPES = frozenset({"markdown", "code", "config", "decoded"})

# A fixture is a SKILL.md body (str) or a whole skill as {relative path: text}.
Fixture = str | Mapping[str, str]


@dataclass(frozen=True)
class Rule:
    """One detection rule: identity, what it means, how it matches, and its fixtures."""

    id: str
    analyzer: str
    severity: Severity
    category: Category
    message: str
    scopes: tuple[str, ...] = ()  # which texts a pattern rule reads: see SCOPES
    patterns: tuple[re.Pattern[str], ...] = ()
    keywords: tuple[str, ...] = ()  # lower-case prefilter: the rule runs only if one occurs
    unless: tuple[re.Pattern[str], ...] = ()
    source: str = ""
    options: Mapping[str, object] = field(default_factory=dict)
    fires: tuple[Fixture, ...] = ()
    ok: tuple[Fixture, ...] = ()

    def finding(self, file: str, line: int, evidence: str, *, detail: str = "") -> Finding:
        """A finding of this rule; `detail` is appended to the rule's message."""
        message = f"{self.message} {detail}".strip() if detail else self.message
        return Finding.create(
            self.id, self.severity, self.category, message, file=file, line=line, evidence=evidence
        )

    def findings_in(
        self,
        text: str,
        file: str,
        *,
        first_line: int = 1,
        prefix: str = "",
        lowered: str | None = None,
    ) -> list[Finding]:
        """A finding for each line of `text` this rule matches; `first_line` is the line of
        `file` where `text` starts, `prefix` is put before the evidence (e.g. 'decoded: ').
        Pass `lowered` (text.lower()) when running many rules over one text."""
        return [
            self.finding(file, first_line + number - 1, prefix + line)
            for number, line in self.search(text, lowered)
        ]

    def search(self, text: str, lowered: str | None = None) -> Iterator[tuple[int, str]]:
        """(line number, line) for each line where a pattern matches and no `unless` pattern
        matches that line; one hit per line. Patterns run over the whole text (use `(?m)`
        for line anchors and bounded repeats like `[^\\n]{0,200}`); `keywords`, when given,
        are a cheap case-insensitive prefilter: the rule runs only if one of them occurs."""
        if not self.patterns:
            return
        if self.keywords:
            haystack = lowered if lowered is not None else text.lower()
            if not any(k in haystack for k in self.keywords):
                return
        seen: set[int] = set()
        for pattern in self.patterns:
            for match in pattern.finditer(text):
                start = text.rfind("\n", 0, match.start()) + 1
                if start in seen:
                    continue
                end = text.find("\n", match.start())
                line = text[start : end if end >= 0 else len(text)]
                if any(u.search(line[:MATCH_WINDOW]) for u in self.unless):
                    continue
                seen.add(start)
                yield text.count("\n", 0, start) + 1, line
        return


def scan_text(
    rules: Iterable[Rule], text: str, file: str, *, first_line: int = 1, prefix: str = ""
) -> list[Finding]:
    """Run many pattern rules over one text (lower-cased once for the keyword prefilter)."""
    lowered = text.lower()
    findings: list[Finding] = []
    for rule in rules:
        findings.extend(
            rule.findings_in(text, file, first_line=first_line, prefix=prefix, lowered=lowered)
        )
    return findings


@dataclass(frozen=True)
class Signatures:
    """A loaded signature bundle."""

    version: str
    root: Path
    rules: Mapping[str, Rule]
    lists: Mapping[str, tuple[str, ...]]

    # Analyzers ask for their rules on every skill; the answers are computed once per bundle.
    @functools.cached_property
    def _by_scope(self) -> Mapping[str, tuple[Rule, ...]]:
        return {
            scope: tuple(r for r in self.rules.values() if scope in r.scopes and r.patterns)
            for scope in SCOPES
        }

    @functools.cached_property
    def _by_analyzer(self) -> Mapping[str, tuple[Rule, ...]]:
        found: dict[str, list[Rule]] = {}
        for rule in self.rules.values():
            found.setdefault(rule.analyzer, []).append(rule)
        return {analyzer: tuple(rules) for analyzer, rules in found.items()}

    def with_scope(self, scope: str) -> tuple[Rule, ...]:
        """Every pattern rule that reads texts of this scope, whichever analyzer owns it."""
        return self._by_scope.get(scope, ())

    def for_analyzer(self, analyzer: str) -> tuple[Rule, ...]:
        """The rules an analyzer owns, in catalog order."""
        return self._by_analyzer.get(analyzer, ())

    def derived(self, key: str, build: Callable[[Signatures], _T]) -> _T:
        """`build(self)`, computed once per bundle and kept with it: an analyzer's compiled
        catalog, say. A cache only (results never depend on it); `key` names the analyzer's
        value, e.g. "instructions.catalog"."""
        memo: dict[str, object] = self.__dict__.setdefault("_derived", {})
        if key not in memo:
            memo[key] = build(self)
        return cast("_T", memo[key])

    def rule(self, rule_id: str) -> Rule:
        """A rule by id; a missing id is a bug in the bundle, reported as such."""
        try:
            return self.rules[rule_id]
        except KeyError:
            raise InputError(f"signature bundle {self.root} has no rule {rule_id}") from None

    @functools.cached_property
    def semgrep_languages(self) -> frozenset[str]:
        """Every language some semgrep rule of the bundle is written for."""
        found: set[str] = set()
        for rule in self.for_analyzer("semgrep"):
            languages = rule.options.get("languages")
            if isinstance(languages, list):
                found.update(str(x) for x in languages)
        return frozenset(found)

    @property
    def semgrep_dir(self) -> Path:
        """The folder of semgrep rules (one YAML per rule, file stem = rule id)."""
        return self.root / "semgrep"


def _strings(value: object) -> tuple[str, ...]:
    """A scope given as 'a, b', a single word, or a list."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value)
    return (str(value),)


def _compile(values: object, where: str) -> tuple[re.Pattern[str], ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InputError(f"{where}: patterns must be a list of strings")
    try:
        return tuple(re.compile(v) for v in values)
    except re.error as exc:
        raise InputError(f"{where}: bad regular expression: {exc}") from exc


def _fixtures(values: object, where: str) -> tuple[Fixture, ...]:
    if values is None:
        return ()
    if not isinstance(values, list):
        raise InputError(f"{where}: fixtures must be a list")
    out: list[Fixture] = []
    for value in values:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            out.append({str(k): v for k, v in value.items()})
        else:
            raise InputError(f"{where}: a fixture is a string or a mapping of path to text")
    return tuple(out)


_RULE_KEYS = frozenset(
    {
        "id",
        "severity",
        "category",
        "message",
        "scope",
        "keywords",
        "patterns",
        "unless",
        "source",
        "options",
        "fires",
        "ok",
    }
)


def _rule(raw: object, analyzer: str, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: each rule is a mapping")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise InputError(f"{where}: unknown keys {sorted(unknown)}")
    rule_id = raw.get("id")
    message = raw.get("message")
    if not isinstance(rule_id, str) or not re.fullmatch(r"SKS-[A-Z]+-[0-9A-Z-]+", rule_id):
        raise InputError(f"{where}: rule id {rule_id!r} is not of the form SKS-AREA-NNN")
    if not isinstance(message, str) or not message.strip():
        raise InputError(f"{where}: rule {rule_id} has no message")
    try:
        severity = Severity(raw.get("severity"))
        category = Category(raw.get("category"))
    except ValueError as exc:
        raise InputError(f"{where}: rule {rule_id}: {exc}") from exc
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise InputError(f"{where}: rule {rule_id}: options must be a mapping")
    here = f"{where}: rule {rule_id}"
    scopes = _strings(raw.get("scope"))
    if set(scopes) - SCOPES:
        raise InputError(
            f"{here}: unknown scope {sorted(set(scopes) - SCOPES)}; use {sorted(SCOPES)}"
        )
    return Rule(
        id=rule_id,
        analyzer=analyzer,
        severity=severity,
        category=category,
        message=" ".join(message.split()),
        scopes=scopes,
        keywords=tuple(k.lower() for k in _strings(raw.get("keywords"))),
        patterns=_compile(raw.get("patterns"), here),
        unless=_compile(raw.get("unless"), here),
        source=str(raw.get("source") or ""),
        options={str(k): v for k, v in options.items()},
        fires=_fixtures(raw.get("fires"), here),
        ok=_fixtures(raw.get("ok"), here),
    )


def _token_groups(value: object, where: str) -> list[list[str]]:
    """A semgrep rule's `skillscan-requires`: a non-empty list of non-empty token lists."""
    if (
        not isinstance(value, list)
        or not value
        or not all(
            isinstance(group, list) and group and all(isinstance(t, str) and t for t in group)
            for group in value
        )
    ):
        raise InputError(f"{where}: skillscan-requires must be a list of non-empty token lists")
    tokens = {token for group in value for token in group}
    # The prefilter searches text without quotes, backslashes and line breaks.
    if any(c in token for token in tokens for c in "'\"\\\n"):
        raise InputError(f"{where}: a skillscan-requires token holds a quote, backslash or newline")
    return [[token.lower() for token in group] for group in value]


def _semgrep_rule(path: Path) -> Rule:
    """Catalog entry of a semgrep rule: its metadata says severity and category."""
    where = str(path)
    try:
        doc = _load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{where}: cannot read semgrep rule: {exc}") from exc
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, list) or len(rules) != 1 or not isinstance(rules[0], dict):
        raise InputError(f"{where}: a semgrep rule file holds exactly one rule")
    raw = rules[0]
    if raw.get("id") != path.stem:
        raise InputError(f"{where}: the rule id must equal the file name ({path.stem})")
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InputError(f"{where}: metadata must be a mapping")
    languages = raw.get("languages")
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise InputError(f"{where}: languages must be a list of names")
    options: dict[str, object] = {"languages": [x.lower() for x in languages]}
    requires = metadata.get("skillscan-requires")
    if requires is not None:
        options["requires"] = _token_groups(requires, where)
    return _rule(
        {
            "id": raw.get("id"),
            "severity": metadata.get("skillscan-severity"),
            "category": metadata.get("category"),
            "message": raw.get("message"),
            "options": options,
        },
        "semgrep",
        where,
    )


def _read_list(path: Path) -> tuple[str, ...]:
    """A list file: one value per line; `#` starts a comment (where the value came from)."""
    values = []
    for line in path.read_text(encoding="utf-8").splitlines():
        value = line.split("#", 1)[0].strip()
        if value:
            values.append(value)
    return tuple(values)


def load_signatures(directory: Path | None = None) -> Signatures:
    """Load and validate a signature bundle (the bundled one by default). Cached per folder."""
    # One cache key per folder: `load_signatures()` and `load_signatures(None)` must share
    # it (functools keys them apart), or forkserver workers rebuild the preloaded bundle.
    return _load_bundle(directory if directory is not None else bundled_path("signatures"))


@functools.cache
def _load_bundle(root: Path) -> Signatures:
    try:
        version = (root / "VERSION").read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputError(f"{root} is not a signature bundle (no VERSION file)") from exc
    rules: dict[str, Rule] = {}

    def add(rule: Rule) -> None:
        if rule.id in rules:
            raise InputError(f"{root}: rule id {rule.id} is defined twice")
        rules[rule.id] = rule

    for catalog in sorted((root / "rules").glob("*.yaml")):
        try:
            doc = _load_yaml(catalog.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"{catalog}: cannot read rule catalog: {exc}") from exc
        entries = doc.get("rules") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise InputError(f"{catalog}: expected a top-level 'rules' list")
        for index, raw in enumerate(entries):
            add(_rule(raw, catalog.stem, f"{catalog}#{index}"))
    for semgrep_file in sorted((root / "semgrep").glob("*.yaml")):
        add(_semgrep_rule(semgrep_file))
    lists = {p.stem: _read_list(p) for p in sorted((root / "lists").glob("*.txt"))}
    return Signatures(version=version, root=root, rules=rules, lists=lists)
