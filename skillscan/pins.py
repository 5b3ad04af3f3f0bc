"""The pinning workflows behind `skillscan add/update/review/remove/list/show/check/resolve`.

Each public function is one command's whole job; the CLI only parses and formats. The
rules they implement (docs/pinning.md):

- A pin is fetched at its exact commit, written to a private staging folder and scanned
  there; its digest is taken of that same folder, and what is installed is a copy of the
  bytes that were hashed. Entries `materialise` leaves out (symlinks it will not write,
  submodules) become findings, since the scan never sees them.
- Scan verdict → entry: pass → approved by policy; review → pending; block → refused,
  nothing written or installed.
- An approved entry has every finding of medium severity or above acknowledged by
  fingerprint (blocking ones explicitly with `--ack`, medium ones by the approval itself).
  So "a finding that is not acknowledged" is exactly "a finding no human accepted", which
  is what `update` and `check --rescan` look for.
- Every lockfile change is a read-modify-write inside `lockfile.edit` (re-read under the
  lock); the entry a slow fetch and scan started from is compared with the re-read one.
"""

from __future__ import annotations

import contextlib
import enum
import getpass
import os
import re
import shutil
import tempfile
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from skillscan import lockfile
from skillscan.digest import DigestError, Snapshot, digest_tree, read_tree
from skillscan.errors import (
    ExitCode,
    InputError,
    InternalError,
    PolicyError,
    SkillscanError,
    UsageError,
)
from skillscan.lockfile import (
    FINGERPRINT_PATTERN,
    NOTE_PATTERN,
    REVIEWER_PATTERN,
    FindingCounts,
    LockEntry,
    Lockfile,
    LockfileError,
    Review,
    ReviewStatus,
)
from skillscan.model import Finding, Severity, Verdict
from skillscan.policy import BLOCKING, acknowledge, deduplicate, verdict
from skillscan.refs import SkillRef, SourceKind, make_ref, parse_unpinned, show

if TYPE_CHECKING:  # fetching and scanning pull in git and the analyzers: imported on use
    from skillscan.fetch import FetchedTree, TreeEntry
    from skillscan.signatures import Signatures

DEFAULT_LOCKFILE = Path("skills.lock")
POLICY_REVIEWER = "skillscan-policy"
# Severities a human must have accepted before an entry counts as approved.
NEEDS_HUMAN = frozenset({Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM})
GIT_TIMEOUT = 10.0  # seconds for `git config user.name`

_FINGERPRINT = re.compile(FINGERPRINT_PATTERN)
_NOTE = re.compile(NOTE_PATTERN)
_REVIEWER = re.compile(REVIEWER_PATTERN)
_NAME_JUNK = re.compile(r"[^a-z0-9._-]+")
_NAME_MAX = 64


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/skillscan`, else `~/.cache/skillscan` (a relative XDG path is ignored)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "skillscan"


@dataclass(frozen=True)
class Settings:
    """Where the lockfile and the fetch cache are, and which signatures scan the pins."""

    lockfile: Path = DEFAULT_LOCKFILE
    cache_dir: Path = field(default_factory=default_cache_dir)
    signatures_dir: Path | None = None
    jobs: int = 1


# --- input checks ---------------------------------------------------------------------


def check_fingerprints(values: Iterable[str]) -> tuple[str, ...]:
    """Validate `--ack` values: each a finding fingerprint (`RULE-ID:16 hex`)."""
    out = []
    for value in values:
        if not _FINGERPRINT.fullmatch(value):
            raise UsageError(
                f"--ack {show(value)} is not a finding fingerprint",
                hint="copy it from the findings listed by add, update, show or check "
                "(it looks like SKS-EXEC-001:0123456789abcdef)",
            )
        out.append(value)
    return tuple(sorted(set(out)))


def check_note(note: str) -> str:
    """Validate `--note`: up to 4096 characters; tab and newline the only controls."""
    if not _NOTE.fullmatch(note):
        raise UsageError(
            "--note must be at most 4096 characters without control characters (tab and "
            "newline are allowed)"
        )
    return note


def check_skill_name(name: str) -> str:
    """Validate a skill name given on the command line."""
    try:
        return lockfile.check_name(name)
    except LockfileError:
        raise UsageError(
            f"{show(name)} is not a valid skill name: 1-64 characters of a-z, 0-9, '.', '_' "
            "and '-', starting with a letter or digit (it is also the install folder's name)"
        ) from None


def normalise_name(text: str) -> str | None:
    """A lockfile name made from free text (a frontmatter name, a folder), or None."""
    cleaned = _NAME_JUNK.sub("-", text.strip().lower()).strip("._-")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[:_NAME_MAX].rstrip("._-")
    return cleaned or None


def reviewer(explicit: str | None) -> str:
    """Who decides: `--by`, else git's `user.name`, else the operating-system user."""
    if explicit is not None:
        if not _REVIEWER.fullmatch(explicit) or not explicit.strip():
            raise UsageError("--by must be 1-256 characters without control characters")
        return explicit
    for candidate in (_git_user_name(), _os_user()):
        if candidate and _REVIEWER.fullmatch(candidate) and candidate.strip():
            return candidate
    raise UsageError(
        "cannot tell who is reviewing: no git user.name and no operating-system user name",
        hint="name yourself with --by NAME",
    )


def _git_user_name() -> str | None:
    """git's global `user.name`, read without running git inside any repository.

    git runs in a fresh private folder with discovery stopped at its parent, so no
    repository's config (whose fsmonitor or hooks would be commands) is ever read.
    """
    from skillscan.fetch import FetchError, run_bounded

    git = shutil.which("git")
    if git is None:
        return None
    keep = ("PATH", "HOME", "USER", "LOGNAME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    with tempfile.TemporaryDirectory(prefix="skillscan-git-") as tmp:
        env.update(
            LC_ALL="C",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            GIT_CEILING_DIRECTORIES=str(Path(tmp).parent),
        )
        try:
            result = run_bounded(
                [git, "config", "--global", "--get", "user.name"],
                label="git config",
                cwd=Path(tmp),
                timeout=GIT_TIMEOUT,
                max_stdout=4096,
                env=env,
            )
        except (FetchError, OSError):
            return None
    if result.returncode != 0:
        return None
    return result.stdout.decode("utf-8", "replace").strip() or None


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (some containers)
        return None


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- staging and scanning -------------------------------------------------------------


@dataclass(frozen=True)
class Staged:
    """One pin written to a private folder: what the scan reads and what gets installed.

    `snapshot` holds the digest of exactly that folder and the very bytes hashed, which
    are what an install copies. `skipped` are the tree entries not written (see
    `fetch.materialise`); the scan never sees them, so they are turned into findings.
    """

    ref: SkillRef
    tree: FetchedTree
    folder: Path
    snapshot: Snapshot
    skipped: tuple[TreeEntry, ...]


@dataclass(frozen=True)
class Scanned:
    """A staged pin's findings (no acknowledgement applied) and the report's skill name."""

    staged: Staged
    name: str
    findings: tuple[Finding, ...]


def _fallback_name(ref: SkillRef) -> str:
    """The last component of the subpath, else of the repository (`.git` dropped)."""
    last = ref.subpath.rsplit("/", 1)[-1] if ref.subpath else ""
    if not last:
        last = re.split(r"[/:]", ref.url.rstrip("/"))[-1].removesuffix(".git")
    return normalise_name(last) or "skill"


def _stage(ref: SkillRef, settings: Settings, work: Path) -> Staged:
    """Fetch `ref` (from the cache when it holds it) and write it under `work`."""
    from skillscan.fetch import fetch_commit, materialise

    tree = fetch_commit(ref, settings.cache_dir)
    parent = Path(tempfile.mkdtemp(prefix="pin-", dir=work))
    # Named like the skill so that a skill without a frontmatter name is reported (and
    # named in the lockfile) after its folder, as a checkout would be.
    folder = parent / _fallback_name(ref)
    skipped = materialise(tree, folder)
    snapshot = read_tree(folder)
    return Staged(ref, tree, folder, snapshot, skipped)


def _scan(staged: Sequence[Staged], settings: Settings) -> tuple[str, list[Scanned]]:
    """Scan every staged pin in one batch (one semgrep run); (signatures version, results).

    No acknowledgement is applied here: acknowledgements belong to one lockfile entry,
    and a fingerprint does not name its skill, so each entry's are applied on its own.
    """
    from skillscan.scan import ScanOptions, scan_roots
    from skillscan.signatures import load_signatures

    if not staged:
        return load_signatures(settings.signatures_dir).version, []
    options = ScanOptions(jobs=settings.jobs, signatures_dir=settings.signatures_dir)
    result = scan_roots([s.folder for s in staged], options)
    signatures = load_signatures(settings.signatures_dir)
    out = []
    for pin, report in zip(staged, result.reports, strict=True):
        extra = _skipped_findings(pin.skipped, signatures)
        out.append(Scanned(pin, report.name, (*report.findings, *extra)))
    return result.signatures_version, out


def _skipped_findings(entries: Sequence[TreeEntry], signatures: Signatures) -> tuple[Finding, ...]:
    """Findings for what materialise did not write, with the structure analyzer's evidence
    shape (so a fingerprint is the same as when a checkout of the skill is scanned)."""
    from skillscan.fetch import TreeEntryKind

    out = []
    for entry in entries:
        if entry.kind is TreeEntryKind.GITLINK:
            evidence = f"{entry.path} -> submodule commit {entry.oid}"
            out.append(signatures.rule("SKS-STRUCT-009").finding(entry.path, 0, evidence))
        else:
            # Absolute, leaving the skill, dangling or through another link: never installed,
            # and a chain through links could lead anywhere, so all of them block.
            evidence = f"{entry.path} -> {entry.target}"
            out.append(signatures.rule("SKS-STRUCT-001").finding(entry.path, 0, evidence))
    return tuple(out)


def judge(findings: Iterable[Finding], acknowledged: Collection[str]) -> tuple[Finding, ...]:
    """The findings with an entry's acknowledgements applied, deduplicated, worst first."""
    return tuple(deduplicate(acknowledge(findings, acknowledged)))


def _open_findings(findings: Iterable[Finding], severities: Collection[Severity]) -> list[Finding]:
    return [f for f in findings if not f.acknowledged and f.severity in severities]


def _counts(findings: Iterable[Finding]) -> FindingCounts:
    return FindingCounts.from_severities(f.severity for f in findings)


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    """A private (0700) folder for staging, removed afterwards whatever it holds."""
    path = Path(tempfile.mkdtemp(prefix="skillscan-stage-"))
    try:
        yield path
    finally:
        remove_tree(path)


def _pin_ref(entry: LockEntry, name: str) -> SkillRef:
    """The reference a lockfile entry pins; an entry git must not be given is refused."""
    try:
        return make_ref(entry.source, entry.commit, entry.path)
    except UsageError as exc:
        raise InputError(
            f"skill {name!r} in the lockfile has a reference skillscan refuses: {exc.message}",
            hint="fix the entry or remove it (skillscan remove NAME) and add the skill again",
        ) from None


class ContentMismatch(PolicyError):
    """A pinned commit's content, fetched again, no longer hashes to the pinned digest."""


def _stage_pinned(name: str, entry: LockEntry, settings: Settings, work: Path) -> Staged:
    """Stage a locked pin and prove its content still hashes to the locked digest."""
    staged = _stage(_pin_ref(entry, name), settings, work)
    if staged.snapshot.digest != entry.digest:
        raise ContentMismatch(
            f"skill {name!r}: the content of {entry.commit} fetched now hashes to "
            f"{staged.snapshot.digest}, not the pinned {entry.digest}",
            hint="the source or the cache served other bytes for the same commit; do not "
            "trust this pin until you know why (remove the cache folder and try again)",
        )
    return staged


# --- installing -----------------------------------------------------------------------


class InstallState(enum.Enum):
    """What happened to `<install dir>/<name>`."""

    INSTALLED = "installed"
    ALREADY = "already-installed"  # the same content was there
    WITHHELD = "withheld"  # not approved (yet): never installed
    RETIRED = "retired"  # update: the previous version deleted, the new one awaits approval
    REMOVED = "removed"
    ABSENT = "absent"  # remove: there was nothing to delete


@dataclass(frozen=True)
class Install:
    """The install folder of one skill and what was done to it."""

    path: Path
    state: InstallState


_READ_ONLY_FILE = 0o444
_READ_ONLY_EXEC = 0o555
_READ_ONLY_DIR = 0o555


def remove_tree(path: Path) -> None:
    """Delete a folder skillscan made read-only; symlinks inside are removed, never followed."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    for folder, dirs, _files in os.walk(path):
        for name in dirs:
            child = Path(folder) / name
            if not child.is_symlink():  # chmod follows links: never touch a link's target
                child.chmod(0o700)
    path.chmod(0o700)
    shutil.rmtree(path)


def _prepare_install(snapshot: Snapshot, install_dir: Path, name: str) -> Path:
    """Write the hashed bytes to a temporary folder inside `install_dir`, read-only, verified.

    Inside the same folder so that the final step is one rename on one file system.
    """
    try:
        install_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".skillscan-install-{name}-", dir=install_dir))
    except OSError as exc:
        raise InputError(
            f"cannot write to the install folder {install_dir}: {exc.strerror}"
        ) from exc
    try:
        executable = {e.path for e in snapshot.entries if e.executable}
        for rel, data in snapshot.files.items():
            target = tmp.joinpath(*rel.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(target, flags, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for rel, link in snapshot.symlinks.items():
            target = tmp.joinpath(*rel.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(link)
        for rel in snapshot.files:
            mode = _READ_ONLY_EXEC if rel in executable else _READ_ONLY_FILE
            tmp.joinpath(*rel.split("/")).chmod(mode)
        if digest_tree(tmp) != snapshot.digest:
            raise InternalError(f"the copy in {tmp} does not hash to {snapshot.digest}")
        for folder, dirs, _ in os.walk(tmp):
            for sub in dirs:
                child = Path(folder) / sub
                if not child.is_symlink():
                    child.chmod(_READ_ONLY_DIR)
    except OSError as exc:
        remove_tree(tmp)
        raise InputError(
            f"cannot write to the install folder {install_dir}: {exc.strerror}"
        ) from exc
    except BaseException:
        remove_tree(tmp)
        raise
    return tmp


def _installed_digest(path: Path) -> str | None:
    """The digest of an installed folder, or None when it cannot be digested."""
    try:
        return digest_tree(path)
    except DigestError:
        return None


def _place(prepared: Path, target: Path, *, accept: Collection[str], digest: str) -> Install:
    """Move a prepared copy to `target`. An existing `target` must hash to `digest` (then
    it is kept) or to one of `accept` (then it is replaced); anything else is refused."""
    if target.exists() or target.is_symlink():
        current = None if target.is_symlink() else _installed_digest(target)
        if current == digest:
            remove_tree(prepared)
            return Install(target, InstallState.ALREADY)
        if current is None or current not in accept:
            raise PolicyError(
                f"{target} already exists and differs from the pinned content",
                hint=f"look at what changed there; if it can go, delete it (chmod -R u+w {target} "
                f"&& rm -r {target}) and run the command again; skillscan never overwrites a "
                "folder that does not hold the pinned content",
            )
        trash = Path(tempfile.mkdtemp(prefix=f".skillscan-old-{target.name}-", dir=target.parent))
        trash.rmdir()
        target.rename(trash)  # the gap between these renames is documented
        prepared.rename(target)
        remove_tree(trash)
    else:
        prepared.rename(target)
    target.chmod(_READ_ONLY_DIR)
    return Install(target, InstallState.INSTALLED)


# --- add ------------------------------------------------------------------------------


class Outcome(enum.Enum):
    """What a command did to the lockfile."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # the same pin was already there
    BLOCKED = "blocked"  # nothing written


@dataclass(frozen=True)
class AddResult:
    """What `add` did: the entry (unless blocked), the findings and the install."""

    name: str
    ref: SkillRef
    outcome: Outcome
    entry: LockEntry | None
    findings: tuple[Finding, ...]
    verdict: Verdict
    signatures: str
    digest: str
    install: Install | None = None


def _policy_review(
    signatures: str, acknowledged: Iterable[str], note: str = "", *, text: str = ""
) -> Review:
    text = text or (
        f"approved by policy: no unacknowledged finding of medium severity or above "
        f"(signatures {signatures})"
    )
    if note:
        text = f"{text}; {note}"
    return Review(
        ReviewStatus.APPROVED,
        by=POLICY_REVIEWER,
        at=_now(),
        note=text,
        acknowledged=tuple(acknowledged),
    )


def _unknown_acks(acks: Collection[str], findings: Iterable[Finding]) -> None:
    known = {f.fingerprint for f in findings}
    unknown = sorted(set(acks) - known)
    if unknown:
        raise UsageError(
            f"--ack {', '.join(unknown)}: no such finding in this scan",
            hint="acknowledge only fingerprints listed in the findings (a typo would "
            "otherwise silently acknowledge nothing)",
        )


def source_text(ref: SkillRef) -> str:
    """The source as recorded: a local repository by its absolute path (a relative one
    would mean another folder when run from elsewhere), anything else as written."""
    return ref.url if ref.kind is SourceKind.LOCAL else ref.source


def _same_pin(entry: LockEntry, ref: SkillRef) -> bool:
    return (entry.source, entry.commit, entry.path) == (source_text(ref), ref.commit, ref.subpath)


def add(
    ref: SkillRef,
    settings: Settings,
    *,
    name: str | None = None,
    install_dir: Path | None = None,
    acknowledged: Sequence[str] = (),
    by: str | None = None,
    note: str = "",
) -> AddResult:
    """Fetch, stage, scan and pin one skill; optionally install it (only when approved).

    With `acknowledged` a human accepts those findings at once (and becomes the reviewer,
    `by`); without, a pass is approved by policy, a review is left pending. A block writes
    nothing. Raises for a name taken by another pin, or an install folder that differs.
    """
    if name is not None:
        check_skill_name(name)
    acks = check_fingerprints(acknowledged)
    check_note(note)
    who = reviewer(by) if acks else None
    with _workdir() as work:
        staged = _stage(ref, settings, work)
        signatures, (scanned,) = _scan([staged], settings)
        _unknown_acks(acks, scanned.findings)
        chosen = name or normalise_name(scanned.name) or _fallback_name(ref)
        # Adding a pin that is already locked (to install it, say) keeps its reviewer's
        # acknowledgements; they are re-read and re-checked under the lock below.
        inherited = _acknowledged_if_same_pin(settings.lockfile, chosen, ref)
        findings = judge(scanned.findings, set(acks) | set(inherited))
        result_verdict = verdict(findings)
        digest = staged.snapshot.digest

        def result(outcome: Outcome, entry: LockEntry | None, install: Install | None) -> AddResult:
            return AddResult(
                chosen, ref, outcome, entry, findings, result_verdict, signatures, digest, install
            )

        if result_verdict is Verdict.BLOCK:
            return result(Outcome.BLOCKED, None, None)
        if result_verdict is Verdict.PASS and not acks:
            review = _policy_review(signatures, (), note)
        elif result_verdict is Verdict.PASS:
            assert who is not None  # noqa: S101 - set whenever acks are given
            text = note or "findings acknowledged when the skill was added"
            review = Review(ReviewStatus.APPROVED, who, _now(), text, acks)
        else:
            review = Review.pending(note, acks)
        entry = LockEntry(
            source=source_text(ref),
            commit=ref.commit,
            path=ref.subpath,
            digest=digest,
            signatures=signatures,
            verdict=result_verdict,
            findings=_counts(findings),
            review=review,
        )
        prepared = _prepare_install(staged.snapshot, install_dir, chosen) if install_dir else None
        try:
            with lockfile.edit(settings.lockfile) as draft:
                existing = draft.skills.get(chosen)
                outcome = Outcome.ADDED
                if existing is not None:
                    _refuse_collision(chosen, existing, ref, digest)
                    outcome, entry = Outcome.UNCHANGED, existing
                else:
                    draft.skills[chosen] = entry
                install = _install_if_approved(prepared, install_dir, chosen, entry)
        finally:
            if prepared is not None:
                remove_tree(prepared)
        return result(outcome, entry, install)


def _acknowledged_if_same_pin(path: Path, name: str, ref: SkillRef) -> tuple[str, ...]:
    try:
        existing = lockfile.load(path).get(name)
    except lockfile.LockfileMissingError:
        return ()
    if existing is None or not _same_pin(existing, ref):
        return ()
    return existing.review.acknowledged


def _refuse_collision(name: str, existing: LockEntry, ref: SkillRef, digest: str) -> None:
    if not _same_pin(existing, ref):
        same_skill = (existing.source, existing.path) == (source_text(ref), ref.subpath)
        hint = (
            f"to move it to this commit run: skillscan update {name}@{ref.commit}"
            if same_skill
            else "choose another name with --name, or remove the other skill first "
            f"(skillscan remove {name})"
        )
        raise PolicyError(
            f"the lockfile already has a skill named {name!r} pinned to "
            f"{existing.source}@{existing.commit}"
            + (f"#{existing.path}" if existing.path else "")
            + "; nothing was changed",
            hint=hint,
        )
    if existing.digest != digest:
        raise PolicyError(
            f"skill {name!r} is pinned to this commit with digest {existing.digest}, but its "
            f"content now hashes to {digest}",
            hint="do not trust this pin until you know why; nothing was changed",
        )


def _install_if_approved(
    prepared: Path | None,
    install_dir: Path | None,
    name: str,
    entry: LockEntry,
    *,
    replaces: Collection[str] = (),
) -> Install | None:
    """Install an approved entry's prepared copy; for one not approved, install nothing
    and retire a previous version found there (one of `replaces`): it is no longer the
    pinned content, and the folder should hold only what the lockfile approves."""
    if prepared is None or install_dir is None:
        return None
    target = install_dir / name
    if entry.review.status is ReviewStatus.APPROVED:
        return _place(prepared, target, accept=replaces, digest=entry.digest)
    if replaces and (target.exists() or target.is_symlink()):
        current = None if target.is_symlink() else _installed_digest(target)
        if current not in replaces:
            raise PolicyError(
                f"{target} differs from the pinned content; nothing was changed",
                hint=f"look at what changed there; delete {target} yourself if it can go, "
                "then run the command again",
            )
        remove_tree(target)
        return Install(target, InstallState.RETIRED)
    return Install(target, InstallState.WITHHELD)


# --- update ---------------------------------------------------------------------------


class FileChangeKind(enum.Enum):
    """How a path differs between the pinned commit and the new one."""

    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"  # content, type, executable bit or submodule commit


@dataclass(frozen=True)
class FileChange:
    """One path of the skill that differs between two commits."""

    path: str
    kind: FileChangeKind


def diff_trees(old: FetchedTree | None, new: FetchedTree) -> tuple[FileChange, ...]:
    """Paths added, removed or modified from `old` to `new` (all added when `old` is None)."""
    before = {e.path: (e.kind, e.executable, e.oid) for e in old.entries} if old else {}
    after = {e.path: (e.kind, e.executable, e.oid) for e in new.entries}
    changes = [FileChange(p, FileChangeKind.ADDED) for p in after.keys() - before.keys()]
    changes += [FileChange(p, FileChangeKind.REMOVED) for p in before.keys() - after.keys()]
    changes += [
        FileChange(p, FileChangeKind.MODIFIED)
        for p in after.keys() & before.keys()
        if after[p] != before[p]
    ]
    return tuple(sorted(changes, key=lambda c: c.path))


@dataclass(frozen=True)
class UpdateResult:
    """What `update` did: files changed, findings (and which are new), the new entry."""

    name: str
    previous: LockEntry
    ref: SkillRef
    outcome: Outcome
    entry: LockEntry | None
    changes: tuple[FileChange, ...]
    findings: tuple[Finding, ...]
    new_findings: tuple[Finding, ...]
    verdict: Verdict
    signatures: str
    baseline: bool  # False when the pinned commit could not be fetched to compare with
    install: Install | None = None


def parse_name_at_commit(text: str) -> tuple[str, str]:
    """Split `NAME@COMMIT` (a name never holds '@')."""
    name, at, commit = text.rpartition("@")
    if not at or not name or not commit:
        raise UsageError(
            f"{show(text)} is not NAME@COMMIT",
            hint="give the skill's name and a full commit id; get the id with "
            "`skillscan resolve SOURCE@BRANCH-OR-TAG`",
        )
    return check_skill_name(name), commit


def _locked_entry(settings: Settings, name: str) -> LockEntry:
    entry = lockfile.load(settings.lockfile).get(name)
    if entry is None:
        raise InputError(
            f"{settings.lockfile} has no skill named {name!r}",
            hint="see the pinned skills with: skillscan list",
        )
    return entry


def _refuse_if_changed(draft: lockfile.LockfileDraft, name: str, started: LockEntry) -> None:
    if draft.skills.get(name) != started:
        raise PolicyError(
            f"skill {name!r} was changed in the lockfile by someone else while this command ran; "
            "nothing was written",
            hint="run the command again",
        )


def update(
    name: str, commit: str, settings: Settings, *, install_dir: Path | None = None
) -> UpdateResult:
    """Move a pinned skill to another commit of the same source and path.

    Lists the files changed since the pinned commit and the findings that are new (their
    fingerprint is not among the findings of the pinned commit scanned now with the same
    signatures). Acknowledgements carry over to findings that are still there. Any new
    finding of medium severity or above, any unacknowledged one, or a previous rejection
    leaves the entry pending; a block writes nothing.
    """
    from skillscan.fetch import CommitAbsent

    previous = _locked_entry(settings, name)
    ref = make_ref(previous.source, commit, previous.path)
    _pin_ref(previous, name)
    if ref.commit == previous.commit:
        return UpdateResult(
            name, previous, ref, Outcome.UNCHANGED, previous, (), (), (),
            previous.verdict, previous.signatures, True,
        )  # fmt: skip
    with _workdir() as work:
        new_staged = _stage(ref, settings, work)
        old_staged: Staged | None
        try:
            old_staged = _stage_pinned(name, previous, settings, work)
        except CommitAbsent:
            old_staged = None  # the pinned commit is gone from the source: all of it is new
        pins = [new_staged] if old_staged is None else [new_staged, old_staged]
        signatures, scanned = _scan(pins, settings)
        baseline = {f.fingerprint for f in scanned[1].findings} if old_staged else set()
        raw = scanned[0].findings
        kept = set(previous.review.acknowledged) & {f.fingerprint for f in raw}
        findings = judge(raw, kept)
        new_findings = tuple(f for f in findings if f.fingerprint not in baseline)
        result_verdict = verdict(findings)
        changes = diff_trees(old_staged.tree if old_staged else None, new_staged.tree)
        digest = new_staged.snapshot.digest

        def result(
            outcome: Outcome, entry: LockEntry | None, install: Install | None
        ) -> UpdateResult:
            return UpdateResult(
                name, previous, ref, outcome, entry, changes, findings, new_findings,
                result_verdict, signatures, old_staged is not None, install,
            )  # fmt: skip

        if result_verdict is Verdict.BLOCK:
            return result(Outcome.BLOCKED, None, None)
        new_serious = [f for f in new_findings if f.severity in NEEDS_HUMAN]
        reasons = []
        if result_verdict is not Verdict.PASS:
            reasons.append("unacknowledged findings of medium severity")
        if new_serious:
            reasons.append(f"{len(new_serious)} new finding(s) of medium severity or above")
        if previous.review.status is ReviewStatus.REJECTED:
            reasons.append("the previous commit was rejected")
        move = f"update from {previous.commit[:12]} to {ref.commit[:12]}"
        if reasons:
            review = Review.pending(f"{move}: {'; '.join(reasons)}", kept)
        else:
            review = _policy_review(
                signatures,
                kept,
                text=f"{move} approved by policy: no new finding of medium severity or above and "
                f"none unacknowledged (signatures {signatures}); acknowledgements still "
                "matching a finding were carried over",
            )
        entry = LockEntry(
            source=previous.source,
            commit=ref.commit,
            path=previous.path,
            digest=digest,
            signatures=signatures,
            verdict=result_verdict,
            findings=_counts(findings),
            review=review,
        )
        prepared = _prepare_install(new_staged.snapshot, install_dir, name) if install_dir else None
        try:
            with lockfile.edit(settings.lockfile) as draft:
                _refuse_if_changed(draft, name, previous)
                draft.skills[name] = entry
                install = _install_if_approved(
                    prepared, install_dir, name, entry, replaces={previous.digest}
                )
        finally:
            if prepared is not None:
                remove_tree(prepared)
        return result(Outcome.UPDATED, entry, install)


# --- review ---------------------------------------------------------------------------


class Decision(enum.Enum):
    """A reviewer's decision."""

    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class ReviewResult:
    """What `review` recorded, and the findings the reviewer decided on."""

    name: str
    previous: LockEntry
    entry: LockEntry
    findings: tuple[Finding, ...]
    implicit: tuple[str, ...]  # medium findings the approval acknowledged
    install: Install | None = None


def review(
    name: str,
    decision: Decision,
    settings: Settings,
    *,
    acknowledged: Sequence[str] = (),
    note: str = "",
    by: str | None = None,
    install_dir: Path | None = None,
) -> ReviewResult:
    """Record a human decision on a pinned skill.

    Approving re-fetches and re-scans the pin (proving its digest) and needs every
    critical or high finding acknowledged, explicitly, with `--ack`; medium findings are
    acknowledged by the approval itself. All are recorded in `review.acknowledged`.
    """
    acks = check_fingerprints(acknowledged)
    check_note(note)
    who = reviewer(by)
    previous = _locked_entry(settings, name)
    if decision is Decision.REJECT:
        if acks or install_dir is not None:
            raise UsageError("--ack and --install-dir go with --approve, not --reject")
        entry = _with_review(
            previous,
            Review(ReviewStatus.REJECTED, who, _now(), note, previous.review.acknowledged),
        )
        with lockfile.edit(settings.lockfile) as draft:
            _refuse_if_changed(draft, name, previous)
            draft.skills[name] = entry
        return ReviewResult(name, previous, entry, (), ())
    with _workdir() as work:
        staged = _stage_pinned(name, previous, settings, work)
        signatures, (scanned,) = _scan([staged], settings)
        _unknown_acks(acks, scanned.findings)
        given = set(previous.review.acknowledged) | set(acks)
        findings = judge(scanned.findings, given)
        blocking = _open_findings(findings, BLOCKING)
        if blocking:
            listed = "\n".join(
                f"  {f.severity.value} {f.rule_id} in {f.file or '.'}"
                f"{f':{f.line}' if f.line else ''}: {f.message}\n    --ack {f.fingerprint}"
                for f in blocking
            )
            raise PolicyError(
                f"skill {name!r} has {len(blocking)} critical or high finding(s) that nobody "
                f"acknowledged; nothing was changed:\n{listed}",
                hint="if you have read them and accept them, approve again with those --ack "
                f"options; if not: skillscan review {name} --reject",
            )
        implicit = tuple(f.fingerprint for f in _open_findings(findings, NEEDS_HUMAN))
        findings = judge(findings, implicit)
        all_acks = tuple(sorted(given | set(implicit)))
        entry = LockEntry(
            source=previous.source,
            commit=previous.commit,
            path=previous.path,
            digest=previous.digest,
            signatures=signatures,
            verdict=verdict(findings),
            findings=_counts(findings),
            review=Review(ReviewStatus.APPROVED, who, _now(), note, all_acks),
        )
        prepared = _prepare_install(staged.snapshot, install_dir, name) if install_dir else None
        try:
            with lockfile.edit(settings.lockfile) as draft:
                _refuse_if_changed(draft, name, previous)
                draft.skills[name] = entry
                install = _install_if_approved(prepared, install_dir, name, entry)
        finally:
            if prepared is not None:
                remove_tree(prepared)
    return ReviewResult(name, previous, entry, findings, implicit, install)


def _with_review(entry: LockEntry, new: Review) -> LockEntry:
    return LockEntry(
        entry.source,
        entry.commit,
        entry.path,
        entry.digest,
        entry.signatures,
        entry.verdict,
        entry.findings,
        new,
    )


# --- remove, list, show, resolve ------------------------------------------------------


@dataclass(frozen=True)
class RemoveResult:
    """The entry `remove` took out of the lockfile, and its install folder."""

    name: str
    entry: LockEntry
    install: Install | None


def remove(name: str, settings: Settings, *, install_dir: Path | None = None) -> RemoveResult:
    """Take a skill out of the lockfile; with `install_dir`, delete its installed folder too,
    but only when it holds exactly the pinned content (local changes are never deleted)."""
    check_skill_name(name)
    install = None
    with lockfile.edit(settings.lockfile) as draft:
        entry = draft.skills.pop(name, None)
        if entry is None:
            raise InputError(
                f"{settings.lockfile} has no skill named {name!r}; nothing was changed",
                hint="see the pinned skills with: skillscan list",
            )
        if install_dir is not None:
            target = install_dir / name
            if not target.exists() and not target.is_symlink():
                install = Install(target, InstallState.ABSENT)
            elif target.is_symlink() or _installed_digest(target) != entry.digest:
                raise PolicyError(
                    f"{target} differs from the pinned content of {name!r}; nothing was changed",
                    hint=f"look at what changed, delete {target} yourself, then run again",
                )
            else:
                install = Install(target, InstallState.REMOVED)
    if install is not None and install.state is InstallState.REMOVED:
        remove_tree(install.path)
    return RemoveResult(name, entry, install)


def load(settings: Settings) -> Lockfile:
    """The lockfile, validated (for `list`)."""
    return lockfile.load(settings.lockfile)


def show_entry(name: str, settings: Settings) -> LockEntry:
    """One pinned skill (for `show`)."""
    check_skill_name(name)
    return _locked_entry(settings, name)


@dataclass(frozen=True)
class Resolved:
    """A branch, tag or short id resolved to the full commit it names right now."""

    source: str
    ref: str
    subpath: str
    commit: str

    @property
    def reference(self) -> str:
        """The pinned reference to give `skillscan add`."""
        text = f"{self.source}@{self.commit}"
        return f"{text}#{self.subpath}" if self.subpath else text


def resolve(text: str) -> Resolved:
    """Resolve `SOURCE@REF[#SUBPATH]` to the full commit (asks git: ls-remote)."""
    from skillscan.fetch import resolve as resolve_commit

    source, ref, subpath = parse_unpinned(text)
    return Resolved(source, ref, subpath, resolve_commit(source, ref))


# --- check ----------------------------------------------------------------------------


class Reason(enum.Enum):
    """Why `check` failed a skill."""

    PENDING = "pending-review"
    REJECTED = "rejected"
    BLOCKED = "blocked"
    INVALID_REFERENCE = "invalid-reference"
    NOT_INSTALLED = "not-installed"
    DIGEST_MISMATCH = "digest-mismatch"
    NOT_LOCKED = "not-locked"
    NEW_FINDING = "new-finding"
    CONTENT_MISMATCH = "content-mismatch"
    FETCH_FAILED = "fetch-failed"


@dataclass(frozen=True)
class Problem:
    """One failed check: the skill, the reason, what happened and how to fix it."""

    skill: str
    reason: Reason
    message: str
    fix: str
    exit_code: ExitCode = ExitCode.POLICY
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """The outcome of `check`: every problem found, and what was looked at."""

    lockfile: Path
    skills: tuple[str, ...]
    installed: Path | None
    rescanned_with: str | None
    problems: tuple[Problem, ...]

    @property
    def exit_code(self) -> ExitCode:
        """3 if a check could not run, else 2 for invalid input, else 1 for a failure."""
        codes = {p.exit_code for p in self.problems}
        for code in (ExitCode.INTERNAL, ExitCode.USAGE, ExitCode.POLICY):
            if code in codes:
                return code
        return ExitCode.OK


def check(
    settings: Settings, *, installed: Path | None = None, rescan: bool = False
) -> CheckResult:
    """The CI gate over a lockfile; see docs/pinning.md for every rule.

    A lockfile that does not parse raises (exit 2). Otherwise every problem is collected,
    so one run shows them all.
    """
    lock = lockfile.load(settings.lockfile)
    problems: list[Problem] = []
    for name, entry in lock.skills.items():
        problems += _entry_problems(name, entry, installed)
    if installed is not None:
        problems += _installed_problems(lock, installed)
    signatures = None
    if rescan:
        signatures, found = _rescan_problems(lock, settings, problems)
        problems += found
    order = {name: i for i, name in enumerate(lock.skills)}
    problems.sort(key=lambda p: (order.get(p.skill, len(order)), p.skill))
    return CheckResult(
        settings.lockfile, tuple(lock.skills), installed, signatures, tuple(problems)
    )


def _entry_problems(name: str, entry: LockEntry, installed: Path | None) -> list[Problem]:
    problems = []
    try:
        _pin_ref(entry, name)
    except InputError as exc:
        problems.append(
            Problem(
                name,
                Reason.INVALID_REFERENCE,
                exc.message,
                exc.hint or "",
                ExitCode.USAGE,
            )
        )
    status = entry.review.status
    if status is ReviewStatus.PENDING:
        problems.append(
            Problem(
                name,
                Reason.PENDING,
                f"{name}: waiting for a review (scan verdict {entry.verdict.value})",
                f"skillscan review {name} --approve"
                + (f" --install-dir {installed}" if installed is not None else "")
                + " (or --reject)",
            )
        )
    elif status is ReviewStatus.REJECTED:
        by = entry.review.by or "?"
        problems.append(
            Problem(
                name,
                Reason.REJECTED,
                f"{name}: rejected by {by}",
                f"skillscan remove {name}, or pin another commit: skillscan update {name}@COMMIT",
            )
        )
    elif entry.verdict is Verdict.BLOCK:
        problems.append(
            Problem(
                name,
                Reason.BLOCKED,
                f"{name}: approved, but its recorded scan verdict is block",
                f"skillscan review {name} --approve --ack FINGERPRINT… (after reading the "
                f"findings), or skillscan remove {name}",
            )
        )
    return problems


def _installed_problems(lock: Lockfile, installed: Path) -> list[Problem]:
    """Every locked skill present in `installed` with its digest; nothing else there."""
    try:
        present = {entry.name for entry in os.scandir(installed)}
    except OSError as exc:
        raise InputError(
            f"cannot list the installed skills in {installed}: {exc.strerror}"
        ) from exc
    problems = []
    for name, entry in lock.skills.items():
        target = installed / name
        if name not in present:
            if entry.review.status is not ReviewStatus.APPROVED:
                continue  # installed on approval; its review problem names the fix
            problems.append(
                Problem(
                    name,
                    Reason.NOT_INSTALLED,
                    f"{name}: locked but not installed in {installed}",
                    f"skillscan add {_reference(entry)} --name {name} --install-dir {installed}",
                )
            )
            continue
        try:
            digest = digest_tree(target)
        except DigestError as exc:
            message, digest = f"{name}: {target} cannot be digested: {exc.message}", None
        else:
            message = (
                f"{name}: the files in {target} changed since they were pinned "
                f"(digest {digest}, pinned {entry.digest})"
            )
        if digest != entry.digest:
            problems.append(
                Problem(
                    name,
                    Reason.DIGEST_MISMATCH,
                    message,
                    f"find out who changed {target}; then reinstall the pinned bytes: "
                    f"chmod -R u+w {target} && rm -r {target} && skillscan add "
                    f"{_reference(entry)} --name {name} --install-dir {installed}",
                )
            )
    for extra in sorted(present - lock.skills.keys()):
        problems.append(
            Problem(
                extra,
                Reason.NOT_LOCKED,
                f"{extra}: {installed / extra} is installed but not in the lockfile",
                f"delete {installed / extra}, or move it away and pin its source: "
                f"skillscan add SOURCE@COMMIT --name {extra} --install-dir {installed}",
            )
        )
    return problems


def _reference(entry: LockEntry) -> str:
    text = f"{entry.source}@{entry.commit}"
    return f"{text}#{entry.path}" if entry.path else text


def _rescan_problems(
    lock: Lockfile, settings: Settings, earlier: Sequence[Problem]
) -> tuple[str, list[Problem]]:
    """Fetch and scan every approved pin again, with today's signatures, in one batch."""
    skip = {p.skill for p in earlier if p.reason is Reason.INVALID_REFERENCE}
    problems: list[Problem] = []
    with _workdir() as work:
        staged: dict[str, Staged] = {}
        for name, entry in lock.skills.items():
            if name in skip or entry.review.status is not ReviewStatus.APPROVED:
                continue  # already failing; a rescan would not change that
            try:
                staged[name] = _stage_pinned(name, entry, settings, work)
            except SkillscanError as exc:
                mismatch = isinstance(exc, ContentMismatch)
                reason = Reason.CONTENT_MISMATCH if mismatch else Reason.FETCH_FAILED
                problems.append(
                    Problem(
                        name,
                        reason,
                        f"{name}: {exc.message}",
                        exc.hint or "fix access to the source and run the check again",
                        exc.exit_code,
                    )
                )
        signatures, scanned = _scan(list(staged.values()), settings)
        for (name, _), result in zip(staged.items(), scanned, strict=True):
            entry = lock.skills[name]
            findings = judge(result.findings, entry.review.acknowledged)
            open_ = _open_findings(findings, NEEDS_HUMAN)
            if open_:
                blocking = any(f.severity in BLOCKING for f in open_)
                acks = " ".join(f"--ack {f.fingerprint}" for f in open_ if f.severity in BLOCKING)
                problems.append(
                    Problem(
                        name,
                        Reason.NEW_FINDING,
                        f"{name}: {len(open_)} finding(s) of medium severity or above that no "
                        f"reviewer acknowledged (signatures {signatures})",
                        f"read them; if acceptable: skillscan review {name} --approve"
                        + (f" {acks}" if blocking else "")
                        + f"; if not: skillscan remove {name}",
                        findings=tuple(open_),
                    )
                )
    return signatures, problems
