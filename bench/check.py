"""Benchmark of the CI gate `skillscan check --installed`: prints figures, asserts nothing.

    python bench/check.py [--skills 500] [--corpus DIR] [--repeat 5]

Copies SKILLS real skill folders from the corpus (default /work/shared/corpus/clawhub_benign)
into a temporary install folder, writes a lockfile whose entries hold their digests
(digest_tree; no git needed: `check --installed` never fetches), then times

- the library call `pins.check(settings, installed=DIR)` (median of REPEAT runs), and
- the command a CI job runs, `python -m skillscan check --installed DIR`, as a fresh
  process (interpreter start and imports included, bytecode compiled once beforehand as
  an installed package has it; median of REPEAT runs),

against the target: under 1 s on 2 cores. Both runs must report no problem; a tampered
copy is then checked once to show the gate is not vacuous. Nothing is written to the
repository: everything lives in a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skillscan import lockfile, pins  # noqa: E402
from skillscan.digest import DigestError, digest_tree  # noqa: E402
from skillscan.lockfile import FindingCounts, LockEntry, Review, ReviewStatus  # noqa: E402
from skillscan.model import Verdict  # noqa: E402

TARGET_SECONDS = 1.0
DEFAULT_CORPUS = Path("/work/shared/corpus/clawhub_benign")


def build(corpus: Path, count: int, install: Path) -> tuple[dict[str, LockEntry], int, int]:
    """Copy `count` skills that can be digested; their lock entries, files and bytes."""
    entries: dict[str, LockEntry] = {}
    files = size = 0
    reviewed = Review(ReviewStatus.APPROVED, "bench", datetime.now(UTC))
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir() and not p.is_symlink()):
        if len(entries) == count:
            break
        name = pins.normalise_name(folder.name)
        if name is None or name in entries:
            continue
        target = install / name
        shutil.copytree(folder, target, symlinks=True)
        try:
            digest = digest_tree(target)
        except DigestError:
            shutil.rmtree(target)  # a fifo or a non-UTF-8 name: it could not be pinned either
            continue
        for path in target.rglob("*"):
            if path.is_file() and not path.is_symlink():
                files += 1
                size += path.stat().st_size
        entries[name] = LockEntry(
            source="bench/skills",
            commit=f"{len(entries):040x}",
            path=re.sub(r"[^A-Za-z0-9._-]", "-", folder.name),
            digest=digest,
            signatures="bench",
            verdict=Verdict.PASS,
            findings=FindingCounts(),
            review=reviewed,
        )
    return entries, files, size


Timings = tuple[list[float], list[float]]  # wall seconds, CPU seconds per run


def time_library(settings: pins.Settings, install: Path, repeat: int) -> Timings:
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = pins.check(settings, installed=install)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert result.problems == (), result.problems[:3]  # a broken bench, not a slow one
    return wall, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_cli(lock: Path, install: Path, repeat: int, pycache: Path) -> Timings:
    argv = [sys.executable, "-m", "skillscan", "check", "--lockfile", str(lock)]
    argv += ["--installed", str(install)]
    # As installed (pip compiles bytecode): a warm-up run fills a private bytecode cache,
    # whatever PYTHONDONTWRITEBYTECODE says, and nothing is written into the checkout.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    subprocess.run(argv, capture_output=True, check=False, cwd=ROOT, env=env)
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
        wall.append(time.perf_counter() - start)
        cpu.append(_children_cpu() - start_cpu)
        if done.returncode != 0:
            raise SystemExit(f"check failed ({done.returncode}): {done.stderr or done.stdout}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=500)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="skillscan-bench-check-") as tmp:
        install = Path(tmp) / "skills"
        install.mkdir()
        entries, files, size = build(args.corpus, args.skills, install)
        lock = Path(tmp) / "skills.lock"
        lockfile.update(lock, lambda _: lockfile.Lockfile(entries))
        settings = pins.Settings(lockfile=lock, cache_dir=Path(tmp) / "cache")

        library = time_library(settings, install, args.repeat)
        cli = time_cli(lock, install, args.repeat, Path(tmp) / "pycache")

        victim = next(iter(entries))
        (install / victim / "SKILL.md").chmod(0o644)
        with (install / victim / "SKILL.md").open("a") as handle:
            handle.write("\nplanted line\n")
        caught = [p.reason.value for p in pins.check(settings, installed=install).problems]

    load = os.getloadavg()
    print(f"check --installed: {len(entries)} locked skills, {files} files, {size / 1e6:.1f} MB")
    print(
        f"  machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} "
        "(wall time includes waiting for a CPU; CPU time does not)"
    )
    for label, (wall, cpu) in (("library pins.check", library), ("CLI python -m skillscan", cli)):
        median = statistics.median(wall)
        mark = "✓" if median < TARGET_SECONDS else "✗"
        print(
            f"  {label:24} wall median {median * 1000:6.0f} ms (min {min(wall) * 1000:.0f}), "
            f"CPU median {statistics.median(cpu) * 1000:4.0f} ms, {len(wall)} runs; "
            f"target < 1 s on 2 cores {mark}"
        )
    print(f"  after editing one installed SKILL.md, check reports: {caught}")


if __name__ == "__main__":
    main()
