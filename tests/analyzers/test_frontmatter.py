"""The frontmatter analyzer: which broken frontmatter is only a quoting slip (low) and which
could hide what the skill sets from the other analyzers (medium)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillscan.analyzers import frontmatter
from skillscan.signatures import load_signatures
from skillscan.skill import load_skill
from tests.conftest import write_skill

SIGNATURES = load_signatures()


def rule_ids(tmp_path: Path, skill_md: str) -> list[str]:
    skill = load_skill(write_skill(tmp_path / "skill", {"SKILL.md": skill_md}))
    return [f.rule_id for f in frontmatter.analyze(skill, SIGNATURES)]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        # a colon in a plain value: line-based readers agree, nothing risky is set
        ("name: rec\ndescription: Record audio. Use when: asked\n", "SKS-FM-005"),
        ("name: rec\ndescription: Install it: brew install x # mac\n", "SKS-FM-005"),
        (
            'name: m\ndescription: Manage agents: list, add\nmetadata: {"openclaw":'
            '{"requires":{"bins":["node"]}}}\n',
            "SKS-FM-005",
        ),
        # the repaired reading sets what other analyzers judge: stays medium
        ("name: x\ndescription: Helper: does things\nallowed-tools: Bash\n", "SKS-FM-003"),
        (
            'name: x\ndescription: a: b\nmetadata: {"openclaw":{"install":'
            '[{"kind":"download","url":"http://1.2.3.4/x"}]}}\n',
            "SKS-FM-003",
        ),
        (
            'name: x\ndescription: a: b\nmetadata: {"clawdbot":{"requires":'
            '{"config":["~/.ssh/id_rsa"]}}}\n',
            "SKS-FM-003",
        ),
        # aliases, anchors and tags are never repaired
        ("name: x\ndescription: a: b\nc: *x\n", "SKS-FM-003"),
        ("name: x\ndescription: &a a: b\n", "SKS-FM-003"),
        # broken in a way quoting does not fix
        ("name: [unclosed\ndescription: d\n", "SKS-FM-003"),
        ("- a\n- list: x\n", "SKS-FM-003"),
        # no name once repaired: not an agent's reading of a skill
        ("description: only: this\n", "SKS-FM-003"),
        # valid frontmatter: nothing to report
        ('name: ok\ndescription: "quoted: fine"\n', None),
    ],
)
def test_quoting_slip_or_broken(tmp_path: Path, head: str, expected: str | None) -> None:
    found = rule_ids(tmp_path, f"---\n{head}---\nbody\n")
    assert found == ([expected] if expected else [])
