"""Pinning hostile repositories: hooks, filters, submodules, symlinks to secrets, hostile
names, and a user environment armed to run commands. Nothing may run, nothing may be
followed, nothing may be written for a refused skill."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from skillscan import lockfile, pins
from skillscan.errors import PolicyError
from skillscan.lockfile import LockfileError, ReviewStatus
from skillscan.pins import Outcome, Settings
from skillscan.refs import make_ref
from tests.conftest import GitRepo, Link, python_env

SKILL_MD = "---\nname: pdf\ndescription: Work with PDF files.\n---\nSummarise the PDF given.\n"
SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- never-read-this-key-material"


def run(cwd: Path, *args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "skillscan", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture
def env(project: Path, pycache: Path) -> dict[str, str]:
    return {**python_env(pycache), "XDG_CACHE_HOME": str(project / "cache")}


@pytest.fixture
def armed(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[Path, dict[str, str]]]:
    """A user environment whose git config runs commands on checkout, commit and status:
    global hooks, a required smudge filter, LFS, an fsmonitor; plus GIT_DIR pointing
    elsewhere. Yields the folder where any command that ran leaves a marker, and the env."""
    markers = tmp_path / "markers"
    markers.mkdir()
    hooks = tmp_path / "global-hooks"
    hooks.mkdir()
    for name in ("post-checkout", "reference-transaction", "post-merge", "pre-auto-gc"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\ntouch '{markers}/hook-{name}'\n")
        hook.chmod(0o755)
    for name, body in {
        "smudge": "touch '{m}/smudge'; cat",
        "lfs": "touch '{m}/lfs'; cat",
        "fsmonitor": "touch '{m}/fsmonitor'",
    }.items():
        script = tmp_path / f"{name}.sh"
        script.write_text("#!/bin/sh\n" + body.format(m=markers) + "\n")
        script.chmod(0o755)
    config = tmp_path / "home" / ".gitconfig"
    config.parent.mkdir()
    config.write_text(
        f"[user]\n\tname = Armed User\n"
        f"[core]\n\thooksPath = {hooks}\n\tfsmonitor = {tmp_path}/fsmonitor.sh\n"
        f'[filter "evil"]\n\tsmudge = {tmp_path}/smudge.sh\n\trequired = true\n'
        f'[filter "lfs"]\n\tsmudge = {tmp_path}/lfs.sh\n'
    )
    hostile_env = {
        **env,
        "HOME": str(config.parent),
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_DIR": str(tmp_path / "elsewhere.git"),
        "GIT_SSL_NO_VERIFY": "1",
        "GIT_CONFIG_PARAMETERS": f"'core.hooksPath'='{hooks}'",
    }
    yield markers, hostile_env


def test_submodule_is_a_finding_never_fetched(
    tmp_path: Path, project: Path, armed: tuple[Path, dict[str, str]]
) -> None:
    markers, hostile_env = armed
    inner = GitRepo(tmp_path / "inner")
    inner_sha = inner.commit({"secret.txt": "inner secret\n"})
    repo = GitRepo(tmp_path / "hostile")
    repo.commit(
        {
            "skill/SKILL.md": SKILL_MD,
            "skill/.gitattributes": "*.md filter=evil\n*.bin filter=lfs\n",
            "skill/model.bin": "version https://git-lfs.github.com/spec/v1\n",
        }
    )
    sha = repo.add_submodule("skill/vendor", str(inner.path), inner_sha)
    for name in ("post-checkout", "post-merge", "reference-transaction"):
        hook = repo.path / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\ntouch '{markers}/repo-{name}'\n")
        hook.chmod(0o755)
    with (repo.path / ".git" / "config").open("a") as config:
        config.write(
            f"[uploadpack]\n\tpackObjectsHook = {tmp_path}/fsmonitor.sh\n"
            f"[core]\n\tfsmonitor = {tmp_path}/fsmonitor.sh\n"
        )
    added = run(
        project, "add", f"{repo.path}@{sha}#skill", "--install-dir", "skills", env=hostile_env
    )
    reviewed = run(project, "review", "pdf", "--approve", "--install-dir", "skills", "--format",
                   "json", env=hostile_env)  # fmt: skip

    assert added.returncode == 0, added.stderr
    assert "SKS-STRUCT-009" in added.stdout
    assert f"vendor -> submodule commit {inner_sha}" in added.stdout
    assert reviewed.returncode == 0, reviewed.stderr
    assert json.loads(reviewed.stdout)["entry"]["review"]["by"] == "Armed User"
    assert list(markers.iterdir()) == []  # no hook, filter or fsmonitor ran
    assert not (tmp_path / "elsewhere.git").exists()  # GIT_DIR was not honoured
    installed = project / "skills" / "pdf"
    assert sorted(p.name for p in installed.iterdir()) == [
        ".gitattributes",
        "SKILL.md",
        "model.bin",
    ]
    assert (installed / "SKILL.md").read_text() == SKILL_MD  # not smudged
    everything = b"".join(p.read_bytes() for p in project.rglob("*") if p.is_file())
    assert b"inner secret" not in everything  # the submodule was never fetched


def test_symlink_to_ssh_is_blocked_and_nothing_written(
    tmp_path: Path, project: Path, env: dict[str, str]
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET)
    repo = GitRepo(tmp_path / "src")
    sha = repo.commit({"pdf/SKILL.md": SKILL_MD, "pdf/key": Link(str(home / ".ssh" / "id_rsa"))})

    result = run(project, "add", f"{repo.path}@{sha}#pdf", "--install-dir", "skills", env=env)

    assert result.returncode == 1
    assert result.stdout.startswith("BLOCKED pdf:") and "SKS-STRUCT-001" in result.stdout
    assert f"key -> {home}/.ssh/id_rsa" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert not (project / "skills.lock").exists()
    assert not (project / "skills").exists() or list((project / "skills").iterdir()) == []


def test_hostile_file_names_cannot_drive_the_terminal(
    tmp_path: Path, project: Path, env: dict[str, str]
) -> None:
    repo = GitRepo(tmp_path / "src")
    evil = "evil\x1b]0;owned\x07\x1b[2J\u202e.zip"
    sha = repo.commit({"pdf/SKILL.md": SKILL_MD, f"pdf/{evil}": b"PK\x03\x04" + b"\x00" * 8})

    result = run(project, "add", f"{repo.path}@{sha}#pdf", env=env)

    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\u202e" not in result.stdout
    assert "evil\\x1b]0;owned\\x07\\x1b[2J\\u202e.zip" in result.stdout


def _ref(repo: GitRepo, sha: str, sub: str = "pdf") -> pins.SkillRef:
    return make_ref(str(repo.path), sha, sub)


def test_frontmatter_name_cannot_leave_the_install_folder(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "src")
    sha = repo.commit({"pdf/SKILL.md": '---\nname: "../../../escape"\ndescription: d\n---\nx\n'})
    settings = Settings(lockfile=tmp_path / "skills.lock", cache_dir=tmp_path / "cache")
    inst = tmp_path / "deep" / "installed"

    result = pins.add(_ref(repo, sha), settings, install_dir=inst)

    assert result.name == "escape"
    assert sorted(p.name for p in inst.iterdir()) == ["escape"]
    assert not (tmp_path / "escape").exists()


def test_an_install_folder_that_is_a_symlink_is_never_followed(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "src")
    sha = repo.commit({"pdf/SKILL.md": SKILL_MD})
    settings = Settings(lockfile=tmp_path / "skills.lock", cache_dir=tmp_path / "cache")
    inst = tmp_path / "installed"
    inst.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine\n")
    (inst / "pdf").symlink_to(victim)

    with pytest.raises(PolicyError, match="already exists and differs"):
        pins.add(_ref(repo, sha), settings, install_dir=inst)

    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
    assert not settings.lockfile.exists()


def test_a_lockfile_symlink_is_never_written_through(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "src")
    sha = repo.commit({"pdf/SKILL.md": SKILL_MD})
    target = tmp_path / "elsewhere.json"
    target.write_text("not yours\n")
    link = tmp_path / "skills.lock"
    link.symlink_to(target)

    with pytest.raises(LockfileError):
        pins.add(_ref(repo, sha), Settings(lockfile=link, cache_dir=tmp_path / "cache"))

    assert target.read_text() == "not yours\n"


def test_a_newer_lockfile_is_never_rewritten(
    tmp_path: Path, project: Path, env: dict[str, str]
) -> None:
    repo = GitRepo(tmp_path / "src")
    sha = repo.commit({"pdf/SKILL.md": SKILL_MD})
    newer = b'{"lockfile_version": 2, "skills": {}}\n'
    (project / "skills.lock").write_bytes(newer)

    result = run(project, "add", f"{repo.path}@{sha}#pdf", env=env)

    assert result.returncode == 2 and "upgrade skillscan" in result.stderr
    assert (project / "skills.lock").read_bytes() == newer


def test_git_user_name_is_read_outside_any_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The current folder is a repository whose config runs a command; git must not read it.
    hostile = GitRepo(tmp_path / "hostile")
    marker = tmp_path / "pwned"
    hostile.git("config", "core.fsmonitor", f"touch {marker}")
    hostile.git("config", "user.name", "From The Repository")
    monkeypatch.chdir(hostile.path)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_DIR", str(hostile.path / ".git"))

    assert pins.reviewer(None) != "From The Repository"
    assert not marker.exists()


def test_a_cache_entry_tampered_after_pinning_is_caught(tmp_path: Path) -> None:
    # The fetch cache re-verifies object ids; the pin's digest is checked on top of that.
    repo = GitRepo(tmp_path / "src")
    sha = repo.commit({"pdf/SKILL.md": SKILL_MD})
    settings = Settings(lockfile=tmp_path / "skills.lock", cache_dir=tmp_path / "cache")
    assert pins.add(_ref(repo, sha), settings).outcome is Outcome.ADDED
    for stored in (tmp_path / "cache").rglob("*.objects"):
        stored.write_bytes(stored.read_bytes().replace(b"Summarise", b"Exfiltrate"))

    result = pins.check(settings, rescan=True)

    assert result.problems == ()  # the tampered entry was refused and fetched afresh
    assert lockfile.load(settings.lockfile).skills["pdf"].review.status is ReviewStatus.APPROVED


def test_a_pending_skill_is_never_installed(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "src")
    sha = repo.commit({"pdf/SKILL.md": SKILL_MD, "pdf/a.zip": b"PK\x03\x04" + b"\x00" * 8})
    settings = Settings(lockfile=tmp_path / "skills.lock", cache_dir=tmp_path / "cache")
    inst = tmp_path / "installed"

    pins.add(_ref(repo, sha), settings, install_dir=inst)
    again = pins.add(_ref(repo, sha), settings, install_dir=inst)

    assert again.outcome is Outcome.UNCHANGED
    assert list(inst.iterdir()) == []
