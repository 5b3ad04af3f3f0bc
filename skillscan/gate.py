"""The runtime gate (DESIGN §4.6): an agent loads a skill only if it is pinned, intact, reviewed
and not revoked, and it gets the skill's content from the very bytes that were checked.

A gateway imports this at start-up and calls it for every skill it loads, so it imports the
standard library and skillscan.digest, .lockfile, .model and .errors only (a test enforces
it). It never scans, fetches or writes. Specified in docs/gate.md.
"""

from __future__ import annotations

import enum
import errno
import os
import stat
from collections.abc import Mapping
from types import MappingProxyType

from skillscan.digest import DigestError, Snapshot, read_tree
from skillscan.errors import ExitCode, InputError, PolicyError
from skillscan.lockfile import (
    COMMIT_PATTERN,
    DIGEST_PATTERN,
    SOURCE_PATTERN,
    TIMESTAMP_PATTERN,
    LockEntry,
    Lockfile,
    LockfileError,
    ReviewStatus,
    compiled,
    loads_strict,
    parse_timestamp,
    read_bounded,
)
from skillscan.lockfile import load as load_lockfile
from skillscan.model import Record, field

# Type checkers read this as typing.TYPE_CHECKING; spelled out so that the gate imports
# neither typing nor pathlib nor dataclasses at run time (its import budget, docs/gate.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol, TypeAlias, overload

    StrPath: TypeAlias = str | os.PathLike[str]

    class _GateFactory(Protocol):
        def __call__(self, lockfile: StrPath, *, revocations: StrPath | None = None) -> Gate: ...

    class _SkillLoader(Protocol):
        def __call__(self, skill_dir: StrPath) -> LoadedSkill: ...


SKILL_MD = "SKILL.md"
REVOCATIONS_FILE = "revocations.json"
REVOCATIONS_VERSION = 1
MAX_REVOCATIONS_BYTES = 16 * 1024 * 1024
MAX_REVOCATIONS = 100_000

# Text fields of a revocation entry: no control characters (C0, DEL, C1), which could hide
# or rewrite what an operator sees in a terminal. ECMA-262 and Python `re` read these alike;
# registry/revocations.schema.json holds the same patterns (a test compares them).
REASON_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]{1,1024}$"
REFERENCE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]{1,2048}$"

_VALUE_PATTERNS = {
    "repository": SOURCE_PATTERN,
    "commit": COMMIT_PATTERN,
    "digest": DIGEST_PATTERN,
}
_VALUE_EXPECTED = {
    "repository": "a repository spelled as the lockfile's source field spells one",
    "commit": "a full 40- or 64-character lowercase hex commit",
    "digest": "'sha256:' and 64 lowercase hex digits",
}
_GITHUB_SHORTHAND = r"[a-z0-9][a-z0-9-]*/[a-z0-9._-]+"
_LOCAL_PREFIXES = ("/", "./", "../", "~/")


class Reason(enum.Enum):
    """Why the gate refused a skill; the machine-readable half of a refusal."""

    NOT_LOCKED = "not-locked"
    DIGEST_MISMATCH = "digest-mismatch"
    NOT_REVIEWED = "not-reviewed"
    REJECTED = "rejected"
    REVOKED = "revoked"
    LOCKFILE_INVALID = "lockfile-invalid"
    UNREADABLE = "unreadable"


class SkillRefused(PolicyError):
    """The gate refused a skill (or, for `lockfile-invalid`, every skill).

    `exit_code` is 2 for `lockfile-invalid` (bad input, DESIGN §4.3) and 1 otherwise.
    """

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.exit_code = ExitCode.USAGE if reason is Reason.LOCKFILE_INVALID else ExitCode.POLICY

    def to_json(self) -> dict[str, object]:
        """The refusal as `skillscan gate` prints it."""
        return {"allowed": False, "reason": self.reason.value, "message": self.message}


class RevocationsError(InputError):
    """The revocation list is missing, unreadable or invalid (the gate then refuses all)."""


def _ref(entry: LockEntry) -> str:
    """The pinned reference of an entry, as DESIGN §4.1 spells it."""
    ref = f"{entry.source}@{entry.commit}"
    return f"{ref}#{entry.path}" if entry.path else ref


def _show(text: str, limit: int = 160) -> str:
    """Untrusted text (a path, a name) quoted for a message: escaped and bounded, so a
    folder named with terminal escapes cannot rewrite what an operator reads."""
    shown = repr(text[:limit])
    return shown if len(text) <= limit else shown + "…"


# --- the revocation list --------------------------------------------------------------


class RevocationKind(enum.Enum):
    """What a revocation names: every skill from a repository, one commit, or one content."""

    REPOSITORY = "repository"
    COMMIT = "commit"
    DIGEST = "digest"


def repository_key(source: str) -> str:
    """The spelling-independent identity of a repository, for revocation matching only.

    `acme/tools`, `https://github.com/Acme/tools.git`, `ssh://git@github.com/acme/tools` and
    `git@github.com:acme/tools` all give `github.com/acme/tools`. Case is folded and ports,
    users and a `.git` suffix are dropped: matching too much only refuses more, matching too
    little would let a revoked repository through under another spelling.
    """
    text = source.strip().lower()
    if text.startswith(_LOCAL_PREFIXES) or text in (".", "..", "~"):
        return "local:" + text.rstrip("/")
    if "://" in text:
        rest = text.partition("://")[2]
        authority, _, path = rest.partition("/")
        host = authority.rpartition("@")[2].partition(":")[0]
    elif compiled(_GITHUB_SHORTHAND).fullmatch(text):
        host, path = "github.com", text
    elif "@" in text and ":" in text:  # scp-like user@host:path
        host, _, path = text.rpartition("@")[2].partition(":")
    else:
        host, path = "", text
    path = path.strip("/").removesuffix(".git").rstrip("/")
    return f"{host}/{path}" if host else path


class Revocation(Record):
    """One entry of the revocation list: what is revoked, why, and who said so."""

    kind: RevocationKind
    value: str
    reason: str
    source: str
    revoked_at: str

    def describe(self) -> str:
        """One line for a refusal message."""
        return (
            f"{self.kind.value} {self.value} was revoked on {self.revoked_at}: "
            f"{self.reason} (source: {self.source})"
        )


_TOP_FIELDS = frozenset({"revocations_version", "entries"})
_ENTRY_FIELDS = frozenset({"kind", "value", "reason", "source", "revoked_at"})


def _exact_object(value: object, expected: frozenset[str], where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise RevocationsError(f"{where}: expected a JSON object")
    missing = sorted(expected - value.keys())
    if missing:
        raise RevocationsError(f"{where}: field {missing[0]!r} is missing")
    unknown = sorted(value.keys() - expected)
    if unknown:
        raise RevocationsError(f"{where}: unknown field {_show(unknown[0], 40)}")
    return value


def _text(value: object, pattern: str, where: str, expected: str) -> str:
    if not isinstance(value, str) or compiled(pattern).fullmatch(value) is None:
        raise RevocationsError(f"{where}: expected {expected}")
    return value


def _revocation(raw: object, where: str) -> Revocation:
    fields = _exact_object(raw, _ENTRY_FIELDS, where)
    kind_text = fields["kind"]
    if not isinstance(kind_text, str) or kind_text not in _VALUE_PATTERNS:
        raise RevocationsError(f"{where}: field 'kind': expected repository, commit or digest")
    kind = RevocationKind(kind_text)
    value = _text(
        fields["value"],
        _VALUE_PATTERNS[kind_text],
        where + ": field 'value'",
        _VALUE_EXPECTED[kind_text],
    )
    revoked_at = _text(
        fields["revoked_at"],
        TIMESTAMP_PATTERN,
        where + ": field 'revoked_at'",
        "YYYY-MM-DDTHH:MM:SSZ",
    )
    try:
        parse_timestamp(revoked_at)
    except ValueError:
        raise RevocationsError(f"{where}: field 'revoked_at': not a real date") from None
    return Revocation(
        kind=kind,
        value=value,
        reason=_text(
            fields["reason"], REASON_PATTERN, where + ": field 'reason'", "1-1024 characters"
        ),
        source=_text(
            fields["source"], REFERENCE_PATTERN, where + ": field 'source'", "1-2048 characters"
        ),
        revoked_at=revoked_at,
    )


def _read_bounded(path: str, max_bytes: int) -> bytes:
    """The revocation list's bytes (lockfile.read_bounded), with the gate's own errors."""
    try:
        return read_bounded(path, max_bytes)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise RevocationsError(f"{path}: larger than the {max_bytes}-byte bound") from exc
        if exc.errno == errno.EINVAL:
            raise RevocationsError(f"{path}: not a regular file") from exc
        raise RevocationsError(f"{path}: cannot read: {exc.strerror}") from exc


class Revocations(Record):
    """A parsed revocation list, indexed for constant-time matching."""

    entries: tuple[Revocation, ...] = ()
    origin: str = "<memory>"
    _index: Mapping[tuple[RevocationKind, str], Revocation] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        index: dict[tuple[RevocationKind, str], Revocation] = {}
        for entry in self.entries:
            key = (
                repository_key(entry.value)
                if entry.kind is RevocationKind.REPOSITORY
                else entry.value
            )
            index.setdefault((entry.kind, key), entry)  # the first entry explains a refusal
        object.__setattr__(self, "_index", MappingProxyType(index))

    @classmethod
    def parse(cls, data: bytes, *, origin: str = "<memory>") -> Revocations:
        """Validate revocation-list bytes strictly; raises RevocationsError."""
        try:
            raw: object = loads_strict(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise RevocationsError(f"{origin}: not valid UTF-8 JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise RevocationsError(f"{origin}: expected a JSON object")
        version = raw.get("revocations_version")
        # Checked first, so a list from a newer skillscan always gets the upgrade message.
        if type(version) is not int:
            raise RevocationsError(
                f"{origin}: field 'revocations_version' missing or not an integer"
            )
        if version > REVOCATIONS_VERSION:
            raise RevocationsError(
                f"{origin}: revocations_version {version} was written by a newer skillscan "
                f"(this one reads version {REVOCATIONS_VERSION}); upgrade skillscan"
            )
        if version != REVOCATIONS_VERSION:
            raise RevocationsError(f"{origin}: unsupported revocations_version {version}")
        top = _exact_object(raw, _TOP_FIELDS, origin)
        items = top["entries"]
        if not isinstance(items, list):
            raise RevocationsError(f"{origin}: field 'entries': expected an array")
        if len(items) > MAX_REVOCATIONS:
            raise RevocationsError(f"{origin}: more than {MAX_REVOCATIONS} entries")
        entries = tuple(
            _revocation(item, f"{origin}: entries[{i}]") for i, item in enumerate(items)
        )
        return cls(entries, origin)

    @classmethod
    def load(cls, path: StrPath) -> Revocations:
        """Read and validate the revocation list at `path`."""
        where = os.fspath(path)
        return cls.parse(_read_bounded(where, MAX_REVOCATIONS_BYTES), origin=where)

    def match(self, entry: LockEntry, digest: str | None = None) -> Revocation | None:
        """The revocation that covers a pinned skill (or content `digest`), if any."""
        index = self._index
        if not index:  # the common case: nothing revoked, nothing to normalise
            return None
        keys = [
            (RevocationKind.DIGEST, entry.digest),
            (RevocationKind.COMMIT, entry.commit),
            (RevocationKind.REPOSITORY, repository_key(entry.source)),
        ]
        if digest is not None:
            keys.insert(0, (RevocationKind.DIGEST, digest))
        for key in keys:
            found = index.get(key)
            if found is not None:
                return found
        return None


def bundled_revocations_path() -> str:
    """The revocation list shipped with skillscan: the wheel's copy, else the checkout's.

    Found like skillscan.signatures.bundled_path (`skillscan/_data/registry` in a wheel,
    `registry/` beside the package in a checkout) without importing it: it needs yaml.
    """
    package = os.path.dirname(os.path.realpath(__file__))
    for folder in (
        os.path.join(package, "_data", "registry"),
        os.path.join(os.path.dirname(package), "registry"),
    ):
        if os.path.isdir(folder):
            return os.path.join(folder, REVOCATIONS_FILE)
    raise RevocationsError(
        "the bundled registry/ folder is missing from this installation; reinstall skillscan"
    )


# --- results --------------------------------------------------------------------------


class LockedSkill(Record):
    """A skill the gate allowed: its lock entry and the digest its content hashed to."""

    name: str
    commit: str
    digest: str
    entry: LockEntry

    def to_json(self) -> dict[str, object]:
        """The decision as `skillscan gate` prints it."""
        return {"allowed": True, "name": self.name, "commit": self.commit, "digest": self.digest}


class LoadedSkill(LockedSkill):
    """An allowed skill's content, from the bytes that were hashed (never a second read).

    `skill_md` is SKILL.md as text; `files` maps every other regular file's relative path
    to its bytes; `executable` names the files with an executable bit; `symlinks` maps each
    symlink to its target text (the gate never follows one).
    """

    # Left out of repr: a logged LoadedSkill must not dump a whole skill into the log.
    skill_md: str = field(repr=False)
    files: Mapping[str, bytes] = field(repr=False)
    executable: frozenset[str] = field(repr=False)
    symlinks: Mapping[str, str] = field(repr=False)


# --- the gate -------------------------------------------------------------------------


class _ClassOrInstance:
    """`Gate.load(lockfile)` builds a gate; `gate.load(skill_dir)` loads a skill (DESIGN §4.6)."""

    if TYPE_CHECKING:

        @overload
        def __get__(self, gate: None, owner: type[Gate]) -> _GateFactory: ...

        @overload
        def __get__(self, gate: Gate, owner: type[Gate] | None = None) -> _SkillLoader: ...

    def __get__(
        self, gate: Gate | None, owner: type[Gate] | None = None
    ) -> _GateFactory | _SkillLoader:
        if gate is None:
            return (owner or Gate)._open
        return gate._load_skill


def _lockfile_refusal(exc: Exception, where: str) -> SkillRefused:
    if isinstance(exc, LockfileError):
        text = exc.message + (f"; {exc.hint}" if exc.hint else "")
    else:
        text = f"{where}: cannot be read ({type(exc).__name__}: {exc})"
    return SkillRefused(
        Reason.LOCKFILE_INVALID, f"{text}; every skill is refused until it is fixed"
    )


class Gate(Record):
    """A lockfile and a revocation list, read once; checks and loads skill folders.

    Build it with `Gate.load(lockfile, revocations=None)`. It is immutable and safe to share
    between threads; load a new one to see a changed lockfile.
    """

    lockfile: Lockfile
    revocations: Revocations  # no default: a gate without the revocation list is built on purpose
    origin: str = "skills.lock"

    load = _ClassOrInstance()

    @classmethod
    def _open(cls, lockfile: StrPath, *, revocations: StrPath | None = None) -> Gate:
        """`Gate.load`: parse the lockfile and the revocation list (bundled unless given)."""
        where = str(lockfile) if isinstance(lockfile, str | os.PathLike) else repr(lockfile)
        try:
            lock = load_lockfile(lockfile)
        except Exception as exc:  # any doubt refuses: a lockfile that cannot be read allows nothing
            raise _lockfile_refusal(exc, where) from exc
        try:
            path = bundled_revocations_path() if revocations is None else revocations
            revoked = Revocations.load(path)
        except Exception as exc:
            problem = exc.message if isinstance(exc, RevocationsError) else repr(exc)
            raise SkillRefused(
                Reason.LOCKFILE_INVALID,
                f"the revocation list cannot be used ({problem}); every skill is refused until it "
                "is fixed or reinstalled",
            ) from exc
        return cls(lock, revoked, origin=where)

    def check(self, skill_dir: StrPath) -> LockedSkill:
        """The lock entry of the skill at `skill_dir` (`<install-dir>/<name>`), or SkillRefused."""
        return self._verify(skill_dir, keep_all=False)[0]

    def _load_skill(self, skill_dir: StrPath) -> LoadedSkill:
        """Check the skill and return its content from the same bytes it hashed."""
        locked, snapshot, skill_md = self._verify(skill_dir, keep_all=True)
        files = {p: data for p, data in snapshot.files.items() if p != SKILL_MD}
        return LoadedSkill(
            name=locked.name,
            commit=locked.commit,
            digest=locked.digest,
            entry=locked.entry,
            skill_md=skill_md,
            files=MappingProxyType(files),
            executable=frozenset(e.path for e in snapshot.entries if e.executable),
            symlinks=snapshot.symlinks,
        )

    def _verify(self, skill_dir: StrPath, *, keep_all: bool) -> tuple[LockedSkill, Snapshot, str]:
        # `check` keeps only SKILL.md's bytes (the rest is hashed through one buffer, much
        # faster for large skills); `load` keeps every byte it hashed, to hand them over.
        try:
            return self._verify_unguarded(skill_dir, keep_all)
        except SkillRefused:
            raise
        except Exception as exc:  # any doubt refuses; never let a surprise through as a crash
            raise SkillRefused(
                Reason.UNREADABLE,
                f"{_show(str(skill_dir))}: unexpected error ({type(exc).__name__}: "
                f"{_show(str(exc), 200)}); refused",
            ) from exc

    def _verify_unguarded(
        self, skill_dir: StrPath, keep_all: bool
    ) -> tuple[LockedSkill, Snapshot, str]:
        path = os.fspath(skill_dir)
        # The folder's own name is the lock key, compared exactly: lock names are lowercase,
        # so `PDF/` is not `pdf/`, and a case-only rename is refused, not guessed at.
        name = _folder_name(path)
        entry = self.lockfile.skills.get(name)
        if entry is None:
            raise SkillRefused(Reason.NOT_LOCKED, self._not_locked(name, path))
        # Decided from the lockfile alone, before any byte of an unapproved skill is read.
        revoked = self.revocations.match(entry)
        if revoked is not None:
            raise SkillRefused(Reason.REVOKED, f"skill {name!r} is revoked: {revoked.describe()}")
        status = entry.review.status
        if status is ReviewStatus.REJECTED:
            raise SkillRefused(
                Reason.REJECTED,
                f"skill {name!r} ({_ref(entry)}) was rejected by "
                f"{entry.review.by}; remove it from {_show(os.path.dirname(path) or '.')}",
            )
        if status is not ReviewStatus.APPROVED:
            raise SkillRefused(
                Reason.NOT_REVIEWED,
                f"skill {name!r} ({_ref(entry)}) is pinned but its review is "
                f"{status.value}; approve it with: skillscan review {name} --approve",
            )
        snapshot = self._read(path, name, keep_all)
        if snapshot.digest != entry.digest:
            revoked = self.revocations.match(entry, snapshot.digest)
            if revoked is not None:
                raise SkillRefused(
                    Reason.REVOKED, f"skill {name!r} holds revoked content: {revoked.describe()}"
                )
            raise SkillRefused(
                Reason.DIGEST_MISMATCH,
                f"skill {name!r} changed since it was reviewed: its content hashes to "
                f"{snapshot.digest}, the lockfile pins {entry.digest}; reinstall {_ref(entry)}, "
                f"or pin the new content with: skillscan update {name}@<commit>",
            )
        data = snapshot.files.get(SKILL_MD)
        if data is None:
            raise SkillRefused(
                Reason.UNREADABLE,
                f"skill {name!r} has no regular file named exactly {SKILL_MD} "
                "(names are case-sensitive; a symlink is never followed)",
            )
        try:
            skill_md = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SkillRefused(
                Reason.UNREADABLE, f"skill {name!r}: {SKILL_MD} is not UTF-8 text ({exc.reason})"
            ) from None
        return LockedSkill(name, entry.commit, snapshot.digest, entry), snapshot, skill_md

    def _read(self, path: str, name: str, keep_all: bool) -> Snapshot:
        # lstat only words the refusal; read_tree opens the folder with O_NOFOLLOW itself, so a
        # folder swapped for a symlink after this lstat is refused all the same.
        try:
            mode = os.lstat(path).st_mode
        except OSError as exc:
            raise SkillRefused(
                Reason.UNREADABLE, f"skill {name!r}: cannot read {_show(str(path))}: {exc.strerror}"
            ) from exc
        if stat.S_ISLNK(mode):
            raise SkillRefused(
                Reason.UNREADABLE,
                f"skill {name!r}: {_show(str(path))} is a symlink, which the gate never follows; "
                "install a real copy of the skill there",
            )
        if not stat.S_ISDIR(mode):
            raise SkillRefused(
                Reason.UNREADABLE, f"skill {name!r}: {_show(str(path))} is not a folder"
            )
        try:
            return read_tree(path, keep=None if keep_all else _is_skill_md)
        except DigestError as exc:
            raise SkillRefused(Reason.UNREADABLE, f"skill {name!r}: {exc.message}") from exc

    def _not_locked(self, name: str, path: str) -> str:
        text = f"{_show(name)} ({_show(str(path))}) is not in {self.origin}"
        folded = name.lower()
        if folded != name and folded in self.lockfile.skills:
            text += f"; the lockfile pins {folded!r} and names are compared exactly"
        return text + "; pin it with skillscan add, or remove it from the skills folder"


def _folder_name(path: str) -> str:
    """The last component of a folder path as pathlib names it: `skills/pdf/` and
    `skills/pdf/.` are `pdf`; `..` stays `..` (never resolved, so never a lock name)."""
    parts = [part for part in path.split(os.sep) if part not in ("", ".")]
    return parts[-1] if parts else ""


def _is_skill_md(path: str) -> bool:
    return path == SKILL_MD


def gate_decision(
    skill_dir: StrPath, lockfile: StrPath, *, revocations: StrPath | None = None
) -> tuple[ExitCode, dict[str, object]]:
    """The decision `skillscan gate DIR` prints: (exit code, JSON object).

    0 `{"allowed": true, "name", "commit", "digest"}`; 1 `{"allowed": false, "reason",
    "message"}`; 2 with the same refusal object when the reason is `lockfile-invalid`.
    """
    try:
        locked = Gate.load(lockfile, revocations=revocations).check(skill_dir)
    except SkillRefused as refusal:
        return refusal.exit_code, refusal.to_json()
    return ExitCode.OK, locked.to_json()
