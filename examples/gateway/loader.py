"""A minimal agent skill loader that admits skills only through skillscan's runtime gate.

    python examples/gateway/loader.py SKILLS_DIR --lockfile skills.lock [--revocations FILE]

Every entry of SKILLS_DIR (the install layout `<install-dir>/<name>`) goes through
`gate.load`, which returns the skill's SKILL.md and files from the very bytes it hashed.
The agent uses those bytes and never reads the folder again. Exit 0 when every skill
loaded, 1 when any was refused, 2 when the lockfile or the revocation list is invalid.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from skillscan.gate import Gate, LoadedSkill, SkillRefused


def load_skills(gate: Gate, skills_dir: Path) -> tuple[list[LoadedSkill], list[SkillRefused]]:
    """Load every entry of `skills_dir` through the gate: (loaded, refused)."""
    loaded: list[LoadedSkill] = []
    refused: list[SkillRefused] = []
    # Every entry goes to the gate, files and symlinks included: a loader that skips what
    # looks odd to it gives an attacker a place to hide, the gate refuses it with a reason.
    with os.scandir(skills_dir) as entries:
        names = sorted(entry.name for entry in entries)
    for name in names:
        try:
            loaded.append(gate.load(skills_dir / name))
        except SkillRefused as refusal:
            refused.append(refusal)
            print(f"refused  {name:<16} {refusal.reason.value}: {refusal.message}")
        else:
            skill = loaded[-1]
            print(
                f"loaded   {name:<16} {skill.digest[:19]}…  SKILL.md {len(skill.skill_md)} chars, "
                f"{len(skill.files)} other file(s), reviewed by {skill.entry.review.by}"
            )
    return loaded, refused


def main(argv: list[str] | None = None) -> int:
    """Load a skills folder the way an agent gateway would; print one line per skill."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("skills_dir", type=Path)
    parser.add_argument("--lockfile", type=Path, default=Path("skills.lock"))
    parser.add_argument("--revocations", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        gate = Gate.load(args.lockfile, revocations=args.revocations)
    except SkillRefused as refusal:
        # Fail closed: without a valid lockfile no skill is loaded at all.
        print(f"no skill loaded: {refusal.reason.value}: {refusal.message}", file=sys.stderr)
        return int(refusal.exit_code)
    loaded, refused = load_skills(gate, args.skills_dir)
    # A real agent would now hand loaded[i].skill_md to the model and keep loaded[i].files
    # in memory; running a script means writing its bytes to a private place first, never
    # executing the installed copy (it could have changed since the gate read it).
    print(f"{len(loaded)} loaded, {len(refused)} refused")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
