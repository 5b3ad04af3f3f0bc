"""Load a skill folder safely: a bounded inventory that never follows a symlink, and SKILL.md.

Everything here treats the folder as hostile. The walk records facts (a symlink and its
target text, a fifo, a file past a bound, a breached limit); analyzers turn facts into
findings. Nothing is executed, no symlink is followed, no special file is opened, and no
ignore file shipped inside the skill (.gitignore, .semgrepignore, ...) is honoured.
"""

from __future__ import annotations

import enum
import errno
import json
import os
import posixpath
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from skillscan.errors import InputError

SKILL_FILE = "SKILL.md"
# Folders never walked inside a skill: git metadata is not part of a skill's content
# (a checkout's objects would breach every bound); its presence is recorded instead.
SKIPPED_DIRS = frozenset({".git"})
# Metadata keys under which OpenClaw (and its earlier names) keep their own settings.
OPENCLAW_KEYS = ("openclaw", "clawdbot", "clawdis")


# How a text file is read by the pattern analyzers (SkillFile.role).
MARKDOWN_SUFFIXES = frozenset(
    {".md", ".markdown", ".mdx", ".txt", ".rst", ".adoc", ".org", ".html", ".htm"}
)
CODE_SUFFIXES = frozenset(
    {
        ".py",
        ".pyw",
        ".sh",
        ".bash",
        ".zsh",
        ".ksh",
        ".fish",
        ".command",
        ".js",
        ".mjs",
        ".cjs",
        ".jsx",
        ".ts",
        ".mts",
        ".cts",
        ".tsx",
        ".ps1",
        ".psm1",
        ".psd1",
        ".bat",
        ".cmd",
        ".vbs",
        ".rb",
        ".pl",
        ".php",
        ".go",
        ".rs",
        ".java",
        ".kt",
        ".swift",
        ".lua",
        ".applescript",
        ".scpt",
    }
)
CONFIG_SUFFIXES = frozenset(
    {
        ".json",
        ".jsonc",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".env",
        ".plist",
        ".xml",
        ".service",
        ".desktop",
    }
)


@dataclass(frozen=True)
class Limits:
    """Hard bounds on what is read from one skill; past any bound the scan fails closed."""

    max_files: int = 1000
    max_file_bytes: int = 5 * 1024 * 1024
    max_total_bytes: int = 50 * 1024 * 1024
    max_depth: int = 16
    max_path_length: int = 1024
    max_frontmatter_bytes: int = 64 * 1024


DEFAULT_LIMITS = Limits()


class EntryKind(enum.Enum):
    """What a path inside the skill is, as seen by lstat (never followed)."""

    FILE = "file"
    SYMLINK = "symlink"
    SPECIAL = "special"  # fifo, socket, character or block device


class Encoding(enum.Enum):
    """How a file's bytes were recognised."""

    UTF8 = "utf-8"
    INVALID_UTF8 = "invalid-utf-8"  # text-like, but not valid UTF-8
    BINARY = "binary"  # NUL bytes or mostly non-text
    UNREAD = "unread"  # not read: symlink, special file, or past a size bound


class Breach(enum.Enum):
    """Which bound a skill went past."""

    FILE_COUNT = "file-count"
    FILE_SIZE = "file-size"
    TOTAL_SIZE = "total-size"
    DEPTH = "depth"
    PATH_LENGTH = "path-length"
    FRONTMATTER_SIZE = "frontmatter-size"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class LimitBreach:
    """A bound that was hit, and where."""

    kind: Breach
    path: str
    detail: str


@dataclass(frozen=True)
class SkillFile:
    """One entry of the inventory. `data` is None when the entry was not read."""

    path: str  # relative POSIX path inside the skill
    kind: EntryKind
    size: int
    executable: bool = False
    data: bytes | None = None
    encoding: Encoding = Encoding.UNREAD
    link_target: str | None = None  # symlinks: the target text, never resolved
    link_inside: bool = False  # symlinks: does the target stay lexically inside the skill?
    special: str | None = None  # special files: fifo, socket, char-device, block-device

    @cached_property
    def text(self) -> str | None:
        """The file as text (invalid bytes replaced), or None for binary and unread files."""
        if self.data is None or self.encoding in (Encoding.BINARY, Encoding.UNREAD):
            return None
        return self.data.decode("utf-8", errors="replace")

    @property
    def role(self) -> str:
        """What the text is for: 'markdown' (prose), 'code' (a script), 'config', or 'other'."""
        if self.text is None:
            return "other"
        suffix = self.suffix
        if suffix in CODE_SUFFIXES or (not suffix and self.text.startswith("#!")):
            return "code"
        if suffix in MARKDOWN_SUFFIXES or not suffix:
            return "markdown"
        if suffix in CONFIG_SUFFIXES or posixpath.basename(self.path).startswith(".env"):
            return "config"
        return "other"

    @property
    def suffix(self) -> str:
        """The lower-cased extension, with its dot ('' when there is none)."""
        return posixpath.splitext(self.path)[1].lower()


@dataclass(frozen=True)
class InstallSpec:
    """One entry of OpenClaw's `install[]`: how the skill asks to install a dependency."""

    kind: str
    url: str | None
    sha256: str | None
    package: str | None
    raw: Mapping[str, object]


@dataclass(frozen=True)
class OpenClawMeta:
    """OpenClaw's settings for a skill (`metadata.openclaw`, or a legacy key)."""

    key: str
    always: bool
    os: tuple[str, ...]
    bins: tuple[str, ...]
    any_bins: tuple[str, ...]
    env: tuple[str, ...]
    config: tuple[str, ...]
    primary_env: str | None
    install: tuple[InstallSpec, ...]


class Repair(enum.Enum):
    """How a frontmatter that strict YAML refused was read all the same."""

    # Quoting the top-level plain values that hold ': ' or ' #' makes the whole of it parse:
    # a slip every line-based reader (and most agents) reads the same way.
    QUOTED = "quoted"
    # Read one top-level key at a time; a key YAML still refuses is taken as a line-based
    # reader takes it (OpenClaw's fallback): the rest of its line, or its indented lines.
    PIECEWISE = "piecewise"


@dataclass(frozen=True)
class Frontmatter:
    """The parsed YAML frontmatter of SKILL.md; `error` says why it is absent or broken.

    When strict YAML refuses it, `error` stays set and, where a lenient reading finds keys,
    `data` and the fields derived from it hold that reading and `repair` says how it was made:
    an agent falling back to a line-based reader still sees what it sets, so the scan must.
    """

    present: bool
    error: str | None = None
    data: Mapping[str, object] = field(default_factory=dict)
    name: str | None = None
    description: str | None = None
    allowed_tools: tuple[str, ...] = ()
    openclaw: OpenClawMeta | None = None
    end_line: int = 0  # line of SKILL.md holding the closing '---' (0 when absent)
    repair: Repair | None = None

    @property
    def repaired(self) -> bool:
        """Was `data` read leniently from frontmatter strict YAML refused?"""
        return self.repair is not None


@dataclass(frozen=True)
class Skill:
    """A loaded skill: its inventory, SKILL.md and whatever bounds it breached."""

    root: Path
    name: str
    skill_md: str  # relative path of SKILL.md ('' if it could not be read)
    files: tuple[SkillFile, ...]
    frontmatter: Frontmatter
    body: str  # SKILL.md after the frontmatter
    body_line: int  # the line number in SKILL.md where `body` starts
    breaches: tuple[LimitBreach, ...] = ()
    skipped: tuple[str, ...] = ()  # folders present but not walked (SKIPPED_DIRS)

    def text_files(self) -> Iterator[SkillFile]:
        """Every file that was read and decodes as text, SKILL.md included."""
        return (f for f in self.files if f.text is not None)

    def file(self, path: str) -> SkillFile | None:
        """The entry at a relative path, if the inventory holds it."""
        for entry in self.files:
            if entry.path == path:
                return entry
        return None


# --- the bounded walk -----------------------------------------------------------------

_SPECIAL_NAMES = (
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "char-device"),
    (stat.S_ISBLK, "block-device"),
)
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _special_name(mode: int) -> str:
    for test, name in _SPECIAL_NAMES:
        if test(mode):
            return name
    return "unknown"


def classify_bytes(data: bytes) -> Encoding:
    """Recognise text, non-UTF-8 text and binary content."""
    head = data[:8192]
    if b"\0" in head:
        return Encoding.BINARY
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # Mostly control bytes means binary; otherwise it is text in another encoding.
        controls = sum(1 for b in head if b < 9 or 13 < b < 32)
        return Encoding.BINARY if controls > len(head) // 10 else Encoding.INVALID_UTF8
    return Encoding.UTF8


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """Read a file without following a symlink or blocking on a swapped-in fifo.

    Raises OSError when the path is no longer a regular file or grew past `max_bytes`.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise OSError(errno.EFBIG, "file grew past the size bound", str(path))
        return data
    finally:
        os.close(fd)


def _link_inside(rel_path: str, target: str) -> bool:
    """Does a symlink's target text stay inside the skill, judged lexically?"""
    if not target or target.startswith("/") or "\\" in target or target.startswith("~"):
        return False
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel_path), target))
    return resolved != ".." and not resolved.startswith("../") and resolved != "."


class _Walk:
    """State of one bounded inventory walk."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root
        self.limits = limits
        self.files: list[SkillFile] = []
        self.breaches: list[LimitBreach] = []
        self.skipped: list[str] = []
        self.total = 0
        self.stopped = False

    def breach(self, kind: Breach, path: str, detail: str) -> None:
        self.breaches.append(LimitBreach(kind, path, detail))

    def run(self) -> None:
        # Iterative depth-first walk in sorted order, so the result is deterministic.
        stack: list[tuple[Path, str, int]] = [(self.root, "", 0)]
        while stack and not self.stopped:
            directory, rel_dir, depth = stack.pop()
            subdirs = self.scan_directory(directory, rel_dir, depth)
            stack.extend(reversed(subdirs))

    def scan_directory(
        self, directory: Path, rel_dir: str, depth: int
    ) -> list[tuple[Path, str, int]]:
        limits = self.limits
        try:
            entries: list[os.DirEntry[str]] = []
            with os.scandir(directory) as it:
                for entry in it:
                    entries.append(entry)
                    if len(entries) > limits.max_files:
                        break
        except OSError as exc:
            self.breach(Breach.UNREADABLE, rel_dir or ".", f"cannot list folder: {exc.strerror}")
            return []
        entries.sort(key=lambda e: e.name)
        subdirs: list[tuple[Path, str, int]] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if len(rel.encode("utf-8", "surrogateescape")) > limits.max_path_length:
                self.breach(
                    Breach.PATH_LENGTH,
                    rel[:120] + "…",
                    f"path longer than {limits.max_path_length} bytes",
                )
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                self.breach(Breach.UNREADABLE, rel, f"cannot stat: {exc.strerror}")
                continue
            if stat.S_ISDIR(info.st_mode):
                if entry.name in SKIPPED_DIRS:
                    self.skipped.append(rel)
                elif depth + 1 > limits.max_depth:
                    self.breach(
                        Breach.DEPTH, rel, f"folder nested deeper than {limits.max_depth} levels"
                    )
                else:
                    subdirs.append((Path(entry.path), rel, depth + 1))
                continue
            if len(self.files) >= limits.max_files:
                self.breach(
                    Breach.FILE_COUNT,
                    rel,
                    f"more than {limits.max_files} files; the rest were not read",
                )
                self.stopped = True
                return []
            self.files.append(self.record(Path(entry.path), rel, info))
        return subdirs

    def record(self, path: Path, rel: str, info: os.stat_result) -> SkillFile:
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            try:
                target = str(path.readlink())
            except OSError:
                target = ""
            return SkillFile(
                rel,
                EntryKind.SYMLINK,
                info.st_size,
                link_target=target,
                link_inside=_link_inside(rel, target),
            )
        if not stat.S_ISREG(mode):
            return SkillFile(rel, EntryKind.SPECIAL, 0, special=_special_name(mode))
        executable = bool(mode & 0o111)
        limits = self.limits
        if info.st_size > limits.max_file_bytes:
            self.breach(
                Breach.FILE_SIZE,
                rel,
                f"{info.st_size} bytes, over the {limits.max_file_bytes}-byte bound",
            )
            return SkillFile(rel, EntryKind.FILE, info.st_size, executable)
        if self.total + info.st_size > limits.max_total_bytes:
            self.breach(
                Breach.TOTAL_SIZE,
                rel,
                f"skill larger than {limits.max_total_bytes} bytes; file not read",
            )
            return SkillFile(rel, EntryKind.FILE, info.st_size, executable)
        try:
            data = read_regular_file(path, limits.max_file_bytes)
        except OSError as exc:
            self.breach(Breach.UNREADABLE, rel, f"cannot read: {exc.strerror or exc}")
            return SkillFile(rel, EntryKind.FILE, info.st_size, executable)
        self.total += len(data)
        return SkillFile(rel, EntryKind.FILE, len(data), executable, data, classify_bytes(data))


# --- SKILL.md -------------------------------------------------------------------------


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors/aliases outright: no 'billion laughs' expansion."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", mark)
        return super().compose_node(parent, index)


_C_SAFE_LOADER = getattr(yaml, "CSafeLoader", None)


def _load_yaml(raw: str) -> object:
    """Parse with libyaml's safe loader when present (about 20x faster than pure Python),
    after a first pass over the events that refuses anchors and aliases."""
    if _C_SAFE_LOADER is None:
        return yaml.load(raw, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    # An anchor is written `&name` and an alias `*name`: text holding neither character
    # cannot have one, and skips the event pass (most frontmatter).
    if "&" in raw or "*" in raw:
        for event in yaml.parse(raw, Loader=_C_SAFE_LOADER):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise yaml.YAMLError("YAML aliases are not allowed")
    return yaml.load(raw, Loader=_C_SAFE_LOADER)  # noqa: S506 - libyaml's safe loader


def _strings(value: object) -> tuple[str, ...]:
    """A YAML scalar, list or comma-separated string as a tuple of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.replace(",", " ").split() if part.strip())
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value if isinstance(item, str | int | float))
    return (str(value),)


def _mapping(value: object) -> Mapping[str, object] | None:
    """A mapping, also when it arrives as JSON (or JSON5) inside a YAML string."""
    if isinstance(value, str) and value.lstrip().startswith("{") and len(value) <= 65536:
        text = value
        try:
            value = json.loads(text)
        except ValueError:
            # OpenClaw reads metadata as JSON5; YAML's flow syntax (through the safe,
            # alias-refusing loader) takes most of it: unquoted keys, single quotes,
            # trailing commas.
            value = _as_mapping(text)
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return None


def _install_spec(raw: Mapping[str, object]) -> InstallSpec:
    def text(*keys: str) -> str | None:
        for key in keys:
            value = raw.get(key)
            if isinstance(value, str):
                return value
        return None

    return InstallSpec(
        kind=text("kind") or "",
        url=text("url", "href", "download"),
        sha256=text("sha256", "sha256sum", "checksum"),
        package=text("package", "formula", "module", "name"),
        raw=raw,
    )


def _openclaw(data: Mapping[str, object]) -> OpenClawMeta | None:
    metadata = _mapping(data.get("metadata")) or {}
    for container in (metadata, data):
        for key in OPENCLAW_KEYS:
            meta = _mapping(container.get(key))
            if meta is None:
                continue
            requires = _mapping(meta.get("requires")) or {}
            install_raw = meta.get("install")
            installs = install_raw if isinstance(install_raw, list) else []
            primary = meta.get("primaryEnv")
            return OpenClawMeta(
                key=key,
                always=meta.get("always") is True,
                os=_strings(meta.get("os")),
                bins=_strings(requires.get("bins")),
                any_bins=_strings(requires.get("anyBins")),
                env=_strings(requires.get("env")),
                config=_strings(requires.get("config")),
                primary_env=primary if isinstance(primary, str) else None,
                install=tuple(
                    _install_spec(m) for item in installs if (m := _mapping(item)) is not None
                ),
            )
    return None


_YAML_ERRORS = (yaml.YAMLError, RecursionError, ValueError, TypeError)

# A `key: value` line whose value is a plain (unquoted) scalar. Strict YAML rejects such a
# value when it holds ': ' or ' #' or starts with a YAML indicator; line-based readers take
# the rest of the line. Anchors, aliases and tags (`&`, `*`, `!`) are never quoted.
_PLAIN_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<key>[A-Za-z_][\w-]{0,63}):[ \t]+(?P<value>[^\s'\"{\[|>&*!][^\n]*)$"
)
_NEEDS_QUOTES = re.compile(r": |\s#|:$|^[?:,\]}%@`]")
# A top-level key as OpenClaw's line-based fallback reads it (`^([\w-]+):\s*(.*)$`, ASCII).
_KEY_LINE = re.compile(r"^([A-Za-z0-9_-]+):[ \t]*(.*)$")
# Top-level keys parsed one at a time; past this many the rest are only read line by line
# (the frontmatter is already bounded by Limits.max_frontmatter_bytes).
MAX_REPAIRED_KEYS = 256


def _quote_line(line: str, *, nested: bool) -> str | None:
    """The line with its plain value double-quoted, or None when it needs no quoting."""
    match = _PLAIN_LINE.match(line.rstrip())
    if match is None or (match.group("indent") and not nested):
        return None
    value = match.group("value").rstrip()
    if not _NEEDS_QUOTES.search(value):
        return None
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{match.group("indent")}{match.group("key")}: "{escaped}"'


def _as_mapping(raw: str) -> dict[str, object] | None:
    """`raw` parsed with the alias-refusing safe loader, if it is a mapping."""
    try:
        data = _load_yaml(raw)
    except _YAML_ERRORS:
        return None
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else None


def _quoted_reading(lines: list[str]) -> dict[str, object] | None:
    """The whole frontmatter parsed after quoting its top-level plain values that need it;
    None when no line needed quoting or it still does not parse."""
    repaired = [_quote_line(line, nested=False) for line in lines]
    if all(r is None for r in repaired):
        return None
    text = "\n".join(r if r is not None else line for r, line in zip(repaired, lines, strict=True))
    return _as_mapping(text + "\n")


def _piece_as_lines(piece: list[str]) -> dict[str, object]:
    """One top-level key as a line-based reader takes it: the rest of its line without
    quotes, else its indented lines joined (OpenClaw's parseLineFrontmatter)."""
    match = _KEY_LINE.match(piece[0])
    if match is None:
        return {}
    key, inline = match.group(1), match.group(2).strip()
    if inline:
        if len(inline) > 1 and inline[0] == inline[-1] and inline[0] in "\"'":
            inline = inline[1:-1]
        return {key: inline} if inline else {}
    block: list[str] = []
    for line in piece[1:]:
        if line and not line.startswith((" ", "\t")):
            break
        block.append(line)
    value = "\n".join(block).strip()
    return {key: value} if value else {}


def _piece_as_yaml(piece: list[str]) -> dict[str, object] | None:
    """One top-level key parsed on its own: as written, with plain values quoted, with
    indenting tabs (which YAML forbids) expanded."""
    candidates = [piece]
    quoted = [_quote_line(line, nested=True) or line for line in piece]
    if quoted != piece:
        candidates.append(quoted)
    if any(line[: len(line) - len(line.lstrip(" \t"))].count("\t") for line in quoted):
        candidates.append([_expand_indent(line) for line in quoted])
    for candidate in candidates:
        mapping = _as_mapping("\n".join(candidate) + "\n")
        if mapping is not None:
            return mapping
    return None


def _expand_indent(line: str) -> str:
    body = line.lstrip(" \t")
    return line[: len(line) - len(body)].expandtabs(8) + body


def _piecewise_reading(lines: list[str]) -> dict[str, object]:
    """Each top-level key read on its own, so one broken value (an unquoted colon, a tab, an
    alias) hides nothing else; a key YAML refuses is read as a line-based reader reads it."""
    starts = [i for i, line in enumerate(lines) if _KEY_LINE.match(line)]
    mapping: dict[str, object] = {}
    for n, start in enumerate(starts):
        piece = lines[start : starts[n + 1] if n + 1 < len(starts) else len(lines)]
        parsed = _piece_as_yaml(piece) if n < MAX_REPAIRED_KEYS else None
        mapping.update(parsed if parsed is not None else _piece_as_lines(piece))
    return mapping


def lenient_reading(raw: str) -> tuple[dict[str, object], Repair] | None:
    """Frontmatter text strict YAML refused, read as a lenient agent reads it; None when
    nothing can be read. Only the alias-refusing safe loader ever sees the text."""
    lines = raw.splitlines()
    quoted = _quoted_reading(lines)
    if quoted is not None:
        return quoted, Repair.QUOTED
    pieces = _piecewise_reading(lines)
    return (pieces, Repair.PIECEWISE) if pieces else None


def _from_mapping(
    mapping: dict[str, object],
    end_line: int,
    error: str | None = None,
    repair: Repair | None = None,
) -> Frontmatter:
    name = mapping.get("name")
    description = mapping.get("description")
    return Frontmatter(
        present=True,
        error=error,
        data=mapping,
        name=name if isinstance(name, str) else None,
        description=description if isinstance(description, str) else None,
        allowed_tools=_strings(mapping.get("allowed-tools")),
        openclaw=_openclaw(mapping),
        end_line=end_line,
        repair=repair,
    )


def parse_frontmatter(
    text: str, max_bytes: int = DEFAULT_LIMITS.max_frontmatter_bytes
) -> tuple[Frontmatter, str, int]:
    """Split SKILL.md into (frontmatter, body, body's first line). Never raises."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return Frontmatter(present=False, error="SKILL.md has no YAML frontmatter"), text, 1
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r\n") in ("---", "...")), None)
    if end is None:
        return (
            Frontmatter(present=False, error="frontmatter is not closed by a '---' line"),
            text,
            1,
        )
    raw = "".join(lines[1:end])
    body = "".join(lines[end + 1 :])
    if len(raw.encode("utf-8", "replace")) > max_bytes:
        error = f"frontmatter is larger than {max_bytes} bytes and was not parsed"
        return Frontmatter(present=True, error=error, end_line=end + 1), body, end + 2
    try:
        data = _load_yaml(raw)
    except _YAML_ERRORS as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        error = f"invalid YAML: {first_line}"
        reading = lenient_reading(raw)
        if reading is None:
            return Frontmatter(present=True, error=error, end_line=end + 1), body, end + 2
        return _from_mapping(reading[0], end + 1, error, reading[1]), body, end + 2
    if not isinstance(data, dict):
        kind = type(data).__name__
        error = f"frontmatter is a {kind}, not a mapping"
        return Frontmatter(present=True, error=error, end_line=end + 1), body, end + 2
    return _from_mapping({str(k): v for k, v in data.items()}, end + 1), body, end + 2


def find_skill_md(names: list[str]) -> str | None:
    """The SKILL.md among a folder's entry names: exact name first, then any casing."""
    if SKILL_FILE in names:
        return SKILL_FILE
    return next((n for n in sorted(names) if n.lower() == SKILL_FILE.lower()), None)


def load_skill(root: Path, limits: Limits = DEFAULT_LIMITS) -> Skill:
    """Inventory a skill folder within `limits` and parse its SKILL.md. Never follows a symlink."""
    try:
        info = root.lstat()
    except OSError as exc:
        raise InputError(f"cannot read skill folder {root}: {exc.strerror}") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise InputError(f"{root} is not a folder (a symlinked skill folder is never followed)")
    walk = _Walk(root, limits)
    walk.run()
    files = tuple(walk.files)
    top_names = [f.path for f in files if "/" not in f.path]
    skill_md = find_skill_md(top_names) or ""
    entry = next((f for f in files if f.path == skill_md), None) if skill_md else None
    if entry is None:
        frontmatter, body, body_line = (
            Frontmatter(present=False, error="the folder holds no SKILL.md"),
            "",
            1,
        )
    elif entry.text is None:
        reason = "a symlink" if entry.kind is EntryKind.SYMLINK else "not readable text"
        frontmatter, body, body_line = (
            Frontmatter(present=False, error=f"SKILL.md is {reason}"),
            "",
            1,
        )
    else:
        frontmatter, body, body_line = parse_frontmatter(entry.text, limits.max_frontmatter_bytes)
        if frontmatter.error and "larger than" in frontmatter.error:
            walk.breach(Breach.FRONTMATTER_SIZE, skill_md, frontmatter.error)
    return Skill(
        root=root,
        name=frontmatter.name or root.name,
        skill_md=skill_md,
        files=files,
        frontmatter=frontmatter,
        body=body,
        body_line=body_line,
        breaches=tuple(walk.breaches),
        skipped=tuple(walk.skipped),
    )


# --- discovery ------------------------------------------------------------------------

DISCOVERY_MAX_DEPTH = 32
DISCOVERY_MAX_ENTRIES = 2_000_000


def discover(path: Path) -> list[Path]:
    """Every folder under `path` holding a SKILL.md, sorted. Never follows a symlink.

    `path` itself, named by the user, may be a skill folder, a folder of skills or a
    SKILL.md file. Raises InputError when it does not exist.
    """
    try:
        info = path.lstat()
    except OSError as exc:
        raise InputError(
            f"{path}: {exc.strerror or 'cannot be read'}", hint="check the path exists"
        ) from exc
    if stat.S_ISLNK(info.st_mode):
        path = (
            path.resolve()
        )  # the user's own argument may be a link; nothing inside it is followed
        info = path.stat()
    if stat.S_ISREG(info.st_mode):
        if path.name.lower() == SKILL_FILE.lower():
            return [path.parent]
        raise InputError(f"{path} is a file; give a skill folder, a folder of skills or a SKILL.md")
    if not stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path} is not a folder")
    found: list[Path] = []
    seen = 0
    stack: list[tuple[Path, int]] = [(path, 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            continue  # an unreadable folder below a skill shows up in that skill's own walk
        seen += len(entries)
        if seen > DISCOVERY_MAX_ENTRIES:
            raise InputError(
                f"{path} holds more than {DISCOVERY_MAX_ENTRIES} entries; scan a smaller tree"
            )
        names = [e.name for e in entries if e.is_file(follow_symlinks=False) or e.is_symlink()]
        if find_skill_md(names):
            found.append(directory)
        if depth < DISCOVERY_MAX_DEPTH:
            stack.extend(
                (Path(e.path), depth + 1)
                for e in entries
                if e.is_dir(follow_symlinks=False) and e.name not in SKIPPED_DIRS
            )
    return sorted(found)
