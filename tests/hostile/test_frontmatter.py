"""SKILL.md frontmatter on hostile input: alias bombs, huge or broken YAML never crash the scan."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from skillscan.scan import ScanOptions, scan_roots
from skillscan.skill import Breach, load_skill, parse_frontmatter
from tests.conftest import write_skill

BILLION_LAUGHS = """---
name: lol
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
---
body
"""


def _findings(root: Path) -> set[str]:
    return {f.rule_id for f in scan_roots([root], ScanOptions(jobs=1)).reports[0].findings}


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    skill = write_skill(tmp_path / "s", {"SKILL.md": BILLION_LAUGHS})

    started = time.perf_counter()
    loaded = load_skill(skill)
    elapsed = time.perf_counter() - started

    assert loaded.frontmatter.error is not None and "aliases" in loaded.frontmatter.error
    assert loaded.body == "body\n"
    assert elapsed < 5  # a generous bound: expansion would take minutes and gigabytes
    assert "SKS-FM-003" in _findings(skill)


def test_one_megabyte_of_frontmatter_is_not_parsed(tmp_path: Path) -> None:
    big = "---\nname: big\ndescription: " + "x" * (1024 * 1024) + "\n---\nbody\n"
    skill = write_skill(tmp_path / "s", {"SKILL.md": big})

    loaded = load_skill(skill)

    assert loaded.frontmatter.error is not None and "larger than" in loaded.frontmatter.error
    assert Breach.FRONTMATTER_SIZE in {b.kind for b in loaded.breaches}
    assert {"SKS-FM-003", "SKS-STRUCT-004"} <= _findings(skill)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("# Title\nbody\n", "no YAML frontmatter"),
        ("", "no YAML frontmatter"),
        ("---\nname: x\n", "not closed"),
        ("---\nname: [x\n---\n", "invalid YAML"),
        ("---\n" + "[" * 20000 + "\n---\n", "invalid YAML"),
        ("---\n- a\n- b\n---\n", "not a mapping"),
        ("---\n!!python/object:os.system {}\n---\n", "invalid YAML"),
        ("---\nname: !!binary aGVsbG8=\n---\n", None),
    ],
)
def test_broken_frontmatter_is_an_error_never_a_crash(text: str, error: str | None) -> None:
    frontmatter, _, _ = parse_frontmatter(text)

    if error is None:
        assert frontmatter.error is None and frontmatter.name is None  # bytes, not a str name
    else:
        assert frontmatter.error is not None and error in frontmatter.error


def test_no_frontmatter_is_a_finding(tmp_path: Path) -> None:
    skill = write_skill(tmp_path / "s", {"SKILL.md": "# Just markdown\n"})

    assert "SKS-FM-002" in _findings(skill)


def test_openclaw_metadata_nested_json_and_legacy_keys() -> None:
    nested = (
        "---\nname: weather\ndescription: d\nmetadata:\n  openclaw:\n    always: true\n"
        "    requires:\n      bins: [curl, jq]\n      env: [WEATHER_KEY]\n"
        "    install:\n      - kind: download\n        url: https://example.invalid/w.tgz\n---\n"
    )
    as_json = (
        '---\nname: weather\ndescription: d\nmetadata: \'{"clawdbot": {"requires": '
        '{"anyBins": ["curl", "wget"]}, "primaryEnv": "WEATHER_KEY"}}\'\n---\n'
    )
    legacy = "---\nname: w\ndescription: d\nmetadata: {clawdis: {os: [darwin, linux]}}\n---\n"

    first = parse_frontmatter(nested)[0].openclaw
    second = parse_frontmatter(as_json)[0].openclaw
    third = parse_frontmatter(legacy)[0].openclaw

    assert first is not None and first.always and first.bins == ("curl", "jq")
    assert first.env == ("WEATHER_KEY",)
    assert first.install[0].kind == "download" and first.install[0].sha256 is None
    assert second is not None and second.key == "clawdbot" and second.any_bins == ("curl", "wget")
    assert second.primary_env == "WEATHER_KEY"
    assert third is not None and third.os == ("darwin", "linux")


def test_body_line_points_into_skill_md() -> None:
    frontmatter, body, body_line = parse_frontmatter("---\nname: a\ndescription: b\n---\nfirst\n")

    assert frontmatter.end_line == 4
    assert body == "first\n" and body_line == 5


@pytest.mark.parametrize(
    "yaml_text",
    [
        "name: n\na: &x 1\n",  # an anchor alone
        "name: n\na: &x [1]\nb: *x\n",
        "name: n\na: !!str &x 1\n",
        "? &k key\n: v\n",
        "name: n\nlist:\n  - &item {k: v}\n  - *item\n",
    ],
)
def test_any_anchor_or_alias_is_refused(yaml_text: str) -> None:
    frontmatter, _, _ = parse_frontmatter(f"---\n{yaml_text}---\nbody\n")

    assert frontmatter.error is not None and "aliases" in frontmatter.error


def test_yaml_without_anchor_characters_still_parses_fully() -> None:
    text = "---\nname: n\ndescription: 'a & b, 2 * 3'\nmetadata: {k: [1, 2]}\n---\nbody\n"

    frontmatter, body, _ = parse_frontmatter(text)

    assert frontmatter.error is None and body == "body\n"
    assert frontmatter.data == {
        "name": "n",
        "description": "a & b, 2 * 3",
        "metadata": {"k": [1, 2]},
    }
