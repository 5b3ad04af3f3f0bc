"""skillscan.markdown: code blocks, inline code, comments, links and headings, read the way
an agent renders a skill, in linear time, never raising."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillscan import markdown
from skillscan.markdown import CodeBlock, Document, Heading, Link, Span

SAMPLE = """---
name: x
description: a sample
---
# Title

intro `inline` and ``double `tick` code``
<!-- a hidden
comment -->
## Setup

```bash
curl -fsSL https://example.com/i.sh | bash
```

   > ```
   > quoted
   > ```

    indented code
    more

- item

      list continuation, not code

Setext title
------------

~~~~ python
unclosed
"""


def test_code_blocks_fenced_quoted_indented_and_unclosed() -> None:
    blocks = markdown.code_blocks(SAMPLE)
    assert [(b.line, b.end_line, b.info, b.fenced) for b in blocks] == [
        (13, 13, "bash", True),
        (17, 17, "", True),
        (20, 21, "", False),
        (31, 32, "python", True),
    ]
    assert blocks[0].text == "curl -fsSL https://example.com/i.sh | bash\n"
    assert blocks[0].language == "bash"
    assert blocks[2].text == "indented code\nmore"
    assert SAMPLE[blocks[0].start : blocks[0].end].startswith("```bash")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```\na\n```\n", [(2, 2, "")]),
        ("```sh\n```\n", [(2, 1, "sh")]),  # empty block
        ("````\n```\nstill code\n````\n", [(2, 3, "")]),  # a shorter fence does not close
        ("~~~\na\n```\nb\n~~~\n", [(2, 4, "")]),  # another fence char does not close
        ("``` a`b\nnot a fence\n", []),  # backtick in a backtick fence's info string
        ("```js\na\n``` not a closer\nb\n```\n", [(2, 4, "js")]),
        ("1. Step\n\n   ```bash\n   run\n   ```\n", [(4, 4, "bash")]),  # inside a list
        ("para\n    not code: no blank line before\n", []),
        ("- item\n\n    continuation of the item\n", []),
        ("text\n\n\tcode with a tab\n", [(3, 3, "")]),
    ],
)
def test_code_block_edges(text: str, expected: list[tuple[int, int, str]]) -> None:
    assert [(b.line, b.end_line, b.info) for b in markdown.code_blocks(text)] == expected


def test_inline_code_outside_blocks() -> None:
    spans = markdown.inline_code(SAMPLE)
    assert spans == (Span("inline", 7), Span("double `tick` code", 7))
    assert markdown.inline_code("no code here") == ()
    assert markdown.inline_code("``` unmatched ` and `` too") == ()
    assert markdown.inline_code("` a `") == (Span("a", 1),)


def test_html_comments() -> None:
    assert markdown.html_comments(SAMPLE) == (Span(" a hidden\ncomment ", 8),)
    assert markdown.html_comments("x <!-- open to the end") == (Span(" open to the end", 1),)
    assert markdown.html_comments("```\n<!-- in code -->\n```\n") == ()


def test_links_and_urls() -> None:
    text = "see [x](https://a.b/c.zip) and https://x.y/z). <https://q.r>\n(https://p.q/r)"
    assert markdown.links(text) == (
        Link("x", "https://a.b/c.zip", 1),
        Link("", "https://x.y/z", 1),
        Link("", "https://q.r", 1),
        Link("", "https://p.q/r", 2),
    )
    assert [s.text for s in markdown.urls("get https://a.b/(x) now.")] == ["https://a.b/(x)"]


def test_headings_skip_code_and_frontmatter() -> None:
    assert markdown.headings(SAMPLE) == (
        Heading(1, "Title", 5),
        Heading(2, "Setup", 10),
        Heading(2, "Setext title", 27),
    )
    assert markdown.headings("```\n# not a heading\n```\n#hashtag\n## Closed ##\n") == (
        Heading(2, "Closed", 5),
    )
    assert markdown.frontmatter_lines(SAMPLE) == 4
    assert markdown.frontmatter_lines("# no frontmatter\n") == 0


def test_document_lookups() -> None:
    doc = Document.parse(SAMPLE)
    assert doc.in_code_block(13) and doc.in_code_block(12) and doc.in_code_block(14)
    assert not doc.in_code_block(10)
    block = doc.block_at(13)
    assert isinstance(block, CodeBlock) and block.info == "bash"
    assert doc.block_at(7) is None
    assert [h.title for h in doc.section(13)] == ["Title", "Setup"]
    assert [h.title for h in doc.section(6)] == ["Title"]
    assert doc.section(2) == ()


def test_strip_invisible() -> None:
    assert markdown.strip_invisible("cu\u200brl\u2060 |\ufeff ba\u200dsh") == "curl | bash"
    assert markdown.strip_invisible("plain") == "plain"


# --- hostile input: never raises, stays linear --------------------------------------------

HOSTILE = [
    "`" * 100_000,
    "``` " * 50_000,
    "```\n" * 50_000,
    "~~~\n" * 50_000,
    "<!--" * 50_000,
    "[" * 50_000 + "](" * 50_000,
    "#" * 100_000,
    "\n    x" * 50_000,
    "- a\n\n    b\n" * 20_000,
    "a\n---\n" * 50_000,
    "http://" + "a" * 200_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_is_cheap(text: str) -> None:
    start = time.process_time()
    doc = Document.parse(text)
    markdown.inline_code(text, doc.blocks)
    markdown.html_comments(text, doc.blocks)
    markdown.links(text)
    markdown.urls(text)
    doc.section(len(text) // 2)
    # Generous bound: linear work on ~200 KB; a quadratic path would take minutes.
    assert time.process_time() - start < 10


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("`~#-=>|<!-[]() \n\tab:/.*")), max_size=400))
def test_any_text_parses(text: str) -> None:
    doc = Document.parse(text)
    lines = text.count("\n") + 1
    for block in doc.blocks:
        assert 1 <= block.line <= block.end_line + 1 <= lines + 1
    for heading in doc.headings:
        assert 1 <= heading.line <= lines
    for span in markdown.inline_code(text, doc.blocks) + markdown.html_comments(text):
        assert 1 <= span.line <= lines
    for line in range(1, lines + 1):
        doc.section(line)
        doc.block_at(line)
