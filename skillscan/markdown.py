"""Markdown structure for the pattern analyzers: code blocks, inline code, comments, links.

Pure functions over a str. Every function runs in time linear in its input (no regex that
can backtrack across lines, no rescans of unclosed constructs), caps how many items it
returns (`MAX_ITEMS`) and never raises: hostile markdown yields a best-effort reading,
never an exception. Line numbers are 1-based lines of the text passed in (split on "\\n").

The parsing follows CommonMark where it matters for security review and is lenient where
skills are sloppy: fences may sit inside list items or block quotes at any indentation
(agents render them as code), and an unclosed fence runs to the end of the text.

Speed matters (every file of every skill): markers are found with literal-prefixed
searches, which CPython runs at memchr speed, and only candidate lines are looked at.

API: `Document.parse(text)` (code blocks, headings, section and code-block lookups by
line), `code_blocks`, `inline_code`, `html_comments`, `links`, `urls`, `headings`,
`frontmatter_lines`, `strip_invisible`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

# No function returns more items than this: a file of a million backticks stays cheap.
MAX_ITEMS = 10_000

# Invisible format characters (zero-width, joiners, word joiner, invisible operators, BOM)
# that split a keyword for a regex but not for the agent reading it. Reporting them is the
# unicode analyzer's job; pattern matching only needs them gone.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff]")

# A fence line, found from the newline before it (the text is searched with a newline put
# in front): indentation or block-quote markers, then ``` or ~~~ and the info string.
_FENCE = re.compile(r"\n[ \t>]{0,40}(`{3,}|~{3,})([^\n]{0,1000})")
# Each pattern starts with a two-character literal ("\n#", "\n ", ...): the engine then
# jumps between candidates instead of trying every line.
_ATX = tuple(
    re.compile(lead + r"(#{1,6})(?=[ \t\n]|$)[ \t]*([^\n]{0,300})")
    for lead in (r"\n", r"\n [ >]{0,7}", r"\n>[ \t>]{0,7}")
)
_SETEXT = tuple(
    re.compile(lead + r"(=+|-+)[ \t]*(?=\n|$)") for lead in (r"\n(?=[=-])", r"\n {1,3}")
)
_INDENTED = re.compile(r"\n(?:    |\t)")
_BACKTICKS = re.compile(r"`+")
_LINK = re.compile(r"\[([^\[\]\n]{0,500})\]\(\s*<?([^\s()<>]{1,2000})")
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^\s<>]{1,2000})>")
_URL = re.compile(r"(?i)\b(?:https?|ftp)://[^\s<>\"'`\[\]{}|\\^]{1,2000}")
_URL_TRAILING = ".,;:!?*_~"
_LIST_ITEM = re.compile(r"[ \t]{0,16}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_BLANK_RUN_LIMIT = 200  # lines looked back over when deciding an indented block's context


@dataclass(frozen=True)
class CodeBlock:
    """A fenced or indented code block. `line`..`end_line` are its content lines;
    `start`..`end` the offsets of the whole block (fences included) in the text."""

    text: str  # the content, without fences
    line: int
    end_line: int  # last content line (== line - 1 for an empty block)
    info: str = ""  # a fence's info string ('bash', 'python title="x"'); '' if indented
    fenced: bool = True
    start: int = 0
    end: int = 0

    @property
    def language(self) -> str:
        """The first word of the info string, lower-cased ('' when there is none)."""
        return self.info.split(maxsplit=1)[0].lower() if self.info.strip() else ""


@dataclass(frozen=True)
class Span:
    """A piece of text found in the markdown (inline code, a comment, a URL) and its line."""

    text: str
    line: int


@dataclass(frozen=True)
class Link:
    """A link: `[text](url)`, `<url>` or a bare URL (then `text` is '')."""

    text: str
    url: str
    line: int


@dataclass(frozen=True)
class Heading:
    """An ATX (`## Title`) or setext (Title / ----) heading."""

    level: int
    title: str
    line: int


def strip_invisible(text: str) -> str:
    """`text` without zero-width and other invisible format characters (lines unchanged)."""
    if text.isascii():
        return text
    return _INVISIBLE.sub("", text)


class _LineCounter:
    """Line numbers for offsets visited in increasing order: one pass over the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.line = 1

    def line_of(self, offset: int) -> int:
        if offset < self.offset:  # out of order: count from the start
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end < 0 else end


def _fence_candidates(text: str) -> list[tuple[int, str, str]]:
    """(line start, fence, info) for each line that opens or closes a fence, in order."""
    found: list[tuple[int, str, str]] = []
    for match in _FENCE.finditer("\n" + text):
        found.append((match.start(), match.group(1), match.group(2).strip()))
        if len(found) > 4 * MAX_ITEMS:
            break
    return found


def _fenced_blocks(text: str) -> list[CodeBlock]:
    lines = _LineCounter(text)
    blocks: list[CodeBlock] = []
    candidates = iter(_fence_candidates(text))
    for start, fence, info in candidates:
        if fence[0] == "`" and "`" in info:
            continue  # CommonMark: a backtick fence's info string holds no backtick
        open_line = lines.line_of(start)
        body_start = _line_end(text, start) + 1
        close: tuple[int, str, str] | None = None
        for candidate in candidates:
            _, c_fence, c_info = candidate
            if c_fence[0] == fence[0] and len(c_fence) >= len(fence) and not c_info:
                close = candidate
                break
        if close is None:  # an unclosed fence runs to the end of the text
            body_end = max(body_start, len(text))
            end_line = open_line + text.count("\n", start, len(text))
            blocks.append(
                CodeBlock(
                    text[body_start:body_end], open_line + 1, end_line, info, True, start, len(text)
                )
            )
            break
        close_line = lines.line_of(close[0])
        body = text[body_start : close[0]] if close[0] > body_start else ""
        end = _line_end(text, close[0])
        blocks.append(CodeBlock(body, open_line + 1, close_line - 1, info, True, start, end))
        if len(blocks) >= MAX_ITEMS:
            break
    return blocks


class _Intervals:
    """Sorted, disjoint closed line intervals with O(log n) membership."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans = sorted(spans)
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]

    def contains(self, line: int) -> bool:
        index = bisect.bisect_right(self.starts, line) - 1
        return index >= 0 and line <= self.ends[index]


def _opens_indented_block(text: str, start: int) -> bool:
    """May the indented line at offset `start` open an indented code block? It needs a
    blank line before it, and the last text before that must not be a list item (whose
    continuation lines are indented too) or another indented line."""
    previous_end = start - 1
    if previous_end < 0:
        return True
    previous_start = _line_start(text, previous_end)
    if text[previous_start:previous_end].strip():
        return False  # no blank line before: a paragraph continuation
    for _ in range(_BLANK_RUN_LIMIT):
        if previous_start == 0:
            return True
        previous_end = previous_start - 1
        previous_start = _line_start(text, previous_end)
        line = text[previous_start:previous_end]
        if line.strip():
            if _LIST_ITEM.match(line):
                return False
            # An indented paragraph line after a list item continues the item.
            return line[:1] not in (" ", "\t") or line.lstrip()[:1] in (">", "`", "~")
    return False


def _indented_blocks(text: str, fenced: list[CodeBlock]) -> list[CodeBlock]:
    """Runs of lines indented by 4+ spaces (or a tab) that open after a blank line, outside
    list items and fenced blocks."""
    lines = _LineCounter(text)
    blocks: list[CodeBlock] = []
    run: list[int] = []  # [start offset, first line, end offset, last line]
    skips = sorted((b.start, b.end) for b in fenced)
    skip = 0
    pos = 0
    while True:
        match = _INDENTED.search(text, pos)
        if match is None:
            break
        start = match.start() + 1
        while skip < len(skips) and skips[skip][1] < start:
            skip += 1
        if skip < len(skips) and skips[skip][0] <= start:
            pos = max(skips[skip][1], start)  # inside a fenced block: jump past it
            continue
        end = _line_end(text, start)
        pos = end
        if not text[start:end].strip():
            continue
        number = lines.line_of(start)
        if run and not text[run[2] : start].strip():
            run[2], run[3] = end, number  # continues the block (blank lines may intervene)
            continue
        if run:
            blocks.append(_indented(text, run))
            run = []
        if _opens_indented_block(text, start):
            run = [start, number, end, number]
        if len(blocks) >= MAX_ITEMS:
            return blocks
    if run:
        blocks.append(_indented(text, run))
    return blocks


def _indented(text: str, run: list[int]) -> CodeBlock:
    start, first, end, last = run
    body = "\n".join(
        line[4:] if line.startswith("    ") else line[1:] for line in text[start:end].split("\n")
    )
    return CodeBlock(body, first, last, "", False, start, end)


def code_blocks(text: str) -> tuple[CodeBlock, ...]:
    """Fenced and indented code blocks, in order of position."""
    try:
        fenced = _fenced_blocks(text) if ("```" in text or "~~~" in text) else []
        indented = _indented_blocks(text, fenced) if ("\n    " in text or "\n\t" in text) else []
    except (RecursionError, MemoryError, ValueError):
        return ()
    return tuple(sorted(fenced + indented, key=lambda b: b.line)[:MAX_ITEMS])


def _blank_code(text: str, blocks: tuple[CodeBlock, ...]) -> str:
    """`text` with every code block (fences included) emptied, newlines kept."""
    if not blocks:
        return text
    pieces: list[str] = []
    pos = 0
    for block in sorted(blocks, key=lambda b: b.start):
        if block.start < pos:
            continue
        pieces.append(text[pos : block.start])
        pieces.append("\n" * text.count("\n", block.start, block.end))
        pos = block.end
    pieces.append(text[pos:])
    return "".join(pieces)


def inline_code(text: str, blocks: tuple[CodeBlock, ...] | None = None) -> tuple[Span, ...]:
    """Inline code spans outside code blocks: a run of N backticks up to the next run of
    exactly N. Pass `blocks` when code_blocks() was already computed."""
    try:
        prose = _blank_code(text, code_blocks(text) if blocks is None else blocks)
        if "`" not in prose:
            return ()
        runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(prose)]
        by_length: dict[int, list[int]] = {}
        for index, (start, end) in enumerate(runs):
            by_length.setdefault(end - start, []).append(index)
        lines = _LineCounter(prose)
        spans: list[Span] = []
        index = 0
        while index < len(runs) and len(spans) < MAX_ITEMS:
            start, end = runs[index]
            same = by_length[end - start]
            position = bisect.bisect_right(same, index)
            if position >= len(same):
                index += 1  # no closer: the backticks are literal
                continue
            closer = same[position]
            content = prose[end : runs[closer][0]]
            if "\n\n" not in content:  # a span never crosses a paragraph break
                spans.append(Span(_strip_span(content), lines.line_of(start)))
                index = closer + 1
            else:
                index += 1
        return tuple(spans)
    except (RecursionError, MemoryError, ValueError):
        return ()


def _strip_span(content: str) -> str:
    content = content.replace("\n", " ")
    if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip():
        return content[1:-1]
    return content


def html_comments(text: str, blocks: tuple[CodeBlock, ...] | None = None) -> tuple[Span, ...]:
    """`<!-- ... -->` comments outside code blocks; an unclosed one runs to the end."""
    try:
        prose = _blank_code(text, code_blocks(text) if blocks is None else blocks)
        lines = _LineCounter(prose)
        spans: list[Span] = []
        pos = prose.find("<!--")
        while pos >= 0 and len(spans) < MAX_ITEMS:
            end = prose.find("-->", pos + 4)
            body = prose[pos + 4 : end if end >= 0 else len(prose)]
            spans.append(Span(body, lines.line_of(pos)))
            if end < 0:
                break
            pos = prose.find("<!--", end + 3)
        return tuple(spans)
    except (RecursionError, MemoryError, ValueError):
        return ()


def _trim_url(url: str) -> str:
    url = url.rstrip(_URL_TRAILING)
    # A closing parenthesis belongs to the URL only when the URL opened one.
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(_URL_TRAILING)
    return url


def links(text: str) -> tuple[Link, ...]:
    """Markdown links, autolinks and bare URLs (code included: commands hold URLs too)."""
    try:
        found: list[tuple[int, Link]] = []
        taken: set[int] = set()
        for match in _LINK.finditer(text):
            found.append((match.start(), Link(match.group(1), match.group(2), 0)))
            taken.add(match.start(2))
            if len(found) >= MAX_ITEMS:
                break
        for match in _AUTOLINK.finditer(text):
            if len(found) < MAX_ITEMS:
                found.append((match.start(), Link("", match.group(1), 0)))
                taken.add(match.start(1))
        for match in _URL.finditer(text):
            if match.start() not in taken and len(found) < MAX_ITEMS:
                found.append((match.start(), Link("", _trim_url(match.group(0)), 0)))
        found.sort(key=lambda item: item[0])
        lines = _LineCounter(text)
        return tuple(Link(link.text, link.url, lines.line_of(pos)) for pos, link in found)
    except (RecursionError, MemoryError, ValueError):
        return ()


def urls(text: str) -> tuple[Span, ...]:
    """Every http(s)/ftp URL in the text, wherever it sits, trimmed of trailing punctuation."""
    try:
        lines = _LineCounter(text)
        return tuple(
            Span(_trim_url(m.group(0)), lines.line_of(m.start()))
            for _, m in zip(range(MAX_ITEMS), _URL.finditer(text), strict=False)
        )
    except (RecursionError, MemoryError, ValueError):
        return ()


def _setext_headings(subject: str) -> Iterator[tuple[int, Heading]]:
    """(offset of the newline before the title, heading) for setext underlines."""
    for pattern in _SETEXT:
        for match in pattern.finditer(subject):
            title_end = match.start()
            title_start = _line_start(subject, title_end)
            title = subject[title_start:title_end].strip()
            if (
                title
                and title_start > 0
                and not title.startswith(("#", ">", "|", "<", "```", "~~~"))
                and not _LIST_ITEM.match(title)
                and not any(p.match("\n" + title) for p in _SETEXT)
            ):
                level = 1 if match.group(1)[0] == "=" else 2
                yield title_start - 1, Heading(level, title, 0)


def frontmatter_lines(text: str) -> int:
    """How many leading lines are YAML frontmatter (`---` ... `---`); 0 when there is none."""
    if not text.startswith("---"):
        return 0
    first_end = _line_end(text, 0)
    if text[:first_end].rstrip() != "---":
        return 0
    for marker in ("\n---", "\n..."):
        pos = text.find(marker, first_end)
        while pos >= 0:
            end = _line_end(text, pos + 1)
            if text[pos + 1 : end].rstrip() == marker[1:]:
                return text.count("\n", 0, pos) + 2
            pos = text.find(marker, end)
    return 0


def _prose_segments(text: str, blocks: tuple[CodeBlock, ...]) -> list[tuple[int, int]]:
    """Offsets (start, end) of the text outside code blocks and frontmatter."""
    skips = sorted((b.start, b.end) for b in blocks)
    front = frontmatter_lines(text)
    if front:
        end = 0
        for _ in range(front):
            end = _line_end(text, end) + 1
        skips.insert(0, (0, min(end, len(text))))
    segments: list[tuple[int, int]] = []
    pos = 0
    for start, end in skips:
        if start > pos:
            segments.append((pos, start))
        pos = max(pos, end)
    segments.append((pos, len(text)))
    return segments


def headings(text: str, blocks: tuple[CodeBlock, ...] | None = None) -> tuple[Heading, ...]:
    """ATX and setext headings outside code blocks and frontmatter, in order."""
    try:
        blocks = code_blocks(text) if blocks is None else blocks
        subject = "\n" + text  # so a heading on the first line is found like the others
        # Prose segments as offsets in `subject`, each from the newline before it.
        segments = [(a, b + 1) for a, b in _prose_segments(text, blocks)]
        starts = [a for a, _ in segments]

        def in_prose(pos: int) -> bool:
            index = bisect.bisect_right(starts, pos) - 1
            return index >= 0 and pos < segments[index][1]

        found: list[tuple[int, Heading]] = []
        if "#" in text:
            for pattern in _ATX:
                for match in pattern.finditer(subject):
                    if not in_prose(match.start()):
                        continue
                    prefix = subject[match.start() + 1 : match.start(1)]
                    if prefix.count(" ") + 4 * prefix.count("\t") > 3 + 2 * prefix.count(">"):
                        continue  # indented 4+: code, not a heading
                    title = match.group(2).strip()
                    title = title.rstrip("#").rstrip() if title.endswith("#") else title
                    found.append((match.start(), Heading(len(match.group(1)), title, 0)))
                    if len(found) >= MAX_ITEMS:
                        break
        if "=" in text or "-" in text:
            found.extend(h for h in _setext_headings(subject) if in_prose(h[0] + 1))
        found.sort(key=lambda item: item[0])
        lines = _LineCounter(subject)
        # A match starts at the newline that ends the line before the heading.
        return tuple(
            Heading(h.level, h.title, lines.line_of(pos + 1) - 1) for pos, h in found[:MAX_ITEMS]
        )
    except (RecursionError, MemoryError, ValueError):
        return ()


@dataclass(frozen=True)
class Document:
    """A markdown text read once: its code blocks and headings, with line lookups.

    Build it with `Document.parse(text)`; lookups cost O(log n).
    """

    text: str
    blocks: tuple[CodeBlock, ...]
    headings: tuple[Heading, ...]
    _code: _Intervals
    _heading_lines: tuple[int, ...]
    _block_lines: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Document:
        """Read `text` (pass it through strip_invisible first if it may hold such chars)."""
        blocks = code_blocks(text)
        found = headings(text, blocks)
        spans = [(b.line - 1 if b.fenced else b.line, b.end_line + 1) for b in blocks]
        return cls(
            text,
            blocks,
            found,
            _Intervals(spans),
            tuple(h.line for h in found),
            tuple(b.line for b in blocks),
        )

    def in_code_block(self, line: int) -> bool:
        """Is the line inside a code block (fence lines included)?"""
        return self._code.contains(line)

    def block_at(self, line: int) -> CodeBlock | None:
        """The code block holding the line (fence lines included), if any."""
        index = bisect.bisect_right(self._block_lines, line + 1) - 1
        for block in self.blocks[max(0, index - 1) : index + 2]:
            first = block.line - 1 if block.fenced else block.line
            last = block.end_line + 1 if block.fenced else block.end_line
            if first <= line <= last:
                return block
        return None

    def section(self, line: int) -> tuple[Heading, ...]:
        """The headings a line sits under, outermost first (its section path)."""
        index = bisect.bisect_right(self._heading_lines, line) - 1
        path: list[Heading] = []
        level = 7
        # Bounded walk back: a file of thousands of same-level headings stays cheap.
        stop = max(-1, index - 500)
        while index > stop and level > 1:
            heading = self.headings[index]
            if heading.level < level:
                path.append(heading)
                level = heading.level
            index -= 1
        return tuple(reversed(path))
