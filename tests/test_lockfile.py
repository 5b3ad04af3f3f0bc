"""skills.lock (DESIGN §4.4, docs/lockfile.md): strict reading, canonical bytes, safe writing."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillscan import lockfile as lf_module
from skillscan.errors import ExitCode
from skillscan.lockfile import (
    FindingCounts,
    LockEntry,
    Lockfile,
    LockfileBusyError,
    LockfileError,
    LockfileMissingError,
    LockfileVersionError,
    Review,
    ReviewStatus,
    edit,
    load,
    lock_path,
    parse,
    serialize,
    update,
)
from skillscan.model import Severity, Verdict, replace

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "registry" / "skills-lock.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "ab" * 32
WHEN = datetime(2025, 11, 26, 12, 0, tzinfo=UTC)


def entry(**changes: Any) -> LockEntry:
    base = LockEntry(
        source="acme/skills",
        commit=COMMIT,
        path="skills/pdf",
        digest=DIGEST,
        signatures="2025.11.0",
        verdict=Verdict.PASS,
        findings=FindingCounts(low=2, info=1),
        review=Review(
            ReviewStatus.APPROVED,
            by="alice",
            at=WHEN,
            note="Checked scripts/ — fine.",
            acknowledged=("SKS-NET-001:0123456789abcdef",),
        ),
    )
    return replace(base, **changes)


SAMPLE = Lockfile(
    {
        "pdf": entry(),
        "csv-tools": entry(
            source="https://git.example.org/team/skills.git",
            commit="f" * 64,
            path="",
            digest="sha256:" + "01" * 32,
            verdict=Verdict.REVIEW,
            findings=FindingCounts(medium=1),
            review=Review.pending(note="new commit"),
        ),
    }
)

GOLDEN = """\
{
  "lockfile_version": 1,
  "skills": {
    "csv-tools": {
      "commit": "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      "digest": "sha256:0101010101010101010101010101010101010101010101010101010101010101",
      "findings": {
        "critical": 0,
        "high": 0,
        "info": 0,
        "low": 0,
        "medium": 1
      },
      "path": "",
      "review": {
        "acknowledged": [],
        "at": null,
        "by": null,
        "note": "new commit",
        "status": "pending"
      },
      "signatures": "2025.11.0",
      "source": "https://git.example.org/team/skills.git",
      "verdict": "review"
    },
    "pdf": {
      "commit": "0123456789abcdef0123456789abcdef01234567",
      "digest": "sha256:abababababababababababababababababababababababababababababababab",
      "findings": {
        "critical": 0,
        "high": 0,
        "info": 1,
        "low": 2,
        "medium": 0
      },
      "path": "skills/pdf",
      "review": {
        "acknowledged": [
          "SKS-NET-001:0123456789abcdef"
        ],
        "at": "2025-11-26T12:00:00Z",
        "by": "alice",
        "note": "Checked scripts/ \\u2014 fine.",
        "status": "approved"
      },
      "signatures": "2025.11.0",
      "source": "acme/skills",
      "verdict": "pass"
    }
  }
}
"""


# --- format ---------------------------------------------------------------------------


def test_golden_bytes() -> None:
    assert serialize(SAMPLE).decode() == GOLDEN


def test_round_trip() -> None:
    data = serialize(SAMPLE)
    assert parse(data) == SAMPLE
    assert serialize(parse(data)) == data


def test_bytes_do_not_depend_on_insertion_order() -> None:
    reordered = Lockfile(dict(reversed(list(SAMPLE.skills.items()))))
    assert serialize(reordered) == serialize(SAMPLE)
    assert list(reordered.skills) == ["csv-tools", "pdf"]


def test_hidden_characters_are_escaped_in_the_file() -> None:
    # A bidi override in a note would make a PR diff lie; escaped, it is visible.
    sneaky = SAMPLE.with_entry("pdf", entry(review=replace(entry().review, note="ok\u202eevil")))
    data = serialize(sneaky)
    assert data.isascii()
    assert b"ok\\u202eevil" in data
    assert parse(data) == sneaky


WRITTEN = [
    Lockfile(),
    SAMPLE,
    Lockfile({"x": entry(verdict=Verdict.BLOCK, findings=FindingCounts(critical=3, high=1))}),
    Lockfile({"y": entry(review=Review(ReviewStatus.REJECTED, by="bob", at=WHEN, note="no"))}),
    Lockfile({"z.z_z-9": entry(path="a/b/.c/..d", source="/srv/git/skills repo")}),
]


@pytest.mark.parametrize("lockfile", WRITTEN)
def test_written_lockfiles_match_the_schema(lockfile: Lockfile) -> None:
    VALIDATOR.validate(json.loads(serialize(lockfile)))


def test_schema_is_valid_and_uses_the_modules_patterns() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    defs = SCHEMA["$defs"]
    entry_props = defs["entry"]["properties"]
    review_props = defs["review"]["properties"]
    assert SCHEMA["properties"]["skills"]["propertyNames"]["pattern"] == lf_module.NAME_PATTERN
    assert entry_props["source"]["pattern"] == lf_module.SOURCE_PATTERN
    assert entry_props["commit"]["pattern"] == lf_module.COMMIT_PATTERN
    assert entry_props["path"]["pattern"] == lf_module.SUBPATH_PATTERN
    assert entry_props["digest"]["pattern"] == lf_module.DIGEST_PATTERN
    assert entry_props["signatures"]["pattern"] == lf_module.SIGNATURES_PATTERN
    assert review_props["by"]["pattern"] == lf_module.REVIEWER_PATTERN
    assert review_props["at"]["pattern"] == lf_module.TIMESTAMP_PATTERN
    assert review_props["note"]["pattern"] == lf_module.NOTE_PATTERN
    assert review_props["acknowledged"]["items"]["pattern"] == lf_module.FINGERPRINT_PATTERN
    assert defs["count"]["maximum"] == lf_module.MAX_COUNT
    assert set(defs["findings"]["required"]) == {s.value for s in Severity}


# --- refusing invalid files -----------------------------------------------------------

_DELETE = object()


def doc() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(serialize(Lockfile({"pdf": entry()})))
    return document


def changed(path: tuple[str, ...], value: object) -> dict[str, Any]:
    document = doc()
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


def renamed(old: str, new: str) -> dict[str, Any]:
    document = doc()
    document["skills"][new] = document["skills"].pop(old)
    return document


E = ("skills", "pdf")
R = (*E, "review")
F = (*E, "findings")
VALID = serialize(Lockfile({"pdf": entry()}))


def top(key: str, value: object) -> dict[str, Any]:
    return changed((key,), value)


def ent(key: str, value: object) -> dict[str, Any]:
    return changed((*E, key), value)


def rev(key: str, value: object) -> dict[str, Any]:
    return changed((*R, key), value)


def cnt(key: str, value: object) -> dict[str, Any]:
    return changed((*F, key), value)


def pending(**changes: object) -> dict[str, Any]:
    return changed(
        R, {"status": "pending", "by": None, "at": None, "note": "", "acknowledged": []} | changes
    )


def raw(text: bytes, old: bytes, new: bytes) -> bytes:
    assert old in text
    return text.replace(old, new)


def bad(
    case_id: str,
    document: dict[str, Any] | bytes,
    fragment: str,
    field: str | None = None,
    *,
    entry: str | None = "pdf",
    schema: bool = True,
) -> Any:
    """One refused document: the problem text, where it is reported, and whether the JSON
    Schema can see the problem too (it cannot see JSON syntax or real calendar dates)."""
    return pytest.param(document, fragment, entry, field, schema, id=case_id)


def bad_file(
    case_id: str,
    document: dict[str, Any] | bytes,
    fragment: str,
    field: str | None = None,
    *,
    schema: bool = True,
) -> Any:
    return bad(case_id, document, fragment, field, entry=None, schema=schema)


TIME = "2025-11-26T12:00:00Z"
INVALID = [
    bad_file("truncated-json", VALID[:-20], "not valid JSON", schema=False),
    bad_file("empty-file", b"", "not valid JSON", schema=False),
    bad_file("not-utf8", b'{"x": "\xff"}', "not UTF-8", schema=False),
    bad_file("utf8-bom", b"\xef\xbb\xbf" + VALID, "not valid JSON", schema=False),
    bad_file("array", b"[]", "expected a JSON object"),
    bad_file("nan", raw(VALID, b'"low": 2', b'"low": NaN'), "NaN is not allowed", schema=False),
    bad_file(
        "huge-int",
        raw(VALID, b'"low": 2', b'"low": 1' + b"0" * 5000),
        "not valid JSON",
        schema=False,
    ),
    bad_file(
        "deep-nesting",
        b'{"skills": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "not valid JSON",
        schema=False,
    ),
    bad_file(
        "duplicate-skill",
        raw(VALID, b'"skills": {', b'"skills": {"pdf": {},'),
        "duplicate key 'pdf'",
        schema=False,
    ),
    bad_file(
        "duplicate-top-key",
        raw(VALID, b'"skills"', b'"lockfile_version": 1, "skills"'),
        "duplicate key",
        schema=False,
    ),
    bad_file("no-version", top("lockfile_version", _DELETE), "missing", "lockfile_version"),
    bad_file(
        "version-string", top("lockfile_version", "1"), "expected an integer", "lockfile_version"
    ),
    bad_file(
        "version-bool", top("lockfile_version", True), "expected an integer", "lockfile_version"
    ),
    bad_file(
        "version-float",
        top("lockfile_version", 1.0),
        "expected an integer",
        "lockfile_version",
        schema=False,
    ),
    bad_file("version-0", top("lockfile_version", 0), "unsupported version", "lockfile_version"),
    bad_file("unknown-top-field", top("generated_by", "x"), "unknown field", "generated_by"),
    bad_file("no-skills", top("skills", _DELETE), "missing", "skills"),
    bad_file("skills-array", top("skills", []), "expected an object", "skills"),
    bad("name-uppercase", renamed("pdf", "PDF"), "expected 1-64 characters", "name", entry="PDF"),
    bad("name-slash", renamed("pdf", "a/b"), "expected 1-64", "name", entry="a/b"),
    bad("name-dotdot", renamed("pdf", ".."), "expected 1-64", "name", entry=".."),
    bad("name-too-long", renamed("pdf", "a" * 65), "expected 1-64", "name", entry="a" * 65),
    bad("entry-not-object", changed(E, "x"), "expected an object", "entry"),
    bad("missing-commit", ent("commit", _DELETE), "missing", "commit"),
    bad("unknown-entry-field", ent("installed_at", "now"), "unknown field", "installed_at"),
    bad("short-commit", ent("commit", "0123456"), "full 40- or 64-character", "commit"),
    bad("commit-41", ent("commit", COMMIT + "8"), "full 40-", "commit"),
    bad("commit-uppercase", ent("commit", COMMIT.upper()), "lowercase hex", "commit"),
    bad("commit-branch", ent("commit", "main"), "full 40-", "commit"),
    bad("commit-number", ent("commit", 12), "expected a string", "commit"),
    bad("digest-no-prefix", ent("digest", "ab" * 32), "'sha256:'", "digest"),
    bad("digest-sha1", ent("digest", "sha1:" + "ab" * 20), "'sha256:'", "digest"),
    bad("digest-short", ent("digest", DIGEST[:-1]), "'sha256:'", "digest"),
    bad("digest-upper", ent("digest", DIGEST.upper()), "'sha256:'", "digest"),
    bad("path-parent", ent("path", "../x"), "relative POSIX", "path"),
    bad("path-inner-parent", ent("path", "a/../../x"), "relative POSIX", "path"),
    bad("path-absolute", ent("path", "/etc"), "relative POSIX", "path"),
    bad("path-dot", ent("path", "."), "relative POSIX", "path"),
    bad("path-double-slash", ent("path", "a//b"), "relative POSIX", "path"),
    bad("path-trailing-slash", ent("path", "a/"), "relative POSIX", "path"),
    bad("path-backslash", ent("path", "a\\b"), "relative POSIX", "path"),
    bad("path-too-long", ent("path", "a/" * 512 + "b"), "relative POSIX", "path"),
    bad("source-empty", ent("source", ""), "a repository", "source"),
    bad("source-option", ent("source", "--upload-pack=evil"), "a repository", "source"),
    bad("source-newline", ent("source", "a/b\nc"), "a repository", "source"),
    bad("signatures-empty", ent("signatures", ""), "signature bundle", "signatures"),
    bad("verdict-unknown", ent("verdict", "ok"), "'block', 'review', 'pass'", "verdict"),
    bad("verdict-upper", ent("verdict", "PASS"), "'block'", "verdict"),
    bad("findings-array", ent("findings", [0, 0]), "expected an object", "findings"),
    bad("findings-missing", cnt("info", _DELETE), "missing", "findings.info"),
    bad("findings-unknown", cnt("severe", 1), "unknown field", "findings.severe"),
    bad("count-negative", cnt("high", -1), "integer from 0", "findings.high"),
    bad("count-string", cnt("high", "1"), "integer from 0", "findings.high"),
    bad("count-bool", cnt("high", True), "integer from 0", "findings.high"),
    bad("count-float", cnt("high", 1.5), "integer from 0", "findings.high"),
    bad("count-huge", cnt("high", 10**10), "integer from 0", "findings.high"),
    bad("review-null", ent("review", None), "expected an object", "review"),
    bad("review-missing-note", rev("note", _DELETE), "missing", "review.note"),
    bad("review-unknown", rev("expires", "x"), "unknown field", "review.expires"),
    bad("status-unknown", rev("status", "maybe"), "'approved', 'pending'", "review.status"),
    bad("approved-no-by", rev("by", None), "needs a reviewer", "review.by"),
    bad("approved-no-at", rev("at", None), "needs a reviewer", "review.by"),
    bad("by-empty", rev("by", ""), "1-256 characters", "review.by"),
    bad("by-escape", rev("by", "a\x1b[2Jb"), "1-256 characters", "review.by"),
    bad("by-number", rev("by", 7), "expected a string or null", "review.by"),
    bad("at-space", rev("at", "2025-11-26 12:00:00Z"), "ISO-8601 UTC", "review.at"),
    bad("at-offset", rev("at", "2025-11-26T12:00:00+01:00"), "ISO-8601 UTC", "review.at"),
    bad("at-fraction", rev("at", "2025-11-26T12:00:00.5Z"), "ISO-8601 UTC", "review.at"),
    bad(
        "at-month-13",
        rev("at", "2025-13-01T00:00:00Z"),
        "not a real date",
        "review.at",
        schema=False,
    ),
    bad("note-escape", rev("note", "ok\x1b]8;;evil\x07"), "control characters", "review.note"),
    bad("note-cr", rev("note", "a\rb"), "control characters", "review.note"),
    bad("note-too-long", rev("note", "x" * 4097), "4096 characters", "review.note"),
    bad(
        "ack-string",
        rev("acknowledged", "SKS-X:0123456789abcdef"),
        "an array",
        "review.acknowledged",
    ),
    bad("ack-bad", rev("acknowledged", ["SKS-X-001"]), "fingerprint", "review.acknowledged"),
    bad("ack-number", rev("acknowledged", [1]), "fingerprint", "review.acknowledged"),
    bad("pending-with-by", pending(by="alice"), "pending review has no reviewer", "review.by"),
    bad("pending-with-at", pending(at=TIME), "pending review has no reviewer", "review.by"),
]


def as_bytes(document: dict[str, Any] | bytes) -> bytes:
    if isinstance(document, bytes):
        return document
    return json.dumps(document, indent=2).encode()


@pytest.mark.parametrize(("document", "fragment", "entry_name", "field", "schema"), INVALID)
def test_invalid_lockfiles_are_refused_and_left_untouched(
    tmp_path: Path,
    document: dict[str, Any] | bytes,
    fragment: str,
    entry_name: str | None,
    field: str | None,
    schema: bool,
) -> None:
    path = tmp_path / "skills.lock"
    data = as_bytes(document)
    path.write_bytes(data)
    with pytest.raises(LockfileError) as info:
        load(path)
    error = info.value
    assert fragment in error.problem
    assert (error.file, error.entry, error.field) == (str(path), entry_name, field)
    assert error.exit_code is ExitCode.USAGE
    assert str(path) in error.diagnostics() and "never rewrites" in error.diagnostics()

    with pytest.raises(LockfileError), edit(path) as draft:
        draft.skills["new"] = entry()
    assert path.read_bytes() == data
    del schema  # what the JSON Schema makes of it is the next test


SCHEMA_VISIBLE = [case for case in INVALID if case.values[4]]


@pytest.mark.parametrize(
    "document",
    [case.values[0] for case in SCHEMA_VISIBLE],
    ids=[case.id for case in SCHEMA_VISIBLE],
)
def test_the_schema_refuses_them_too(document: dict[str, Any] | bytes) -> None:
    instance = json.loads(document) if isinstance(document, bytes) else document
    assert not VALIDATOR.is_valid(instance)


def test_error_message_names_file_entry_and_field() -> None:
    with pytest.raises(LockfileError) as info:
        parse(as_bytes(changed((*E, "commit"), "abc123")), file="team/skills.lock")
    assert info.value.message == (
        "team/skills.lock: skill 'pdf': field 'commit': expected a full 40- or 64-character "
        "lowercase hex commit, got 'abc123'"
    )


@pytest.mark.parametrize(
    "data",
    [
        raw(VALID, b'"lockfile_version": 1', b'"lockfile_version": 2'),
        b'{"lockfile_version": 2, "skills": [], "signed_by": "a future field"}',
        b'{"skills": 7, "lockfile_version": 99}',
    ],
)
def test_a_newer_version_is_refused_and_never_overwritten(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "skills.lock"
    path.write_bytes(data)
    with pytest.raises(LockfileVersionError) as info:
        load(path)
    assert "newer skillscan" in info.value.message
    assert "upgrade skillscan" in info.value.diagnostics()
    with pytest.raises(LockfileVersionError), edit(path) as draft:
        draft.skills.clear()
    assert path.read_bytes() == data


def test_a_100_mb_lockfile_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    with path.open("wb") as fh:
        fh.write(b'{"lockfile_version": 1, "skills": {')
        fh.truncate(100 * 1024 * 1024)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    started = time.monotonic()
    with pytest.raises(LockfileError, match="larger than"):
        load(path)
    with pytest.raises(LockfileError, match="larger than"), edit(path) as draft:
        draft.skills["x"] = entry()
    assert time.monotonic() - started < 1.0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with pytest.raises(LockfileError, match="larger than"):
        parse(b" " * (lf_module.MAX_LOCKFILE_BYTES + 1))


def test_a_fifo_lockfile_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    os.mkfifo(path)
    with pytest.raises(LockfileError, match="not a regular file"):
        load(path)


def test_a_missing_lockfile(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    with pytest.raises(LockfileMissingError) as info:
        load(path)
    assert "skillscan add" in info.value.diagnostics()
    with edit(path) as draft:  # reads as empty, and an unchanged empty edit creates nothing
        assert draft.skills == {}
    assert not path.exists()


# --- the model ------------------------------------------------------------------------


def test_review_time_is_kept_in_utc_to_the_second() -> None:
    local = datetime(2025, 11, 26, 13, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    review = Review(ReviewStatus.APPROVED, by="alice", at=local)
    assert review.at == WHEN
    assert review.at is not None and review.at.tzinfo is UTC
    with pytest.raises(LockfileError, match="timezone-aware"):
        Review(ReviewStatus.APPROVED, by="alice", at=datetime(2025, 1, 1))


def test_acknowledgements_are_sorted_and_unique() -> None:
    review = Review.pending(acknowledged=["b-1:0123456789abcdef", "a-1:0123456789abcdef"] * 2)
    assert review.acknowledged == ("a-1:0123456789abcdef", "b-1:0123456789abcdef")


def test_finding_counts() -> None:
    counts = FindingCounts.from_severities([Severity.HIGH, Severity.HIGH, Severity.INFO])
    assert counts == FindingCounts(high=2, info=1)
    assert counts.count(Severity.HIGH) == 2
    with pytest.raises(LockfileError, match=r"findings\.low"):
        FindingCounts(low=True)


def test_lockfile_is_immutable_and_copies_on_change() -> None:
    with pytest.raises(TypeError):
        SAMPLE.skills["x"] = entry()  # type: ignore[index]
    added = SAMPLE.with_entry("new", entry())
    assert "new" in added.skills and "new" not in SAMPLE.skills
    assert added.without("new") == SAMPLE
    assert SAMPLE.get("pdf") == entry() and SAMPLE.get("nope") is None
    with pytest.raises(LockfileError, match="skill 'Bad'"):
        SAMPLE.with_entry("Bad", entry())


def test_invalid_values_are_refused_at_construction() -> None:
    with pytest.raises(LockfileError, match="field 'commit'"):
        entry(commit="HEAD")
    with pytest.raises(LockfileError, match="pending review"):
        Review(ReviewStatus.PENDING, by="alice")


# --- writing --------------------------------------------------------------------------


def test_edit_creates_writes_canonically_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    with edit(path) as draft:
        draft.skills.update(SAMPLE.skills)
    assert path.read_text() == GOLDEN
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert lock_path(path).name == "skills.lock.lock"
    path.chmod(0o600)
    with edit(path) as draft:
        del draft.skills["csv-tools"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(path) == SAMPLE.without("csv-tools")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["skills.lock", "skills.lock.lock"]


def test_edit_writes_nothing_when_nothing_changed_or_the_block_fails(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    update(path, lambda _: SAMPLE)
    before = path.stat()
    with edit(path) as draft:
        assert draft.original == SAMPLE
    assert path.stat().st_ino == before.st_ino  # not replaced
    with pytest.raises(RuntimeError), edit(path) as draft:
        draft.skills.clear()
        raise RuntimeError("caller failed")
    assert path.read_text() == GOLDEN


def test_edit_refuses_an_invalid_draft(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    update(path, lambda _: SAMPLE)
    with pytest.raises(LockfileError) as info, edit(path) as draft:
        draft.skills["Not Valid"] = entry()
    assert (info.value.file, info.value.entry) == (str(path), "Not Valid")
    assert path.read_text() == GOLDEN


def test_edit_refuses_a_symlinked_lockfile(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.json"
    real.write_bytes(serialize(SAMPLE))
    path = tmp_path / "skills.lock"
    path.symlink_to(real)
    assert load(path) == SAMPLE  # reading through a link is harmless
    with pytest.raises(LockfileError, match="symlink"), edit(path) as draft:
        draft.skills.clear()
    assert path.is_symlink() and real.read_bytes() == serialize(SAMPLE)


def test_update_returns_the_new_lockfile(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    result = update(path, lambda old: old.with_entry("pdf", entry()))
    assert result == load(path) == Lockfile({"pdf": entry()})


def test_a_held_lock_times_out(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(LockfileBusyError) as info, edit(path, timeout=0.2):
            pass
        assert 0.2 <= time.monotonic() - started < 2
        assert info.value.exit_code is ExitCode.INTERNAL
    finally:
        os.close(fd)
    with edit(path, timeout=0.2):  # released: free again
        pass


def test_stale_temp_files_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    stale = tmp_path / ".skills.lock.ab_c1234.tmp"
    stale.write_text('{"half": ')
    unrelated = tmp_path / ".skills.lock.notmine.tmp"
    unrelated.write_text("")
    update(path, lambda _: SAMPLE)
    assert not stale.exists() and unrelated.exists()


# --- two processes --------------------------------------------------------------------

_ADDER = """
import sys, time
from pathlib import Path
from skillscan.lockfile import FindingCounts, LockEntry, Review, edit
from skillscan.model import Verdict

path, tag, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
for i in range(50):
    with edit(path) as draft:
        draft.skills[f"{tag}-{i:02d}"] = LockEntry(
            source=f"acme/{tag}", commit=f"{i:040x}", path="", digest="sha256:" + "0" * 64,
            signatures="1", verdict=Verdict.PASS, findings=FindingCounts(), review=Review.pending(),
        )
"""


def _python(script: str, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=REPO, env=env, text=True, **kwargs
    )


def test_two_processes_adding_concurrently_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    start = str(time.time() + 0.5)
    children = [_python(_ADDER, str(path), tag, start) for tag in ("left", "right")]
    assert [child.wait(timeout=120) for child in children] == [0, 0]
    skills = load(path).skills
    assert len(skills) == 100
    assert {name.split("-")[0] for name in skills} == {"left", "right"}


_REWRITER = """
import hashlib, sys
from pathlib import Path
from skillscan.lockfile import FindingCounts, LockEntry, Lockfile, Review, serialize, update
from skillscan.model import Verdict

def lockfile(count, tag):
    return Lockfile({
        f"{tag}-{i:03d}": LockEntry(
            source=f"acme/{tag}", commit=f"{i:040x}", path=f"skills/{tag}/{i}",
            digest="sha256:" + f"{i:064x}", signatures="1", verdict=Verdict.REVIEW,
            findings=FindingCounts(medium=i), review=Review.pending(note=tag * 20),
        )
        for i in range(count)
    })

a, b = lockfile(300, "a"), lockfile(120, "b")
print(hashlib.sha256(serialize(a)).hexdigest(), hashlib.sha256(serialize(b)).hexdigest(),
      flush=True)
while True:
    update(Path(sys.argv[1]), lambda old: b if old == a else a)
"""


def test_a_writer_killed_at_random_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    path = tmp_path / "skills.lock"
    rng = random.Random(4242)  # noqa: S311 - timing jitter, not a secret
    seen: set[str] = set()
    for _ in range(8):
        child = _python(_REWRITER, str(path), stdout=subprocess.PIPE)
        assert child.stdout is not None
        expected = set(child.stdout.readline().split())
        time.sleep(rng.uniform(0.02, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        if not path.exists():
            continue  # killed before its first write finished: nothing half-written exists
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() in expected
        load(path)
        seen.add(hashlib.sha256(data).hexdigest())
    assert seen  # at least one kill landed after a completed write
    update(path, lambda old: old)  # the next writer cleans up what the killed ones left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["skills.lock", "skills.lock.lock"]


# --- properties -----------------------------------------------------------------------

_hex = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
_text = st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=30)
_names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
_components = st.from_regex(r"[a-zA-Z0-9_-][a-zA-Z0-9._ -]{0,8}", fullmatch=True)
_reviews = st.one_of(
    st.builds(Review.pending, note=st.just("") | _text),
    st.builds(
        Review,
        status=st.sampled_from([ReviewStatus.APPROVED, ReviewStatus.REJECTED]),
        by=_text,
        at=st.datetimes(timezones=st.just(UTC), min_value=datetime(1970, 1, 1)),
        note=_text,
        acknowledged=st.lists(
            st.from_regex(r"[A-Z]{3}-[0-9]{3}:[0-9a-f]{16}", fullmatch=True), max_size=3
        ).map(tuple),
    ),
)
_entries = st.builds(
    LockEntry,
    source=_text.filter(lambda s: not s.startswith("-")),
    commit=st.one_of(_hex.map(lambda h: h[:40]), _hex),
    path=st.lists(_components, max_size=3).map("/".join),
    digest=_hex.map(lambda h: "sha256:" + h),
    signatures=st.from_regex(r"[0-9][0-9.]{0,10}", fullmatch=True),
    verdict=st.sampled_from(Verdict),
    findings=st.builds(FindingCounts, *[st.integers(0, 1000)] * 5),
    review=_reviews,
)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(_names, _entries, max_size=4))
def test_any_valid_lockfile_round_trips_and_matches_the_schema(
    skills: dict[str, LockEntry],
) -> None:
    lockfile = Lockfile(skills)
    data = serialize(lockfile)
    assert parse(data) == lockfile
    assert serialize(parse(data)) == data
    VALIDATOR.validate(json.loads(data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_lockfile_errors(data: bytes) -> None:
    with contextlib.suppress(LockfileError):
        parse(data)


_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
_json = st.recursive(
    _scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _mutations(document: dict[str, Any]) -> list[Callable[[Any], dict[str, Any]]]:
    def at(path: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
        def apply(value: Any) -> dict[str, Any]:
            changed_doc = copy.deepcopy(document)
            target = changed_doc
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            return changed_doc

        return apply

    paths = [
        ("skills",),
        E,
        *[(*E, k) for k in document["skills"]["pdf"]],
        *[(*R, k) for k in document["skills"]["pdf"]["review"]],
    ]
    return [at(p) for p in paths]


_MUTATORS = _mutations(doc())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_MUTATORS), _json)
def test_any_field_replaced_by_any_json_is_judged_like_the_schema_judges_it(
    mutate: Callable[[Any], dict[str, Any]], value: Any
) -> None:
    document = mutate(value)
    try:
        result = parse(json.dumps(document).encode())
    except LockfileError:
        assert not VALIDATOR.is_valid(document) or _schema_blind_spot(value)
    else:
        assert VALIDATOR.is_valid(json.loads(serialize(result)))


def _schema_blind_spot(value: Any) -> bool:
    """What the schema cannot see: JSON Schema's integer admits 1.0, and python-jsonschema
    matches patterns with re.search, whose `$` also matches before a final newline."""
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, str):
        return value.endswith("\n")
    if isinstance(value, list):
        return any(_schema_blind_spot(v) for v in value)
    if isinstance(value, dict):
        return any(_schema_blind_spot(v) for v in value.values())
    return False


def test_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, skillscan.lockfile\n"
        "bad = {'yaml', 'semgrep', 'git', 'httpx', 'sqlmodel', 'sqlalchemy', 'rich',"
        " 'jsonschema'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
