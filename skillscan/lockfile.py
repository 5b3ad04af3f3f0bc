"""Read, validate and write skills.lock (DESIGN §4.4): strict, deterministic, atomic, locked.

Standard library only (besides skillscan.model and skillscan.errors): the runtime gate reads
lockfiles. The format is specified in docs/lockfile.md and registry/skills-lock.schema.json;
the patterns below are the schema's, character for character (a test compares them).

A lockfile is attacker-controlled input (it arrives in pull requests), so reading is strict:
every field is required, unknown fields and duplicate JSON keys are refused, sizes are
bounded, and a file that does not validate is never rewritten.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import functools
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType

from skillscan.errors import InputError, InternalError
from skillscan.model import Record, Severity, Verdict, field, field_names

# typing.TYPE_CHECKING, spelled out: the runtime gate imports this module, and `typing` and
# `pathlib` are over its import budget (docs/gate.md). Writers import pathlib when called.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from datetime import UTC, datetime
    from pathlib import Path
    from typing import TypeVar

    _E = TypeVar("_E", bound=enum.Enum)
else:
    # The C datetime types themselves (`datetime.datetime is _datetime.datetime`), without
    # executing datetime.py, whose pure-Python fallback costs ~3 ms of the gate's budget.
    try:
        from _datetime import datetime, timezone
    except ImportError:  # an interpreter without the C module
        from datetime import datetime, timezone
    UTC = timezone.utc  # noqa: UP017 - datetime.UTC would import datetime.py

LOCKFILE_VERSION = 1
MAX_LOCKFILE_BYTES = 16 * 1024 * 1024
LOCK_TIMEOUT = 30.0  # seconds to wait for another skillscan to finish its edit
MAX_COUNT = 1_000_000_000
MAX_ACKNOWLEDGED = 10_000

# ECMA-262 and Python `re` read these patterns alike; they are used with fullmatch here.
# A control character (C0, DEL, C1) is refused in every text field: it could hide or
# rewrite what a reviewer sees in a terminal.
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
SOURCE_PATTERN = r"^(?!-)[^\u0000-\u001f\u007f-\u009f]{1,2048}$"
COMMIT_PATTERN = r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$"
SUBPATH_PATTERN = (
    r"^(?=[^\u0000]{0,1024}$)(?:(?!\.\.?(?:/|$))[^/\\\u0000-\u001f\u007f-\u009f]+(?:/(?!$)|$))*$"
)
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
SIGNATURES_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$"
REVIEWER_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]{1,256}$"
NOTE_PATTERN = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]{0,4096}$"
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
FINGERPRINT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}:[0-9a-f]{16}$"


@functools.cache
def compiled(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled on first use, not at import: compiling this module's patterns
    costs several milliseconds, which the gate pays only when it reads a lockfile."""
    return re.compile(pattern)


_DEFAULT_HINT = (
    "fix the file or restore it from version control; "
    "skillscan never rewrites a lockfile it cannot read"
)


# --- errors ---------------------------------------------------------------------------


class LockfileError(InputError):
    """A lockfile is missing, unreadable or invalid; names the file, skill and field."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        entry: str | None = None,
        field: str | None = None,
        hint: str | None = _DEFAULT_HINT,
    ) -> None:
        where = [file or "lockfile data"]
        if entry is not None:
            where.append(f"skill {entry!r}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(": ".join([*where, problem]), hint=hint)
        self.problem = problem
        self.file = file
        self.entry = entry
        self.field = field

    def located(
        self, *, file: str | None = None, entry: str | None = None, hint: str | None = None
    ) -> LockfileError:
        """The same error, placed in a file and (optionally) under a skill entry."""
        return type(self)(
            self.problem,
            file=file or self.file,
            entry=entry if entry is not None else self.entry,
            field=self.field,
            hint=hint or self.hint,
        )


class LockfileVersionError(LockfileError):
    """The lockfile was written by a newer skillscan; it is neither read nor rewritten."""


class LockfileMissingError(LockfileError):
    """There is no lockfile at the given path."""


class LockfileBusyError(InternalError):
    """Another process held the lockfile's lock for longer than the timeout."""


def _bad(problem: str, field: str) -> LockfileError:
    return LockfileError(problem, field=field, hint=None)


def _match(pattern: str, value: object, field: str, expected: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"expected a string ({expected}), got {_json_type(value)}", field)
    if compiled(pattern).fullmatch(value) is None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise _bad(f"expected {expected}, got {shown!r}", field)
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_name(name: object) -> str:
    """A valid skill name (the key of an entry, also its install folder name)."""
    return _match(
        NAME_PATTERN,
        name,
        "name",
        "1-64 characters of a-z, 0-9, '.', '_', '-', starting alphanumeric",
    )


# --- the model ------------------------------------------------------------------------


class ReviewStatus(enum.Enum):
    """Where a skill stands with its human reviewer."""

    APPROVED = "approved"
    PENDING = "pending"
    REJECTED = "rejected"


_SEVERITY_FIELDS = tuple(s.value for s in Severity)


class FindingCounts(Record):
    """How many findings of each severity the pinned scan reported."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0

    def __post_init__(self) -> None:
        for name in _SEVERITY_FIELDS:
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= MAX_COUNT:
                raise _bad(f"expected an integer from 0 to {MAX_COUNT}", f"findings.{name}")

    @classmethod
    def from_severities(cls, severities: Iterable[Severity]) -> FindingCounts:
        """Count findings by severity."""
        counts = dict.fromkeys(_SEVERITY_FIELDS, 0)
        for severity in severities:
            counts[severity.value] += 1
        return cls(**counts)

    def count(self, severity: Severity) -> int:
        """The number of findings of one severity."""
        value: int = getattr(self, severity.value)
        return value


def _format_time(at: datetime) -> str:
    # isoformat pads the year to four digits (strftime("%Y") does not on every libc).
    return at.isoformat().replace("+00:00", "Z")


class Review(Record):
    """A reviewer's decision. Pending reviews have no `by` and no `at`; decided ones both.

    `at` is kept in UTC to the second (it is normalised on construction);
    `acknowledged` is kept sorted and without duplicates.
    """

    status: ReviewStatus
    by: str | None = None
    at: datetime | None = None
    note: str = ""
    acknowledged: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.status, ReviewStatus):
            raise _bad("expected a ReviewStatus", "review.status")
        if self.status is ReviewStatus.PENDING:
            if self.by is not None or self.at is not None:
                raise _bad("a pending review has no reviewer and no time (use null)", "review.by")
        else:
            if self.by is None or self.at is None:
                raise _bad(
                    f"an {self.status.value} review needs a reviewer and a time", "review.by"
                )
            _match(
                REVIEWER_PATTERN,
                self.by,
                "review.by",
                "1-256 characters without control characters",
            )
            if not isinstance(self.at, datetime) or self.at.utcoffset() is None:
                raise _bad("expected a timezone-aware datetime", "review.at")
            object.__setattr__(self, "at", self.at.astimezone(UTC).replace(microsecond=0))
        _match(
            NOTE_PATTERN,
            self.note,
            "review.note",
            "up to 4096 characters without control characters",
        )
        if not isinstance(self.acknowledged, tuple | list):
            raise _bad("expected a sequence of fingerprints", "review.acknowledged")
        if len(self.acknowledged) > MAX_ACKNOWLEDGED:
            raise _bad(f"more than {MAX_ACKNOWLEDGED} fingerprints", "review.acknowledged")
        for fingerprint in self.acknowledged:
            _match(FINGERPRINT_PATTERN, fingerprint, "review.acknowledged", "a finding fingerprint")
        object.__setattr__(self, "acknowledged", tuple(sorted(set(self.acknowledged))))

    @classmethod
    def pending(cls, note: str = "", acknowledged: Iterable[str] = ()) -> Review:
        """A review still to be done."""
        return cls(ReviewStatus.PENDING, note=note, acknowledged=tuple(acknowledged))

    def to_json(self) -> dict[str, object]:
        """The review as written to the lockfile."""
        return {
            "status": self.status.value,
            "by": self.by,
            "at": None if self.at is None else _format_time(self.at),
            "note": self.note,
            "acknowledged": list(self.acknowledged),
        }


class LockEntry(Record):
    """One pinned skill: where it came from, what it hashed to, how it scanned and was reviewed."""

    source: str
    commit: str
    path: str
    digest: str
    signatures: str
    verdict: Verdict
    findings: FindingCounts
    review: Review

    def __post_init__(self) -> None:
        _match(
            SOURCE_PATTERN, self.source, "source", "a repository (owner/repo, URL or local path)"
        )
        _match(
            COMMIT_PATTERN, self.commit, "commit", "a full 40- or 64-character lowercase hex commit"
        )
        _match(
            SUBPATH_PATTERN, self.path, "path", "'' or a relative POSIX path without '.' or '..'"
        )
        _match(DIGEST_PATTERN, self.digest, "digest", "'sha256:' and 64 lowercase hex digits")
        _match(SIGNATURES_PATTERN, self.signatures, "signatures", "a signature bundle version")
        if not isinstance(self.verdict, Verdict):
            raise _bad("expected a Verdict", "verdict")
        if not isinstance(self.findings, FindingCounts):
            raise _bad("expected FindingCounts", "findings")
        if not isinstance(self.review, Review):
            raise _bad("expected a Review", "review")

    def to_json(self) -> dict[str, object]:
        """The entry as written to the lockfile."""
        return {
            "source": self.source,
            "commit": self.commit,
            "path": self.path,
            "digest": self.digest,
            "signatures": self.signatures,
            "verdict": self.verdict.value,
            "findings": {name: getattr(self.findings, name) for name in _SEVERITY_FIELDS},
            "review": self.review.to_json(),
        }


class Lockfile(Record):
    """The whole lockfile: skill name → entry, kept sorted by name and read-only."""

    skills: Mapping[str, LockEntry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, entry in self.skills.items():
            try:
                check_name(name)
                if not isinstance(entry, LockEntry):
                    raise _bad("expected a LockEntry", "entry")
            except LockfileError as exc:
                raise exc.located(entry=str(name)) from None
        frozen = MappingProxyType(dict(sorted(self.skills.items())))
        object.__setattr__(self, "skills", frozen)

    def get(self, name: str) -> LockEntry | None:
        """The entry of one skill, if pinned."""
        return self.skills.get(name)

    def with_entry(self, name: str, entry: LockEntry) -> Lockfile:
        """A copy with `name` added or replaced."""
        return Lockfile({**self.skills, name: entry})

    def without(self, name: str) -> Lockfile:
        """A copy with `name` removed (unchanged when it was absent)."""
        return Lockfile({k: v for k, v in self.skills.items() if k != name})


# --- reading --------------------------------------------------------------------------

_TOP_FIELDS = frozenset({"lockfile_version", "skills"})
_ENTRY_FIELDS = frozenset(field_names(LockEntry))
_REVIEW_FIELDS = frozenset(field_names(Review))


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json keeps the last of duplicate keys silently; a reviewer reading a diff may see the
    # first. Refuse instead, so what is reviewed is what is enforced.
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not allowed")


def loads_strict(text: str) -> object:
    """JSON that refuses duplicate keys and NaN/Infinity (ValueError, RecursionError).

    Shared with the gate's revocation list: every JSON file skillscan enforces is read so."""
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def _object(value: object, field: str | None, expected: frozenset[str]) -> dict[str, object]:
    """A JSON object holding exactly the `expected` keys."""
    label = field or "entry"
    if not isinstance(value, dict):
        raise _bad(f"expected an object, got {_json_type(value)}", label)
    missing = sorted(expected - value.keys())
    if missing:
        where = f"{field}.{missing[0]}" if field else missing[0]
        raise _bad("missing", where)
    unknown = sorted(value.keys() - expected)
    if unknown:
        where = f"{field}.{unknown[0]}" if field else unknown[0]
        raise _bad("unknown field (refused: a v1 lockfile has no such field)", where)
    return value


def _choice(kind: type[_E], value: object, field: str) -> _E:
    """The member of a string enum that `value` names."""
    if isinstance(value, str) and any(value == member.value for member in kind):
        return kind(value)
    names = ", ".join(repr(member.value) for member in kind)
    shown = repr(value[:40]) if isinstance(value, str) else _json_type(value)
    raise _bad(f"expected one of {names}, got {shown}", field)


def parse_timestamp(text: str) -> datetime:
    """A time already matched against TIMESTAMP_PATTERN as an aware UTC datetime.

    Raises ValueError when it is not a real date and time (`2025-02-30T00:00:00Z`)."""
    return datetime.fromisoformat(text)


def _parse_time(value: object) -> datetime | None:
    if value is None:
        return None
    text = _match(
        TIMESTAMP_PATTERN, value, "review.at", "an ISO-8601 UTC time like 2025-01-31T12:00:00Z"
    )
    try:
        return parse_timestamp(text)
    except ValueError:
        raise _bad(f"not a real date and time: {text!r}", "review.at") from None


def _review_from_json(value: object) -> Review:
    raw = _object(value, "review", _REVIEW_FIELDS)
    by = raw["by"]
    if by is not None and not isinstance(by, str):
        raise _bad(f"expected a string or null, got {_json_type(by)}", "review.by")
    acknowledged = raw["acknowledged"]
    if not isinstance(acknowledged, list):
        raise _bad(f"expected an array, got {_json_type(acknowledged)}", "review.acknowledged")
    return Review(
        status=_choice(ReviewStatus, raw["status"], "review.status"),
        by=by,
        at=_parse_time(raw["at"]),
        note=_string(raw["note"], "review.note"),
        acknowledged=tuple(acknowledged),
    )


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"expected a string, got {_json_type(value)}", field)
    return value


def _count(value: object, field: str) -> int:
    if type(value) is not int:
        raise _bad(f"expected an integer from 0 to {MAX_COUNT}", field)
    return value


def _entry_from_json(value: object) -> LockEntry:
    raw = _object(value, None, _ENTRY_FIELDS)
    counts = _object(raw["findings"], "findings", frozenset(_SEVERITY_FIELDS))
    # Types are checked here, values (patterns, ranges) by the records themselves.
    return LockEntry(
        source=_string(raw["source"], "source"),
        commit=_string(raw["commit"], "commit"),
        path=_string(raw["path"], "path"),
        digest=_string(raw["digest"], "digest"),
        signatures=_string(raw["signatures"], "signatures"),
        verdict=_choice(Verdict, raw["verdict"], "verdict"),
        findings=FindingCounts(**{k: _count(v, f"findings.{k}") for k, v in counts.items()}),
        review=_review_from_json(raw["review"]),
    )


def parse(data: bytes, *, file: str = "skills.lock") -> Lockfile:
    """Validate lockfile bytes. Raises LockfileError (LockfileVersionError when newer)."""
    if len(data) > MAX_LOCKFILE_BYTES:
        raise LockfileError(f"larger than {MAX_LOCKFILE_BYTES} bytes; refused", file=file)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LockfileError(f"not UTF-8 text (bad byte at offset {exc.start})", file=file) from None
    try:
        raw: object = loads_strict(text)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise LockfileError(problem, file=file) from None
    except (ValueError, RecursionError) as exc:
        raise LockfileError(f"not valid JSON: {exc}", file=file) from None
    if not isinstance(raw, dict):
        raise LockfileError(f"expected a JSON object, got {_json_type(raw)}", file=file)
    version = raw.get("lockfile_version")
    if type(version) is not int:
        # Checked before anything else, so a newer file always gets the upgrade message.
        problem = (
            f"expected an integer, got {_json_type(version)}"
            if "lockfile_version" in raw
            else "missing"
        )
        raise LockfileError(problem, file=file, field="lockfile_version")
    if version > LOCKFILE_VERSION:
        raise LockfileVersionError(
            f"lockfile_version {version} was written by a newer skillscan "
            f"(this one reads version {LOCKFILE_VERSION})",
            file=file,
            hint="upgrade skillscan (pip install -U skillscan-registry); the file was not changed",
        )
    if version != LOCKFILE_VERSION:
        raise LockfileError(f"unsupported version {version}", file=file, field="lockfile_version")
    try:
        top = _object(raw, None, _TOP_FIELDS)
    except LockfileError as exc:
        raise exc.located(file=file, hint=_DEFAULT_HINT) from None
    skills = top["skills"]
    if not isinstance(skills, dict):
        problem = f"expected an object, got {_json_type(skills)}"
        raise LockfileError(problem, file=file, field="skills")
    entries: dict[str, LockEntry] = {}
    for name, value in skills.items():
        try:
            check_name(name)
            entries[name] = _entry_from_json(value)
        except LockfileError as exc:
            raise exc.located(file=file, entry=name, hint=_DEFAULT_HINT) from None
    return Lockfile(entries)


def read_bounded(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """A regular file's bytes, refused past `max_bytes` (checked before and while reading).

    Never blocks on a fifo planted at the path (O_NONBLOCK, then fstat refuses it). Raises
    OSError: FileNotFoundError, EINVAL for anything but a regular file, EFBIG past the bound.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > max_bytes:
            raise OSError(errno.EFBIG, f"{info.st_size} bytes, over the {max_bytes}-byte bound")
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:  # it grew while being read
        raise OSError(errno.EFBIG, f"over the {max_bytes}-byte bound")
    return data


def _read_bytes(path: str | os.PathLike[str], max_bytes: int) -> bytes | None:
    """The lockfile's bytes, or None when it does not exist."""
    try:
        return read_bounded(path, max_bytes)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            problem = f"larger than the {max_bytes}-byte bound; refused ({exc.strerror})"
        elif exc.errno == errno.EINVAL:
            problem = "not a regular file"
        else:
            problem = f"cannot read: {exc.strerror}"
        raise LockfileError(problem, file=str(path), hint=None) from exc


def load(path: str | os.PathLike[str]) -> Lockfile:
    """Read and validate the lockfile at `path`; a missing file is an error."""
    data = _read_bytes(path, MAX_LOCKFILE_BYTES)
    if data is None:
        raise LockfileMissingError(
            "no such lockfile",
            file=str(path),
            hint="pin a skill first: skillscan add SOURCE@COMMIT",
        )
    return parse(data, file=str(path))


# --- writing --------------------------------------------------------------------------


def serialize(lockfile: Lockfile) -> bytes:
    """The canonical bytes of a lockfile: sorted keys, 2-space indent, trailing newline.

    Non-ASCII text is written as \\u escapes, so a bidi override or a look-alike letter
    in a note shows up in a pull-request diff instead of being rendered.
    """
    document = {
        "lockfile_version": LOCKFILE_VERSION,
        "skills": {name: entry.to_json() for name, entry in lockfile.skills.items()},
    }
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode()


class LockfileDraft:
    """The mutable working copy `edit` hands out: change `skills`, the rest is written."""

    def __init__(self, original: Lockfile, skills: dict[str, LockEntry]) -> None:
        self.original = original
        self.skills = skills

    def lockfile(self) -> Lockfile:
        """The draft, validated."""
        return Lockfile(dict(self.skills))


def lock_path(path: Path) -> Path:
    """The sidecar file whose flock serialises writers (`skills.lock.lock`)."""
    return path.with_name(path.name + ".lock")


def _exclusive(path: Path, timeout: float) -> Iterator[None]:
    # A sidecar, not the lockfile itself: the lockfile is replaced by rename, and a lock
    # on a replaced inode would no longer exclude anyone. The sidecar is never deleted
    # (deleting it would let two writers hold locks on two different files).
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise LockfileError(
            f"cannot open the lock file: {exc.strerror}", file=str(path), hint=None
        ) from exc
    try:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockfileBusyError(
                        f"{path}: another skillscan has held the lock for over {timeout:g} s",
                        hint="wait for it to finish; the lock is released when it exits",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _remove_stale_temp_files(path: Path) -> None:
    """Delete temp files a killed writer left behind.

    Only a lock holder creates them, so under the lock every one of them is stale.
    """
    import contextlib

    pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")
    with contextlib.suppress(OSError), os.scandir(path.parent) as it:
        for entry in it:
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                path.with_name(entry.name).unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data` so a crash at any point leaves the old or the new file."""
    import contextlib
    import tempfile

    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = type(path)(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # the bytes are on disk before the name points at them
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    # Make the rename itself durable.
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def edit(path: Path, *, timeout: float = LOCK_TIMEOUT) -> AbstractContextManager[LockfileDraft]:
    """Change the lockfile under an exclusive lock: read, let the caller edit, write.

    The file is re-read inside the lock, so concurrent edits never lose an update. A
    missing file starts empty; an invalid or newer file raises and is left untouched.
    If the block raises, nothing is written; if nothing changed, nothing is written.
    """
    # Writers import what only they need (contextlib, pathlib, tempfile) when called: the
    # runtime gate imports this module to read, and those are over its budget (docs/gate.md).
    import contextlib

    return contextlib.contextmanager(_edit)(path, timeout)


def _edit(path: Path, timeout: float) -> Iterator[LockfileDraft]:
    import contextlib
    from pathlib import Path

    path = Path(path)
    where = str(path)
    with contextlib.contextmanager(_exclusive)(lock_path(path), timeout):
        _remove_stale_temp_files(path)
        if path.is_symlink():
            # os.replace would swap the link for a file, or write wherever it points.
            raise LockfileError(
                "is a symlink; skillscan writes only a regular file",
                file=where,
                hint="point --lockfile at the real file",
            )
        data = _read_bytes(path, MAX_LOCKFILE_BYTES)
        current = Lockfile() if data is None else parse(data, file=where)
        draft = LockfileDraft(original=current, skills=dict(current.skills))
        yield draft
        try:
            result = draft.lockfile()
        except LockfileError as exc:
            raise exc.located(file=where) from None
        if data is None and not result.skills:
            return
        out = serialize(result)
        if out == data:
            return
        try:
            mode = stat.S_IMODE(path.stat().st_mode) if data is not None else 0o644
            _write_atomic(path, out, mode)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                problem = "cannot write: no space left on the device; the file was not changed"
            else:
                problem = f"cannot write: {exc.strerror}; the file was not changed"
            raise LockfileError(problem, file=where, hint=None) from exc


def update(
    path: Path, change: Callable[[Lockfile], Lockfile], *, timeout: float = LOCK_TIMEOUT
) -> Lockfile:
    """Apply `change` (old lockfile → new lockfile) under the lock; return the new one."""
    with edit(path, timeout=timeout) as draft:
        result = change(draft.original)
        draft.skills = dict(result.skills)
    return result
