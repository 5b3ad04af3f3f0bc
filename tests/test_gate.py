"""The runtime gate (DESIGN §4.6, docs/gate.md): what it allows, what it refuses and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from skillscan import gate as gate_module
from skillscan.digest import DigestEntry, digest_entries, digest_tree
from skillscan.errors import ExitCode
from skillscan.gate import (
    Gate,
    LoadedSkill,
    LockedSkill,
    Reason,
    RevocationKind,
    Revocations,
    RevocationsError,
    SkillRefused,
    bundled_revocations_path,
    gate_decision,
    repository_key,
)
from skillscan.lockfile import (
    FindingCounts,
    LockEntry,
    Lockfile,
    Review,
    ReviewStatus,
    parse,
    serialize,
)
from skillscan.model import Verdict
from tests.conftest import FRONTMATTER, write_skill

REPO = Path(__file__).resolve().parents[1]
REVOCATIONS_SCHEMA = json.loads((REPO / "registry" / "revocations.schema.json").read_text())
COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
SOURCE = "acme/skills"
WHEN = datetime(2025, 11, 26, 12, 0, tzinfo=UTC)
SKILL_FILES: Mapping[str, str] = {
    "SKILL.md": FRONTMATTER + "Say hello to the user.\n",
    "scripts/run.sh": "#!/bin/sh\necho hello\n",
    "docs/notes.md": "Notes for the reviewer.\n",
}


# --- helpers (also used by tests/hostile/test_gate_hostile.py) ----------------------------


def install(root: Path, files: Mapping[str, str | bytes] = SKILL_FILES) -> Path:
    """Install a skill folder at `root` (`<install-dir>/<name>`), scripts executable."""
    write_skill(root, files)
    for rel in files:
        if rel.startswith("scripts/"):
            (root / rel).chmod(0o755)
    return root


def review(status: ReviewStatus) -> Review:
    """A review of the given status, as `skillscan review` would record it."""
    if status is ReviewStatus.PENDING:
        return Review.pending()
    return Review(status, by="alice", at=WHEN, note="checked")


def lock_entry(
    digest: str,
    *,
    status: ReviewStatus = ReviewStatus.APPROVED,
    source: str = SOURCE,
    commit: str = COMMIT,
) -> LockEntry:
    """A lock entry pinning `digest`."""
    return LockEntry(
        source=source,
        commit=commit,
        path="",
        digest=digest,
        signatures="2025.11.0",
        verdict=Verdict.PASS,
        findings=FindingCounts(),
        review=review(status),
    )


def write_lockfile(path: Path, entries: Mapping[str, LockEntry]) -> Path:
    """Write a lockfile holding `entries`, in the canonical bytes skillscan writes."""
    path.write_bytes(serialize(Lockfile(dict(entries))))
    return path


def revocation(kind: str, value: str) -> dict[str, str]:
    """One revocation-list entry (the test suite's own; the bundled list starts empty)."""
    return {
        "kind": kind,
        "value": value,
        "reason": "test fixture: revoked by the test suite",
        "source": "tests/test_gate.py",
        "revoked_at": "2025-11-26T12:00:00Z",
    }


def write_revocations(path: Path, entries: Iterable[Mapping[str, str]] = ()) -> Path:
    """Write a revocation list file."""
    document = {"revocations_version": 1, "entries": list(entries)}
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


@dataclass(frozen=True)
class Installed:
    """An install dir with skills, their lockfile and a revocation list."""

    skills: Path
    lockfile: Path
    revocations: Path

    def gate(self) -> Gate:
        """A gate over this lockfile and revocation list."""
        return Gate.load(self.lockfile, revocations=self.revocations)

    def pin(
        self,
        name: str,
        *,
        digest: str | None = None,
        status: ReviewStatus = ReviewStatus.APPROVED,
        source: str = SOURCE,
    ) -> LockEntry:
        """Pin `name` (by default the installed folder as it is now), approved unless told."""
        entries = dict(parse(self.lockfile.read_bytes()).skills) if self.lockfile.exists() else {}
        entry = lock_entry(digest or digest_tree(self.skills / name), status=status, source=source)
        entries[name] = entry
        write_lockfile(self.lockfile, entries)
        return entry


def make_installed(tmp_path: Path) -> Installed:
    """`skills/hello` installed, pinned and approved; an empty revocation list."""
    setup = Installed(
        skills=tmp_path / "skills",
        lockfile=tmp_path / "skills.lock",
        revocations=write_revocations(tmp_path / "revocations.json"),
    )
    install(setup.skills / "hello")
    setup.pin("hello")
    return setup


@pytest.fixture
def installed(tmp_path: Path) -> Installed:
    """`skills/hello` installed, pinned and approved; an empty revocation list."""
    return make_installed(tmp_path)


def refusal(gate: Gate, skill_dir: Path | str) -> SkillRefused:
    """The refusal `check` raises (and `load` raises the same)."""
    with pytest.raises(SkillRefused) as checked:
        gate.check(skill_dir)
    with pytest.raises(SkillRefused) as loaded:
        gate.load(skill_dir)
    assert loaded.value.reason is checked.value.reason
    return checked.value


def rebuild_digest(skill: LoadedSkill) -> str:
    """The digest of what `load` returned, recomputed from the returned bytes alone."""
    files = {**skill.files, "SKILL.md": skill.skill_md.encode("utf-8")}
    entries = [
        DigestEntry.for_file(path, data, executable=path in skill.executable)
        for path, data in files.items()
    ]
    entries += [DigestEntry.for_symlink(path, target) for path, target in skill.symlinks.items()]
    return digest_entries(entries)


# --- allowing -----------------------------------------------------------------------------


def test_check_allows_a_pinned_intact_approved_skill(installed: Installed) -> None:
    entry = json.loads(installed.lockfile.read_text())["skills"]["hello"]

    locked = installed.gate().check(installed.skills / "hello")

    assert isinstance(locked, LockedSkill)
    assert (locked.name, locked.commit, locked.digest) == ("hello", COMMIT, entry["digest"])
    assert locked.entry.source == SOURCE
    assert locked.entry.review.status is ReviewStatus.APPROVED


def test_load_returns_skill_md_and_every_file_from_the_hashed_bytes(installed: Installed) -> None:
    (installed.skills / "hello" / "docs" / "guide.md").symlink_to("notes.md")
    installed.pin("hello")

    skill = installed.gate().load(installed.skills / "hello")

    assert skill.skill_md == SKILL_FILES["SKILL.md"]
    assert dict(skill.files) == {
        "scripts/run.sh": b"#!/bin/sh\necho hello\n",
        "docs/notes.md": b"Notes for the reviewer.\n",
    }
    assert skill.executable == {"scripts/run.sh"}
    assert dict(skill.symlinks) == {"docs/guide.md": "notes.md"}  # the target text, never read
    # The returned bytes are exactly what was pinned: the digest rebuilt from them alone
    # equals the lockfile's.
    assert rebuild_digest(skill) == skill.entry.digest == skill.digest
    assert skill.to_json() == installed.gate().check(installed.skills / "hello").to_json()


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda p: p, id="Path"),
        pytest.param(str, id="str"),
        pytest.param(lambda p: f"{p}/", id="trailing-slash"),
        pytest.param(lambda p: f"{p}/.", id="trailing-dot"),
    ],
)
def test_the_skill_folder_may_be_named_in_any_usual_spelling(
    installed: Installed, spelling: object
) -> None:
    path = spelling(installed.skills / "hello")  # type: ignore[operator]
    assert installed.gate().check(path).name == "hello"


def test_one_gate_checks_many_skills_and_can_be_reused(installed: Installed) -> None:
    install(installed.skills / "bye", {**SKILL_FILES, "SKILL.md": FRONTMATTER + "Bye.\n"})
    installed.pin("bye")
    gate = installed.gate()

    names = [gate.check(installed.skills / n).name for n in ("hello", "bye", "hello", "bye")]

    assert names == ["hello", "bye", "hello", "bye"]


def test_a_gate_is_a_snapshot_of_the_lockfile_and_revocations_it_read(
    installed: Installed,
) -> None:
    gate = installed.gate()
    installed.pin("hello", status=ReviewStatus.REJECTED)
    write_revocations(installed.revocations, [revocation("repository", SOURCE)])
    assert gate.check(installed.skills / "hello").name == "hello"  # parsed once, not per check
    assert refusal(installed.gate(), installed.skills / "hello").reason is Reason.REVOKED
    installed.lockfile.unlink()
    assert gate.check(installed.skills / "hello").name == "hello"


# --- refusing: the reasons ---------------------------------------------------------------


def test_reasons_are_exactly_the_designed_set() -> None:
    assert [r.value for r in Reason] == [
        "not-locked",
        "digest-mismatch",
        "not-reviewed",
        "rejected",
        "revoked",
        "lockfile-invalid",
        "unreadable",
    ]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (ReviewStatus.PENDING, Reason.NOT_REVIEWED),
        (ReviewStatus.REJECTED, Reason.REJECTED),
    ],
)
def test_a_skill_not_approved_is_refused(
    installed: Installed, status: ReviewStatus, reason: Reason
) -> None:
    installed.pin("hello", status=status)
    refused = refusal(installed.gate(), installed.skills / "hello")
    assert refused.reason is reason
    assert "'hello'" in refused.message


def test_a_skill_not_in_the_lockfile_is_refused(installed: Installed) -> None:
    install(installed.skills / "stranger")
    refused = refusal(installed.gate(), installed.skills / "stranger")
    assert refused.reason is Reason.NOT_LOCKED
    assert "skillscan add" in refused.message


def test_a_modified_skill_is_refused(installed: Installed) -> None:
    (installed.skills / "hello" / "docs" / "notes.md").write_text("Changed.\n")
    refused = refusal(installed.gate(), installed.skills / "hello")
    assert refused.reason is Reason.DIGEST_MISMATCH
    assert "skillscan update hello@" in refused.message


def test_an_unapproved_skill_is_refused_before_its_content_is_read(installed: Installed) -> None:
    installed.pin("hello", status=ReviewStatus.PENDING)
    os.mkfifo(installed.skills / "hello" / "pipe")  # reading it would fail as unreadable
    assert refusal(installed.gate(), installed.skills / "hello").reason is Reason.NOT_REVIEWED


# --- revocation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locked_source", "revoked"),
    [
        ("acme/skills", revocation("repository", "acme/skills")),
        ("acme/skills", revocation("repository", "https://github.com/ACME/skills.git")),
        ("https://github.com/acme/skills.git", revocation("repository", "acme/skills")),
        ("git@github.com:acme/skills.git", revocation("repository", "acme/skills")),
        ("ssh://git@github.com:22/acme/skills", revocation("repository", "Acme/Skills")),
        (
            "https://git.example.org/team/skills",
            revocation("repository", "git.example.org/team/skills"),
        ),
        ("acme/skills", revocation("commit", COMMIT)),
        ("acme/skills", revocation("digest", "<pinned digest>")),
    ],
)
def test_a_revoked_skill_is_refused(
    installed: Installed, locked_source: str, revoked: dict[str, str]
) -> None:
    entry = installed.pin("hello", source=locked_source)
    if revoked["value"] == "<pinned digest>":
        revoked = {**revoked, "value": entry.digest}
    write_revocations(installed.revocations, [revoked])

    refused = refusal(installed.gate(), installed.skills / "hello")

    assert refused.reason is Reason.REVOKED
    assert "revoked by the test suite" in refused.message
    assert "tests/test_gate.py" in refused.message  # where the revocation came from


@pytest.mark.parametrize(
    "revoked",
    [
        revocation("repository", "acme/skills-extra"),
        revocation("repository", "evil/skills"),
        revocation("commit", OTHER_COMMIT),
        revocation("digest", "sha256:" + "0" * 64),
    ],
)
def test_a_revocation_of_something_else_does_not_refuse(
    installed: Installed, revoked: dict[str, str]
) -> None:
    write_revocations(installed.revocations, [revoked])
    assert installed.gate().check(installed.skills / "hello").name == "hello"


def test_revoked_content_under_an_approved_name_is_reported_as_revoked(
    installed: Installed,
) -> None:
    # A known-malicious folder dropped where an approved skill lives: the digest differs
    # from the pin, and the gate says the more useful thing, that the content is revoked.
    evil = install(installed.skills.parent / "evil", {"SKILL.md": FRONTMATTER + "Evil.\n"})
    write_revocations(installed.revocations, [revocation("digest", digest_tree(evil))])
    target = installed.skills / "hello"
    for path in sorted(target.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    target.rmdir()
    evil.rename(target)

    assert refusal(installed.gate(), target).reason is Reason.REVOKED


def test_revocation_outranks_review_status(installed: Installed) -> None:
    installed.pin("hello", status=ReviewStatus.PENDING)
    write_revocations(installed.revocations, [revocation("commit", COMMIT)])
    assert refusal(installed.gate(), installed.skills / "hello").reason is Reason.REVOKED


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("acme/skills", "github.com/acme/skills"),
        ("Acme/Skills.git", "github.com/acme/skills"),
        ("https://github.com/acme/skills", "github.com/acme/skills"),
        ("https://github.com/acme/skills.git/", "github.com/acme/skills"),
        ("ssh://git@github.com/acme/skills.git", "github.com/acme/skills"),
        ("ssh://git@github.com:2222/acme/skills", "github.com/acme/skills"),
        ("git@github.com:acme/skills.git", "github.com/acme/skills"),
        ("https://git.example.org/group/sub/repo.git", "git.example.org/group/sub/repo"),
        ("/srv/git/skills/", "local:/srv/git/skills"),
        ("./skills", "local:./skills"),
    ],
)
def test_repository_key_folds_the_spellings_of_one_repository(source: str, key: str) -> None:
    assert repository_key(source) == key


def test_the_bundled_revocation_list_is_valid_and_used_by_default(installed: Installed) -> None:
    bundled = bundled_revocations_path()
    assert bundled == str(REPO / "registry" / "revocations.json")
    jsonschema.Draft202012Validator(REVOCATIONS_SCHEMA).validate(
        json.loads(Path(bundled).read_text())
    )

    gate = Gate.load(installed.lockfile)

    assert gate.revocations.origin == bundled
    assert gate.revocations == Revocations.load(bundled)


def test_the_revocation_schema_uses_the_modules_patterns() -> None:
    jsonschema.Draft202012Validator.check_schema(REVOCATIONS_SCHEMA)
    entry = REVOCATIONS_SCHEMA["$defs"]["entry"]
    assert entry["properties"]["reason"]["pattern"] == gate_module.REASON_PATTERN
    assert entry["properties"]["source"]["pattern"] == gate_module.REFERENCE_PATTERN
    by_kind = {
        rule["if"]["properties"]["kind"]["const"]: rule["then"]["properties"]["value"]["pattern"]
        for rule in entry["allOf"]
    }
    assert by_kind == gate_module._VALUE_PATTERNS
    assert set(by_kind) == {k.value for k in RevocationKind}
    assert REVOCATIONS_SCHEMA["properties"]["entries"]["maxItems"] == gate_module.MAX_REVOCATIONS


def test_a_valid_revocation_list_parses_and_matches_the_schema(tmp_path: Path) -> None:
    entries = [
        revocation("repository", "acme/skills"),
        revocation("commit", COMMIT),
        revocation("digest", "sha256:" + "ab" * 32),
    ]
    document = json.loads(write_revocations(tmp_path / "r.json", entries).read_text())
    jsonschema.Draft202012Validator(REVOCATIONS_SCHEMA).validate(document)

    parsed = Revocations.load(tmp_path / "r.json")

    assert [(r.kind.value, r.value) for r in parsed.entries] == [
        ("repository", "acme/skills"),
        ("commit", COMMIT),
        ("digest", "sha256:" + "ab" * 32),
    ]


# --- the decision `skillscan gate` prints --------------------------------------------------


def test_gate_decision_allows_with_exit_0(installed: Installed) -> None:
    code, decision = gate_decision(
        installed.skills / "hello", installed.lockfile, revocations=installed.revocations
    )
    assert code is ExitCode.OK
    assert int(code) == 0
    assert decision == {
        "allowed": True,
        "name": "hello",
        "commit": COMMIT,
        "digest": digest_tree(installed.skills / "hello"),
    }


@pytest.mark.parametrize(
    ("damage", "reason", "code"),
    [
        ("unpinned", Reason.NOT_LOCKED, 1),
        ("modified", Reason.DIGEST_MISMATCH, 1),
        ("pending", Reason.NOT_REVIEWED, 1),
        ("rejected", Reason.REJECTED, 1),
        ("revoked", Reason.REVOKED, 1),
        ("missing-folder", Reason.UNREADABLE, 1),
        ("bad-lockfile", Reason.LOCKFILE_INVALID, 2),
        ("bad-revocations", Reason.LOCKFILE_INVALID, 2),
    ],
)
def test_gate_decision_refuses_with_a_reason_and_exit_code(
    installed: Installed, damage: str, reason: Reason, code: int
) -> None:
    target = installed.skills / "hello"
    if damage == "unpinned":
        target = install(installed.skills / "other")
    elif damage == "modified":
        (target / "SKILL.md").write_text("changed\n")
    elif damage in ("pending", "rejected"):
        installed.pin("hello", status=ReviewStatus(damage))
    elif damage == "revoked":
        write_revocations(installed.revocations, [revocation("repository", SOURCE)])
    elif damage == "missing-folder":
        target = installed.skills / "ghost"
        installed.pin("ghost", digest="sha256:" + "0" * 64)
    elif damage == "bad-lockfile":
        installed.lockfile.write_text("{")
    elif damage == "bad-revocations":
        installed.revocations.write_text('{"revocations_version": 2, "entries": []}')

    exit_code, decision = gate_decision(
        target, installed.lockfile, revocations=installed.revocations
    )

    assert (exit_code, decision["reason"]) == (code, reason.value)
    assert decision["allowed"] is False
    assert set(decision) == {"allowed", "reason", "message"}
    assert isinstance(decision["message"], str) and decision["message"]
    json.dumps(decision)  # printable as JSON as it is


def test_skill_refused_maps_to_the_shared_exit_codes() -> None:
    assert SkillRefused(Reason.LOCKFILE_INVALID, "x").exit_code == ExitCode.USAGE
    for reason in set(Reason) - {Reason.LOCKFILE_INVALID}:
        assert SkillRefused(reason, "x").exit_code == ExitCode.POLICY


def test_revocations_error_is_an_input_error() -> None:
    with pytest.raises(RevocationsError):
        Revocations.parse(b"[]")


# --- layering and the example ---------------------------------------------------------------

ALLOWED_SKILLSCAN = {
    "skillscan",
    "skillscan.digest",
    "skillscan.errors",
    "skillscan.gate",
    "skillscan.lockfile",
    "skillscan.model",
}
FORBIDDEN = ("semgrep", "httpx", "git", "sqlalchemy", "sqlmodel", "rich", "yaml", "jsonschema")
# Standard-library modules whose import alone would blow the gate's 30 ms budget
# (docs/gate.md); bench/gate.py measures the time, this keeps them from creeping back.
OVER_BUDGET = (
    "dataclasses",
    "inspect",
    "typing",
    "pathlib",
    "datetime",
    "contextlib",
    "tempfile",
)


def test_importing_the_gate_loads_only_the_standard_library() -> None:
    probe = (
        "import sys; before = set(sys.modules); import skillscan.gate; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(run.stdout.split())

    assert "skillscan.gate" in loaded
    for name in FORBIDDEN:
        assert not any(m == name or m.startswith(name + ".") for m in loaded), name
    foreign = {
        m
        for m in loaded
        if m not in ALLOWED_SKILLSCAN and m.partition(".")[0] not in sys.stdlib_module_names
    }
    assert not foreign, f"importing skillscan.gate loaded non-stdlib modules: {sorted(foreign)}"
    heavy = sorted(set(OVER_BUDGET) & loaded)
    assert not heavy, f"importing skillscan.gate loaded {heavy}, over its import budget"


def test_the_gateway_demo_refuses_the_tampered_and_the_unpinned_skill() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "examples" / "gateway" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "refused  git-changelog    digest-mismatch" in run.stdout
    assert "refused  env-sync         not-locked" in run.stdout
    assert "loaded   weather-report" in run.stdout


@pytest.mark.parametrize("shipped", [True, False])
def test_an_installed_gate_reads_the_wheels_revocation_list_and_fails_closed_without_it(
    tmp_path: Path, installed: Installed, shipped: bool
) -> None:
    # The wheel's layout (pyproject force-include): registry/ becomes skillscan/_data/registry.
    site = tmp_path / "site"
    package = site / "skillscan"
    package.mkdir(parents=True)
    for module in ("__init__", "errors", "model", "digest", "lockfile", "gate"):
        source = REPO / "skillscan" / f"{module}.py"
        (package / source.name).write_bytes(source.read_bytes())
    (package / "_data" / "registry").mkdir(parents=True)
    if shipped:
        bundled = (REPO / "registry" / "revocations.json").read_bytes()
        (package / "_data" / "registry" / "revocations.json").write_bytes(bundled)
    probe = (
        "import sys; from skillscan.gate import Gate, SkillRefused\n"
        "try:\n"
        "    print(Gate.load(sys.argv[1]).revocations.origin)\n"
        "except SkillRefused as refused:\n"
        "    print(refused.reason.value)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(installed.lockfile)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = str(package / "_data" / "registry" / "revocations.json")
    assert run.stdout.strip() == (expected if shipped else "lockfile-invalid")
