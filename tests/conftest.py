"""Shared test helpers: build real skill folders on disk."""

from __future__ import annotations

from collections.abc import Mapping
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
