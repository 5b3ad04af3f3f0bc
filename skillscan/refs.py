"""Parse skill references `<source>@<commit>[#<subpath>]` (DESIGN §4.1) into validated values.

Parsing is pure: it never touches the network or the file system, so the same text always
names the same thing. Every value a `SkillRef` holds is safe to hand to git as an argument.

Sources, one spelling each:

- `owner/repo` — GitHub, fetched from `https://github.com/owner/repo.git`. A bare relative
  path such as `skills/foo` therefore always means GitHub, never a local folder.
- `https://host/path` and `ssh://[user@]host[:port]/path` — git URLs. No credentials
  (an https user or token, an ssh password): they would end up in the lockfile and in logs.
- `user@host:path` — scp-like ssh (the user part is required, so `host:path` is refused).
- A local repository, only when the path is explicit: it starts with `/`, `./`, `../` or
  `~/` (or is `.`, `..`, `~`). Relative paths are made absolute against the current
  directory; a local path cannot contain `#` (it starts the subpath).

Refused: `file://` URLs (a local repository is named by its path, so it has one spelling),
`http://`, `git://`, `ftp://`, `git+ssh://` and every other scheme, git's transport-helper
form `<transport>::<address>` (`ext::`, `fd::`, `file::`; any `::` at all), anything
starting with `-` (git would read it as an option), control characters, whitespace and
non-ASCII in remote sources (look-alike hosts), and IPv6 literal hosts.
"""

from __future__ import annotations

import enum
import os
import posixpath
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from skillscan.errors import UsageError

GITHUB_URL = "https://github.com/{owner}/{repo}.git"

_HEX_ID = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_SHORT_HEX = re.compile(r"[0-9a-fA-F]{4,63}")
# GitHub's own rules: an owner is 1-39 alphanumerics or inner hyphens; a repository name
# is alphanumerics, '.', '_' and '-'.
_GITHUB = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]{0,38})/([A-Za-z0-9._-]{1,100})")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
# Characters allowed in the path of a remote URL: no '%' (one spelling per repository),
# no '@', '?', '#', ':' or whitespace.
_URL_PATH = re.compile(r"[A-Za-z0-9._~/+-]+")
_SCP_LIKE = re.compile(r"([^@/:]+)@([^@/:]+):(.+)")
# A git transport helper is named by `<scheme chars>::` at the start; refusing any `::`
# also covers the forms git would read after a prefix.
_HELPER = "::"
# Branch and tag names accepted by `resolve`: what real projects use, nothing git treats
# specially (`^`, `~`, `:`, `@{`, `..`, `*`, `?`, `[`, `\`, whitespace).
_REF_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/+-]{0,254}")
_LOCAL_PREFIXES = ("/", "./", "../", "~/")
_LOCAL_EXACT = (".", "..", "~")
MAX_SOURCE_CHARS = 1024
MAX_SUBPATH_CHARS = 1024


class SourceKind(enum.Enum):
    """Which git transport a source uses; the only three skillscan allows."""

    LOCAL = "local"
    HTTPS = "https"
    SSH = "ssh"


@dataclass(frozen=True)
class Source:
    """A validated repository location: the text as written and the URL git is given."""

    text: str
    kind: SourceKind
    url: str


@dataclass(frozen=True)
class SkillRef:
    """A pinned skill: a repository, a full commit id and a folder inside that commit.

    Construction validates every field, so a `SkillRef` that exists is safe to fetch.
    """

    source: str
    kind: SourceKind
    url: str
    commit: str
    subpath: str = ""

    def __post_init__(self) -> None:
        if not _HEX_ID.fullmatch(self.commit) or self.commit != self.commit.lower():
            raise UsageError(f"not a lowercase full commit id: {show(self.commit)}")
        if parse_subpath(self.subpath) != self.subpath:
            raise UsageError(f"not a normalised subpath: {show(self.subpath)}")
        parsed = parse_source(self.source)
        if parsed.kind is not self.kind:
            raise UsageError(
                f"source {show(self.source)} is {parsed.kind.value}, not {self.kind.value}"
            )
        if self.kind is SourceKind.LOCAL:
            # The URL of a local source is the absolute path it named when parsed.
            _refuse_controls(self.url, "URL")
            if not _is_clean_absolute(self.url):
                raise UsageError(f"a local source needs an absolute path: {show(self.url)}")
        elif self.url != parsed.url:
            raise UsageError(f"URL {show(self.url)} does not match source {show(self.source)}")

    def __str__(self) -> str:
        text = f"{self.source}@{self.commit}"
        return f"{text}#{self.subpath}" if self.subpath else text

    @property
    def object_format(self) -> str:
        """The repository's hash function, told by the length of the id: sha1 or sha256."""
        return "sha1" if len(self.commit) == 40 else "sha256"


def show(text: str, limit: int = 120) -> str:
    """Quote untrusted text for a message: escaped, bounded, never a terminal control."""
    shown = repr(text[:limit])
    return shown if len(text) <= limit else shown + "…"


def _refuse_controls(text: str, what: str) -> None:
    for ch in text:
        if not ch.isprintable():
            raise UsageError(
                f"{what} {show(text)} contains a control or invisible character "
                f"(U+{ord(ch):04X}); type the reference out plainly"
            )


def _is_clean_absolute(path: str) -> bool:
    return path.startswith("/") and os.path.normpath(path) == path and "#" not in path


def parse_source(text: str) -> Source:
    """Validate a repository location and derive the URL git is given."""
    _refuse_controls(text, "source")
    if not text:
        raise UsageError("empty source: expected owner/repo, a git URL or a local path")
    if len(text) > MAX_SOURCE_CHARS:
        raise UsageError(f"source is longer than {MAX_SOURCE_CHARS} characters")
    if text.startswith("-"):
        raise UsageError(f"source {show(text)} starts with '-', which git would read as an option")
    if _HELPER in text:
        raise UsageError(
            f"source {show(text)} uses git's '<transport>::' form (ext::, fd::, file::, ...); "
            "only https, ssh and local paths are allowed"
        )
    if "#" in text:
        raise UsageError(f"source {show(text)} contains '#', which starts the subpath")
    if text.startswith(_LOCAL_PREFIXES) or text in _LOCAL_EXACT:
        return _local(text)
    if any(ch.isspace() for ch in text) or not text.isascii():
        raise UsageError(
            f"source {show(text)} contains whitespace or non-ASCII characters; "
            "remote sources are plain ASCII (look-alike host names are refused)"
        )
    if "://" in text:
        return _url(text)
    github = _GITHUB.fullmatch(text)
    if github:
        owner, repo = github.groups()
        repo = repo.removesuffix(".git")
        if repo in ("", ".", ".."):
            raise UsageError(f"source {show(text)} names no repository")
        return Source(
            f"{owner}/{repo}", SourceKind.HTTPS, GITHUB_URL.format(owner=owner, repo=repo)
        )
    scp = _SCP_LIKE.fullmatch(text)
    if scp:
        user, host, path = scp.groups()
        _check_user(user, text)
        _check_host(host, text)
        # scp-like paths are relative to the remote home unless they start with '/'.
        _check_url_path(path.removeprefix("/"), text)
        return Source(text, SourceKind.SSH, text)
    raise UsageError(
        f"source {show(text)} is not recognised: expected owner/repo, https://host/path, "
        "ssh://host/path, user@host:path, or a local path starting with /, ./, ../ or ~/"
    )


def _local(text: str) -> Source:
    expanded = Path(text).expanduser()
    if str(expanded).startswith("~"):
        raise UsageError(f"cannot expand {show(text)}: no home directory is known")
    # Lexical, not resolve(): parsing never touches the file system.
    return Source(text, SourceKind.LOCAL, os.path.normpath(expanded.absolute()))


def _url(text: str) -> Source:
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme not in ("https", "ssh"):
        hint = ""
        if scheme == "file":
            hint = "; name a local repository by its path (/abs/path or ./rel/path)"
        elif scheme in ("http", "git"):
            hint = "; use https:// (unencrypted transports are refused)"
        raise UsageError(f"source {show(text)} uses the {scheme!r} transport{hint}")
    try:
        parts = urllib.parse.urlsplit(f"{scheme}://{rest}")
    except ValueError as exc:
        raise UsageError(f"source {show(text)} is not a valid URL ({exc})") from None
    if parts.query or parts.fragment or "?" in rest:
        raise UsageError(f"source {show(text)} has a query or fragment")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at:
        if scheme == "https":
            raise UsageError(
                f"source {show(text)} embeds credentials; https sources carry no user or token "
                "(configure access outside the reference)"
            )
        if ":" in userinfo:
            raise UsageError(f"source {show(text)} embeds a password")
        _check_user(userinfo, text)
    host, colon, port = hostport.partition(":")
    _check_host(host, text)
    if colon and not (port.isdigit() and 0 < int(port) < 65536):
        raise UsageError(f"source {show(text)} has an invalid port")
    if not parts.path.startswith("/") or parts.path == "/":
        raise UsageError(f"source {show(text)} names no repository path")
    _check_url_path(parts.path.removeprefix("/"), text)
    url = f"{scheme}://{parts.netloc}{parts.path}"
    kind = SourceKind.HTTPS if scheme == "https" else SourceKind.SSH
    return Source(url, kind, url)


def _check_host(host: str, text: str) -> None:
    if not _HOST.fullmatch(host) or ".." in host or host.endswith("-"):
        raise UsageError(f"source {show(text)} has an invalid host {show(host)}")


def _check_user(user: str, text: str) -> None:
    if not _USER.fullmatch(user):
        raise UsageError(f"source {show(text)} has an invalid user name {show(user)}")


def _check_url_path(path: str, text: str) -> None:
    segments = path.split("/")
    if (
        not _URL_PATH.fullmatch(path)
        or path.startswith("-")
        or any(seg in ("", ".", "..") for seg in segments[:-1])
        or segments[-1] in (".", "..")
    ):
        raise UsageError(f"source {show(text)} has an invalid repository path {show(path)}")


def parse_subpath(text: str) -> str:
    """Validate a folder inside the repository; returns it normalised ('' is the root).

    A trailing '/' is dropped. Refused: absolute paths, '.', '..' and empty components,
    backslashes, a leading '-', a `.git` component and control characters.
    """
    _refuse_controls(text, "subpath")
    if len(text) > MAX_SUBPATH_CHARS:
        raise UsageError(f"subpath is longer than {MAX_SUBPATH_CHARS} characters")
    if text.startswith("-"):
        raise UsageError(f"subpath {show(text)} starts with '-'")
    if text.startswith("/"):
        raise UsageError(f"subpath {show(text)} is absolute; give it relative to the repository")
    if "\\" in text:
        raise UsageError(f"subpath {show(text)} contains a backslash; use '/' between folders")
    stripped = text.removesuffix("/")
    if not stripped:
        return ""
    for part in stripped.split("/"):
        if part in ("", ".", ".."):
            raise UsageError(f"subpath {show(text)} has an empty, '.' or '..' component")
        if part.lower().rstrip(".") == ".git" or part.strip() != part:
            raise UsageError(f"subpath {show(text)} has a forbidden component {show(part)}")
    return posixpath.normpath(stripped)


def _split(text: str) -> tuple[str, str, str]:
    """Split `<source>@<ref>[#<subpath>]` at the first '#' and the last '@' before it."""
    _refuse_controls(text, "reference")
    if len(text) > MAX_SOURCE_CHARS + MAX_SUBPATH_CHARS + 66:
        raise UsageError("reference is too long")
    head, hashmark, subpath = text.partition("#")
    source, at, ref = head.rpartition("@")
    _, sep, after_scheme = source.partition("://")
    if not at or not source or ":" in ref or (sep and "/" not in after_scheme and "/" in ref):
        # Without '@<ref>', `git@host:owner/repo` and `ssh://git@host/repo` split at the
        # user's '@'; report the missing part rather than a puzzling source error.
        raise UsageError(
            f"{show(text)} has no '@<commit>': a skill reference is <source>@<commit>[#<subpath>]"
            f"; run `skillscan resolve {head}@<branch-or-tag>` to get the full commit id"
        )
    if hashmark and not subpath:
        raise UsageError(f"{show(text)} ends with '#' but names no subpath")
    return source, ref, subpath


def make_ref(source: str, commit: str, subpath: str = "") -> SkillRef:
    """Build a `SkillRef` from its parts (for example `add SOURCE@COMMIT --path SUB`)."""
    parsed = parse_source(source)
    _refuse_controls(commit, "commit")
    if not _HEX_ID.fullmatch(commit):
        ref = commit if len(commit) <= 100 else "<branch-or-tag>"
        shown = f"{source}@{ref}" if commit else f"{source}@<branch-or-tag>"
        raise UsageError(
            f"{show(commit or '<empty>')} is not a full commit id; skills are pinned to a full "
            f"40- or 64-hex commit. Run `skillscan resolve {shown}` to get it",
        )
    return SkillRef(parsed.text, parsed.kind, parsed.url, commit.lower(), parse_subpath(subpath))


def parse_ref(text: str) -> SkillRef:
    """Parse a pinned reference `<source>@<commit>[#<subpath>]`; raise `UsageError` if not."""
    source, commit, subpath = _split(text)
    return make_ref(source, commit, subpath)


def parse_ref_name(text: str) -> str:
    """Validate a branch, tag, short or full commit id given to `skillscan resolve`."""
    _refuse_controls(text, "ref")
    if not text:
        raise UsageError("empty ref: give a branch, a tag or a commit id")
    if (
        not _REF_NAME.fullmatch(text)
        or ".." in text
        or "//" in text
        or text.endswith(("/", ".", ".lock"))
    ):
        raise UsageError(f"ref {show(text)} is not a branch, tag or commit id skillscan accepts")
    return text


def is_full_commit(text: str) -> bool:
    """True for a full 40- or 64-hex object id (either case)."""
    return _HEX_ID.fullmatch(text) is not None


def is_short_commit(text: str) -> bool:
    """True for 4 to 63 hex digits: possibly an abbreviated object id."""
    return _SHORT_HEX.fullmatch(text) is not None and not is_full_commit(text)


def parse_unpinned(text: str) -> tuple[str, str, str]:
    """Parse `<source>@<ref>[#<subpath>]` for `skillscan resolve`: (source, ref, subpath)."""
    source, ref, subpath = _split(text)
    return parse_source(source).text, parse_ref_name(ref), parse_subpath(subpath)
