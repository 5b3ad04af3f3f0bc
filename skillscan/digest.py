"""The content digest of a skill folder (DESIGN §4.5), shared by the lockfile and the gate.

Standard library only: the runtime gate imports this module. The exact byte format is
specified in docs/digest.md; change it only together with `FORMAT_HEADER`.

    sha256:<hex>  = sha256( b"skillscan-digest-v1\\n" + record + record + ... )
    record        = <type> " " <x> " " <sha256 of content> " " <len(path)> " " <path> "\\n"

`type` is `file` or `symlink`; `x` is `1` for a file with any executable bit, else `0`
(always `0` for a symlink); a symlink's content is its target text, never what it points
at; `len(path)` is the decimal byte length of the UTF-8 path, so a path holding a newline
or a space cannot be confused with the next field or record. Records are sorted by the
UTF-8 bytes of the path. Folders are implied by the paths: an empty folder changes nothing.
"""

from __future__ import annotations

import enum
import errno
import hashlib
import itertools
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from skillscan.errors import InputError
from skillscan.model import Record

DIGEST_PREFIX = "sha256:"
FORMAT_HEADER = b"skillscan-digest-v1\n"

# Bounds of one walk. They are at least as generous as the scanner's (skill.Limits), so
# anything that can be scanned can be pinned; past them the digest fails rather than
# reading on. MAX_ENTRIES counts folders too, so a tree of empty folders stays bounded.
MAX_ENTRIES = 10_000
MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64  # also bounds how many folder descriptors are open at once

# O_NOFOLLOW: a name swapped for a symlink after listing fails instead of being followed.
# O_NONBLOCK: a name swapped for a fifo cannot block the open; fstat then refuses it.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_HEX = frozenset("0123456789abcdef")


class DigestError(InputError):
    """A folder (or list of entries) cannot be digested; `path` names the offending entry."""

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class EntryType(enum.Enum):
    """What a digested entry is. Folders are implied by paths; nothing else is allowed."""

    FILE = "file"
    SYMLINK = "symlink"


def is_git_name(name: str) -> bool:
    """Is a path component git metadata (`.git` in any letter case)?

    Git itself refuses to store such a name in a tree, so skill content never has one;
    case-insensitively, because `.GIT` is `.git` on macOS and Windows file systems.
    """
    return len(name) == 4 and name.lower() == ".git"


class DigestEntry(Record):
    """One regular file or symlink of a skill, as it enters the digest.

    `path` is relative POSIX (`scripts/run.sh`) and valid UTF-8; `content_sha256` is the
    lowercase hex sha256 of the file's bytes, or of a symlink's target text.
    """

    path: str
    kind: EntryType
    executable: bool
    content_sha256: str

    def __post_init__(self) -> None:
        _check_path(self.path)
        if self.kind is EntryType.SYMLINK and self.executable:
            # Link permissions mean nothing (0777 on Linux, settable on macOS): never hashed.
            raise DigestError(f"symlink {self.path!r} cannot be executable", path=self.path)
        sha = self.content_sha256
        if len(sha) != 64 or not _HEX.issuperset(sha):
            raise DigestError(
                f"{self.path!r}: content_sha256 must be 64 lowercase hex digits", path=self.path
            )

    @classmethod
    def for_file(cls, path: str, data: bytes, *, executable: bool = False) -> DigestEntry:
        """The entry of a regular file holding `data`."""
        return cls(path, EntryType.FILE, executable, hashlib.sha256(data).hexdigest())

    @classmethod
    def for_symlink(cls, path: str, target: str | bytes) -> DigestEntry:
        """The entry of a symlink whose target text is `target` (never resolved)."""
        # As os.fsencode does on POSIX, but the same on every platform.
        raw = target.encode("utf-8", "surrogateescape") if isinstance(target, str) else target
        return cls(path, EntryType.SYMLINK, False, hashlib.sha256(raw).hexdigest())

    def record(self) -> bytes:
        """This entry's line of the canonical listing."""
        path = self.path.encode("utf-8")
        kind = self.kind.value
        x = "1" if self.executable else "0"
        return f"{kind} {x} {self.content_sha256} {len(path)} ".encode("ascii") + path + b"\n"


def _check_path(path: str) -> None:
    """Refuse a path that could not name one entry of a real tree the same way on every OS."""
    if not path or path.startswith("/") or "\0" in path:
        raise DigestError(f"{path!r} is not a relative path", path=path)
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        # A file name that is not UTF-8 (surrogate-escaped by Python) cannot exist on
        # macOS or Windows, so it cannot have the same digest everywhere: refuse it.
        raise DigestError(
            f"{path!r} is not valid UTF-8; such a name cannot be pinned",
            path=path,
            hint="rename the file to a UTF-8 name",
        ) from None
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise DigestError(f"{path!r} is not a normalised relative path", path=path)
        if is_git_name(part):
            raise DigestError(
                f"{path!r} is git metadata, which is never part of a skill's content",
                path=path,
                hint="digest an export or a clean copy of the skill, without its .git",
            )


def _sort_key(entry: DigestEntry) -> bytes:
    return entry.path.encode("utf-8")


def digest_entries(entries: Iterable[DigestEntry]) -> str:
    """The digest of a set of entries, in any order: `sha256:` + 64 hex digits.

    Raises DigestError for a duplicate path, or for a path that is also used as a folder
    (`a` and `a/b`): such a listing describes no real tree.
    """
    ordered = sorted(entries, key=_sort_key)
    for before, after in itertools.pairwise(ordered):
        if before.path == after.path:
            raise DigestError(f"{after.path!r} is listed twice", path=after.path)
    paths = {e.path for e in ordered}
    for entry in ordered:
        parent = entry.path.rpartition("/")[0]
        while parent:
            if parent in paths:
                raise DigestError(f"{parent!r} is both a file and a folder", path=parent)
            parent = parent.rpartition("/")[0]
    h = hashlib.sha256(FORMAT_HEADER)
    for entry in ordered:
        h.update(entry.record())
    return DIGEST_PREFIX + h.hexdigest()


def is_digest(value: str) -> bool:
    """Is `value` shaped like a digest this module produces?"""
    hexpart = value[len(DIGEST_PREFIX) :]
    return value.startswith(DIGEST_PREFIX) and len(hexpart) == 64 and _HEX.issuperset(hexpart)


class Snapshot(Record):
    """A folder read once: its digest and the very bytes that were hashed.

    `files` maps each regular file's relative path to its content, `symlinks` each
    symlink's path to its target text. Use these, never a second read from disk.
    """

    digest: str
    entries: tuple[DigestEntry, ...]
    files: Mapping[str, bytes]
    symlinks: Mapping[str, str]


def read_tree(
    root: str | os.PathLike[str],
    *,
    max_entries: int = MAX_ENTRIES,
    max_bytes: int = MAX_BYTES,
    exclude_git: bool = False,
    keep: Callable[[str], bool] | None = None,
) -> Snapshot:
    """Walk `root` once, never following a symlink, and return its digest and content.

    `root` itself must be a real folder (a symlink to one is refused: the caller decides
    whether to resolve a path a user named). Raises DigestError for a fifo, socket or
    device, for an unreadable entry, past `max_entries` names or `max_bytes` of content,
    and for a `.git` folder or file unless `exclude_git` leaves git metadata out.

    `keep` chooses which files' bytes the snapshot holds (default: all); the others are
    hashed through one reused buffer, which is much faster for large folders whose bytes
    the caller does not need (the digest is the same either way).
    """
    walk = _Walk(max_entries=max_entries, max_bytes=max_bytes, exclude_git=exclude_git, keep=keep)
    walk.run(root)
    entries = tuple(sorted(walk.entries, key=_sort_key))
    return Snapshot(
        digest=digest_entries(entries),
        entries=entries,
        files=MappingProxyType(walk.files),
        symlinks=MappingProxyType(walk.symlinks),
    )


def digest_tree(
    root: str | os.PathLike[str],
    *,
    max_entries: int = MAX_ENTRIES,
    max_bytes: int = MAX_BYTES,
    exclude_git: bool = False,
) -> str:
    """The digest of the folder at `root`; see `read_tree` for the rules and errors."""
    snapshot = read_tree(
        root,
        max_entries=max_entries,
        max_bytes=max_bytes,
        exclude_git=exclude_git,
        keep=_keep_nothing,
    )
    return snapshot.digest


def _keep_nothing(path: str) -> bool:
    return False


# Files not kept are hashed through one buffer of this size (no per-file allocation).
_HASH_BUFFER = 256 * 1024

_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a fifo"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _describe(mode: int) -> str:
    return next((text for test, text in _SPECIAL_KINDS if test(mode)), "not a file")


class _Walk:
    """One bounded walk through folder descriptors (openat), so no path is re-resolved.

    Every folder is opened relative to its parent's descriptor with O_NOFOLLOW, so a
    folder swapped for a symlink mid-walk fails instead of leading outside the tree.
    """

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        exclude_git: bool,
        keep: Callable[[str], bool] | None,
    ) -> None:
        self.keep = keep
        self.buffer: bytearray | None = None
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.exclude_git = exclude_git
        self.seen = 0
        self.total = 0
        self.entries: list[DigestEntry] = []
        self.files: dict[str, bytes] = {}
        self.symlinks: dict[str, str] = {}

    def run(self, root: str | os.PathLike[str]) -> None:
        try:
            root_fd = os.open(root, _DIR_FLAGS)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                message = f"{root} is not a folder (a symlink is never followed)"
            else:
                message = f"cannot open {root}: {exc.strerror}"
            raise DigestError(message, path=str(root)) from exc
        # Each stack item: an open folder, its relative prefix, its sub-folders to visit.
        stack: list[tuple[int, str, list[str]]] = [(root_fd, "", [])]
        try:
            stack[0][2].extend(self.scan(root_fd, ""))
            while stack:
                fd, prefix, pending = stack[-1]
                if not pending:
                    stack.pop()
                    os.close(fd)
                    continue
                name = pending.pop()
                rel = prefix + name
                if prefix.count("/") + 1 > MAX_DEPTH:
                    raise DigestError(f"{rel!r} is nested more than {MAX_DEPTH} deep", path=rel)
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise _unreadable(rel, exc) from exc
                stack.append((child, rel + "/", []))
                stack[-1][2].extend(self.scan(child, rel + "/"))
        finally:
            for fd, _, _ in stack:
                os.close(fd)

    def scan(self, dir_fd: int, prefix: str) -> list[str]:
        """Record the files and symlinks of one folder; return its sub-folder names."""
        subdirs: list[str] = []
        try:
            with os.scandir(dir_fd) as it:
                for entry in it:
                    self.seen += 1
                    if self.seen > self.max_entries:
                        raise DigestError(
                            f"more than {self.max_entries} entries; the folder is too large "
                            "to digest",
                            path=prefix + entry.name,
                        )
                    self.visit(dir_fd, prefix, entry, subdirs)
        except OSError as exc:
            raise _unreadable(prefix.rstrip("/") or ".", exc) from exc
        return subdirs

    def visit(self, dir_fd: int, prefix: str, entry: os.DirEntry[str], subdirs: list[str]) -> None:
        name = entry.name
        rel = prefix + name
        if is_git_name(name):
            if self.exclude_git:
                return
            raise DigestError(
                f"{rel!r} is git metadata, which is never part of a skill's content",
                path=rel,
                hint="digest an export or a clean copy of the skill, without its .git",
            )
        # The d_type checks cost no system call; they fall back to lstat when unknown.
        if entry.is_symlink():
            try:
                target = os.readlink(name, dir_fd=dir_fd)
            except OSError as exc:
                raise _unreadable(rel, exc) from exc
            self.entries.append(DigestEntry.for_symlink(rel, target))
            self.symlinks[rel] = target
        elif entry.is_dir(follow_symlinks=False):
            subdirs.append(name)
        elif entry.is_file(follow_symlinks=False):
            if self.keep is None or self.keep(rel):
                data, executable = self.read(dir_fd, name, rel)
                self.entries.append(DigestEntry.for_file(rel, data, executable=executable))
                self.files[rel] = data
            else:
                sha, executable = self.hash(dir_fd, name, rel)
                self.entries.append(DigestEntry(rel, EntryType.FILE, executable, sha))
        else:
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                raise _unreadable(rel, exc) from exc
            raise DigestError(
                f"{rel!r} is {_describe(mode)}; only files, symlinks and folders can be pinned",
                path=rel,
            )

    def open_file(self, dir_fd: int, name: str, rel: str) -> _OpenFile:
        """Open one regular file (never a link or fifo); entering yields (fd, its size as
        fstat says, the byte budget left, its executable bit).

        Any OSError while it is open, the caller's reads included, becomes a DigestError."""
        return _OpenFile(dir_fd, name, rel, self.max_bytes - self.total, self.too_large)

    def read(self, dir_fd: int, name: str, rel: str) -> tuple[bytes, bool]:
        """The bytes and executable bit of one regular file, from the same open inode."""
        with self.open_file(dir_fd, name, rel) as (fd, size, budget, executable):
            # Ask for one byte more than fstat promised: a short read is the end of the
            # file, a full one means it grew, so read on (never past the byte budget).
            chunks: list[bytes] = []
            want = budget + 1
            while want > 0:
                request = min(want, max(size + 1, 65536))
                chunk = os.read(fd, request)
                chunks.append(chunk)
                want -= len(chunk)
                if len(chunk) < request:
                    break
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if len(data) > budget:
                raise self.too_large(rel)
        self.total += len(data)
        return data, executable

    def hash(self, dir_fd: int, name: str, rel: str) -> tuple[str, bool]:
        """The sha256 and executable bit of one regular file, without keeping its bytes."""
        if self.buffer is None:
            self.buffer = bytearray(_HASH_BUFFER)
        buffer = self.buffer
        hasher = hashlib.sha256()
        size = 0
        with memoryview(buffer) as view, self.open_file(dir_fd, name, rel) as (fd, _, budget, x):
            while count := os.readv(fd, [buffer]):
                size += count
                if size > budget:  # it grew past the budget while being read
                    raise self.too_large(rel)
                hasher.update(view[:count])
        self.total += size
        return hasher.hexdigest(), x

    def too_large(self, rel: str) -> DigestError:
        return DigestError(
            f"the folder holds more than {self.max_bytes} bytes; it is too large to digest",
            path=rel,
        )


class _OpenFile:
    """The context manager of `_Walk.open_file` (a class: contextlib is over the gate's
    import budget, docs/gate.md)."""

    __slots__ = ("budget", "dir_fd", "fd", "name", "rel", "too_large")

    def __init__(
        self, dir_fd: int, name: str, rel: str, budget: int, too_large: Callable[[str], DigestError]
    ) -> None:
        self.dir_fd, self.name, self.rel = dir_fd, name, rel
        self.budget, self.too_large = budget, too_large
        self.fd = -1

    def __enter__(self) -> tuple[int, int, int, bool]:
        rel = self.rel
        try:
            self.fd = os.open(self.name, _FILE_FLAGS, dir_fd=self.dir_fd)
        except OSError as exc:
            raise _unreadable(rel, exc) from exc
        try:
            info = os.fstat(self.fd)
            if not stat.S_ISREG(info.st_mode):
                raise DigestError(f"{rel!r} changed into {_describe(info.st_mode)}", path=rel)
            if info.st_size > self.budget:
                raise self.too_large(rel)
        except BaseException as exc:
            os.close(self.fd)
            if isinstance(exc, OSError):
                raise _unreadable(rel, exc) from exc
            raise
        return self.fd, info.st_size, self.budget, bool(info.st_mode & 0o111)

    def __exit__(self, kind: object, exc: BaseException | None, trace: object) -> None:
        os.close(self.fd)
        if isinstance(exc, OSError):
            raise _unreadable(self.rel, exc) from exc


def _unreadable(rel: str, exc: OSError) -> DigestError:
    if exc.errno == errno.ELOOP:
        return DigestError(f"{rel!r} changed into a symlink while it was read", path=rel)
    return DigestError(f"cannot read {rel!r}: {exc.strerror or exc}", path=rel)
