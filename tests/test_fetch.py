"""The hardened fetcher, against real git repositories built in tmp_path (no network)."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skillscan import fetch
from skillscan.errors import ExitCode, InputError, UsageError
from skillscan.fetch import (
    FetchedTree,
    FetchError,
    FetchLimits,
    FetchRefused,
    Refusal,
    TreeEntry,
    TreeEntryKind,
    clean_stderr,
    fetch_commit,
    materialise,
    resolve,
    run_bounded,
)
from skillscan.refs import SkillRef, SourceKind, make_ref
from tests.conftest import Content, Exe, GitRepo, Link

FILE, SYMLINK, GITLINK = TreeEntryKind.FILE, TreeEntryKind.SYMLINK, TreeEntryKind.GITLINK


class Repo(GitRepo):
    """A source repository built with the git CLI, with references into it."""

    def ref(self, commit: str, subpath: str = "") -> SkillRef:
        return make_ref(str(self.path), commit, subpath)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "src")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _by_path(tree: FetchedTree) -> dict[str, TreeEntry]:
    return {e.path: e for e in tree.entries}


SKILL: dict[str, Content] = {
    "README.md": "repository readme\n",
    "skills/pdf/SKILL.md": "---\nname: pdf\n---\nUse it.\n",
    "skills/pdf/scripts/run.sh": Exe("#!/bin/sh\necho hi\n"),
    "skills/pdf/docs/guide.md": "guide\n",
    "skills/pdf/latest": Link("docs"),
    "skills/pdf/guide": Link("docs/guide.md"),
    "skills/pdf/key": Link("/home/victim/.ssh/id_rsa"),
    "skills/pdf/up": Link("../../README.md"),
    "skills/other/SKILL.md": "other\n",
}


# -- happy path ---------------------------------------------------------------------------


def test_fetch_exact_commit_at_subpath(repo: Repo, cache: Path) -> None:
    commit = repo.commit(SKILL)
    tree = fetch_commit(repo.ref(commit, "skills/pdf"), cache)

    entries = _by_path(tree)
    assert sorted(entries) == [
        "SKILL.md",
        "docs/guide.md",
        "guide",
        "key",
        "latest",
        "scripts/run.sh",
        "up",
    ]
    assert entries["SKILL.md"] == TreeEntry(
        "SKILL.md", FILE, False, b"---\nname: pdf\n---\nUse it.\n", entries["SKILL.md"].oid
    )
    assert entries["scripts/run.sh"].executable
    assert not entries["docs/guide.md"].executable
    # Symlinks are recorded with their target text, never followed.
    assert entries["key"].kind is SYMLINK
    assert entries["key"].target == "/home/victim/.ssh/id_rsa"
    assert entries["up"].target == "../../README.md"
    assert tree.ref.commit == commit
    assert tree.tree == repo.git("rev-parse", f"{commit}:skills/pdf")
    assert not tree.from_cache
    assert [e.path for e in tree.of_kind(SYMLINK)] == ["guide", "key", "latest", "up"]


def test_fetch_whole_repository_and_older_commit(repo: Repo, cache: Path) -> None:
    first = repo.commit({"SKILL.md": "v1\n"})
    repo.commit({"SKILL.md": "v2\n", "new.txt": "new\n"})

    tree = fetch_commit(repo.ref(first), cache)

    assert [(e.path, e.data) for e in tree.entries] == [("SKILL.md", b"v1\n")]


def test_materialise_writes_files_and_only_inside_links(
    repo: Repo, cache: Path, tmp_path: Path
) -> None:
    commit = repo.commit(SKILL)
    tree = fetch_commit(repo.ref(commit, "skills/pdf"), cache)
    dest = tmp_path / "installed"

    skipped = materialise(tree, dest)

    assert sorted(e.path for e in skipped) == ["key", "up"]
    assert (dest / "SKILL.md").read_text() == "---\nname: pdf\n---\nUse it.\n"
    assert stat.S_IMODE((dest / "scripts/run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "SKILL.md").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "docs").stat().st_mode) == 0o755
    assert (dest / "latest").readlink() == Path("docs")
    assert (dest / "guide").readlink() == Path("docs/guide.md")
    assert not (dest / "key").exists() and not (dest / "key").is_symlink()
    assert not (dest / "up").is_symlink()


def test_materialise_refuses_a_non_empty_destination(
    repo: Repo, cache: Path, tmp_path: Path
) -> None:
    tree = fetch_commit(repo.ref(repo.commit({"SKILL.md": "x"})), cache)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "old").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        materialise(tree, dest)


def _tree(*entries: TreeEntry) -> FetchedTree:
    ref = make_ref("/srv/repo", "a" * 40)
    return FetchedTree(ref, "b" * 40, tuple(sorted(entries, key=lambda e: e.path)))


def _file(path: str) -> TreeEntry:
    return TreeEntry(path, FILE, False, b"x", "c" * 40)


def _link(path: str, target: str) -> TreeEntry:
    return TreeEntry(path, SYMLINK, False, target.encode(), "d" * 40)


@pytest.mark.parametrize(
    ("link", "written"),
    [
        (_link("a/to-file", "../SKILL.md"), True),
        (_link("to-dir", "a"), True),
        (_link("a/to-root", ".."), True),
        (_link("abs", "/etc/passwd"), False),
        (_link("escape", "../outside"), False),
        (_link("a/escape", "../../outside"), False),
        (_link("dangling", "missing"), False),
        (_link("through-link", "a/to-root/.."), False),  # a link in the path could lead out
        (_link("loop", "loop"), False),
        (_link("below-file", "SKILL.md/x"), False),
        (_link("empty", ""), False),
    ],
)
def test_materialise_link_rule(tmp_path: Path, link: TreeEntry, written: bool) -> None:
    tree = _tree(
        _file("SKILL.md"),
        _file("a/b.txt"),
        _link("a/to-root", ".."),
        *([link] if link.path != "a/to-root" else []),
    )
    skipped = materialise(tree, tmp_path / "dest")
    assert (link not in skipped) is written
    assert (tmp_path / "dest" / link.path).is_symlink() is written


@pytest.mark.parametrize("path", ["../evil", "a/../../evil", "/etc/evil", ".git/config", "a//b"])
def test_materialise_refuses_unsafe_paths(tmp_path: Path, path: str) -> None:
    with pytest.raises(FetchRefused) as caught:
        materialise(_tree(_file(path)), tmp_path / "dest")
    assert caught.value.reason is Refusal.UNSAFE_TREE
    assert not (tmp_path / "evil").exists()


# -- resolve ------------------------------------------------------------------------------


def test_resolve_branch_tag_head_and_short_id(repo: Repo) -> None:
    first = repo.commit({"SKILL.md": "v1\n"})
    repo.git("tag", "v1")
    repo.git("tag", "-a", "-m", "annotated", "v1-annotated")
    second = repo.commit({"SKILL.md": "v2\n"})
    source = str(repo.path)

    assert resolve(source, "main") == second
    assert resolve(source, "HEAD") == second
    assert resolve(source, "refs/heads/main") == second
    assert resolve(source, "v1") == first
    assert resolve(source, "v1-annotated") == first  # peeled to the commit, not the tag
    assert resolve(source, first[:8]) == first
    assert resolve(source, second.upper()) == second  # a full id is already pinned


def test_resolve_refuses_unknown_and_ambiguous(repo: Repo) -> None:
    first = repo.commit({"SKILL.md": "v1\n"})
    repo.git("tag", "release")
    repo.commit({"SKILL.md": "v2\n"})
    repo.git("branch", "release")
    source = str(repo.path)

    with pytest.raises(UsageError, match="ambiguous"):
        resolve(source, "release")
    assert resolve(source, "refs/tags/release") == first
    with pytest.raises(InputError, match="no branch or tag"):
        resolve(source, "nope")
    with pytest.raises(InputError, match="no branch, tag or commit"):
        resolve(source, "ffffffff")


@pytest.mark.parametrize(
    "source",
    [
        "-oProxyCommand=touch {marker}",
        "--upload-pack=touch {marker}",
        "ext::sh -c touch% {marker}",
        "fd::0",
        "file://{tmp}/src",
        "ssh://-oProxyCommand=touch%20{marker}/x",
    ],
)
def test_resolve_refuses_injection(tmp_path: Path, repo: Repo, source: str) -> None:
    repo.commit({"SKILL.md": "x"})
    marker = tmp_path / "pwned"
    with pytest.raises(UsageError):
        resolve(source.format(marker=marker, tmp=tmp_path), "main")
    assert not marker.exists()


# -- exactly the commit asked for -----------------------------------------------------------


def test_branch_named_like_a_full_id_never_substitutes(repo: Repo, cache: Path) -> None:
    first = repo.commit({"SKILL.md": "first\n"})
    second = repo.commit({"SKILL.md": "second\n"})
    not_an_object = "0123456789abcdef" * 2 + "01234567"
    # Branches whose names are full ids, pointing somewhere else.
    repo.git("update-ref", f"refs/heads/{first}", second)
    repo.git("update-ref", f"refs/heads/{not_an_object}", second)

    tree = fetch_commit(repo.ref(first), cache)
    assert _by_path(tree)["SKILL.md"].data == b"first\n"

    assert resolve(str(repo.path), not_an_object) == not_an_object  # an id, not a branch
    with pytest.raises(InputError, match="is not in"):
        fetch_commit(repo.ref(not_an_object), cache)


def test_commit_absent_from_repository(repo: Repo, cache: Path) -> None:
    repo.commit({"SKILL.md": "x"})
    with pytest.raises(InputError) as caught:
        fetch_commit(repo.ref("f" * 40), cache)
    assert caught.value.exit_code is ExitCode.USAGE
    assert "f" * 40 in caught.value.diagnostics()
    assert "skillscan resolve" in caught.value.diagnostics()


def test_subpath_absent_or_not_a_folder(repo: Repo, cache: Path) -> None:
    commit = repo.commit(SKILL)
    with pytest.raises(InputError, match="is not in"):
        fetch_commit(repo.ref(commit, "skills/nope"), cache)
    with pytest.raises(InputError, match="not a folder"):
        fetch_commit(repo.ref(commit, "skills/pdf/SKILL.md"), cache)


def test_commit_id_that_is_not_a_commit(repo: Repo, cache: Path) -> None:
    commit = repo.commit({"SKILL.md": "x"})
    blob = repo.git("rev-parse", f"{commit}:SKILL.md")
    with pytest.raises(InputError, match="is a blob, not a commit"):
        fetch_commit(repo.ref(blob), cache)


def test_sha256_repository(tmp_path: Path, cache: Path) -> None:
    repo = Repo(tmp_path / "s256", object_format="sha256")
    commit = repo.commit({"SKILL.md": "sha256\n"})
    assert len(commit) == 64

    tree = fetch_commit(repo.ref(commit), cache)

    assert _by_path(tree)["SKILL.md"].data == b"sha256\n"
    assert resolve(str(repo.path), commit[:10]) == commit
    with pytest.raises(InputError, match="sha256 object ids"):
        fetch_commit(repo.ref(commit[:40]), cache)


def test_missing_local_source(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        fetch_commit(make_ref(str(tmp_path / "nope"), "a" * 40), cache)
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not a git repository"):
        fetch_commit(make_ref(str(tmp_path / "plain"), "a" * 40), cache)


# -- option injection ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["-oProxyCommand=touch /tmp/x", "--upload-pack=touch /tmp/x"])
def test_skillref_with_option_url_cannot_exist(url: str) -> None:
    with pytest.raises(UsageError):
        SkillRef("./repo", SourceKind.LOCAL, url, "a" * 40)
    with pytest.raises(UsageError):
        SkillRef(url, SourceKind.SSH, url, "a" * 40)


def test_local_folder_named_like_an_option(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path / "--upload-pack=touch pwned")
    commit = repo.commit({"SKILL.md": "x"})
    monkeypatch.chdir(tmp_path)
    ref = make_ref("./--upload-pack=touch pwned", commit)
    assert ref.url.startswith("/")  # git is given an absolute path, never an option

    assert _by_path(fetch_commit(ref, cache))["SKILL.md"].data == b"x"
    assert not (tmp_path / "pwned").exists()


# -- hostile configuration: hooks, filters, LFS, fsmonitor -------------------------------


@pytest.fixture
def armed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user environment that runs commands on checkout: global hooks, filters, fsmonitor.

    Returns the folder where every triggered command leaves a marker.
    """
    markers = tmp_path / "markers"
    markers.mkdir()
    hooks = tmp_path / "global-hooks"
    hooks.mkdir()
    for name in ("post-checkout", "reference-transaction", "post-merge", "pre-auto-gc"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\ntouch '{markers}/hook-{name}'\n")
        hook.chmod(0o755)
    scripts = {
        "smudge": "touch '{m}/smudge'; cat",
        "lfs-smudge": "touch '{m}/lfs'; echo REAL CONTENT",
        "lfs-process": "touch '{m}/lfs-process'",
        "fsmonitor": "touch '{m}/fsmonitor'",
    }
    for name, body in scripts.items():
        script = tmp_path / f"{name}.sh"
        script.write_text("#!/bin/sh\n" + body.format(m=markers) + "\n")
        script.chmod(0o755)
    config = tmp_path / "home" / ".gitconfig"
    config.parent.mkdir()
    config.write_text(
        f"[core]\n\thooksPath = {hooks}\n\tfsmonitor = {tmp_path}/fsmonitor.sh\n"
        f'[filter "evil"]\n\tsmudge = {tmp_path}/smudge.sh\n\trequired = true\n'
        f'[filter "lfs"]\n\tsmudge = {tmp_path}/lfs-smudge.sh\n'
        f"\tprocess = {tmp_path}/lfs-process.sh\n"
    )
    monkeypatch.setenv("HOME", str(config.parent))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    # Variables that would redirect or weaken git if passed through.
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere.git"))
    monkeypatch.setenv("GIT_SSL_NO_VERIFY", "1")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'core.hooksPath'='{hooks}'")
    yield markers


LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    b"size 12345\n"
)


def _hostile_repo(tmp_path: Path) -> tuple[Repo, str]:
    repo = Repo(tmp_path / "hostile")
    commit = repo.commit(
        {
            ".gitattributes": "*.md filter=evil\n*.bin filter=lfs diff=lfs merge=lfs -text\n",
            "SKILL.md": "plain text\n",
            "model.bin": LFS_POINTER,
        }
    )
    # Hooks and command-running settings inside the source repository: git's upload-pack
    # runs there for a local source, and must run none of them.
    for name in ("post-checkout", "post-merge", "reference-transaction"):
        hook = repo.path / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\ntouch '{tmp_path}/markers/repo-{name}'\n")
        hook.chmod(0o755)
    with (repo.path / ".git" / "config").open("a") as config:
        config.write(
            f"[uploadpack]\n\tpackObjectsHook = {tmp_path}/fsmonitor.sh\n"
            f"[core]\n\tfsmonitor = {tmp_path}/fsmonitor.sh\n"
        )
    return repo, commit


def test_trap_is_armed_for_plain_git(tmp_path: Path, armed: Path) -> None:
    # The same environment makes an ordinary clone run the user's filters and hooks;
    # this proves the tests below would notice if skillscan ran them.
    repo, _ = _hostile_repo(tmp_path)
    env = {**os.environ}
    env.pop("GIT_DIR")
    env.pop("GIT_CONFIG_PARAMETERS")
    subprocess.run(
        ["git", "clone", "-q", str(repo.path), str(tmp_path / "plain-clone")],
        env=env,
        capture_output=True,
        check=False,
    )
    assert {p.name for p in armed.iterdir()} >= {"smudge", "hook-reference-transaction"}


def test_hooks_filters_and_fsmonitor_never_run(tmp_path: Path, armed: Path, cache: Path) -> None:
    repo, commit = _hostile_repo(tmp_path)

    tree = fetch_commit(repo.ref(commit), cache)
    dest = tmp_path / "installed"
    materialise(tree, dest)
    resolve(str(repo.path), "main")

    assert list(armed.iterdir()) == []
    assert (dest / "SKILL.md").read_text() == "plain text\n"  # not smudged
    assert not (tmp_path / "elsewhere.git").exists()  # GIT_DIR was not honoured


def test_lfs_pointer_stays_pointer_text(tmp_path: Path, armed: Path, cache: Path) -> None:
    repo, commit = _hostile_repo(tmp_path)
    tree = fetch_commit(repo.ref(commit), cache)
    assert _by_path(tree)["model.bin"].data == LFS_POINTER
    assert list(armed.iterdir()) == []


def test_submodule_is_recorded_never_fetched(tmp_path: Path, cache: Path) -> None:
    inner = Repo(tmp_path / "inner")
    inner_commit = inner.commit({"secret.txt": "inner secret\n"})
    repo = Repo(tmp_path / "outer")
    repo.commit({"skill/SKILL.md": "x", ".gitmodules": ""})
    (repo.path / ".gitmodules").write_text(
        f'[submodule "vendor"]\n\tpath = skill/vendor\n\turl = {inner.path}\n'
    )
    repo.git("add", ".gitmodules")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{inner_commit},skill/vendor")
    repo.git("commit", "-q", "-m", "submodule")
    commit = repo.git("rev-parse", "HEAD")

    tree = fetch_commit(repo.ref(commit, "skill"), cache)

    entries = _by_path(tree)
    assert sorted(entries) == ["SKILL.md", "vendor"]
    assert entries["vendor"] == TreeEntry("vendor", GITLINK, False, b"", inner_commit)
    assert all(b"inner secret" not in e.data for e in tree.entries)
    skipped = materialise(tree, tmp_path / "dest")
    assert [e.path for e in skipped] == ["vendor"]
    assert not (tmp_path / "dest" / "vendor").exists()


@pytest.mark.parametrize("name", [".git", "..", ".GIT", ".git. ", "a/b"])
def test_hostile_tree_names_are_refused(tmp_path: Path, cache: Path, name: str) -> None:
    repo = Repo(tmp_path / "crafted")
    blob = repo.git("hash-object", "-w", "--stdin", stdin=b"[core]\n\tfsmonitor = evil\n")
    raw = bytes.fromhex(blob)
    tree = repo.git(
        "hash-object", "-t", "tree", "-w", "--literally", "--stdin",
        stdin=b"100644 " + name.encode() + b"\0" + raw,
    )  # fmt: skip
    commit = repo.git("commit-tree", "-m", "crafted", tree)
    repo.git("update-ref", "refs/heads/main", commit)

    # git's fsck (transfer.fsckObjects) or, were it off, skillscan's own tree check.
    with pytest.raises(FetchRefused) as caught:
        fetch_commit(repo.ref(commit), cache)
    assert caught.value.reason is Refusal.UNSAFE_TREE


def _oid(kind: str, data: bytes) -> str:
    return fetch.object_id("sha1", kind, data)


@pytest.mark.parametrize(
    "tree_body",
    [
        b"100644 .git\0{blob}",
        b"100644 ..\0{blob}",
        b"100644 a/b\0{blob}",
        b"100644 .Git.\0{blob}",
        b"100644 x\0{blob}100644 x\0{blob}",  # duplicate
        b"100777 x\0{blob}",  # unknown mode
        b"100644 x{blob}",  # malformed
        b"100644 x\0\x01\x02",  # truncated id
    ],
)
def test_own_tree_checks_refuse_what_git_fsck_would(
    tmp_path: Path, cache: Path, tree_body: bytes
) -> None:
    # Hash-consistent hostile objects planted in the cache: git never sees them, so only
    # skillscan's own walk stands between them and the caller.
    blob = b"[core]\n\tfsmonitor = evil\n"
    tree = tree_body.replace(b"{blob}", bytes.fromhex(_oid("blob", blob)))
    commit = b"tree " + _oid("tree", tree).encode() + b"\n\ncrafted\n"
    ref = make_ref(str(tmp_path / "gone"), _oid("commit", commit))
    objects = {
        _oid("blob", blob): ("blob", blob),
        _oid("tree", tree): ("tree", tree),
        ref.commit: ("commit", commit),
    }
    fetch._store_cache(fetch._cache_file(cache, ref), objects)

    with pytest.raises(FetchRefused) as caught:
        fetch_commit(ref, cache)
    assert caught.value.reason is Refusal.UNSAFE_TREE


# -- bounds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (FetchLimits(max_entries=3), Refusal.ENTRY_COUNT),
        (FetchLimits(max_blob_bytes=10), Refusal.FILE_SIZE),
        (FetchLimits(max_total_bytes=30), Refusal.TOTAL_SIZE),
        (FetchLimits(max_depth=1), Refusal.DEPTH),
        (FetchLimits(max_path_bytes=8), Refusal.PATH_LENGTH),
        (FetchLimits(max_download_bytes=1), Refusal.DOWNLOAD_SIZE),
    ],
)
def test_bounds_refuse(repo: Repo, cache: Path, limits: FetchLimits, reason: Refusal) -> None:
    commit = repo.commit(
        {"SKILL.md": "a" * 20, "b/c/deep.txt": "b" * 20, "b/x.txt": "c", "y.txt": "d"}
    )
    with pytest.raises(FetchRefused) as caught:
        fetch_commit(repo.ref(commit), cache, limits=limits)
    assert caught.value.reason is reason
    assert caught.value.exit_code is ExitCode.POLICY


def test_run_bounded_kills_the_whole_group_on_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not finish"):
        run_bounded(
            ["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"],
            label="sleeper",
            cwd=tmp_path,
            timeout=0.5,
            env={"PATH": os.environ["PATH"]},
        )
    assert time.monotonic() - started < 5
    child = int(pid_file.read_text())
    for _ in range(100):
        if not _running(child):
            break
        time.sleep(0.02)
    else:
        pytest.fail("the grandchild survived the timeout")


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may never reap the orphan)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_run_bounded_stops_runaway_output(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="wrote more than"):
        run_bounded(["yes"], label="yes", cwd=tmp_path, timeout=10, max_stdout=4096)


def test_stderr_is_bounded_masked_and_inert() -> None:
    raw = (
        b"x" * 10000
        + b"\nremote: \x1b[2J\x1b[31mfatal\x07 https://user:hunter22@example.org/r.git\n"
        + b"token ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"
    )
    text = clean_stderr(raw)
    assert len(text) <= 4000
    assert "\x1b" not in text and "\x07" not in text
    assert "hunter22" not in text and "ghp_abcdefghijklmnopqrstuvwxyz" not in text
    assert text.endswith("\n")


# -- cache --------------------------------------------------------------------------------


def _no_git(*args: object, **kwargs: object) -> object:
    raise AssertionError("git was run")


def test_cache_hit_runs_no_git(repo: Repo, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit = repo.commit(SKILL)
    ref = repo.ref(commit, "skills/pdf")
    first = fetch_commit(ref, cache)
    shutil.rmtree(repo.path)
    monkeypatch.setattr(fetch, "run_bounded", _no_git)

    again = fetch_commit(ref, cache)

    assert again.from_cache
    assert again.entries == first.entries and again.tree == first.tree


def _cache_file(cache: Path, commit: str) -> Path:
    (entry,) = (cache / commit).glob("*.objects")
    return entry


def test_tampered_cache_is_detected_and_fetched_again(
    repo: Repo, cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    commit = repo.commit(SKILL)
    ref = repo.ref(commit, "skills/pdf")
    fetch_commit(ref, cache)
    stored = _cache_file(cache, commit)
    stored.write_bytes(stored.read_bytes().replace(b"Use it.", b"Run me."))

    with caplog.at_level(logging.WARNING, logger="skillscan.fetch"):
        again = fetch_commit(ref, cache)

    assert not again.from_cache
    assert _by_path(again)["SKILL.md"].data.endswith(b"Use it.\n")
    assert "failed verification" in caplog.text
    assert b"Run me." not in stored.read_bytes()  # rewritten with verified objects


def test_tampered_cache_without_source_is_refused(repo: Repo, cache: Path) -> None:
    commit = repo.commit(SKILL)
    ref = repo.ref(commit)
    fetch_commit(ref, cache)
    stored = _cache_file(cache, commit)
    stored.write_bytes(stored.read_bytes().replace(b"guide\n", b"GUIDE\n"))
    shutil.rmtree(repo.path)

    with pytest.raises(InputError):
        fetch_commit(ref, cache)


def test_cache_entry_of_another_commit_is_not_used(repo: Repo, cache: Path) -> None:
    first = repo.commit({"SKILL.md": "first\n"})
    second = repo.commit({"SKILL.md": "second\n"})
    fetch_commit(repo.ref(first), cache)
    # Plant the first commit's verified objects under the second commit's key.
    planted = cache / second / _cache_file(cache, first).name
    planted.parent.mkdir()
    shutil.copy(_cache_file(cache, first), planted)

    tree = fetch_commit(repo.ref(second), cache)

    assert not tree.from_cache
    assert _by_path(tree)["SKILL.md"].data == b"second\n"


def test_cache_is_per_source(tmp_path: Path, repo: Repo, cache: Path) -> None:
    commit = repo.commit({"SKILL.md": "x"})
    fetch_commit(repo.ref(commit), cache)
    elsewhere = Repo(tmp_path / "unrelated")
    elsewhere.commit({"other": "y"})
    # The commit is cached, but not as coming from this repository: git is asked.
    with pytest.raises(InputError, match="is not in"):
        fetch_commit(elsewhere.ref(commit), cache)
