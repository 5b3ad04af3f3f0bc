"""Shared test helpers: build real skill folders and real git repositories on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FRONTMATTER = "---\nname: fixture\ndescription: A skill written by the test suite.\n---\n"


def write_skill(root: Path, files: Mapping[str, str | bytes] | str) -> Path:
    """Write a skill folder. A str is SKILL.md's body; a mapping gives every file (a SKILL.md
    with valid frontmatter is added when the mapping has none)."""
    if isinstance(files, str):
        files = {"SKILL.md": FRONTMATTER + files}
    elif "SKILL.md" not in files and not any(k.lower() == "skill.md" for k in files):
        files = {"SKILL.md": FRONTMATTER + "A fixture skill.\n", **files}
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


# --- real git repositories ------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A symlink to write into a repository: its target text."""

    target: str


@dataclass(frozen=True)
class Exe:
    """An executable file to write into a repository."""

    text: str


Content = str | bytes | Link | Exe | None  # None deletes the path


def git_test_env() -> dict[str, str]:
    """The tests' own git: no user or system config, whatever the machine has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    return env


def python_env(pycache: Path) -> dict[str, str]:
    """The environment for `python -m skillscan` subprocesses: the tests' own git, and a
    private bytecode cache (as an installed package has) so each process does not recompile."""
    env = git_test_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


class GitRepo:
    """A source repository built with the git CLI in a test's tmp_path."""

    def __init__(self, path: Path, object_format: str = "sha1") -> None:
        path.mkdir(parents=True)
        self.path = path
        self.git("init", "-q", f"--object-format={object_format}")

    def git(self, *args: str, stdin: bytes | None = None) -> str:
        """Run git in the repository; its stdout, stripped."""
        result = subprocess.run(
            [
                "git",
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.org",
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "core.hooksPath=/dev/null",
                *args,
            ],
            cwd=self.path,
            env=git_test_env(),
            input=stdin,
            capture_output=True,
            check=True,
        )
        return result.stdout.decode().strip()

    def commit(self, files: Mapping[str, Content], message: str = "c") -> str:
        """Write (or delete, for None) the files, commit everything; the full commit id."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            if isinstance(content, Link):
                target.symlink_to(content.target)
            elif isinstance(content, Exe):
                target.write_text(content.text)
                target.chmod(0o755)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def add_submodule(self, path: str, url: str, commit: str) -> str:
        """Commit a gitlink at `path` pinning `commit` of `url`; the new commit id."""
        gitmodules = self.path / ".gitmodules"
        with gitmodules.open("a") as handle:
            handle.write(f'[submodule "{path}"]\n\tpath = {path}\n\turl = {url}\n')
        self.git("add", ".gitmodules")
        self.git("update-index", "--add", "--cacheinfo", f"160000,{commit},{path}")
        self.git("commit", "-q", "-m", "submodule")
        return self.git("rev-parse", "HEAD")
