"""Semgrep rules on skill scripts: one offline semgrep process per batch of skills.

Semgrep is run as a separate program, never imported, and never on the skill folders
themselves: the scripts of a batch are staged under one private temporary folder with
flat, neutral names (so no `.git`, ignore file, `tests/` or `*.min.js` rule can hide one),
and every result is mapped back to its skill and file. Anything semgrep reports as an
error, and any staged file it did not scan, makes that skill's scan incomplete.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from skillscan.errors import InternalError
from skillscan.model import Finding, incomplete
from skillscan.signatures import Signatures
from skillscan.skill import Skill, SkillFile

NAME = "semgrep"
_CANCEL_POLL_SECONDS = 0.2

# Extension semgrep needs to pick the language, by the file's own extension ...
_BY_SUFFIX = {
    ".py": ".py",
    ".pyw": ".py",
    ".sh": ".sh",
    ".bash": ".sh",
    ".zsh": ".sh",
    ".ksh": ".sh",
    ".command": ".sh",
    ".js": ".js",
    ".mjs": ".js",
    ".cjs": ".js",
    ".jsx": ".jsx",
    ".ts": ".ts",
    ".mts": ".ts",
    ".cts": ".ts",
    ".tsx": ".tsx",
    ".ps1": ".ps1",
    ".psm1": ".ps1",
    ".psd1": ".ps1",
}
SCRIPT_SUFFIXES = frozenset(_BY_SUFFIX)
# ... or by the interpreter its shebang names.
_BY_INTERPRETER = {
    "python": ".py",
    "python3": ".py",
    "python2": ".py",
    "sh": ".sh",
    "bash": ".sh",
    "zsh": ".sh",
    "dash": ".sh",
    "ksh": ".sh",
    "node": ".js",
    "deno": ".ts",
    "bun": ".ts",
    "pwsh": ".ps1",
    "powershell": ".ps1",
}


@dataclass(frozen=True)
class Target:
    """A file of a skill that semgrep scans, with the extension that selects its language."""

    path: str
    staged_suffix: str
    text: str


MAX_TARGET_BYTES = 512 * 1024


@dataclass(frozen=True)
class SemgrepSettings:
    """How semgrep is run; the defaults are the documented bounds."""

    per_file_timeout: int = 10  # seconds per rule per file (semgrep --timeout)
    batch_timeout_base: float = 120.0  # seconds for a batch, plus per_target_seconds each
    per_target_seconds: float = 0.5
    max_memory_mb: int = 4096
    jobs: int = 1
    max_batch_files: int = 5000
    # Bigger scripts (bundles, minified builds) take semgrep's parsers minutes; they are read
    # by the pattern analyzers only, and reported as partially analysed.
    max_target_bytes: int = MAX_TARGET_BYTES
    binary: str | None = None


def _shebang_suffix(text: str) -> str | None:
    if not text.startswith("#!"):
        return None
    words = text[2 : text.find("\n") if "\n" in text else 200].replace("/", " ").split()
    if words and words[-1:] != ["env"] and "env" in words:
        words = words[words.index("env") + 1 :]
    for word in words:
        suffix = _BY_INTERPRETER.get(word) or _BY_INTERPRETER.get(word.rstrip("0123456789."))
        if suffix:
            return suffix
    return None


def language_suffix(entry: SkillFile) -> str | None:
    """The staged extension of a script, or None when semgrep has nothing to say about it."""
    text = entry.text
    if text is None:
        return None
    return _BY_SUFFIX.get(entry.suffix) or _shebang_suffix(text)


# The semgrep language names a staged extension is parsed as.
_LANGUAGES = {
    ".py": {"python", "py"},
    ".sh": {"bash", "sh"},
    ".js": {"javascript", "js"},
    ".jsx": {"javascript", "js"},
    ".ts": {"typescript", "ts"},
    ".tsx": {"typescript", "ts"},
    ".ps1": {"generic", "regex"},
}


# Staged extensions whose language lets an identifier be spelt with escapes (`\u0065val`).
_ESCAPED_IDENTIFIERS = frozenset({".js", ".jsx", ".ts", ".tsx"})


@dataclass(frozen=True)
class Prefilter:
    """What a semgrep rule needs in a file before it can match there (`skillscan-requires`)."""

    rule_id: str
    languages: frozenset[str]
    # Every group needs one of its tokens in the file's token view; () means no prefilter.
    groups: tuple[tuple[str, ...], ...]

    def may_match(self, view: str) -> bool:
        """Could the rule match a file whose token view (see `token_view`) is `view`?"""
        return all(any(token in view for token in group) for group in self.groups)


def prefilters(signatures: Signatures) -> tuple[Prefilter, ...]:
    """The prefilter of every semgrep rule of the bundle (not of the runner's own rules,
    such as SKS-SCAN-PARTIAL, which have no language)."""
    out = []
    for rule in signatures.for_analyzer("semgrep"):
        languages = rule.options.get("languages")
        if not isinstance(languages, list) or not languages:
            continue
        requires = rule.options.get("requires")
        groups = (
            tuple(tuple(str(t) for t in g) for g in requires if isinstance(g, list))
            if isinstance(requires, list)
            else ()
        )
        out.append(Prefilter(rule.id, frozenset(str(x) for x in languages), groups))
    return tuple(out)


def token_view(text: str) -> str:
    """The text the prefilter searches: lower-cased, without quotes and backslashes (a shell
    reads `cu"r"l` and `c\\url` as `curl`), and, for non-ASCII text, followed by its NFKC form
    (Python reads fullwidth `exec` as `exec`; case-insensitive regexes fold the long s into
    `s`). The raw text is kept beside the NFKC form, since composing a combining mark into
    a token's last letter would hide a token a regex still sees. A token's occurrence in the
    text is never lost, only new ones gained."""
    views = [text] if text.isascii() else [text, unicodedata.normalize("NFKC", text)]
    return "\n".join(v.lower().replace('"', "").replace("'", "").replace("\\", "") for v in views)


def may_match(text: str, suffix: str, filters: Sequence[Prefilter]) -> bool:
    """Could any semgrep rule for this staged language match `text`? Errs towards yes."""
    relevant = [f for f in filters if f.languages & _LANGUAGES[suffix]]
    if any(not f.groups for f in relevant):
        return True
    if suffix in _ESCAPED_IDENTIFIERS and "\\u" in text:
        return True
    view = token_view(text)
    return any(f.may_match(view) for f in relevant)


def targets(
    skill: Skill, signatures: Signatures, max_target_bytes: int = MAX_TARGET_BYTES
) -> list[Target]:
    """The files of a skill that some semgrep rule reads (pure: reads only the loaded skill).

    A script in a language no rule is written for is left to the pattern analyzers:
    semgrep would skip it, which the runner would rightly report as a gap. A script holding
    none of the tokens any rule of its language requires (`skillscan-requires`) cannot match
    and is not staged; one over `max_target_bytes` always is, to be reported as partial."""
    languages = signatures.semgrep_languages
    filters = signatures.derived("semgrep.prefilters", prefilters)
    out = []
    for entry in skill.text_files():
        suffix = language_suffix(entry)
        text = entry.text
        if not suffix or text is None or not _LANGUAGES[suffix] & languages:
            continue
        if len(text) > max_target_bytes or may_match(text, suffix, filters):
            out.append(Target(entry.path, suffix, text))
    return out


def find_semgrep(explicit: str | None = None) -> str:
    """The semgrep CLI: given, or $SKILLSCAN_SEMGREP, or beside this Python, or on PATH."""
    explicit = explicit or os.environ.get("SKILLSCAN_SEMGREP") or None
    candidates = (
        [explicit] if explicit else [str(Path(sys.executable).with_name("semgrep")), "semgrep"]
    )
    for candidate in candidates:
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    raise InternalError(
        "semgrep is not installed, so scripts cannot be scanned",
        hint="install skillscan with its dependencies (pip install skillscan-registry)",
    )


def _environment(private: Path) -> dict[str, str]:
    """A minimal environment: offline, no version check, no writes to the user's home."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(private),
        "XDG_CONFIG_HOME": str(private / "config"),
        "XDG_CACHE_HOME": str(private / "cache"),
        "SEMGREP_ENABLE_VERSION_CHECK": "0",
        "SEMGREP_SEND_METRICS": "off",
        "SEMGREP_USER_AGENT_APPEND": "skillscan",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    return env


class Cancelled(Exception):
    """The scan that wanted these results gave up on them (see `analyze_batch`'s `cancel`)."""


def _run(
    argv: list[str],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    cancel: threading.Event | None = None,
) -> tuple[int, str, str]:
    """Run semgrep in its own process group; on timeout, on `cancel` or on any exception,
    kill the whole group (semgrep-core too)."""
    deadline = time.monotonic() + timeout
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as proc:
        try:
            while True:
                # Short waits when a cancel may come (communicate keeps what it has read).
                left = deadline - time.monotonic()
                wait = left if cancel is None else min(left, _CANCEL_POLL_SECONDS)
                try:
                    out, err = proc.communicate(timeout=max(wait, 0.0))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline:
                        raise
                    if cancel is not None and cancel.is_set():
                        raise Cancelled from None
        finally:
            _kill_group(proc)  # on timeout, cancel or error; also children semgrep left behind
        return proc.returncode, out, err


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        proc.kill()
        proc.wait()


def _chunks(skill_targets: Sequence[list[Target]], max_files: int) -> list[list[int]]:
    """Split skill indexes into batches of at most `max_files` staged files (whole skills)."""
    batches: list[list[int]] = [[]]
    count = 0
    for index, items in enumerate(skill_targets):
        if not items:
            continue
        if batches[-1] and count + len(items) > max_files:
            batches.append([])
            count = 0
        batches[-1].append(index)
        count += len(items)
    return [b for b in batches if b]


def analyze_batch(
    skill_targets: Sequence[list[Target]],
    signatures: Signatures,
    settings: SemgrepSettings,
    cancel: threading.Event | None = None,
) -> list[list[Finding]]:
    """Semgrep findings for each skill's targets, in order, in as few runs as bounds allow.

    When `cancel` is set (from another thread), semgrep is killed and Cancelled raised."""
    results: list[list[Finding]] = [[] for _ in skill_targets]
    if not any(skill_targets):
        return results
    binary = find_semgrep(settings.binary)
    for batch in _chunks(skill_targets, settings.max_batch_files):
        for index, findings in _run_batch(
            binary, batch, skill_targets, signatures, settings, cancel
        ).items():
            results[index].extend(findings)
    return results


def _run_batch(
    binary: str,
    batch: list[int],
    skill_targets: Sequence[list[Target]],
    signatures: Signatures,
    settings: SemgrepSettings,
    cancel: threading.Event | None,
) -> dict[int, list[Finding]]:
    out: dict[int, list[Finding]] = {i: [] for i in batch}
    with tempfile.TemporaryDirectory(prefix="skillscan-semgrep-") as tmp:
        private = Path(tmp)
        stage = private / "stage"
        stage.mkdir()
        # Identical scripts (vendored helpers, nested copies of a skill) are staged once;
        # staged name (relative to stage) -> every (skill index, target) holding that text.
        staged: dict[str, list[tuple[int, Target]]] = {}
        by_content: dict[tuple[str, str], str] = {}
        for index in batch:
            for target in skill_targets[index]:
                if len(target.text) > settings.max_target_bytes:
                    detail = (
                        f"{len(target.text)} characters, over semgrep's {settings.max_target_bytes}"
                    )
                    out[index].append(partial(signatures, target, detail))
                    continue
                key = (target.staged_suffix, target.text)
                name = by_content.get(key)
                if name is None:
                    name = f"f{len(by_content)}{target.staged_suffix}"
                    by_content[key] = name
                    (stage / name).write_text(
                        target.text, encoding="utf-8", errors="surrogateescape"
                    )
                    staged[name] = []
                staged[name].append((index, target))
        if not staged:
            return out
        max_bytes = max(len(text.encode("utf-8", "surrogateescape")) for _, text in by_content) + 1
        argv = [
            binary,
            "scan",
            "--config",
            str(signatures.semgrep_dir),
            "--json",
            "--quiet",
            "--metrics=off",
            "--disable-version-check",
            "--disable-nosem",
            "--no-git-ignore",
            "--x-ignore-semgrepignore-files",
            f"--max-target-bytes={max_bytes}",
            f"--timeout={settings.per_file_timeout}",
            "--timeout-threshold=0",
            f"--max-memory={settings.max_memory_mb}",
            f"--jobs={max(1, settings.jobs)}",
            "--oss-only",
            # semgrep's OCaml CLI (osemgrep) instead of the Python wrapper: the same engine,
            # flags and JSON (rule ids without the folder prefix), but ~0.2 s of CPU to start
            # instead of ~5 s. Checked with strace: no socket, no git, nothing under HOME.
            "--experimental",
            "stage",
        ]
        timeout = settings.batch_timeout_base + settings.per_target_seconds * len(staged)
        try:
            code, stdout, stderr = _run(argv, _environment(private), private, timeout, cancel)
        except subprocess.TimeoutExpired:
            for index in batch:
                out[index].append(incomplete(NAME, f"semgrep timed out after {timeout:.0f} s"))
            return out
        try:
            doc = json.loads(stdout)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
        except ValueError:
            reason = f"semgrep exited {code} without a readable report: {stderr.strip()[-300:]}"
            for index in batch:
                out[index].append(incomplete(NAME, reason))
            return out
        _map_results(doc, staged, signatures, out)
    return out


def partial(signatures: Signatures, target: Target, detail: str) -> Finding:
    """SKS-SCAN-PARTIAL: semgrep saw only part of a file (size or parse errors)."""
    return signatures.rule("SKS-SCAN-PARTIAL").finding(target.path, 0, f"{target.path}: {detail}")


def _is_parse_error(kind: object) -> bool:
    """Semgrep's error type for code its parser could not (fully) read."""
    name = kind[0] if isinstance(kind, list) and kind else kind
    return name in ("Syntax error", "PartialParsing", "Lexical error", "Parse error")


_STAGED_NAME = re.compile(r"stage/f\d+\.[a-z0-9]+")


def _staged_key(path: object) -> str:
    """Semgrep's path for a staged file, relative to the stage folder."""
    text = str(path).replace("\\", "/")
    return text[len("stage/") :] if text.startswith("stage/") else posixpath.normpath(text)


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _map_results(
    doc: Mapping[str, object],
    staged: Mapping[str, list[tuple[int, Target]]],
    signatures: Signatures,
    out: dict[int, list[Finding]],
) -> None:
    results = doc.get("results")
    errors = doc.get("errors")
    paths = doc.get("paths")
    scanned_raw = paths.get("scanned") if isinstance(paths, dict) else None
    scanned = {_staged_key(p) for p in scanned_raw} if isinstance(scanned_raw, list) else set()
    for name, owners in staged.items():
        if name not in scanned:
            for index, target in owners:
                out[index].append(incomplete(NAME, "semgrep skipped the file", file=target.path))
    for error in errors if isinstance(errors, list) else []:
        where = error.get("path") if isinstance(error, dict) else None
        message = str(error.get("message", "error"))[:200] if isinstance(error, dict) else "error"
        hits = staged.get(_staged_key(where)) if where else None
        if hits is None:
            for index in {i for owners in staged.values() for i, _ in owners}:
                out[index].append(incomplete(NAME, f"semgrep error: {message}"))
            continue
        parse_error = _is_parse_error(error.get("type")) if isinstance(error, dict) else False
        for index, target in hits:
            if parse_error:
                first = _STAGED_NAME.sub(target.path, message.split("\n", 1)[0])
                out[index].append(partial(signatures, target, first))
            else:
                out[index].append(incomplete(NAME, f"semgrep error: {message}", file=target.path))
    for result in results if isinstance(results, list) else []:
        if not isinstance(result, dict):
            continue
        hits = staged.get(_staged_key(result.get("path")))
        check_id = str(result.get("check_id", "")).rsplit(".", 1)[-1]
        rule = signatures.rules.get(check_id)
        if hits is None or rule is None:
            continue
        start = result.get("start")
        line = start.get("line") if isinstance(start, dict) else None
        number = line if isinstance(line, int) else 0
        for index, target in hits:
            out[index].append(rule.finding(target.path, number, _line(target.text, number)))
