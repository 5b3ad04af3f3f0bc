"""The pinning workflows (skillscan.pins) against real git repositories built in tmp_path.

Findings are produced without semgrep (no script in these skills), so the suite is fast:
an archive is SKS-STRUCT-006 (medium, review), a native executable SKS-STRUCT-005 (high,
block), a symlink leaving the skill SKS-STRUCT-001 (high, block).
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from skillscan import lockfile, pins
from skillscan.digest import digest_tree
from skillscan.errors import ExitCode, InputError, PolicyError, UsageError
from skillscan.fetch import FetchedTree, TreeEntry, TreeEntryKind
from skillscan.lockfile import LockEntry, Review, ReviewStatus
from skillscan.model import Verdict, replace
from skillscan.pins import (
    POLICY_REVIEWER,
    Decision,
    FileChange,
    FileChangeKind,
    InstallState,
    Outcome,
    Reason,
    Settings,
)
from skillscan.refs import SkillRef, make_ref
from tests.conftest import Exe, GitRepo, Link

SKILL_MD = (
    "---\nname: pdf\ndescription: Work with PDF files.\n---\nSummarise the PDF the user gives.\n"
)
ARCHIVE = b"PK\x03\x04" + b"\x00" * 24  # SKS-STRUCT-006, medium
NATIVE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 24  # SKS-STRUCT-005, high
SUB = "skills/pdf"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "src")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(lockfile=tmp_path / "skills.lock", cache_dir=tmp_path / "cache")


@pytest.fixture
def inst(tmp_path: Path) -> Path:
    return tmp_path / "installed"


def ref(repo: GitRepo, commit: str, sub: str = SUB) -> SkillRef:
    return make_ref(str(repo.path), commit, sub)


def skill(extra: dict[str, str | bytes | Link | Exe | None] | None = None) -> dict[str, object]:
    return {f"{SUB}/SKILL.md": SKILL_MD, **{f"{SUB}/{k}": v for k, v in (extra or {}).items()}}


def commit(repo: GitRepo, extra: dict[str, str | bytes | Link | Exe | None] | None = None) -> str:
    return repo.commit(skill(extra))  # type: ignore[arg-type]


def locked(settings: Settings, name: str = "pdf") -> LockEntry:
    entry = lockfile.load(settings.lockfile).get(name)
    assert entry is not None
    return entry


def fingerprint_of(result: pins.AddResult | pins.UpdateResult, rule_id: str) -> str:
    (fp,) = {f.fingerprint for f in result.findings if f.rule_id == rule_id}
    return fp


# -- add ----------------------------------------------------------------------------------


def test_add_pass_is_approved_by_policy_and_installed_read_only(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    sha = commit(repo, {"docs/guide.md": "Read the PDF.\n", "run": Exe("echo hi\n")})

    result = pins.add(ref(repo, sha), settings, install_dir=inst)

    assert result.outcome is Outcome.ADDED and result.verdict is Verdict.PASS
    entry = locked(settings)
    assert entry == result.entry
    assert (entry.source, entry.commit, entry.path) == (str(repo.path), sha, SUB)
    assert entry.review.status is ReviewStatus.APPROVED
    assert entry.review.by == POLICY_REVIEWER and "policy" in entry.review.note
    assert entry.signatures == result.signatures
    # The digest is of exactly what is installed.
    assert result.install == pins.Install(inst / "pdf", InstallState.INSTALLED)
    assert digest_tree(inst / "pdf") == entry.digest
    assert stat.S_IMODE((inst / "pdf" / "SKILL.md").stat().st_mode) == 0o444
    assert stat.S_IMODE((inst / "pdf" / "run").stat().st_mode) == 0o555
    assert stat.S_IMODE((inst / "pdf" / "docs").stat().st_mode) == 0o555
    assert sorted(p.name for p in inst.iterdir()) == ["pdf"]  # no temporary left behind


def test_add_review_verdict_is_pending_and_not_installed(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    sha = commit(repo, {"payload.zip": ARCHIVE})

    result = pins.add(ref(repo, sha), settings, install_dir=inst)

    assert result.verdict is Verdict.REVIEW
    entry = locked(settings)
    assert entry.review == Review.pending()
    assert entry.findings.medium == 1
    assert result.install is not None and result.install.state is InstallState.WITHHELD
    assert list(inst.iterdir()) == []


@pytest.mark.parametrize(
    "extra",
    [
        {"tool": NATIVE},
        {"key": Link("/home/victim/.ssh/id_rsa")},
        {"up": Link("../../../etc")},
    ],
    ids=["native-executable", "absolute-symlink", "symlink-leaving"],
)
def test_add_block_writes_nothing(
    repo: GitRepo, settings: Settings, inst: Path, extra: dict[str, bytes | Link]
) -> None:
    sha = commit(repo, extra)  # type: ignore[arg-type]

    result = pins.add(ref(repo, sha), settings, install_dir=inst)

    assert result.outcome is Outcome.BLOCKED and result.entry is None
    assert not settings.lockfile.exists()
    assert not inst.exists() or list(inst.iterdir()) == []


@pytest.mark.parametrize(
    ("frontmatter_name", "explicit", "expected"),
    [
        ("pdf", None, "pdf"),
        ("PDF Tools!", None, "pdf-tools"),
        ("../../etc/passwd", None, "etc-passwd"),
        ("\u202ehidden", None, "hidden"),
        (None, None, "pdf"),  # the folder's name
        ("...", None, "pdf"),  # nothing usable: the folder's name
        ("pdf", "my-pdf", "my-pdf"),
    ],
)
def test_add_name_rules(
    repo: GitRepo,
    settings: Settings,
    frontmatter_name: str | None,
    explicit: str | None,
    expected: str,
) -> None:
    head = f"name: {json.dumps(frontmatter_name)}\n" if frontmatter_name else ""
    sha = repo.commit({f"{SUB}/SKILL.md": f"---\n{head}description: d\n---\nBody.\n"})

    result = pins.add(ref(repo, sha), settings, name=explicit)

    assert result.name == expected
    assert list(lockfile.load(settings.lockfile).skills) == [expected]


def test_add_repository_root_is_named_after_the_repository(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "csv-tools.git")
    sha = repo.commit({"SKILL.md": "---\ndescription: d\n---\nBody.\n"})
    settings = Settings(lockfile=tmp_path / "skills.lock", cache_dir=tmp_path / "cache")

    assert pins.add(make_ref(str(repo.path), sha), settings).name == "csv-tools"


def test_add_refuses_invalid_name(repo: GitRepo, settings: Settings) -> None:
    with pytest.raises(UsageError, match="not a valid skill name"):
        pins.add(ref(repo, commit(repo)), settings, name="../x")


def test_add_same_pin_again_is_unchanged_and_can_install(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    sha = commit(repo)
    first = pins.add(ref(repo, sha), settings)
    before = settings.lockfile.read_bytes()

    again = pins.add(ref(repo, sha), settings, install_dir=inst)
    third = pins.add(ref(repo, sha), settings, install_dir=inst)

    assert again.outcome is Outcome.UNCHANGED and again.entry == first.entry
    assert settings.lockfile.read_bytes() == before
    assert again.install is not None and again.install.state is InstallState.INSTALLED
    assert third.install is not None and third.install.state is InstallState.ALREADY


def test_add_name_collision(repo: GitRepo, settings: Settings, tmp_path: Path) -> None:
    first = commit(repo)
    pins.add(ref(repo, first), settings)
    second = commit(repo, {"notes.txt": "more\n"})
    other = GitRepo(tmp_path / "other")
    other_sha = other.commit({"SKILL.md": SKILL_MD})
    before = settings.lockfile.read_bytes()

    with pytest.raises(PolicyError, match="already has a skill named 'pdf'") as moved:
        pins.add(ref(repo, second), settings)
    assert moved.value.hint == f"to move it to this commit run: skillscan update pdf@{second}"
    with pytest.raises(PolicyError, match="already has a skill named 'pdf'") as taken:
        pins.add(make_ref(str(other.path), other_sha), settings)
    assert taken.value.hint is not None and "--name" in taken.value.hint
    assert settings.lockfile.read_bytes() == before
    assert pins.add(make_ref(str(other.path), other_sha), settings, name="pdf-2").name == "pdf-2"


def test_add_refuses_an_install_folder_that_differs(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    (inst / "pdf").mkdir(parents=True)
    (inst / "pdf" / "SKILL.md").write_text("someone else's\n")

    with pytest.raises(PolicyError, match="already exists and differs"):
        pins.add(ref(repo, commit(repo)), settings, install_dir=inst)

    assert not settings.lockfile.exists()
    assert (inst / "pdf" / "SKILL.md").read_text() == "someone else's\n"
    assert sorted(p.name for p in inst.iterdir()) == ["pdf"]


def test_add_with_ack_makes_the_acknowledger_the_reviewer(
    repo: GitRepo, settings: Settings
) -> None:
    sha = commit(repo, {"tool": NATIVE})
    blocked = pins.add(ref(repo, sha), settings)
    fp = fingerprint_of(blocked, "SKS-STRUCT-005")

    result = pins.add(ref(repo, sha), settings, acknowledged=[fp], by="alice", note="vendored")

    entry = locked(settings)
    assert result.verdict is Verdict.PASS
    assert entry.review.status is ReviewStatus.APPROVED
    assert (entry.review.by, entry.review.note, entry.review.acknowledged) == (
        "alice",
        "vendored",
        (fp,),
    )
    assert entry.findings.high == 1  # still counted, and listed as acknowledged


def test_add_refuses_an_ack_that_matches_no_finding(repo: GitRepo, settings: Settings) -> None:
    with pytest.raises(UsageError, match="no such finding"):
        pins.add(ref(repo, commit(repo)), settings, acknowledged=["SKS-X-1:0123456789abcdef"])
    with pytest.raises(UsageError, match="not a finding fingerprint"):
        pins.add(ref(repo, commit(repo)), settings, acknowledged=["nope"])
    assert not settings.lockfile.exists()


def test_submodule_and_dangling_link_become_findings(repo: GitRepo, settings: Settings) -> None:
    inner = GitRepo(repo.path.parent / "inner")
    inner_sha = inner.commit({"payload.sh": "curl x | sh\n"})
    commit(repo, {"broken": Link("missing.md")})
    sha = repo.add_submodule(f"{SUB}/vendor", str(inner.path), inner_sha)

    result = pins.add(ref(repo, sha), settings)

    by_rule = {f.rule_id: f for f in result.findings}
    assert by_rule["SKS-STRUCT-009"].file == "vendor"
    assert inner_sha in by_rule["SKS-STRUCT-009"].evidence
    assert by_rule["SKS-STRUCT-001"].evidence == "broken -> missing.md"
    assert result.verdict is Verdict.BLOCK


# -- review -------------------------------------------------------------------------------


def test_approve_acknowledges_medium_findings_and_records_who(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    sha = commit(repo, {"payload.zip": ARCHIVE})
    added = pins.add(ref(repo, sha), settings)
    fp = fingerprint_of(added, "SKS-STRUCT-006")

    result = pins.review(
        "pdf", Decision.APPROVE, settings, note="docs only", by="bob", install_dir=inst
    )

    entry = locked(settings)
    assert result.implicit == (fp,)
    assert entry.review.status is ReviewStatus.APPROVED
    assert (entry.review.by, entry.review.note, entry.review.acknowledged) == (
        "bob",
        "docs only",
        (fp,),
    )
    assert entry.review.at is not None
    assert entry.verdict is Verdict.PASS and entry.findings.medium == 1
    assert digest_tree(inst / "pdf") == entry.digest


def test_approve_needs_an_explicit_ack_for_each_blocking_finding(
    repo: GitRepo, settings: Settings
) -> None:
    sha = commit(repo, {"tool": NATIVE, "payload.zip": ARCHIVE})
    blocked = pins.add(ref(repo, sha), settings)
    high = fingerprint_of(blocked, "SKS-STRUCT-005")
    pins.add(ref(repo, sha), settings, acknowledged=[high], by="alice")  # pending: the medium
    # A pull request drops the acknowledgement from the lockfile.
    with lockfile.edit(settings.lockfile) as draft:
        draft.skills["pdf"] = replace(draft.skills["pdf"], review=Review.pending())
    before = settings.lockfile.read_bytes()

    with pytest.raises(PolicyError) as refused:
        pins.review("pdf", Decision.APPROVE, settings, by="bob")
    assert f"--ack {high}" in refused.value.message
    assert settings.lockfile.read_bytes() == before

    pins.review("pdf", Decision.APPROVE, settings, acknowledged=[high], by="bob")
    medium = fingerprint_of(blocked, "SKS-STRUCT-006")
    assert locked(settings).review.acknowledged == tuple(sorted([high, medium]))


def test_reject_records_who_and_why(repo: GitRepo, settings: Settings) -> None:
    pins.add(ref(repo, commit(repo, {"payload.zip": ARCHIVE})), settings)

    pins.review("pdf", Decision.REJECT, settings, note="ships a binary blob", by="carol")

    review = locked(settings).review
    assert (review.status, review.by, review.note) == (
        ReviewStatus.REJECTED,
        "carol",
        "ships a binary blob",
    )
    with pytest.raises(UsageError, match="--approve"):
        pins.review("pdf", Decision.REJECT, settings, by="c", acknowledged=["A-1:" + "0" * 16])


def test_review_of_an_unknown_skill(settings: Settings, repo: GitRepo) -> None:
    pins.add(ref(repo, commit(repo)), settings)
    with pytest.raises(InputError, match="no skill named 'nope'"):
        pins.review("nope", Decision.APPROVE, settings, by="x")


def test_reviewer_is_by_then_git_user_then_os_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Grace Hopper\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    assert pins.reviewer("dana") == "dana"
    assert pins.reviewer(None) == "Grace Hopper"

    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("LOGNAME", "os-user")
    assert pins.reviewer(None) == "os-user"
    with pytest.raises(UsageError):
        pins.reviewer("bad\x1b[2Jname")


# -- update -------------------------------------------------------------------------------


def test_update_lists_changed_files_and_only_new_findings(
    repo: GitRepo, settings: Settings
) -> None:
    v1 = commit(
        repo,
        {
            "old.zip": ARCHIVE,
            "notes.txt": "v1\n",
            "readme.md": "read me\n",
            "data.txt": "data\n",
        },
    )
    added = pins.add(ref(repo, v1), settings)
    old_fp = fingerprint_of(added, "SKS-STRUCT-006")
    pins.review("pdf", Decision.APPROVE, settings, by="bob")
    v2 = commit(
        repo,
        {
            "notes.txt": "v2\n",
            "readme.md": None,
            "data.txt": Exe("data\n"),
            "new.zip": ARCHIVE + b"!",
        },
    )

    result = pins.update("pdf", v2, settings)

    assert result.outcome is Outcome.UPDATED and result.baseline
    assert result.changes == (
        FileChange("data.txt", FileChangeKind.MODIFIED),  # chmod +x
        FileChange("new.zip", FileChangeKind.ADDED),
        FileChange("notes.txt", FileChangeKind.MODIFIED),
        FileChange("readme.md", FileChangeKind.REMOVED),
    )
    assert [(f.rule_id, f.file) for f in result.new_findings] == [("SKS-STRUCT-006", "new.zip")]
    old = next(f for f in result.findings if f.file == "old.zip")
    assert old.acknowledged  # carried over: same fingerprint
    entry = locked(settings)
    assert entry.commit == v2
    assert entry.review.status is ReviewStatus.PENDING
    assert entry.review.acknowledged == (old_fp,)
    assert "1 new finding" in entry.review.note


def test_update_without_new_findings_is_approved_by_policy(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    pins.add(ref(repo, commit(repo, {"notes.txt": "v1\n"})), settings, install_dir=inst)
    v2 = commit(repo, {"notes.txt": "v2\n"})

    result = pins.update("pdf", v2, settings, install_dir=inst)

    entry = locked(settings)
    assert result.new_findings == ()
    assert (entry.commit, entry.review.status, entry.review.by) == (
        v2,
        ReviewStatus.APPROVED,
        POLICY_REVIEWER,
    )
    assert "update from" in entry.review.note
    assert result.install is not None and result.install.state is InstallState.INSTALLED
    assert (inst / "pdf" / "notes.txt").read_text() == "v2\n"
    assert digest_tree(inst / "pdf") == entry.digest
    assert sorted(p.name for p in inst.iterdir()) == ["pdf"]


def test_update_needing_review_retires_the_previous_install(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    pins.add(ref(repo, commit(repo)), settings, install_dir=inst)
    v2 = commit(repo, {"payload.zip": ARCHIVE})

    result = pins.update("pdf", v2, settings, install_dir=inst)

    assert result.install is not None and result.install.state is InstallState.RETIRED
    assert list(inst.iterdir()) == []
    pins.review("pdf", Decision.APPROVE, settings, by="bob", install_dir=inst)
    assert digest_tree(inst / "pdf") == locked(settings).digest


def test_update_blocked_writes_nothing(repo: GitRepo, settings: Settings, inst: Path) -> None:
    pins.add(ref(repo, commit(repo)), settings, install_dir=inst)
    before = settings.lockfile.read_bytes()
    installed = digest_tree(inst / "pdf")
    v2 = commit(repo, {"tool": NATIVE})

    result = pins.update("pdf", v2, settings, install_dir=inst)

    assert result.outcome is Outcome.BLOCKED and result.entry is None
    assert [f.rule_id for f in result.new_findings] == ["SKS-STRUCT-005"]
    assert settings.lockfile.read_bytes() == before
    assert digest_tree(inst / "pdf") == installed


def test_update_after_a_rejection_needs_review_again(repo: GitRepo, settings: Settings) -> None:
    pins.add(ref(repo, commit(repo)), settings)
    pins.review("pdf", Decision.REJECT, settings, by="carol")

    pins.update("pdf", commit(repo, {"notes.txt": "fixed\n"}), settings)

    review = locked(settings).review
    assert review.status is ReviewStatus.PENDING and "rejected" in review.note


def test_update_when_the_pinned_commit_is_gone(repo: GitRepo, tmp_path: Path) -> None:
    settings = Settings(lockfile=tmp_path / "skills.lock", cache_dir=tmp_path / "cache-1")
    v1 = commit(repo, {"notes.txt": "v1\n"})
    pins.add(ref(repo, v1), settings)
    # Upstream rewrites history: v1 is no longer in the repository (nor in a fresh cache).
    repo.git("checkout", "-q", "--orphan", "rewritten")
    v2 = commit(repo, {"notes.txt": "v2\n"})
    repo.git("branch", "-D", "main")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    fresh = dataclasses.replace(settings, cache_dir=tmp_path / "cache-2")

    result = pins.update("pdf", v2, fresh)

    assert not result.baseline
    assert {c.kind for c in result.changes} == {FileChangeKind.ADDED}
    assert locked(settings).commit == v2


def test_update_refuses_a_branch_name(repo: GitRepo, settings: Settings) -> None:
    pins.add(ref(repo, commit(repo)), settings)
    with pytest.raises(UsageError, match="skillscan resolve"):
        pins.update("pdf", "main", settings)


def test_update_to_the_same_commit_is_unchanged(repo: GitRepo, settings: Settings) -> None:
    sha = commit(repo)
    pins.add(ref(repo, sha), settings)
    assert pins.update("pdf", sha, settings).outcome is Outcome.UNCHANGED


@pytest.mark.parametrize(
    ("text", "expected"),
    [("pdf@" + "a" * 40, ("pdf", "a" * 40)), ("pdf@main", ("pdf", "main"))],
)
def test_parse_name_at_commit(text: str, expected: tuple[str, str]) -> None:
    assert pins.parse_name_at_commit(text) == expected


@pytest.mark.parametrize("text", ["pdf", "@abc", "pdf@", "../x@" + "a" * 40])
def test_parse_name_at_commit_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        pins.parse_name_at_commit(text)


# -- remove -------------------------------------------------------------------------------


def test_remove_deletes_the_install_only_when_it_is_the_pinned_content(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    pins.add(ref(repo, commit(repo)), settings, install_dir=inst)
    (inst / "pdf").chmod(0o700)
    (inst / "pdf" / "local.txt").write_text("my change\n")
    before = settings.lockfile.read_bytes()

    with pytest.raises(PolicyError, match="differs"):
        pins.remove("pdf", settings, install_dir=inst)
    assert settings.lockfile.read_bytes() == before

    (inst / "pdf" / "local.txt").unlink()
    result = pins.remove("pdf", settings, install_dir=inst)

    assert result.install is not None and result.install.state is InstallState.REMOVED
    assert not (inst / "pdf").exists()
    assert lockfile.load(settings.lockfile).skills == {}
    with pytest.raises(InputError, match="no skill named"):
        pins.remove("pdf", settings)


# -- check --------------------------------------------------------------------------------


def _reasons(result: pins.CheckResult) -> list[tuple[str, Reason]]:
    return [(p.skill, p.reason) for p in result.problems]


def test_check_passes_for_approved_installed_pins(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    pins.add(ref(repo, commit(repo)), settings, install_dir=inst)

    result = pins.check(settings, installed=inst, rescan=True)

    assert result.problems == () and result.exit_code is ExitCode.OK
    assert result.skills == ("pdf",)


def test_check_fails_pending_and_rejected(repo: GitRepo, settings: Settings) -> None:
    sha = commit(repo, {"payload.zip": ARCHIVE})
    pins.add(ref(repo, sha), settings)
    pins.add(ref(repo, sha), settings, name="other")
    pins.review("other", Decision.REJECT, settings, by="carol")

    result = pins.check(settings)

    assert _reasons(result) == [("other", Reason.REJECTED), ("pdf", Reason.PENDING)]
    assert result.exit_code is ExitCode.POLICY
    fixes = {p.skill: p.fix for p in result.problems}
    assert fixes["pdf"] == "skillscan review pdf --approve (or --reject)"
    assert "skillscan remove other" in fixes["other"]


def _edit(root: Path) -> None:
    (root / "notes.txt").chmod(0o600)
    (root / "notes.txt").write_text("edited\n")


def _add_file(root: Path) -> None:
    root.chmod(0o700)
    (root / "extra.md").write_text("extra\n")


def _remove_file(root: Path) -> None:
    root.chmod(0o700)
    (root / "notes.txt").unlink()


def _chmod_x(root: Path) -> None:
    (root / "notes.txt").chmod(0o555)


def _touch(root: Path) -> None:
    os.utime(root / "notes.txt", (0, 0))  # times are not part of the digest


@pytest.mark.parametrize(
    ("drift", "caught"),
    [(_edit, True), (_add_file, True), (_remove_file, True), (_chmod_x, True), (_touch, False)],
    ids=["edited", "added", "removed", "chmod-x", "touched"],
)
def test_check_installed_catches_drift(
    repo: GitRepo, settings: Settings, inst: Path, drift: Callable[[Path], None], caught: bool
) -> None:
    pins.add(ref(repo, commit(repo, {"notes.txt": "n\n"})), settings, install_dir=inst)

    drift(inst / "pdf")
    result = pins.check(settings, installed=inst)

    if caught:
        assert _reasons(result) == [("pdf", Reason.DIGEST_MISMATCH)]
        assert "skillscan add" in result.problems[0].fix
    else:
        assert result.problems == ()


def test_check_installed_catches_missing_and_unlocked(
    repo: GitRepo, settings: Settings, inst: Path
) -> None:
    pins.add(ref(repo, commit(repo)), settings)
    (inst / "stray").mkdir(parents=True)
    (inst / "stray" / "SKILL.md").write_text("not pinned\n")
    (inst / "link").symlink_to(inst / "stray")

    result = pins.check(settings, installed=inst)

    assert _reasons(result) == [
        ("pdf", Reason.NOT_INSTALLED),
        ("link", Reason.NOT_LOCKED),
        ("stray", Reason.NOT_LOCKED),
    ]
    assert "--install-dir" in result.problems[0].fix


def test_check_refuses_a_symlinked_install(repo: GitRepo, settings: Settings, inst: Path) -> None:
    elsewhere = inst.parent / "elsewhere"
    pins.add(ref(repo, commit(repo)), settings, install_dir=elsewhere)
    inst.mkdir()
    (inst / "pdf").symlink_to(elsewhere / "pdf")

    assert _reasons(pins.check(settings, installed=inst)) == [("pdf", Reason.DIGEST_MISMATCH)]


def test_check_rescan_proves_the_content_still_matches_the_digest(
    repo: GitRepo, settings: Settings
) -> None:
    pins.add(ref(repo, commit(repo)), settings)
    with lockfile.edit(settings.lockfile) as draft:
        draft.skills["pdf"] = replace(draft.skills["pdf"], digest="sha256:" + "0" * 64)

    result = pins.check(settings, rescan=True)

    assert _reasons(result) == [("pdf", Reason.CONTENT_MISMATCH)]


def test_check_rescan_reports_a_source_that_is_gone(
    repo: GitRepo, settings: Settings, tmp_path: Path
) -> None:
    pins.add(ref(repo, commit(repo)), settings)
    fresh = dataclasses.replace(settings, cache_dir=tmp_path / "empty-cache")
    repo.path.rename(tmp_path / "moved")

    result = pins.check(fresh, rescan=True)

    assert _reasons(result) == [("pdf", Reason.FETCH_FAILED)]
    assert (
        result.exit_code is ExitCode.USAGE
    )  # the pin cannot be fetched: bad input, not "bad skill"


def test_check_flags_a_reference_skillscan_refuses(settings: Settings) -> None:
    entry = LockEntry(
        source="ext::sh -c touch% /tmp/pwned",
        commit="a" * 40,
        path="",
        digest="sha256:" + "0" * 64,
        signatures="1",
        verdict=Verdict.PASS,
        findings=lockfile.FindingCounts(),
        review=Review(ReviewStatus.APPROVED, "x", pins._now()),
    )
    lockfile.update(settings.lockfile, lambda old: old.with_entry("evil", entry))

    result = pins.check(settings, rescan=True)

    assert _reasons(result) == [("evil", Reason.INVALID_REFERENCE)]
    assert result.exit_code is ExitCode.USAGE
    assert not Path("/tmp/pwned").exists()


def test_check_refuses_an_invalid_lockfile(settings: Settings) -> None:
    settings.lockfile.write_text('{"lockfile_version": 1, "skills": {"x": {}}}\n')
    with pytest.raises(lockfile.LockfileError) as caught:
        pins.check(settings)
    assert caught.value.exit_code is ExitCode.USAGE


# -- pure helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pdf", "pdf"),
        ("PDF Tools", "pdf-tools"),
        ("  a__b  ", "a__b"),
        ("-x-", "x"),
        ("é", None),
        ("a" * 80, "a" * 64),
        ("x/../y", "x-..-y"),
        ("", None),
    ],
)
def test_normalise_name(text: str, expected: str | None) -> None:
    assert pins.normalise_name(text) == expected


def _tree(*entries: tuple[str, str, bool]) -> FetchedTree:
    return FetchedTree(
        make_ref("/srv/repo", "a" * 40),
        "b" * 40,
        tuple(TreeEntry(p, TreeEntryKind.FILE, x, b"", oid * 40) for p, oid, x in entries),
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ([("a", "1", False)], [("a", "1", False)], []),
        ([("a", "1", False)], [("a", "2", False)], [("a", "modified")]),
        ([("a", "1", False)], [("a", "1", True)], [("a", "modified")]),
        ([("a", "1", False)], [], [("a", "removed")]),
        ([], [("b", "1", False)], [("b", "added")]),
        (None, [("b", "1", False)], [("b", "added")]),
    ],
)
def test_diff_trees(
    old: list[tuple[str, str, bool]] | None,
    new: list[tuple[str, str, bool]],
    expected: list[tuple[str, str]],
) -> None:
    changes = pins.diff_trees(None if old is None else _tree(*old), _tree(*new))
    assert [(c.path, c.kind.value) for c in changes] == expected


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert pins.default_cache_dir() == tmp_path / "skillscan"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert pins.default_cache_dir() == tmp_path / "home" / ".cache" / "skillscan"
