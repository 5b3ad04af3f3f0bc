"""Fetch one exact commit of a skill from git, hardened against hostile repositories.

Nothing is ever checked out. The commit is fetched into a fresh bare repository, then its
commit, tree and blob objects are read with `git cat-file` and every object is re-hashed
here against its id, from the requested commit down to each file: what is returned is
exactly what that commit id names. Because no work tree is written, git's filters, smudge,
LFS, checkout hooks and symlink materialisation never get a chance to run.

git runs as a child process with a clean environment and `-c` settings that disable every
hook and helper (docs/fetch.md lists each one and why), with a timeout that kills its whole
process group and bounds on everything it outputs or downloads. GitPython is not used: its
`Git.execute` always starts from the parent's environment (so `GIT_DIR`, `GIT_SSH_COMMAND`,
`GIT_SSL_NO_VERIFY` ... cannot be removed) and cannot kill a process group.

The cache keeps, per commit and subpath, the raw objects that were read (not a repository:
git never runs on cached data). Every object is re-hashed on load and the walk starts again
from the commit id, so a tampered entry is detected and fetched afresh.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Protocol

from skillscan.errors import InputError, InternalError, PolicyError, UsageError
from skillscan.model import mask_secrets
from skillscan.refs import (
    SkillRef,
    Source,
    SourceKind,
    is_full_commit,
    is_short_commit,
    parse_ref_name,
    parse_source,
    show,
)

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on what one fetch may download, read and return; past any, it is refused."""

    max_entries: int = 2000  # files, symlinks, submodules and folders in the skill
    max_blob_bytes: int = 5 * 1024 * 1024
    max_total_bytes: int = 50 * 1024 * 1024
    max_depth: int = 16
    max_path_bytes: int = 1024
    max_link_target_bytes: int = 4096
    # What git may write to disk while fetching (the whole commit, not only the skill).
    max_download_bytes: int = 512 * 1024 * 1024
    network_timeout: float = 300.0  # seconds, for fetch and ls-remote
    local_timeout: float = 60.0  # seconds, for init, cat-file and rev-parse


DEFAULT_LIMITS = FetchLimits()


class TreeEntryKind(enum.Enum):
    """What a path in a git tree is, from its mode; nothing else is accepted."""

    FILE = "file"  # 100644, 100755 (and the legacy 100664)
    SYMLINK = "symlink"  # 120000: the blob holds the target text
    GITLINK = "gitlink"  # 160000: a submodule pinned to a commit of another repository


@dataclass(frozen=True)
class TreeEntry:
    """One path of the fetched skill, relative to the subpath, '/'-separated."""

    path: str
    kind: TreeEntryKind
    executable: bool
    data: bytes  # file content; symlink target bytes; empty for a gitlink
    oid: str  # blob id; for a gitlink, the submodule commit it pins (never fetched)

    @property
    def target(self) -> str:
        """A symlink's target as text (undecodable bytes kept as surrogates, like os.fsdecode)."""
        return self.data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class FetchedTree:
    """The skill folder at `ref.subpath` in `ref.commit`, verified object by object."""

    ref: SkillRef
    tree: str  # id of the tree object at the subpath
    entries: tuple[TreeEntry, ...]  # sorted by path
    from_cache: bool = False

    def of_kind(self, kind: TreeEntryKind) -> tuple[TreeEntry, ...]:
        """The entries of one kind, in path order."""
        return tuple(e for e in self.entries if e.kind is kind)

    @property
    def total_bytes(self) -> int:
        """Bytes of file content and symlink targets."""
        return sum(len(e.data) for e in self.entries)


class Refusal(enum.Enum):
    """Why a repository's content was refused."""

    ENTRY_COUNT = "entry-count"
    FILE_SIZE = "file-size"
    TOTAL_SIZE = "total-size"
    DEPTH = "depth"
    PATH_LENGTH = "path-length"
    DOWNLOAD_SIZE = "download-size"
    UNSAFE_TREE = "unsafe-tree"  # malformed object, bad mode, '..' or '.git' name, duplicate


class FetchError(InternalError):
    """git failed (network, server, crash, timeout); carries git's stderr, bounded and masked."""

    def __init__(self, message: str, *, stderr: str = "", hint: str | None = None) -> None:
        super().__init__(f"{message}\n{stderr}" if stderr else message, hint=hint)
        self.stderr = stderr


class FetchRefused(PolicyError):
    """The repository's content went past a bound or is unsafe; nothing is returned."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message, hint="nothing was fetched or installed from this repository")
        self.reason = reason


# ---------------------------------------------------------------------------------------
# Running git


# Every setting is passed with -c, which outranks repository config; global and system
# config are not read at all (see _git_env).
_GIT_CONFIG = (
    ("core.hooksPath", "/dev/null"),  # no hook runs, whoever installed it
    ("core.fsmonitor", "false"),  # a configured fsmonitor is a command
    ("core.attributesFile", "/dev/null"),  # ~/.config/git/attributes is read even so
    ("core.symlinks", "false"),
    ("protocol.allow", "never"),  # transports are allowlisted one by one
    ("protocol.https.allow", "always"),
    ("protocol.ssh.allow", "always"),
    ("protocol.version", "2"),  # fetch by object id without server opt-in
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("credential.helper", ""),  # empty resets the list: no helper runs or stores anything
    ("transfer.fsckObjects", "true"),  # reject malformed objects as they arrive
    ("transfer.unpackLimit", "1"),  # keep the pack: one file to measure while downloading
    ("http.sslVerify", "true"),
    ("gc.auto", "0"),  # auto-gc daemonises and would outlive our process group
    ("maintenance.auto", "false"),
    ("init.defaultBranch", "main"),  # silences init's advice
)
# Only what git and ssh legitimately need from the parent environment; every GIT_* variable
# (GIT_DIR, GIT_SSH_COMMAND, GIT_SSL_NO_VERIFY, GIT_CONFIG_PARAMETERS ...) is dropped.
_ENV_KEEP = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "TMPDIR",
    "SSH_AUTH_SOCK",
    "http_proxy",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
_ENV_SET = {
    "LC_ALL": "C",  # git's messages are matched below
    "LANGUAGE": "C",
    "GIT_CONFIG_GLOBAL": "/dev/null",  # user config may define filters, hooks, insteadOf
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",  # never wait for a password
    "GIT_ASKPASS": "/bin/false",
    "SSH_ASKPASS": "/bin/false",
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
    "GIT_LFS_SKIP_SMUDGE": "1",
    "GIT_NO_LAZY_FETCH": "1",  # a missing object must never trigger a fetch
    "GIT_NO_REPLACE_OBJECTS": "1",  # refs/replace must not substitute objects
    "GIT_PROTOCOL_FROM_USER": "0",
}
_STDERR_KEEP = 4000  # characters of git's stderr kept for a message (its tail)
_POLL_SECONDS = 0.1
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_HEX = frozenset("0123456789abcdef")


def _git_env() -> dict[str, str]:
    env = {key: os.environ[key] for key in _ENV_KEEP if key in os.environ}
    env.update(_ENV_SET)
    return env


@cache
def _git_executable() -> str:
    found = shutil.which("git")
    if found is None:
        raise FetchError("git is not installed or not on PATH", hint="install git (2.32 or newer)")
    return found


def clean_stderr(raw: bytes) -> str:
    """git's stderr as shown to a user: its tail, credentials masked, controls escaped.

    A hostile server writes into this stream (`remote: ...`), so terminal escapes go.
    """
    text = raw.decode("utf-8", "replace")[-_STDERR_KEEP:]
    text = _URL_USERINFO.sub(r"\1***@", text)
    text = mask_secrets(text)
    return "".join(ch if ch.isprintable() or ch == "\n" else f"\\x{ord(ch):02x}" for ch in text)


@dataclass(frozen=True)
class _Result:
    returncode: int
    stdout: bytes
    stderr: str


class _Drain(threading.Thread):
    """Reads a pipe to its end; keeps at most `cap` bytes, calling `overflow` past that.

    Without `overflow` (stderr) it keeps the tail instead, which holds git's 'fatal:' line.
    """

    def __init__(
        self, stream: IO[bytes], cap: int, overflow: Callable[[], None] | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.cap = cap
        self.overflow = overflow
        self.data = bytearray()

    def run(self) -> None:
        while chunk := os.read(self.stream.fileno(), 65536):
            if self.overflow is None:
                self.data += chunk
                del self.data[: max(0, len(self.data) - self.cap)]
            elif len(self.data) + len(chunk) > self.cap:
                self.overflow()
            else:
                self.data += chunk
        self.stream.close()


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except (BrokenPipeError, ValueError):
        pass  # the process exited or was killed; its status tells the story


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with suppress(OSError):  # git renames temporary files as it goes
                total += (Path(folder) / name).lstat().st_size
    return total


class _Watchdog:
    """Kills a process group once, for the first bound it breaks, and never after exit."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.lock = threading.Lock()
        self.exited = False
        self.breach: str | None = None

    def stop(self, breach: str) -> None:
        with self.lock:
            # Until `exited` is set the leader is unreaped, so its id (the group id)
            # cannot have been reused by an unrelated process.
            if self.exited or self.breach is not None:
                return
            self.breach = breach
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self) -> None:
        """Wait for exit without reaping, mark it, then reap."""
        os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT)
        with self.lock:
            self.exited = True
        self.proc.wait()

    def watch_disk(self, root: Path, max_bytes: int) -> None:
        while not self.exited and self.breach is None:
            if _tree_bytes(root) > max_bytes:
                self.stop("download")
            time.sleep(_POLL_SECONDS)


def run_bounded(
    argv: Sequence[str],
    *,
    label: str,
    cwd: Path,
    timeout: float,
    stdin: bytes = b"",
    max_stdout: int = 64 * 1024 * 1024,
    env: Mapping[str, str] | None = None,
    watch: Path | None = None,
    max_watch_bytes: int = 0,
) -> _Result:
    """Run a command in its own process group, bounded in time, output and disk use.

    On a breach the whole group is killed (git's helpers, ssh, upload-pack with it) and
    `FetchError` (time, output) or `FetchRefused` (disk) is raised.
    """
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else _git_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so a kill reaches every child
    )
    if proc.stdin is None or proc.stdout is None or proc.stderr is None:  # pragma: no cover
        raise FetchError("could not open pipes to git")
    dog = _Watchdog(proc)
    out = _Drain(proc.stdout, max_stdout, lambda: dog.stop("output"))
    err = _Drain(proc.stderr, _STDERR_KEEP * 4)
    helpers = [out, err, threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True)]
    if watch is not None:
        helpers.append(
            threading.Thread(target=dog.watch_disk, args=(watch, max_watch_bytes), daemon=True)
        )
    timer = threading.Timer(timeout, dog.stop, args=("timeout",))
    timer.daemon = True
    for thread in [*helpers, timer]:
        thread.start()
    try:
        dog.wait()
    finally:
        timer.cancel()
        if proc.returncode is None:  # interrupted while waiting
            dog.stop("interrupted")
            proc.wait()
        out.join(timeout=2.0)
        err.join(timeout=2.0)
        if out.is_alive() or err.is_alive():
            # A straggler of the group still holds a pipe open: end it too (the group
            # id stays reserved while any member lives).
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            out.join()
            err.join()
    stderr = clean_stderr(bytes(err.data))
    if dog.breach == "timeout":
        raise FetchError(
            f"{label} did not finish within {timeout:g} s; it was stopped", stderr=stderr
        )
    if dog.breach == "download" or (watch is not None and _tree_bytes(watch) > max_watch_bytes):
        raise FetchRefused(
            Refusal.DOWNLOAD_SIZE,
            f"the repository needs more than {max_watch_bytes} bytes to fetch; it was stopped",
        )
    if dog.breach == "output":
        raise FetchError(f"{label} wrote more than {max_stdout} bytes; it was stopped")
    return _Result(proc.returncode, bytes(out.data), stderr)


def _git(
    git_dir: Path,
    args: Sequence[str],
    *,
    timeout: float,
    local: bool = False,
    stdin: bytes = b"",
    max_stdout: int = 64 * 1024 * 1024,
    watch: bool = False,
    max_watch_bytes: int = 0,
) -> _Result:
    """Run git on our own repository with the hardened environment and settings."""
    argv = [_git_executable(), f"--git-dir={git_dir}"]
    for key, value in _GIT_CONFIG:
        argv += ["-c", f"{key}={value}"]
    # The file transport only for a source the user named as a local path.
    argv += ["-c", f"protocol.file.allow={'always' if local else 'never'}", *args]
    return run_bounded(
        argv,
        label=f"git {args[0]}",
        cwd=git_dir,
        timeout=timeout,
        stdin=stdin,
        max_stdout=max_stdout,
        watch=git_dir if watch else None,
        max_watch_bytes=max_watch_bytes,
    )


@contextmanager
def _scratch_repo(parent: Path | None, object_format: str, limits: FetchLimits) -> Iterator[Path]:
    """A fresh, empty bare repository: no template (no sample hooks), no remote, no refs."""
    with tempfile.TemporaryDirectory(prefix=".skillscan-fetch-", dir=parent) as tmp:
        git_dir = Path(tmp) / "repo.git"
        argv = [
            _git_executable(),
            "init",
            "--bare",
            "--quiet",
            "--template=",
            f"--object-format={object_format}",
            "--",
            str(git_dir),
        ]
        result = run_bounded(argv, label="git init", cwd=Path(tmp), timeout=limits.local_timeout)
        if result.returncode != 0:
            raise FetchError("git init failed", stderr=result.stderr)
        yield git_dir


def _check_local(source: Source) -> None:
    if source.kind is SourceKind.LOCAL and not Path(source.url).is_dir():
        raise InputError(f"local source {show(source.text)} is not a folder ({show(source.url)})")


class _WrongObjectFormat(InputError):
    """The commit id's length names another hash function than the repository uses."""


def _check_object_format(result: _Result, source: Source) -> None:
    found = re.search(r"mismatched algorithms: client (\w+); server (\w+)", result.stderr)
    if found:
        raise _WrongObjectFormat(
            f"{show(source.text)} uses {found[2]} object ids, not {found[1]}: "
            "the commit id has the wrong length for this repository"
        )


def _refuse_bad_input(result: _Result, source: Source) -> None:
    """Raise for a failed fetch whose cause is the repository, not git or the network."""
    _not_a_repository(result, source)
    _check_object_format(result, source)
    if "fsck error" in result.stderr:
        # transfer.fsckObjects: a malformed object, or a tree entry such as '.git' or '..'.
        raise FetchRefused(
            Refusal.UNSAFE_TREE,
            f"git refused a malformed object from {show(source.text)}:\n{result.stderr}",
        )


def _not_a_repository(result: _Result, source: Source) -> None:
    if "does not appear to be a git repository" in result.stderr:
        raise InputError(
            f"{show(source.text)} is not a git repository", hint="check the source and try again"
        )


# ---------------------------------------------------------------------------------------
# resolve


def resolve(source: str, ref: str, *, limits: FetchLimits = DEFAULT_LIMITS) -> str:
    """The full commit id a branch, tag, `HEAD` or short id names in `source` right now.

    A full id is returned as given (lowercased): it already names one object. Branches and
    tags are looked up with `git ls-remote`; a short id only in a local repository (a server
    answers for ref names, not id prefixes). A name that matches several commits is refused.
    """
    src = parse_source(source)
    name = parse_ref_name(ref)
    if is_full_commit(name):
        return name.lower()
    _check_local(src)
    local = src.kind is SourceKind.LOCAL
    with _scratch_repo(None, "sha1", limits) as git_dir:
        result = _git(
            git_dir,
            # The second pattern lists an annotated tag's peeled line (the commit).
            ["ls-remote", "--", src.url, name, f"{name}^{{}}"],
            timeout=limits.network_timeout,
            local=local,
            max_stdout=16 * 1024 * 1024,
        )
    if result.returncode != 0:
        _not_a_repository(result, src)
        raise FetchError(f"git ls-remote failed for {show(src.text)}", stderr=result.stderr)
    found = _match_refs(result.stdout, name)
    if is_short_commit(name) and local:
        found.update({f"commit {oid}": oid for oid in _commits_with_prefix(src, name, limits)})
    commits = sorted(set(found.values()))
    if len(commits) > 1:
        listed = ", ".join(sorted(found))
        raise UsageError(
            f"{show(name)} is ambiguous in {show(src.text)}: it matches {listed}",
            hint=f"name it fully, e.g. refs/heads/{name} or refs/tags/{name}, or give the full id",
        )
    if commits:
        return commits[0]
    if is_short_commit(name):
        raise InputError(
            f"no branch, tag or commit {show(name)} in {show(src.text)}"
            + ("" if local else " (short ids are only resolved in a local repository)"),
            hint="give a branch, a tag or the full commit id",
        )
    raise InputError(f"no branch or tag {show(name)} in {show(src.text)}")


def _match_refs(listing: bytes, name: str) -> dict[str, str]:
    """Exact matches of `name` among `ls-remote` lines, tags peeled to what they point at."""
    wanted = {f"refs/heads/{name}", f"refs/tags/{name}"}
    if name == "HEAD" or name.startswith("refs/"):
        wanted.add(name)
    refs: dict[str, str] = {}
    for line in listing.decode("utf-8", "replace").splitlines():
        oid, _, refname = line.partition("\t")
        oid = oid.lower()
        if not is_full_commit(oid):
            continue
        peeled = refname.removesuffix("^{}")
        if peeled in wanted and (peeled not in refs or refname.endswith("^{}")):
            refs[peeled] = oid  # an annotated tag's peeled line names the commit
    return refs


def _commits_with_prefix(src: Source, prefix: str, limits: FetchLimits) -> set[str]:
    """Commits of a local repository whose id starts with `prefix` (all refs fetched)."""
    try:
        return _commits_in_scratch("sha1", src, prefix, limits)
    except _WrongObjectFormat:
        return _commits_in_scratch("sha256", src, prefix, limits)


def _commits_in_scratch(
    object_format: str, src: Source, prefix: str, limits: FetchLimits
) -> set[str]:
    with _scratch_repo(None, object_format, limits) as git_dir:
        _fetch_all(git_dir, src, limits)
        return _commits_in(git_dir, prefix, limits)


def _commits_in(git_dir: Path, prefix: str, limits: FetchLimits) -> set[str]:
    result = _git(
        git_dir, ["rev-parse", f"--disambiguate={prefix.lower()}"], timeout=limits.local_timeout
    )
    candidates = [line for line in result.stdout.decode().split() if is_full_commit(line)]
    if not candidates:
        return set()
    info = _git(
        git_dir,
        ["cat-file", "--batch-check"],
        stdin="".join(f"{oid}\n" for oid in candidates).encode(),
        timeout=limits.local_timeout,
    )
    return {
        parts[0]
        for parts in (line.split() for line in info.stdout.decode().splitlines())
        if len(parts) == 3 and parts[1] == "commit"
    }


# ---------------------------------------------------------------------------------------
# fetch_commit


def fetch_commit(
    ref: SkillRef, cache_dir: Path, *, limits: FetchLimits = DEFAULT_LIMITS
) -> FetchedTree:
    """The skill folder at `ref.subpath` in exactly `ref.commit`, verified, from cache or git.

    Raises `InputError` when the commit or subpath is not in the repository,
    `FetchRefused` past a bound or for an unsafe tree, `FetchError` when git fails.
    """
    entry = _cache_file(cache_dir, ref)
    objects = _load_cache(entry, ref, limits)
    if objects is not None:
        try:
            tree, entries, _ = _snapshot(ref, objects, limits)
            return FetchedTree(ref, tree, tuple(entries), from_cache=True)
        except _Missing:
            pass  # stored for other limits or cut short: fetch afresh
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise InputError(f"cannot use the cache folder {cache_dir}: {exc.strerror}") from None
    src = Source(ref.source, ref.kind, ref.url)
    _check_local(src)
    with _scratch_repo(cache_dir, ref.object_format, limits) as git_dir:
        _fetch_exact(git_dir, ref, src, limits)
        reader = _GitObjects(git_dir, limits)
        try:
            tree, entries, seen = _snapshot(ref, reader, limits)
        except _Missing as missing:
            if missing.oid == ref.commit:
                raise _absent(ref) from None
            raise FetchError(f"object {missing.oid} is missing after fetching {ref}") from None
        except _Corrupt as corrupt:
            raise FetchError(f"object {corrupt.oid} does not match its id after fetch") from None
    _store_cache(entry, seen)
    return FetchedTree(ref, tree, tuple(entries))


class CommitAbsent(InputError):
    """The repository does not have (or will not serve) the requested commit."""


def _absent(ref: SkillRef) -> CommitAbsent:
    return CommitAbsent(
        f"commit {ref.commit} is not in {show(ref.source)}: the repository does not have it "
        "or will not serve it (is the id mistyped, or from another repository?)",
        hint=f"check it with `skillscan resolve {ref.source}@<branch-or-tag>`",
    )


def _fetch_exact(git_dir: Path, ref: SkillRef, src: Source, limits: FetchLimits) -> None:
    """Fetch the commit by id (depth 1); fall back to all branches and tags if refused."""
    local = src.kind is SourceKind.LOCAL
    result = _git(
        git_dir,
        [*_FETCH, "--depth=1", "--", src.url, ref.commit],
        timeout=limits.network_timeout,
        local=local,
        watch=True,
        max_watch_bytes=limits.max_download_bytes,
    )
    if result.returncode == 0:
        return
    _refuse_bad_input(result, src)
    if "not our ref" in result.stderr or "couldn't find remote ref" in result.stderr:
        raise _absent(ref)
    if "unadvertised object" not in result.stderr:
        raise FetchError(f"git fetch failed for {ref}", stderr=result.stderr)
    # An old server (protocol v0 without uploadpack.allowReachableSHA1InWant) refuses ids.
    _fetch_all(git_dir, src, limits)


_FETCH = (
    "fetch",
    "--quiet",
    "--no-tags",
    "--no-write-fetch-head",
    "--no-recurse-submodules",
)


def _fetch_all(git_dir: Path, src: Source, limits: FetchLimits) -> None:
    result = _git(
        git_dir,
        [
            *_FETCH,
            "--",
            src.url,
            "+refs/heads/*:refs/skillscan/heads/*",
            "+refs/tags/*:refs/skillscan/tags/*",
        ],
        timeout=limits.network_timeout,
        local=src.kind is SourceKind.LOCAL,
        watch=True,
        max_watch_bytes=limits.max_download_bytes,
    )
    if result.returncode != 0:
        _refuse_bad_input(result, src)
        raise FetchError(f"git fetch failed for {show(src.text)}", stderr=result.stderr)


# ---------------------------------------------------------------------------------------
# Reading objects and verifying them


class _Missing(Exception):
    def __init__(self, oid: str) -> None:
        super().__init__(oid)
        self.oid = oid


class _Corrupt(Exception):
    def __init__(self, oid: str) -> None:
        super().__init__(oid)
        self.oid = oid


class _ObjectSource(Protocol):
    """Where raw objects come from: a fetched repository, or the cache."""

    def sizes(self, oids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Type and size of each object; raises `_Missing`."""
        ...

    def read(self, oids: Sequence[str], max_bytes: int) -> dict[str, tuple[str, bytes]]:
        """Type and content of each object, unverified; raises `_Missing`."""
        ...


class _GitObjects:
    """Objects read from our fetched repository with `git cat-file`, a batch per call."""

    def __init__(self, git_dir: Path, limits: FetchLimits) -> None:
        self.git_dir = git_dir
        self.limits = limits

    def sizes(self, oids: Sequence[str]) -> dict[str, tuple[str, int]]:
        result = self._cat(["--batch-check"], oids, 128 * (len(oids) + 1))
        found: dict[str, tuple[str, int]] = {}
        for line in result.splitlines():
            parts = line.decode("ascii", "replace").split()
            if len(parts) == 2 and parts[1] == "missing":
                raise _Missing(parts[0])
            if len(parts) != 3 or not parts[2].isdigit():
                raise FetchError(
                    f"unexpected git cat-file output: {show(line.decode('ascii', 'replace'))}"
                )
            found[parts[0]] = (parts[1], int(parts[2]))
        return found

    def read(self, oids: Sequence[str], max_bytes: int) -> dict[str, tuple[str, bytes]]:
        out = self._cat(["--batch"], oids, max_bytes + 160 * (len(oids) + 1))
        found: dict[str, tuple[str, bytes]] = {}
        pos = 0
        while pos < len(out):
            eol = out.find(b"\n", pos)
            parts = out[pos:eol].decode("ascii", "replace").split() if eol > 0 else []
            if len(parts) == 2 and parts[1] == "missing":
                raise _Missing(parts[0])
            if len(parts) != 3 or not parts[2].isdigit():
                raise FetchError("unexpected git cat-file output")
            size = int(parts[2])
            found[parts[0]] = (parts[1], out[eol + 1 : eol + 1 + size])
            pos = eol + 1 + size + 1  # content is followed by a newline
        return found

    def _cat(self, mode: list[str], oids: Sequence[str], max_stdout: int) -> bytes:
        if not oids:
            return b""
        result = _git(
            self.git_dir,
            ["cat-file", *mode],
            stdin="".join(f"{oid}\n" for oid in oids).encode(),
            timeout=self.limits.local_timeout,
            max_stdout=max_stdout,
        )
        if result.returncode != 0:
            raise FetchError("git cat-file failed", stderr=result.stderr)
        return result.stdout


class _StoredObjects:
    """Objects loaded from a cache file, already verified against their ids."""

    def __init__(self, objects: Mapping[str, tuple[str, bytes]]) -> None:
        self.objects = objects

    def sizes(self, oids: Sequence[str]) -> dict[str, tuple[str, int]]:
        return {oid: (kind, len(data)) for oid, (kind, data) in self.read(oids, 0).items()}

    def read(self, oids: Sequence[str], max_bytes: int) -> dict[str, tuple[str, bytes]]:
        missing = [oid for oid in oids if oid not in self.objects]
        if missing:
            raise _Missing(missing[0])
        return {oid: self.objects[oid] for oid in oids}


def object_id(algorithm: str, kind: str, data: bytes) -> str:
    """Git's id of an object: the hash of `<type> <size>\\0<content>`."""
    digest = hashlib.new(algorithm)
    digest.update(f"{kind} {len(data)}\0".encode())
    digest.update(data)
    return digest.hexdigest()


_MODES = {
    b"100644": (TreeEntryKind.FILE, False),
    b"100664": (TreeEntryKind.FILE, False),  # written by very old git; fsck accepts it
    b"100755": (TreeEntryKind.FILE, True),
    b"120000": (TreeEntryKind.SYMLINK, False),
    b"160000": (TreeEntryKind.GITLINK, False),
}
_TREE_MODE = b"40000"


@dataclass(frozen=True)
class _RawEntry:
    mode: bytes
    name: bytes
    oid: str


def _parse_tree(data: bytes, raw_len: int, where: str) -> list[_RawEntry]:
    """Entries of a tree object: `<mode> <name>\\0<raw id>`, strictly, names checked."""
    entries: list[_RawEntry] = []
    names: set[bytes] = set()
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        nul = data.find(b"\0", space + 1)
        if space < 0 or nul < 0 or nul + 1 + raw_len > len(data):
            raise FetchRefused(Refusal.UNSAFE_TREE, f"malformed tree object at {where or '.'}")
        mode, name = data[pos:space], data[space + 1 : nul]
        oid = data[nul + 1 : nul + 1 + raw_len].hex()
        pos = nul + 1 + raw_len
        if mode != _TREE_MODE and mode not in _MODES:
            raise FetchRefused(Refusal.UNSAFE_TREE, f"unknown file mode {mode!r} at {where or '.'}")
        # git's fsck refuses these too; checked again because the cache is not git's.
        if (
            name in (b"", b".", b"..")
            or b"/" in name
            or name.lower().rstrip(b". ") == b".git"
            or name in names
        ):
            raise FetchRefused(
                Refusal.UNSAFE_TREE, f"unsafe or duplicate name {name!r} at {where or '.'}"
            )
        names.add(name)
        entries.append(_RawEntry(mode, name, oid))
    return entries


def _snapshot(
    ref: SkillRef, objects: _ObjectSource, limits: FetchLimits
) -> tuple[str, list[TreeEntry], dict[str, tuple[str, bytes]]]:
    """Walk commit → subpath → every file, verifying each object against its id.

    Returns the subpath's tree id, its entries, and every object read (for the cache).
    """
    try:
        return _walk(ref, objects, limits)
    except FetchRefused as refused:
        raise FetchRefused(refused.reason, f"{show(str(ref))}: {refused.message}") from None


def _walk(
    ref: SkillRef, objects: _ObjectSource, limits: FetchLimits
) -> tuple[str, list[TreeEntry], dict[str, tuple[str, bytes]]]:
    algorithm = ref.object_format
    raw_len = len(ref.commit) // 2
    seen: dict[str, tuple[str, bytes]] = {}

    def load(oids: Sequence[str], kind: str, max_bytes: int) -> dict[str, bytes]:
        unique = sorted(set(oids))
        got = objects.read(unique, max_bytes)
        result: dict[str, bytes] = {}
        for oid in unique:
            if oid not in got:
                raise _Missing(oid)
            actual, data = got[oid]
            if object_id(algorithm, actual, data) != oid:
                raise _Corrupt(oid)
            if actual != kind:
                if oid == ref.commit:
                    raise InputError(
                        f"{ref.commit} is a {actual}, not a commit, in {show(ref.source)}"
                    )
                raise FetchRefused(
                    Refusal.UNSAFE_TREE, f"object {oid} is a {actual}, expected {kind}"
                )
            seen[oid] = (actual, data)
            result[oid] = data
        return result

    commit = load([ref.commit], "commit", 16 * 1024 * 1024)[ref.commit]
    first_line = commit.split(b"\n", 1)[0]
    tree = first_line.removeprefix(b"tree ").decode("ascii", "replace")
    if not first_line.startswith(b"tree ") or len(tree) != 2 * raw_len or set(tree) - _HEX:
        raise FetchRefused(Refusal.UNSAFE_TREE, f"malformed commit object {ref.commit}")

    walked = ""
    for part in ref.subpath.split("/") if ref.subpath else []:
        listing = _parse_tree(load([tree], "tree", 16 * 1024 * 1024)[tree], raw_len, walked)
        walked = f"{walked}/{part}" if walked else part
        match = [e for e in listing if e.name == part.encode("utf-8", "surrogateescape")]
        if not match:
            raise InputError(f"{show(ref.subpath)} is not in {show(ref.source)} at {ref.commit}")
        if match[0].mode != _TREE_MODE:
            raise InputError(
                f"{show(walked)} is not a folder in {show(ref.source)} at {ref.commit}"
            )
        tree = match[0].oid

    entries: list[TreeEntry] = []
    blobs: list[tuple[str, TreeEntryKind, bool, str]] = []  # path, kind, executable, oid
    level: list[tuple[str, str]] = [("", tree)]  # (folder path, tree id)
    count = 0
    for depth in range(limits.max_depth + 1):
        if not level:
            break
        data = load([oid for _, oid in level], "tree", limits.max_total_bytes)
        following: list[tuple[str, str]] = []
        for folder, oid in level:
            for raw in _parse_tree(data[oid], raw_len, folder):
                path = f"{folder}/" if folder else ""
                path += raw.name.decode("utf-8", "surrogateescape")
                count += 1
                if count > limits.max_entries:
                    raise FetchRefused(
                        Refusal.ENTRY_COUNT, f"more than {limits.max_entries} entries"
                    )
                if len(path.encode("utf-8", "surrogateescape")) > limits.max_path_bytes:
                    raise FetchRefused(
                        Refusal.PATH_LENGTH, f"path longer than {limits.max_path_bytes}"
                    )
                if raw.mode == _TREE_MODE:
                    if depth == limits.max_depth:
                        raise FetchRefused(
                            Refusal.DEPTH, f"folders nested deeper than {limits.max_depth}"
                        )
                    following.append((path, raw.oid))
                    continue
                kind, executable = _MODES[raw.mode]
                if kind is TreeEntryKind.GITLINK:
                    # Another repository's commit: recorded, never fetched or entered.
                    entries.append(TreeEntry(path, kind, False, b"", raw.oid))
                else:
                    blobs.append((path, kind, executable, raw.oid))
        level = following

    sizes = objects.sizes(sorted({oid for *_, oid in blobs}))
    total = 0
    for path, kind, _, oid in blobs:
        size = sizes[oid][1]
        bound = (
            limits.max_link_target_bytes if kind is TreeEntryKind.SYMLINK else limits.max_blob_bytes
        )
        if size > bound:
            raise FetchRefused(Refusal.FILE_SIZE, f"{show(path)} is {size} bytes (bound {bound})")
        total += size
        if total > limits.max_total_bytes:
            raise FetchRefused(
                Refusal.TOTAL_SIZE, f"more than {limits.max_total_bytes} bytes in total"
            )
    content = load([oid for *_, oid in blobs], "blob", total)
    entries += [TreeEntry(p, k, x, content[oid], oid) for p, k, x, oid in blobs]
    entries.sort(key=lambda e: e.path)
    return tree, entries, seen


# ---------------------------------------------------------------------------------------
# Cache: raw objects per commit and subpath, re-verified on every load


_CACHE_MAGIC = b"skillscan-objects 1\n"
_CACHE_KINDS = frozenset({"commit", "tree", "blob"})


def _cache_file(cache_dir: Path, ref: SkillRef) -> Path:
    # Keyed by source too: the cache never claims a commit is in a repository it was not
    # fetched from (on GitHub a fork's commit is also served through the parent's URL).
    where = f"{ref.url}\0{ref.subpath}".encode("utf-8", "surrogateescape")
    return cache_dir / ref.commit / f"{hashlib.sha256(where).hexdigest()[:32]}.objects"


def _load_cache(path: Path, ref: SkillRef, limits: FetchLimits) -> _StoredObjects | None:
    """The objects stored for `ref`, each re-hashed; None when absent or tampered with."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limits.max_total_bytes * 2 + 64 * 1024 * 1024)
    except FileNotFoundError:
        return None
    except OSError as exc:
        _log.warning("cache entry %s unreadable (%s); fetching again", path, exc.strerror)
        return None
    objects: dict[str, tuple[str, bytes]] = {}
    try:
        if not raw.startswith(_CACHE_MAGIC):
            raise ValueError("bad header")
        pos = len(_CACHE_MAGIC)
        while pos < len(raw):
            eol = raw.index(b"\n", pos)
            kind, oid, size_text = raw[pos:eol].decode("ascii").split(" ")
            size = int(size_text)
            data = raw[eol + 1 : eol + 1 + size]
            if kind not in _CACHE_KINDS or len(data) != size:
                raise ValueError("bad record")
            if object_id(ref.object_format, kind, data) != oid:
                raise ValueError(f"object {oid} does not match its id")
            objects[oid] = (kind, data)
            pos = eol + 1 + size
    except (ValueError, UnicodeDecodeError) as exc:
        _log.warning("cache entry %s failed verification (%s); fetching again", path, exc)
        return None
    return _StoredObjects(objects)


def _store_cache(path: Path, objects: Mapping[str, tuple[str, bytes]]) -> None:
    """Write atomically (temp file, fsync, rename): a reader sees all or nothing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(_CACHE_MAGIC)
                for oid in sorted(objects):
                    kind, data = objects[oid]
                    handle.write(f"{kind} {oid} {len(data)}\n".encode())
                    handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        # The cache only saves time; the fetched tree is verified and still returned.
        _log.warning("could not write cache entry %s: %s", path, exc.strerror)


# ---------------------------------------------------------------------------------------
# materialise


def materialise(tree: FetchedTree, dest: Path) -> tuple[TreeEntry, ...]:
    """Write the tree into `dest` (absent or an empty folder); return what was not written.

    Files get mode 0644 or 0755, folders 0755. A symlink is written only when its target is
    relative and reaches an existing file or folder of the tree without passing through
    another symlink (so no chain can lead out); every other symlink, and every gitlink, is
    left out and returned for the caller to report. Paths are checked again here: no '..',
    no absolute path, no `.git` component.
    """
    _prepare_destination(dest)
    files = {e.path for e in tree.entries if e.kind is TreeEntryKind.FILE}
    links = {e.path for e in tree.entries if e.kind is TreeEntryKind.SYMLINK}
    folders = {
        "/".join(p.split("/")[:i]) for p in files | links for i in range(1, p.count("/") + 1)
    }
    made: set[str] = set()
    skipped: list[TreeEntry] = []
    for entry in tree.entries:
        parts = _safe_parts(entry.path)
        if entry.kind is TreeEntryKind.GITLINK or (
            entry.kind is TreeEntryKind.SYMLINK
            and not _link_stays_inside(entry.path, entry.target, files, folders, links)
        ):
            skipped.append(entry)
            continue
        _make_folders(dest, parts[:-1], made)
        target = dest.joinpath(*parts)
        try:
            if entry.kind is TreeEntryKind.SYMLINK:
                target.symlink_to(entry.target)
                continue
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(target, flags, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(entry.data)
                os.fchmod(handle.fileno(), 0o755 if entry.executable else 0o644)
        except FileExistsError:
            raise FetchRefused(
                Refusal.UNSAFE_TREE, f"{show(entry.path)} collides with another path on this disk"
            ) from None
    return tuple(skipped)


def _prepare_destination(dest: Path) -> None:
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise InputError(f"{dest} is not a folder")
    if dest.exists():
        if any(dest.iterdir()):
            raise InputError(f"{dest} is not empty; skills are written into an empty folder")
        return
    try:
        dest.mkdir(mode=0o755)
    except OSError as exc:
        raise InputError(f"cannot create {dest}: {exc.strerror}") from None


def _safe_parts(path: str) -> list[str]:
    parts = path.split("/")
    if any(p in ("", ".", "..") or "\0" in p or p.lower().rstrip(". ") == ".git" for p in parts):
        raise FetchRefused(Refusal.UNSAFE_TREE, f"unsafe path {show(path)}")
    return parts


def _make_folders(dest: Path, parts: list[str], made: set[str]) -> None:
    for i in range(1, len(parts) + 1):
        rel = "/".join(parts[:i])
        if rel in made:
            continue
        folder = dest.joinpath(*parts[:i])
        try:
            folder.mkdir(mode=0o755)
            folder.chmod(0o755)  # independent of the umask
        except FileExistsError:
            if folder.is_symlink() or not folder.is_dir():
                raise FetchRefused(Refusal.UNSAFE_TREE, f"{show(rel)} is not a folder") from None
        made.add(rel)


def _link_stays_inside(
    link: str, target: str, files: set[str], folders: set[str], links: set[str]
) -> bool:
    """Whether following `link` lands on a file or folder of the tree, with no link between."""
    if not target or target.startswith("/") or "\0" in target:
        return False
    here = link.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not here:
                return False  # above the skill's root
            here.pop()
            continue
        here.append(part)
        current = "/".join(here)
        if current in links or (current not in files and current not in folders):
            return False  # through another link, or dangling
    return True
