"""Capabilities versus declaration: what a skill's scripts and instructions do (network, secrets
from the environment, programs run, files outside the skill) against what SKILL.md declares,
and the risky grants a frontmatter can ask for (`allowed-tools`, `always`, `install[]`,
`requires.config`).

Observation is a set of small regexes per language, run over each script and each fenced code
block of the markdown. Every regex starts with a literal, which Python's `re` finds with a
fast substring scan, so a text costs a few passes at memory speed (big alternations and
lower-casing whole texts are ten times slower and are avoided). The lists observations are
compared with (secret-looking names, service variables, neutral hosts, credential stores ...)
are data in `signatures/rules/capabilities.yaml`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from skillscan.model import Finding, Severity
from skillscan.signatures import Rule, Signatures
from skillscan.skill import InstallSpec, Skill

NAME = "capabilities"

# Findings of one kind reported per skill at most (the first occurrences); more adds noise,
# not information.
MAX_PER_RULE = 10
# Without a description, this much of SKILL.md's opening text is read as the summary.
SUMMARY_FALLBACK = 600
# Evidence is cut around the match: a minified script is one megabyte-long line.
EVIDENCE_WINDOW = 160


def _table(spec: str) -> dict[str, str]:
    """'lang: a b c' lines -> {a: lang, b: lang, c: lang}."""
    out: dict[str, str] = {}
    for line in spec.strip().splitlines():
        lang, _, keys = line.partition(":")
        out.update(dict.fromkeys(keys.split(), lang.strip()))
    return out


_SUFFIX_LANG = _table(
    """
    python: .py .pyw
    shell: .sh .bash .zsh .ksh .fish .command
    js: .js .mjs .cjs .jsx .ts .mts .cts .tsx
    powershell: .ps1 .psm1 .psd1
    batch: .bat .cmd
    ruby: .rb
    go: .go
    rust: .rs
    php: .php
    perl: .pl
    """
)
# Info words of fenced code blocks. An untagged block is read as shell-like text, since that
# is how most SKILL.md files write commands; other tags (json, yaml, text ...) are not code.
_FENCE_LANG = {
    "": "untagged",
    **_table(
        """
        shell: bash sh shell zsh console terminal shell-session shellsession ksh fish
        python: python py python3
        js: js javascript node mjs ts typescript jsx tsx
        powershell: powershell ps1 pwsh ps
        batch: bat batch cmd
        ruby: ruby rb
        go: go golang
        rust: rust rs
        php: php
        perl: perl
        """
    ),
}
_SHELLISH = frozenset({"shell", "untagged", "powershell", "batch"})
_COMMENT_PREFIXES = {
    "python": ("#",),
    "shell": ("#",),
    "untagged": ("#",),
    "ruby": ("#",),
    "perl": ("#",),
    "powershell": ("#", "<#"),
    "batch": ("rem ", "REM ", "::", "@rem"),
    "js": ("//", "/*", "*"),
    "go": ("//", "/*", "*"),
    "rust": ("//", "/*", "*"),
    "php": ("//", "#", "/*", "*"),
    "other": ("#", "//", "/*", "*"),
}

# --- observation probes ------------------------------------------------------------------
# A probe is (literal, kind, regex): the text is searched for the literal with str.find (the
# fastest scan Python has) and the regex is matched where the literal occurs. Kinds: env
# (group 1 = variable), envlist (group 1 = a destructuring list), enum (the whole environment
# read), net (a network client), url (a host after '://'), connect (group 1 = host), exec
# (group 1 = program), path (named groups, see _home_relative). Shell variables and shell
# commands are too frequent for that and use one regex scan each (_SHELL_VAR, _COMMAND).

_NAME = r"([A-Za-z_][A-Za-z0-9_]{0,80})"
_PART = r"(?:Application Support|Login Data|User Data|Local State|[\w.@-]{1,80})"
_REL = rf"(?P<rel>{_PART}(?:[/\\]{_PART}){{0,5}})"
_JOINED = (
    rf"\s*(?:,|/|\+|\.joinpath\s*\(|\.join\s*\()\s*[rfb]?['\"`][/\\]?{_REL}['\"`]"
    rf"(?:\s*[,/+]\s*['\"`](?P<more1>{_PART})['\"`])?(?:\s*[,/+]\s*['\"`](?P<more2>{_PART})['\"`])?"
)
_ETC = r"(?P<etc>shadow|gshadow|passwd|sudoers|master\.passwd|ssh/[\w.-]{1,60})"

_PATHS = (
    ("~", "path", rf"~[/\\]{_REL}"),
    ("/Users/", "path", rf"/Users/[\w.$-]{{1,40}}/{_REL}"),
    ("/home/", "path", rf"/home/[\w.$-]{{1,40}}/(?P<dot>\.){_REL}"),
    ("/etc/", "path", rf"/etc/{_ETC}"),
)
_WINDOWS_PATHS = (
    ("%", "path", rf"%(?P<root>USERPROFILE|HOMEPATH|APPDATA|LOCALAPPDATA)%[/\\]{_REL}"),
)
# The home folder named through a variable or a call, then a path: $HOME/.ssh, ${HOME}/.ssh,
# "$HOME"/.ssh, process.env.HOME + '/.ssh', f"{os.environ['HOME']}/.ssh", os.homedir() + ...
_THEN_PATH = rf"\}}?['\"`]?\s*(?:\+\s*['\"`])?[/\\]{_REL}"
_HOME_PATHS = (
    ("HOME", "path", rf"HOME(?:['\"]\s*[)\]])?{_THEN_PATH}"),
    ("HOME", "path", rf"HOME['\"]\s*[)\]]{_JOINED}"),
    ("home", "path", rf"home(?:dir)?\s*\(\s*\){_THEN_PATH}"),
    ("home", "path", rf"home(?:dir)?\s*\(\s*\){_JOINED}"),
    ("~", "path", rf"~['\"]\s*\){_JOINED}"),
    ("~", "path", rf"~['\"]\s*\+\s*['\"`][/\\]?{_REL}"),
)
_SHELL_NET = (
    ("curl", "net", r"curl(?:\.exe)?[ \t]"),
    ("wget", "net", r"wget[ \t]"),
    ("/dev/", "connect", r"/dev/(?:tcp|udp)/([\w.-]{1,253})/\d"),
)
_URL = ("://", "url", r"://")


def _probes(
    *specs: tuple[str, str, str],
) -> tuple[tuple[str, tuple[tuple[str, re.Pattern[str]], ...]], ...]:
    """Probes grouped by literal, so each literal is searched once."""
    grouped: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for literal, kind, pattern in specs:
        grouped.setdefault(literal, []).append((kind, re.compile(pattern)))
    return tuple((literal, tuple(group)) for literal, group in grouped.items())


_NET_PY = (
    r"(?:requests|httpx|urllib3?|urllib\.request|aiohttp|http\.client|socket|websockets?"
    r"|pycurl|ftplib|smtplib|paramiko|grequests|treq)\b"
)
_NET_JS = r"(?:node:)?(?:https?|net|tls|dgram|node-fetch|axios|got|undici|ws|ky|superagent|request)"
_PROBES = {
    "python": _probes(
        (
            "environ",
            "env",
            rf"environ(?:\.get|\.setdefault|\.pop)?\s*[\[(]\s*[rbu]?['\"]{_NAME}['\"]",
        ),
        ("environ", "enum", r"environ(?:\.(?:items|keys|values)\s*\(|\s*:)"),
        ("getenv", "env", rf"getenv\s*\(\s*[rbu]?['\"]{_NAME}['\"]"),
        (
            "import",
            "net",
            rf"import[ \t]+(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,[ \t]*){{0,12}}{_NET_PY}",
        ),
        ("from", "net", rf"from[ \t]+{_NET_PY}"),
        _URL,
        ("connect", "connect", r"connect(?:_ex)?\s*\(\s*\(\s*['\"]([\w.-]{1,253})['\"]\s*,\s*\d"),
        (
            "subprocess",
            "exec",
            r"subprocess\.(?:run|call|check_call|check_output|Popen|getoutput"
            r"|getstatusoutput)\s*\(\s*\[?\s*[rfbu]?['\"]([^'\"\s]{1,100})",
        ),
        (
            "os.",
            "exec",
            r"os\.(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?)\s*\(\s*[rfbu]?['\"]"
            r"([^'\"\s]{1,100})",
        ),
        *_PATHS,
        *_HOME_PATHS,
    ),
    "js": _probes(
        ("env", "env", rf"env(?:\?\.|\.){_NAME}"),
        ("env", "env", rf"env\s*\[\s*['\"`]{_NAME}['\"`]"),
        ("env", "enum", r"env\s*\)"),
        ("process.env", "envlist", r"process\.env\b"),
        ("fetch", "net", r"fetch\s*\("),
        ("axios", "net", r"axios"),
        ("require", "net", rf"require\s*\(\s*['\"]{_NET_JS}['\"]"),
        ("from", "net", rf"from\s+['\"]{_NET_JS}['\"]"),
        ("XMLHttpRequest", "net", r"XMLHttpRequest"),
        ("WebSocket", "net", r"WebSocket\s*\("),
        _URL,
        ("exec", "exec", r"exec(?:Sync|FileSync|File|a|aSync)?\s*\(\s*['\"`]([^'\"`\s]{1,100})"),
        ("spawn", "exec", r"spawn(?:Sync)?\s*\(\s*['\"`]([^'\"`\s]{1,100})"),
        *_PATHS,
        *_HOME_PATHS,
    ),
    "shell": _probes(
        ("printenv", "enum", r"printenv"),
        ("env", "enum", r"env[ \t]*(?:\||>|\)|`|$)"),
        *_SHELL_NET,
        _URL,
        *_PATHS,
        *_HOME_PATHS,
    ),
    "untagged": _probes(*_SHELL_NET, _URL, *_PATHS, *_HOME_PATHS),
    "powershell": _probes(
        ("$", "env", rf"\$[Ee][Nn][Vv]:{_NAME}"),
        ("EnvironmentVariable", "env", rf"EnvironmentVariable\s*\(\s*['\"]{_NAME}['\"]"),
        (":", "enum", r":\s*(?:$|[|)])"),
        ("Invoke-WebRequest", "net", r"Invoke-WebRequest"),
        ("Invoke-RestMethod", "net", r"Invoke-RestMethod"),
        ("WebClient", "net", r"WebClient"),
        ("iwr ", "net", r"iwr "),
        ("irm ", "net", r"irm "),
        *_SHELL_NET[:2],
        _URL,
        ("Start-Process", "exec", r"Start-Process\s+(?:-FilePath\s+)?['\"]?([^'\"\s]{1,100})"),
        *_PATHS,
        *_WINDOWS_PATHS,
        (
            "$",
            "path",
            rf"\$[Ee][Nn][Vv]:(?P<root>USERPROFILE|APPDATA|LOCALAPPDATA|HOME)[/\\]{_REL}",
        ),
    ),
    "batch": _probes(
        ("%", "env", r"%([A-Za-z_][A-Za-z0-9_]{1,80})%"),
        *_SHELL_NET[:2],
        _URL,
        *_PATHS,
        *_WINDOWS_PATHS,
    ),
    "ruby": _probes(
        ("ENV", "env", rf"ENV(?:\.fetch\s*\(|\s*\[)\s*['\"]{_NAME}['\"]"),
        ("ENV", "enum", r"ENV\.(?:to_h|to_a|each|map|select|keys|inspect)\b"),
        ("Net::HTTP", "net", r"Net::HTTP"),
        ("open-uri", "net", r"open-uri"),
        ("HTTParty", "net", r"HTTParty"),
        ("Faraday", "net", r"Faraday"),
        _URL,
        ("system", "exec", r"system\s*\(?\s*['\"]([^'\"\s]{1,100})"),
        *_PATHS,
    ),
    "go": _probes(
        ("Getenv", "env", rf"Getenv\s*\(\s*\"{_NAME}\""),
        ("LookupEnv", "env", rf"LookupEnv\s*\(\s*\"{_NAME}\""),
        ("Environ", "enum", r"Environ\s*\(\s*\)"),
        ("net/http", "net", r"net/http"),
        ('"net"', "net", r"\"net\""),
        _URL,
        (
            "exec.Command",
            "exec",
            r"exec\.Command(?:Context)?\s*\(\s*(?:ctx\s*,\s*)?\"([^\"\s]{1,100})",
        ),
        *_PATHS,
    ),
    "rust": _probes(
        ("env::var", "env", rf"env::var(?:_os)?\s*\(\s*\"{_NAME}\""),
        ("env::vars", "enum", r"env::vars\s*\(\s*\)"),
        ("reqwest", "net", r"reqwest"),
        ("ureq::", "net", r"ureq::"),
        ("TcpStream", "net", r"TcpStream"),
        _URL,
        ("Command::new", "exec", r"Command::new\s*\(\s*\"([^\"\s]{1,100})"),
        *_PATHS,
    ),
    "php": _probes(
        ("getenv", "env", rf"getenv\s*\(\s*['\"]{_NAME}['\"]"),
        ("_ENV", "env", rf"_ENV\s*\[\s*['\"]{_NAME}['\"]"),
        ("curl_init", "net", r"curl_init"),
        ("fsockopen", "net", r"fsockopen"),
        _URL,
        ("shell_exec", "exec", r"shell_exec\s*\(\s*['\"]([^'\"\s]{1,100})"),
        ("system", "exec", r"system\s*\(\s*['\"]([^'\"\s]{1,100})"),
        *_PATHS,
    ),
    "perl": _probes(
        ("ENV", "env", rf"ENV\s*\{{\s*['\"]?{_NAME}"),
        ("LWP::", "net", r"LWP::"),
        ("IO::Socket", "net", r"IO::Socket"),
        _URL,
        *_PATHS,
    ),
    "other": _probes(("getenv", "env", rf"getenv\s*\(\s*['\"]{_NAME}['\"]"), _URL, *_PATHS),
}
# Markdown instructions are judged by the instruction analyzers; here they only add the
# programs they run and the files they touch (declared bins, credential stores).
_MARKDOWN_PROBES = {
    lang: tuple(
        (literal, kept)
        for literal, probes in table
        if (kept := tuple(p for p in probes if p[0] in ("path", "exec")))
    )
    for lang, table in _PROBES.items()
}
# Per literal, at most this many occurrences are looked at one by one; past it the probes
# scan the rest of the text with finditer (a hostile file of a million '~' stays linear).
MAX_OCCURRENCES = 2000
_SHELL_VAR = re.compile(r"\$\{?([A-Z_][A-Z0-9_]{1,80})")
_ENV_DESTRUCTURE = re.compile(r"\{([^{}]{1,400})\}\s*=\s*$")
# A shell command at line start (after sudo and the like), and a shell function's name.
# Program names are lower case by convention; capitalised words at line start are heredoc
# text or prose, and `word)` is a case label, so neither is taken.
_COMMAND = re.compile(
    r"\n[ \t]*(?:(?:sudo|exec|nohup|time|command)[ \t]+(?:-\S+[ \t]+)*)?"
    r"([a-z][a-z0-9_.+-]{0,40})(?=[ \t;|&`\n])"
)
_FUNC_NAME = re.compile(r"(?m)^[ \t]*(?:function[ \t]+)?([A-Za-z_][\w.-]{0,40})[ \t]*$")
_SCHEMES = ("http", "https", "ws", "wss", "ftp", "ftps")
_HOST = re.compile(
    r"(?:[^\s/@'\"`<>(){}]{1,80}@)?(\[[0-9a-fA-F:.]{2,45}\]|[A-Za-z0-9_-]{1,63}"
    r"(?:\.[A-Za-z0-9_-]{1,63}){0,12})"
)
_PIPE_TO_SHELL = re.compile(
    r"(?i)(?:curl|wget|iwr|irm|invoke-webrequest|invoke-restmethod)\b[^\n|]{0,300}\|\s*"
    r"(?:sudo\s+)?(?:ba|z|da|k)?sh\b"
    r"|(?:ba|z|da|k)?sh\s+-c\s+['\"]?\$\(\s*(?:curl|wget)\b"
    r"|\b(?:iex|invoke-expression)\b[^\n]{0,200}(?:iwr|irm|invoke-webrequest|downloadstring)"
    r"|(?:source|\.|(?:ba|z|da|k)?sh)\s+<\(\s*(?:curl|wget)\b"
)
_SHA256 = re.compile(r"(?i)^(?:sha256:)?[0-9a-f]{64}$")
_TOOL_SPEC = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*(?:\((.*)\))?\s*$", re.S)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{1,80}")


# --- units of code -------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """A piece of code: a whole script, or the fenced blocks of one language in a markdown
    file joined (one text per language keeps the number of regex passes small)."""

    file: str
    text: str
    lang: str
    in_markdown: bool
    # (offset in `text`, line of `file`) where each joined block starts; one entry for a script.
    segments: tuple[tuple[int, int], ...] = ((0, 1),)

    def line_of(self, pos: int) -> int:
        offset, line = self.segments[0]
        for seg_offset, seg_line in self.segments:
            if seg_offset > pos:
                break
            offset, line = seg_offset, seg_line
        return line + self.text.count("\n", offset, pos)

    def line_text(self, pos: int) -> str:
        start = self.text.rfind("\n", 0, pos) + 1
        end = self.text.find("\n", pos)
        end = len(self.text) if end < 0 else end
        if end - start > 2 * EVIDENCE_WINDOW:
            start, end = max(start, pos - EVIDENCE_WINDOW // 2), min(end, pos + EVIDENCE_WINDOW)
        return self.text[start:end]

    def is_comment(self, pos: int) -> bool:
        """Is the line holding `pos` a comment (judged by its first characters)?"""
        start = self.text.rfind("\n", 0, pos) + 1
        head = self.text[start : start + 12].lstrip()
        return head.startswith(_COMMENT_PREFIXES.get(self.lang, _COMMENT_PREFIXES["other"]))


@dataclass
class _Seen:
    """What one unit was observed doing: name -> first position in the unit's text."""

    unit: _Unit
    env: dict[str, int] = field(default_factory=dict)
    enum_at: int = -1
    net_at: int = -1
    hosts: dict[str, int] = field(default_factory=dict)
    bins: dict[str, int] = field(default_factory=dict)
    paths: dict[str, int] = field(default_factory=dict)


def _code_lang(suffix: str, text: str) -> str:
    if suffix in _SUFFIX_LANG:
        return _SUFFIX_LANG[suffix]
    first = text[:200].split("\n", 1)[0]
    if first.startswith("#!"):
        for word, lang in (("python", "python"), ("node", "js"), ("deno", "js"), ("ruby", "ruby")):
            if word in first:
                return lang
        if "sh" in first:
            return "shell"
    return "other"


_FENCE_ROWS = (re.compile(r"```+[^\n]*"), re.compile(r"~~~+[^\n]*"))


def _fence_rows(text: str) -> list[tuple[int, int, str]]:
    """Lines that may open or close a fence (``` or ~~~) as (line start, line end, the row
    from the fence on). Like agents rendering markdown, fences indented inside list items or
    block quotes count too."""
    rows: list[tuple[int, int, str]] = []
    rfind = text.rfind
    for pattern in _FENCE_ROWS:
        if pattern is _FENCE_ROWS[1] and "~~~" not in text:
            continue
        previous = -1
        for match in pattern.finditer(text):
            at = match.start()
            start = rfind("\n", 0, at) + 1
            if start == previous:
                continue
            if at != start:
                indent = text[start:at]
                if len(indent) > 40 or indent.strip(" \t>"):
                    continue
            previous = start
            rows.append((start, match.end(), match.group()))
    if rows and rows[-1][2][0] == "~":
        rows.sort()
    return rows


def _split_markdown(text: str) -> tuple[list[tuple[int, str, str]], list[str]]:
    """Fenced code blocks of a markdown text as (first line, info word, code), and the prose
    around them."""
    blocks: list[tuple[int, str, str]] = []
    prose: list[str] = []
    opened: tuple[str, int, str, int] | None = None  # fence char, length, info, content start
    last = 0
    line, counted = 1, 0
    size = len(text)
    for start, end, row in _fence_rows(text):
        char = row[0]
        info = row.lstrip(char)
        length = len(row) - len(info)
        info = info.strip()
        if opened is None:
            if char == "`" and "`" in info:
                continue  # an inline code span at line start, not a fence
            prose.append(text[last:start])
            opened = (char, length, info, min(end + 1, size))
        elif char == opened[0] and length >= opened[1] and not info:
            content = opened[3]
            line += text.count("\n", counted, content)
            counted = content
            blocks.append((line, _info_word(opened[2]), text[content:start]))
            last = end
            opened = None
    if opened is not None:  # an unclosed fence runs to the end of the document
        content = opened[3]
        line += text.count("\n", counted, content)
        blocks.append((line, _info_word(opened[2]), text[content:]))
    else:
        prose.append(text[last:])
    return blocks, prose


def _info_word(info: str) -> str:
    return info.split(None, 1)[0].strip("{}.").lower() if info else ""


@dataclass(frozen=True)
class _Material:
    """The skill read once: code units, and the texts declarations are checked against."""

    units: tuple[_Unit, ...]
    prose: tuple[str, ...]  # name, description, markdown outside code blocks
    doc_texts: tuple[str, ...]  # every markdown and config text, code blocks included
    frontmatter: str  # SKILL.md's frontmatter text

    @cached_property
    def context(self) -> str:
        """What the skill says about itself, in lower case (built only when needed)."""
        return "\n".join(self.prose).lower()

    @cached_property
    def summary(self) -> str:
        """The name and description in lower case; without a description, the opening of
        the instructions stands in for it."""
        name, description, folder = self.prose[:3]
        if len(description.strip()) < 20:
            description = "".join(self.prose[3:4])[:SUMMARY_FALLBACK]
        return "\n".join((name, description, folder)).lower()

    @cached_property
    def docs(self) -> str:
        return "\n".join(self.doc_texts)


def _frontmatter_text(skill: Skill, text: str) -> str:
    cut = 0
    for _ in range(skill.frontmatter.end_line):
        cut = text.find("\n", cut) + 1
        if cut == 0:
            return text
    return text[:cut]


def _material(skill: Skill) -> _Material:
    units: list[_Unit] = []
    fm = skill.frontmatter
    prose: list[str] = [fm.name or "", fm.description or "", skill.name]
    # Links the frontmatter gives for the skill's own service count as documentation; the
    # rest of it (install URLs, metadata) is what gets checked, not what vouches.
    prose.extend(str(fm.data[k]) for k in _HOME_KEYS if isinstance(fm.data.get(k), str))
    docs: list[str] = []
    frontmatter = ""
    for entry in skill.text_files():
        text = entry.text or ""
        role = entry.role
        if role == "code":
            units.append(_Unit(entry.path, text, _code_lang(entry.suffix, text), False))
        elif role == "markdown":
            docs.append(text)
            if entry.path != skill.skill_md:
                prose.append(text)  # other documents only document: read whole as context
                continue
            offset = 0
            if fm.end_line:
                frontmatter = _frontmatter_text(skill, text)
                text, offset = text[len(frontmatter) :], frontmatter.count("\n")
            blocks, outside = _split_markdown(text)
            prose.extend(outside)
            units.extend(_markdown_units(entry.path, blocks, offset))
        elif role == "config":
            docs.append(text)
    return _Material(tuple(units), tuple(prose), tuple(docs), frontmatter)


_HOME_KEYS = ("homepage", "website", "url", "repository", "source", "author")


def _markdown_units(path: str, blocks: list[tuple[int, str, str]], offset: int) -> list[_Unit]:
    """The code blocks of one markdown file, joined per language (`offset`: lines before the
    text the blocks were found in)."""
    by_lang: dict[str, tuple[list[str], list[tuple[int, int]], list[int]]] = {}
    for line, word, code in blocks:
        lang = _FENCE_LANG.get(word)
        if lang is None or not code.strip():
            continue
        texts, segments, size = by_lang.setdefault(lang, ([], [], [0]))
        segments.append((size[0], line + offset))
        texts.append(code)
        size[0] += len(code) + 1
    return [
        _Unit(path, "\n".join(texts), lang, True, tuple(segments))
        for lang, (texts, segments, _) in by_lang.items()
    ]


# --- knobs from the catalog ------------------------------------------------------------


def _words(rule: Rule, key: str) -> frozenset[str]:
    value = rule.options.get(key)
    if not isinstance(value, list):
        return frozenset()
    return frozenset(str(v).lower() for v in value)


def _word_map(rule: Rule, key: str) -> dict[str, tuple[str, ...]]:
    value = rule.options.get(key)
    if not isinstance(value, dict):
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for name, words in value.items():
        if isinstance(words, list):
            out[str(name).upper()] = tuple(str(w).lower() for w in words)
    return out


@dataclass(frozen=True)
class _Store:
    name: str
    paths: tuple[str, ...]
    words: tuple[str, ...]


@dataclass(frozen=True)
class _Knobs:
    """The catalog's lists, ready for lookups."""

    secret_words: frozenset[str]
    secret_suffixes: tuple[str, ...]
    not_secret_last: frozenset[str]
    not_secret_words: frozenset[str]
    standard_env: frozenset[str]
    service_vars: Mapping[str, tuple[str, ...]]
    network_words: re.Pattern[str]  # any word of the list, at a word start
    neutral_hosts: frozenset[str]
    generic_labels: frozenset[str]
    standard_bins: frozenset[str]
    stores: tuple[_Store, ...]
    related_words: tuple[str, ...]
    shell_tools: frozenset[str]
    privileged: frozenset[str]
    general_tools: frozenset[str]
    paste_hosts: frozenset[str]
    shorteners: frozenset[str]
    release_hosts: frozenset[str]
    executable_suffixes: tuple[str, ...]
    agent_config: tuple[str, ...]


def _knobs(signatures: Signatures) -> _Knobs:
    """The lookups, derived once per loaded bundle: building them costs more than scanning
    a skill."""
    return signatures.derived("capabilities.knobs", _build_knobs)


def _build_knobs(signatures: Signatures) -> _Knobs:
    rule = signatures.rule
    stores: list[_Store] = []
    raw_stores = rule("SKS-CAP-009").options.get("stores")
    if isinstance(raw_stores, dict):
        for name, spec in raw_stores.items():
            if isinstance(spec, dict):
                paths = spec.get("paths")
                words = spec.get("words")
                stores.append(
                    _Store(
                        str(name),
                        tuple(str(p).lower() for p in paths) if isinstance(paths, list) else (),
                        tuple(str(w).lower() for w in words) if isinstance(words, list) else (),
                    )
                )
    cap004 = rule("SKS-CAP-004")
    standard_bins = _words(rule("SKS-CAP-008"), "standard_bins")
    cap031 = rule("SKS-CAP-031")
    return _Knobs(
        secret_words=frozenset(w.upper() for w in _words(cap004, "secret_words")),
        secret_suffixes=tuple(w.upper() for w in _words(cap004, "secret_suffixes")),
        not_secret_last=frozenset(w.upper() for w in _words(cap004, "not_secret_last")),
        not_secret_words=frozenset(w.upper() for w in _words(cap004, "not_secret_words")),
        standard_env=frozenset(w.upper() for w in _words(cap004, "standard_env")),
        service_vars=_word_map(rule("SKS-CAP-001"), "service_vars"),
        network_words=re.compile(
            r"\b(?:"
            + "|".join(sorted(map(re.escape, _words(rule("SKS-CAP-006"), "network_words"))))
            + ")"
        ),
        neutral_hosts=_words(rule("SKS-CAP-007"), "neutral_hosts"),
        generic_labels=_words(rule("SKS-CAP-007"), "generic_labels"),
        standard_bins=standard_bins,
        stores=tuple(stores),
        related_words=tuple(_words(rule("SKS-CAP-009"), "related_words")),
        shell_tools=_words(rule("SKS-CAP-020"), "shell_tools"),
        privileged=_words(rule("SKS-CAP-021"), "privileged"),
        general_tools=_words(rule("SKS-CAP-022"), "general_tools"),
        paste_hosts=_words(cap031, "paste_hosts"),
        shorteners=_words(cap031, "shorteners"),
        release_hosts=_words(cap031, "release_hosts"),
        executable_suffixes=tuple(_words(cap031, "executable_suffixes")),
        agent_config=tuple(_words(rule("SKS-CAP-041"), "agent_config")),
    )


# --- observing one unit ----------------------------------------------------------------


def _observe(unit: _Unit, knobs: _Knobs) -> _Seen:
    seen = _Seen(unit)
    text = unit.text
    table = _MARKDOWN_PROBES if unit.in_markdown else _PROBES
    for literal, probes in table.get(unit.lang, table["other"]):
        pos = text.find(literal)
        count = 0
        while pos >= 0:
            count += 1
            if count > MAX_OCCURRENCES:
                for kind, pattern in probes:
                    for found in pattern.finditer(text, pos):
                        _record(seen, kind, found, knobs)
                break
            for kind, pattern in probes:
                hit = pattern.match(text, pos)
                if hit is not None:
                    _record(seen, kind, hit, knobs)
            pos = text.find(literal, pos + 1)
    if unit.lang in ("shell", "untagged") and not unit.in_markdown and "$" in text:
        for match in _SHELL_VAR.finditer(text):
            name = match.group(1)
            if name not in seen.env and name not in knobs.standard_env:
                seen.env[name] = match.start()
        _drop_shell_locals(seen, knobs)
    if unit.lang in ("shell", "batch"):
        _shell_commands(seen, knobs)
    if seen.net_at < 0:
        for name, pos in seen.bins.items():
            if name.lower() in ("curl", "wget", "nc", "ncat", "socat"):
                seen.net_at = pos
                break
    return seen


def _record(seen: _Seen, kind: str, match: re.Match[str], knobs: _Knobs) -> None:
    """Note what one probe match shows."""
    unit, pos = seen.unit, match.start()
    if kind == "env":
        if match.group(1) not in seen.env and not unit.is_comment(pos):
            seen.env[match.group(1)] = pos
    elif kind == "url":
        _url_seen(seen, match.end())
    elif kind == "net":
        if seen.net_at < 0 and not _word_before(unit.text, pos) and not unit.is_comment(pos):
            seen.net_at = pos
    elif kind == "enum":
        if seen.enum_at < 0 and _enumerates(unit, pos):
            seen.enum_at = pos
    elif kind == "exec":
        name = match.group(1).replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".exe")
        if name and name[0] not in "-$%{<" and name.lower() not in knobs.standard_bins:
            seen.bins.setdefault(name, pos)
    elif kind == "path":
        path = _home_relative(match)
        if path and not unit.is_comment(pos):
            seen.paths.setdefault(path, pos)
    elif kind == "connect":
        if not unit.is_comment(pos):
            seen.hosts.setdefault(match.group(1).lower(), pos)
    elif kind == "envlist":
        # `const { A, B: b } = process.env`: read back to the opening brace.
        head = _ENV_DESTRUCTURE.search(unit.text, max(0, pos - 420), pos)
        if head is not None:
            for part in head.group(1).split(","):
                name = re.split(r"[:=\s]", part.strip(), maxsplit=1)[0]
                if name.isidentifier():
                    seen.env.setdefault(name, pos)


def _enumerates(unit: _Unit, pos: int) -> bool:
    """Is the environment at `pos` read whole (iterated, serialised, listed)?"""
    before = unit.text[max(0, pos - 40) : pos]
    if unit.lang == "python":
        return "." in unit.text[pos + 7 : pos + 8] or " in " in before[-12:] or "dumps(" in before
    if unit.lang == "js":
        return before.rstrip().endswith(("process.", "Bun.")) and any(
            w in before for w in ("keys(", "entries(", "values(", "stringify(")
        )
    if unit.lang == "powershell":
        return bool(re.search(r"(?i)(?:get-childitem|gci|ls|dir)\s+env$", before))
    if unit.lang == "shell":
        return not _word_before(unit.text, pos)
    return True


def _shell_commands(seen: _Seen, knobs: _Knobs) -> None:
    """Programs at the start of shell lines (and after sudo), minus the script's functions."""
    text = seen.unit.text
    # Anchored on '\n' (a literal the regex engine scans for fast) rather than (?m)^.
    lines = "\n" + (_without_heredocs(text) if "<<" in text else text) + "\n"
    names = set(_COMMAND.findall(lines)) - knobs.standard_bins - seen.bins.keys()
    if not names:
        return
    pos = text.find("()")
    while pos >= 0 and names:
        head = _FUNC_NAME.search(text, text.rfind("\n", 0, pos) + 1, pos)
        if head is not None:
            names.discard(head.group(1))
        pos = text.find("()", pos + 2)
    for name in sorted(names)[:MAX_PER_RULE]:
        seen.bins[name] = max(0, text.find(name))


_HEREDOC = re.compile(r"<<-?[ \t]*['\"]?([A-Za-z_]\w{0,30})['\"]?")
MAX_HEREDOCS = 200


def _without_heredocs(text: str) -> str:
    """Shell text with here-document bodies cut out (they hold data or another language)."""
    parts: list[str] = []
    last = 0
    for count, match in enumerate(_HEREDOC.finditer(text)):
        if count >= MAX_HEREDOCS or match.start() < last:
            continue
        body = text.find("\n", match.end())
        if body < 0:
            break
        end = re.compile(rf"\n[ \t]*{match.group(1)}[ \t]*(?:\n|$)").search(text, body)
        parts.append(text[last:body])
        last = end.start() if end is not None else len(text)
    parts.append(text[last:])
    return "".join(parts)


def _word_before(text: str, pos: int) -> bool:
    """Is `pos` inside a longer word ('libcurl ', 'prefetch(')? Then it is not the probe."""
    return pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in "_-./$")


def _url_seen(seen: _Seen, after: int) -> None:
    """Record the host of a URL whose '://' ends at `after`, when the code reaches it."""
    text = seen.unit.text
    colon = after - 3
    start = colon
    while start > 0 and colon - start < 6 and text[start - 1].isalpha():
        start -= 1
    if text[start:colon].lower() not in _SCHEMES:
        return
    match = _HOST.match(text, after)
    if match is None:
        return
    host = match.group(1).lower().rstrip(".")
    if host in seen.hosts or not _contacted(seen.unit, start):
        return
    seen.hosts[host] = start


def _drop_shell_locals(seen: _Seen, knobs: _Knobs) -> None:
    """Shell variables the script sets itself (NAME=, read NAME, for NAME in) are not read
    from the environment; a read that only sits in comments is no read either."""
    text = seen.unit.text
    for name in [v for v in seen.env if _secret_looking(v, knobs)]:
        if _assigned(text, name):
            del seen.env[name]
            continue
        pos = seen.env[name]
        while pos >= 0 and seen.unit.is_comment(pos):
            pos = _next_read(text, name, pos)
        if pos < 0:
            del seen.env[name]
        else:
            seen.env[name] = pos


def _assigned(text: str, name: str) -> bool:
    if f"for {name} in" in text:
        return True
    pos = text.find(name)
    while pos >= 0:
        after = text[pos + len(name) : pos + len(name) + 2]
        before = text[pos - 1] if pos else "\n"
        if after.startswith(("=", "+=")) and (before.isspace() or before in ";&|(`"):
            return True
        start = text.rfind("\n", 0, pos) + 1
        if re.search(r"(?:^|[\s;&|])read\s", text[start:pos]) and not after[:1].isalnum():
            return True
        pos = text.find(name, pos + len(name))
    return False


def _next_read(text: str, name: str, after: int) -> int:
    for form in (f"${name}", f"${{{name}"):
        pos = text.find(form, after + 1)
        while pos >= 0:
            tail = text[pos + len(form) : pos + len(form) + 1]
            if not (tail.isalnum() or tail == "_"):
                return pos
            pos = text.find(form, pos + 1)
    return -1


def _home_relative(match: re.Match[str]) -> str:
    """A matched path as lower-case POSIX text relative to the home folder ('/etc/..' kept)."""
    groups = match.groupdict()
    if groups.get("etc"):
        return "/etc/" + groups["etc"].lower()
    rel = groups.get("rel") or ""
    parts = [rel, groups.get("more1") or "", groups.get("more2") or ""]
    path = "/".join(p for p in parts if p)
    if groups.get("dot"):
        path = "." + path
    root = (groups.get("root") or "").upper()
    if root in ("APPDATA", "LOCALAPPDATA"):
        path = ("appdata/local/" if root == "LOCALAPPDATA" else "appdata/roaming/") + path
    return path.replace("\\", "/").strip("/ ").lower()


def _contacted(unit: _Unit, pos: int) -> bool:
    """Is a URL starting at `pos` something the code reaches (not a link in a comment or a
    docstring)? In shell every non-comment URL counts; elsewhere it must open a string."""
    if unit.is_comment(pos):
        return False
    if unit.lang in _SHELLISH:
        return True
    return pos > 0 and unit.text[pos - 1] in "'\"`"


# --- relating names, hosts and words -----------------------------------------------------


def _is_ip(host: str) -> bool:
    bare = host.strip("[]")
    if not bare or not (bare[0].isdigit() or ":" in bare) or not bare[-1].isalnum():
        return False
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return False
    return True


def _registrable(host: str) -> str:
    labels = host.split(".")
    if (
        len(labels) >= 3
        and len(labels[-1]) == 2
        and labels[-2] in ("co", "com", "net", "org", "gov", "edu", "ac")
    ):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


# Reserved documentation domains: their labels ('example') name nothing.
_PLACEHOLDER_TLDS = ("test", "invalid", "example", "localhost")
_PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")
# Suffixes of a provider's technical domains: googleapis -> google, githubusercontent -> github.
_LABEL_SUFFIXES = ("usercontent", "apis", "api", "cdn", "static", "assets")


def _host_words(host: str, knobs: _Knobs) -> list[str]:
    """The words of a host that could name its service: the registrable label and the first
    label ('api.open-meteo.com' -> open-meteo, openmeteo, open meteo; 'myapp.vercel.app' ->
    myapp, vercel). Subdomain labels in between are the attacker's to choose and say nothing."""
    if _is_ip(host):
        return []
    registrable = _registrable(host)
    if registrable in _PLACEHOLDER_DOMAINS or host.rsplit(".", 1)[-1] in _PLACEHOLDER_TLDS:
        return []
    labels = host.split(".")
    candidates = {registrable.split(".", 1)[0]}
    if len(labels) > 2:
        candidates.add(labels[0])
    words: list[str] = []
    for label in candidates:
        if len(label) < 3 or label in knobs.generic_labels:
            continue
        words.extend((label, label.replace("-", ""), label.replace("-", " ")))
        for suffix in _LABEL_SUFFIXES:
            stem = label.removesuffix(suffix)
            if stem != label and len(stem) >= 3:
                words.append(stem)
    return words


def _neutral(host: str, knobs: _Knobs) -> bool:
    if host in knobs.neutral_hosts or "." not in host.strip("[]"):
        return True
    if host.endswith((".local", ".localhost", ".internal", ".lan", ".home.arpa")):
        return True
    if _is_ip(host):
        address = ipaddress.ip_address(host.strip("[]"))
        # A private address is a device on the user's own network (a lamp, a NAS), not an
        # exfiltration endpoint reachable from outside.
        return address.is_private or address.is_unspecified or address.is_link_local
    return False


def _related(host: str, text: str, knobs: _Knobs) -> bool:
    """Does `text` (lower case) name this host or the service behind it?"""
    if host in text or _registrable(host) in text:
        return True
    return any(word in text for word in _host_words(host, knobs))


_GENERIC_VAR_WORDS = frozenset(
    {
        "API",
        "KEY",
        "KEYS",
        "APIKEY",
        "TOKEN",
        "SECRET",
        "ACCESS",
        "AUTH",
        "BOT",
        "CLIENT",
        "APP",
        "USER",
        "PERSONAL",
        "PRIVATE",
        "PASSWORD",
        "PASS",
        "ID",
        "SERVICE",
        "DEFAULT",
        "BEARER",
        "OAUTH",
        "REFRESH",
        "SESSION",
        "MY",
        "THE",
    }
)


def _var_words(var: str) -> tuple[str, ...]:
    """Words of a variable name that could name its service (NOTION_API_KEY -> notion)."""
    return tuple(
        w.lower() for w in var.upper().split("_") if len(w) >= 3 and w not in _GENERIC_VAR_WORDS
    )


def _secret_looking(var: str, knobs: _Knobs) -> bool:
    upper = var.upper()
    if upper in knobs.standard_env:
        return False
    if upper in knobs.service_vars:
        return True
    words = [w for w in upper.split("_") if w]
    if not words or words[-1] in knobs.not_secret_last:
        return False
    if any(w in knobs.not_secret_words for w in words):
        return False  # PUBLIC_KEY, WALLET_ADDRESS
    return any(w in knobs.secret_words or w.endswith(knobs.secret_suffixes) for w in words)


# --- the analyzer ----------------------------------------------------------------------


@dataclass
class _Report:
    """Findings collected for one skill, with a cap per rule."""

    signatures: Signatures
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, rule_id: str, file: str, line: int, evidence: str, detail: str = "") -> None:
        count = self.counts.get(rule_id, 0)
        if count >= MAX_PER_RULE:
            return
        self.counts[rule_id] = count + 1
        rule = self.signatures.rule(rule_id)
        self.findings.append(rule.finding(file, line, evidence, detail=detail))

    def at(self, seen: _Seen, pos: int, rule_id: str, detail: str = "") -> None:
        unit = seen.unit
        self.add(rule_id, unit.file, unit.line_of(pos), unit.line_text(pos), detail)


def analyze(skill: Skill, signatures: Signatures) -> list[Finding]:
    """Compare what the skill's code does with what its SKILL.md declares; flag risky grants."""
    knobs = _knobs(signatures)
    material = _material(skill)
    report = _Report(signatures)
    observed = [_observe(unit, knobs) for unit in material.units]
    if any(seen.env or seen.enum_at >= 0 for seen in observed):
        _secrets(observed, material, _declared_env(skill, material), knobs, report)
    if any(seen.hosts or seen.net_at >= 0 for seen in observed):
        _network(observed, material, knobs, report)
    if any(seen.bins for seen in observed):
        _binaries(observed, skill, material, knobs, report)
    if any(seen.paths for seen in observed):
        _files(observed, material, knobs, report)
    if skill.frontmatter.data.get("allowed-tools") is not None:
        _allowed_tools(skill, material, knobs, report)
    _lifecycle_scripts(skill, material, knobs, report)
    if skill.frontmatter.openclaw is not None:
        _install(skill, material, knobs, report)
        _config(skill, material, knobs, report)
        _always(skill, material, observed, report)
    return report.findings


def _declared_env(skill: Skill, material: _Material) -> frozenset[str]:
    """Variables the frontmatter names: requires.env, primaryEnv, or anywhere in its text."""
    names = set(_WORD.findall(material.frontmatter))
    meta = skill.frontmatter.openclaw
    if meta is not None:
        names.update(meta.env)
        if meta.primary_env:
            names.add(meta.primary_env)
    return frozenset(names)


def _mentions(text: str, word: str) -> bool:
    """Does lower-case `text` mention `word`? Short words must stand alone ('gh' is not in
    'high')."""
    if len(word) > 3:
        return word in text
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None


def _uses_service(low: str, var: str, words: tuple[str, ...]) -> bool:
    """Does a script name the variable's service other than through the variable itself
    (its SDK, its host)? Then the secret most likely goes where it belongs."""
    rest = low.replace(var.lower(), " ")
    return any(_mentions(rest, word) for word in words)


def _secrets(
    observed: list[_Seen],
    material: _Material,
    declared: frozenset[str],
    knobs: _Knobs,
    report: _Report,
) -> None:
    scripts = [seen for seen in observed if not seen.unit.in_markdown]
    reported: set[str] = set()
    online = [seen for seen in scripts if seen.net_at >= 0]
    reading = any(
        seen.enum_at >= 0 or any(v not in declared and _secret_looking(v, knobs) for v in seen.env)
        for seen in scripts
    )
    if online and reading:
        # Hosts the scripts reach, per script and for the skill as a whole: a secret read in
        # one file may leave through another (collector.py -> reporter.py).
        hosts_of = {id(seen): [h for h in seen.hosts if not _neutral(h, knobs)] for seen in scripts}
        everywhere = list(dict.fromkeys(h for seen in online for h in hosts_of[id(seen)]))
        if everywhere and not any(_related(h, material.context, knobs) for h in everywhere):
            for seen in scripts:
                _unrelated_secrets(
                    seen,
                    hosts_of[id(seen)],
                    everywhere,
                    material,
                    declared,
                    knobs,
                    report,
                    reported,
                )
    # Undeclared secrets in scripts (not in the markdown: SKILL.md is itself documentation).
    for seen in scripts:
        for var, pos in seen.env.items():
            if var in reported or var in declared or not _secret_looking(var, knobs):
                continue
            reported.add(var)
            rule_id = "SKS-CAP-005" if var in material.docs else "SKS-CAP-004"
            report.at(seen, pos, rule_id, f"Variable: {var}.")


def _unrelated_secrets(
    seen: _Seen,
    own_hosts: list[str],
    all_hosts: list[str],
    material: _Material,
    declared: frozenset[str],
    knobs: _Knobs,
    report: _Report,
    reported: set[str],
) -> None:
    """Secrets one script reads while the skill's scripts reach only unrelated hosts."""
    same_file = seen.net_at >= 0 and bool(own_hosts)
    hosts = own_hosts if same_file else all_hosts
    shown = ", ".join(hosts[:3]) + ("" if same_file else " (from other scripts)")
    context = material.context
    low = ""
    for var, pos in seen.env.items():
        if var in declared or not _secret_looking(var, knobs):
            continue
        words = _var_words(var)
        if any(w in host for host in hosts for w in words):
            continue  # NOTION_TOKEN sent to api.notion.com
        if any(_mentions(context, w) for w in words):
            continue  # the skill's own service: ACME_API_KEY in a skill about Acme
        service = knobs.service_vars.get(var.upper(), ())
        if service:
            low = low or seen.unit.text.lower()
            if any(w in host for host in hosts for w in service) or _uses_service(
                low, var, service
            ):
                continue  # the service's own host or SDK: the key goes where it belongs
        about = not service or any(_mentions(context, w) for w in service)
        rule_id = "SKS-CAP-001" if same_file and not about else "SKS-CAP-002"
        report.at(seen, pos, rule_id, f"Variable: {var}; hosts: {shown}.")
        reported.add(var)
    if seen.enum_at >= 0:
        report.at(seen, seen.enum_at, "SKS-CAP-003", f"Hosts: {shown}.")


# Tokens of a script that sends data out (rather than only fetching).
_SENDS = (
    "post",
    "upload",
    "put(",
    "--data",
    " -d ",
    " -f ",
    "sendall",
    "files=",
    "multipart",
    "data=",
    "json=",
    "body:",
)


def _network(observed: list[_Seen], material: _Material, knobs: _Knobs, report: _Report) -> None:
    reported: set[str] = set()
    local_tool: bool | None = None
    for seen in observed:
        unrelated = []
        for host, pos in seen.hosts.items():
            if _neutral(host, knobs) or _related(host, material.context, knobs):
                continue
            unrelated.append(host)
            if host not in reported and not seen.unit.in_markdown and not _placeholder(host):
                reported.add(host)
                report.at(seen, pos, "SKS-CAP-007", f"Host: {host}.")
        if seen.unit.in_markdown or seen.net_at < 0 or not unrelated:
            continue
        if len(unrelated) < len([h for h in seen.hosts if not _neutral(h, knobs)]):
            continue  # the script also talks to the skill's own service
        if local_tool is None:
            local_tool = not knobs.network_words.search(material.summary)
        if local_tool and any(t in seen.unit.text.lower() for t in _SENDS):
            shown = ", ".join(unrelated[:3])
            report.at(seen, seen.net_at, "SKS-CAP-006", f"Hosts: {shown}.")


def _placeholder(host: str) -> bool:
    """Reserved documentation hosts (example.com, *.test): never reached, not worth a note."""
    return (
        _registrable(host) in _PLACEHOLDER_DOMAINS or host.rsplit(".", 1)[-1] in _PLACEHOLDER_TLDS
    )


def _binaries(
    observed: list[_Seen], skill: Skill, material: _Material, knobs: _Knobs, report: _Report
) -> None:
    """One finding listing the undeclared programs, each with where it is first run."""
    declared = set(_WORD.findall(material.frontmatter.lower()))
    meta = skill.frontmatter.openclaw
    if meta is not None:
        declared.update(n.lower() for n in (*meta.bins, *meta.any_bins))
    local = {f.path.rsplit("/", 1)[-1].lower() for f in skill.files}
    listed: dict[str, str] = {}
    first: tuple[_Seen, int] | None = None
    for seen in observed:
        for name, pos in seen.bins.items():
            key = name.lower()
            stem = key.rsplit(".", 1)[0]
            if key in listed or key in declared or key in local or stem in declared:
                continue
            if stem in knobs.standard_bins or len(listed) >= MAX_PER_RULE:
                continue
            listed[key] = f"{name} ({seen.unit.file}:{seen.unit.line_of(pos)})"
            first = first or (seen, pos)
    if first is not None:
        unit = first[0].unit
        report.add(
            "SKS-CAP-008",
            unit.file,
            unit.line_of(first[1]),
            ", ".join(listed.values()),
            f"Programs: {', '.join(listed)}.",
        )


def _store_of(path: str, knobs: _Knobs) -> _Store | None:
    probe = path + "/"
    for store in knobs.stores:
        if any(probe.startswith(p) or path.startswith(p) for p in store.paths):
            return store
    return None


def _files(observed: list[_Seen], material: _Material, knobs: _Knobs, report: _Report) -> None:
    reported: set[str] = set()
    for seen in observed:
        for path, pos in seen.paths.items():
            if path in reported:
                continue
            reported.add(path)
            store = _store_of(path, knobs)
            if store is not None:
                context = material.context
                if any(_mentions(context, w) for w in store.words):
                    continue  # an SSH tool reading ~/.ssh/config
                # A security, backup or secrets tool by its own description.
                general = any(w in material.summary for w in knobs.related_words)
                reads = _reads(seen.unit, pos)
                rule_id = "SKS-CAP-009" if reads and not general else "SKS-CAP-011"
                report.at(seen, pos, rule_id, f"Store: {store.name} ({path}).")
            elif (
                not seen.unit.in_markdown
                and path.startswith((".", "/etc/"))
                and path.split("/", 1)[0] not in material.docs
            ):
                report.at(seen, pos, "SKS-CAP-010", f"Path: {path}.")


# Signs that a path sits in a pattern or a quoted example rather than being opened.
_PATTERN_SIGNS = ("\\s", "\\w", ".{", ".*", "(?", "[^", "\\.")


def _reads(unit: _Unit, pos: int) -> bool:
    """Does the code at `pos` use the path (open it, pass it on, run a command on it) rather
    than quote it inside a regex or a sentence (a detector's pattern list, a test prompt)?"""
    text = unit.text
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : end if end >= 0 else len(text)]
    if any(sign in line for sign in _PATTERN_SIGNS):
        return False
    if unit.lang in _SHELLISH:
        return True
    # Inside a string literal: prose before the path in the same literal means a sentence.
    before = text[start:pos]
    quote = max(before.rfind('"'), before.rfind("'"), before.rfind("`"))
    return quote < 0 or before[quote + 1 :].count(" ") < 3


# --- frontmatter grants ----------------------------------------------------------------


def _fm_line(material: _Material, needle: str) -> int:
    """The SKILL.md line where `needle` first appears in the frontmatter (1 if not found)."""
    index = material.frontmatter.find(needle) if needle else -1
    return material.frontmatter.count("\n", 0, index) + 1 if index >= 0 else 1


def _tool_specs(value: object) -> list[str]:
    """allowed-tools as written: a list, or a string split at top-level commas/spaces."""
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float)]
    if not isinstance(value, str):
        return []
    specs: list[str] = []
    depth = 0
    current: list[str] = []
    separators = "," if "," in value else ", \t\n"
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch in separators and depth == 0:
            specs.append("".join(current))
            current = []
        else:
            current.append(ch)
    specs.append("".join(current))
    return [s.strip() for s in specs if s.strip()]


def _allowed_tools(skill: Skill, material: _Material, knobs: _Knobs, report: _Report) -> None:
    file = skill.skill_md or "SKILL.md"
    for spec in _tool_specs(skill.frontmatter.data.get("allowed-tools")):
        match = _TOOL_SPEC.match(spec)
        line = _fm_line(material, spec)
        if spec.strip() in ("*", "all", "All"):
            report.add("SKS-CAP-020", file, line, spec)
            continue
        if match is None:
            continue
        tool, inner = match.group(1).lower(), match.group(2)
        if tool not in knobs.shell_tools:
            continue
        command = (inner or "").strip()
        first = re.split(r"[\s:]", command, maxsplit=1)[0] if command else ""
        if not command or first in ("*", "**", ""):
            report.add("SKS-CAP-020", file, line, spec)
        elif first.lower() in knobs.privileged:
            report.add("SKS-CAP-021", file, line, spec)
        elif first.lower() in knobs.general_tools:
            rest = command[len(first) :].strip(" :")
            if rest in ("", "*", "**") or rest.startswith("*"):
                report.add("SKS-CAP-022", file, line, spec)


def _url_host(url: str) -> tuple[str, str, str]:
    """(scheme, host, path) of a URL, lower case ('' when it is not a URL)."""
    match = re.match(
        r"(?i)\s*([a-z][a-z0-9+.-]{0,20})://(?:[^/@\s]{0,200}@)?(\[[^\]]{1,60}\]|[^/:?#\s]{1,253})(?::\d{1,5})?([^\s]{0,2000})",
        url,
    )
    if match is None:
        return "", "", ""
    return match.group(1).lower(), match.group(2).lower().rstrip("."), match.group(3)


def _bad_source(
    url: str, material: _Material, knobs: _Knobs, *, executable_check: bool, pinned: bool = False
) -> str:
    """Why a download URL is unacceptable ('' when it is not)."""
    scheme, host, path = _url_host(url)
    if not host:
        return ""
    registrable = _registrable(host)
    if _is_ip(host):
        return "raw IP address"
    if host in knobs.paste_hosts or registrable in knobs.paste_hosts:
        return "paste or file-drop host"
    if host in knobs.shorteners or registrable in knobs.shorteners:
        return "link shortener"
    if scheme == "http" and not pinned:
        return "plain http://"
    if executable_check:
        name = path.split("?", 1)[0].split("#", 1)[0].lower()
        if name.endswith(knobs.executable_suffixes) and not (
            host in knobs.release_hosts
            or registrable in knobs.release_hosts
            or _related(host, material.context, knobs)
        ):
            return "executable or archive from an unrelated host"
    return ""


def _install(skill: Skill, material: _Material, knobs: _Knobs, report: _Report) -> None:
    meta = skill.frontmatter.openclaw
    if meta is None:
        return
    file = skill.skill_md or "SKILL.md"
    for spec in meta.install:
        _install_entry(spec, file, skill, material, knobs, report)


_URL_IN_TEXT = re.compile(r"(?i)\b(?:https?|ftp)://[^\s'\"`<>)]{1,500}")


def _install_entry(
    spec: InstallSpec,
    file: str,
    skill: Skill,
    material: _Material,
    knobs: _Knobs,
    report: _Report,
) -> None:
    kind = spec.kind.lower()
    raw = spec.raw
    url = spec.url or ""
    if url:
        line = _fm_line(material, url)
        pinned = bool(spec.sha256 and _SHA256.match(spec.sha256.strip()))
        # A sha256 pins the bytes a reviewer can fetch and check, so plain http and an
        # unfamiliar host stop mattering; a raw IP or a paste site stays unacceptable.
        why = _bad_source(url, material, knobs, executable_check=not pinned, pinned=pinned)
        if why:
            report.add("SKS-CAP-031", file, line, url, f"Reason: {why}.")
        elif not pinned:
            report.add("SKS-CAP-030", file, line, url)
    packages: list[str] = []
    for key in ("package", "formula", "module", "packages", "name"):
        value = raw.get(key)
        if isinstance(value, str):
            packages.extend(value.split())
        elif isinstance(value, list):
            packages.extend(str(v) for v in value if isinstance(v, str))
    for package in packages:
        lowered = package.lower()
        line = _fm_line(material, package)
        if lowered.startswith(
            ("http://", "https://", "git+", "git://", "github:", "file:", "ssh://")
        ) or lowered.endswith((".tgz", ".tar.gz", ".whl", ".zip")):
            why = _bad_source(package.removeprefix("git+"), material, knobs, executable_check=False)
            if why:
                report.add("SKS-CAP-031", file, line, package, f"Reason: {why}.")
            else:
                report.add("SKS-CAP-032", file, line, package)
        elif kind == "brew" and lowered.count("/") == 2:
            report.add("SKS-CAP-033", file, line, package, "Third-party Homebrew tap.")
        elif lowered.endswith("@latest") and kind in ("go", "node", "npm"):
            report.add("SKS-CAP-033", file, line, package, "Unpinned version.")
    for key in ("command", "script", "run", "cmd", "instructions"):
        command = raw.get(key)
        if not isinstance(command, str):
            continue
        line = _fm_line(material, command.split("\n", 1)[0][:60])
        bad = ""
        for match in _URL_IN_TEXT.finditer(command):
            bad = _bad_source(match.group(0), material, knobs, executable_check=False)
            if bad:
                break
        if bad:
            report.add("SKS-CAP-031", file, line, command, f"Reason: {bad}.")
        elif _PIPE_TO_SHELL.search(command):
            report.add("SKS-CAP-034", file, line, command)


# npm runs these by itself on `npm install`; `prepare` also on install from git.
_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "prepublish")
_FETCHES = re.compile(r"(?i)://|\b(?:curl|wget|iwr|irm|invoke-webrequest|invoke-restmethod)\b")
MAX_MANIFEST_BYTES = 1 << 20


def _lifecycle_scripts(skill: Skill, material: _Material, knobs: _Knobs, report: _Report) -> None:
    """package.json scripts that run on install and fetch something."""
    for entry in skill.files:
        if entry.path.rsplit("/", 1)[-1] != "package.json" or entry.text is None:
            continue
        text = entry.text
        if len(text) > MAX_MANIFEST_BYTES or not any(k in text for k in _LIFECYCLE):
            continue
        try:
            manifest = json.loads(text)
        except (ValueError, RecursionError):
            continue
        scripts = manifest.get("scripts") if isinstance(manifest, dict) else None
        if not isinstance(scripts, dict):
            continue
        for hook in _LIFECYCLE:
            command = scripts.get(hook)
            if not isinstance(command, str) or not _FETCHES.search(command):
                continue
            index = text.find(f'"{hook}"')
            line = text.count("\n", 0, index) + 1 if index >= 0 else 1
            bad = next(
                (
                    why
                    for url in _URL_IN_TEXT.findall(command)
                    if (why := _bad_source(url, material, knobs, executable_check=False))
                ),
                "",
            )
            if bad:
                report.add("SKS-CAP-031", entry.path, line, command, f"Reason: {bad}.")
            else:
                report.add("SKS-CAP-035", entry.path, line, f"{hook}: {command}")


def _agent_config(path: str, knobs: _Knobs) -> bool:
    probe = path + "/"
    return any(probe.startswith(p) or path.startswith(p) for p in knobs.agent_config)


def _config(skill: Skill, material: _Material, knobs: _Knobs, report: _Report) -> None:
    meta = skill.frontmatter.openclaw
    if meta is None:
        return
    file = skill.skill_md or "SKILL.md"
    for value in meta.config:
        text = value.strip().replace("\\", "/")
        if not text.startswith(("~", "/", "$", "%", ".")) and "/" not in text:
            continue  # a dotted key of the agent's own config, not a file
        path = re.sub(
            r"^(?:~|\$HOME|\$\{HOME\}|%USERPROFILE%|/Users/[^/]+|/home/[^/]+)/", "", text
        ).lower()
        line = _fm_line(material, value)
        if _agent_config(path, knobs):
            report.add("SKS-CAP-041", file, line, value)
        elif _store_of(path, knobs) is not None or path.startswith("/etc/"):
            report.add("SKS-CAP-040", file, line, value)


# Low findings that still make an always-on skill worth a review.
_RISKY = frozenset({"SKS-CAP-004", "SKS-CAP-007", "SKS-CAP-011", "SKS-CAP-020", "SKS-CAP-022"})


def _always(skill: Skill, material: _Material, observed: list[_Seen], report: _Report) -> None:
    meta = skill.frontmatter.openclaw
    if meta is None or not meta.always:
        return
    risky = any(
        f.severity.rank >= Severity.MEDIUM.rank or f.rule_id in _RISKY for f in report.findings
    )
    risky = risky or any(s.net_at >= 0 and not s.unit.in_markdown for s in observed)
    rule_id = "SKS-CAP-024" if risky else "SKS-CAP-023"
    file = skill.skill_md or "SKILL.md"
    report.add(rule_id, file, _fm_line(material, "always"), "always: true")
