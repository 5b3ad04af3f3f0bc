"""Benchmark of the runtime gate (DESIGN §4.6): prints figures and targets, asserts nothing.

    python bench/gate.py [--quick]

For a typical skill (10 files, 50 KB) and a large one (200 files, 5 MB), built in a temp
dir: `check` median and p99, `load` median, and as the floor, read + sha256 of the same
files in the same run; then the import time of `skillscan.gate` in a fresh interpreter.
Targets: check ≤ 1 ms median (typical), ≤ 2 x the floor (large), import ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skillscan.digest import digest_tree  # noqa: E402
from skillscan.gate import Gate  # noqa: E402
from skillscan.lockfile import (  # noqa: E402
    FindingCounts,
    LockEntry,
    Lockfile,
    Review,
    ReviewStatus,
    serialize,
)
from skillscan.model import Verdict  # noqa: E402

CHECK_TYPICAL_MS = 1.0
LARGE_VS_FLOOR = 2.0
IMPORT_MS = 30.0


def build_skill(root: Path, files: int, total_bytes: int) -> list[Path]:
    """A skill of `files` files (SKILL.md + scripts/ + docs/ + nested) totalling `total_bytes`."""
    size = total_bytes // files
    paths = [root / "SKILL.md"]
    for i in range(1, files):
        folder = ("scripts", "docs", "docs/ref", "assets")[i % 4]
        paths.append(root / folder / f"file{i:03}.txt")
    for i, path in enumerate(paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        # Varied, incompressible-looking text: what a real skill's bytes cost to hash.
        chunk = hashlib.sha256(str(i).encode()).hexdigest().encode() + b"\n"
        path.write_bytes((chunk * (size // len(chunk) + 1))[:size])
        if path.parent.name == "scripts":
            path.chmod(0o755)
    return paths


def interleaved(actions: dict[str, Callable[[], object]], *, repeat: int) -> dict[str, list[float]]:
    """Seconds per call of each action, run round-robin so machine load hits all alike."""
    for action in actions.values():
        for _ in range(min(10, repeat)):
            action()
    out: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            out[name].append(time.perf_counter() - start)
    return out


def floor(paths: list[Path]) -> None:
    """The least any integrity check must do: open, read and sha256 every file."""
    for path in paths:
        with path.open("rb", buffering=0) as fh:
            hashlib.sha256(fh.read()).digest()


def floor_keeping(paths: list[Path]) -> list[bytes]:
    """The floor of `load`, which must hand the bytes back: the same, keeping every file."""
    kept = []
    for path in paths:
        with path.open("rb", buffering=0) as fh:
            data = fh.read()
        hashlib.sha256(data).digest()
        kept.append(data)
    return kept


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.3f} ms"


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def import_time(env: dict[str, str], runs: int) -> dict[str, float]:
    """The cost of `import skillscan.gate` in fresh interpreters, minus `python -c pass`.

    Wall time (median) and CPU time (user + sys of the child, median): on a machine shared
    with other work the CPU time is what the import itself costs, the wall time adds the
    wait for a CPU.
    """

    def run(code: str) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return wall, cpu

    run("import skillscan.gate")  # writes the byte-code cache
    bare: list[tuple[float, float]] = []
    gate: list[tuple[float, float]] = []
    stdlib: list[tuple[float, float]] = []
    for _ in range(runs):  # interleaved, so machine load hits all alike
        bare.append(run("pass"))
        gate.append(run("import skillscan.gate"))
        stdlib.append(run(STDLIB_FLOOR))
    bare_wall = statistics.median(b[0] for b in bare)
    bare_cpu = statistics.median(b[1] for b in bare)
    return {
        "wall": statistics.median(g[0] for g in gate) - bare_wall,
        "cpu": statistics.median(g[1] for g in gate) - bare_cpu,
        "stdlib_cpu": statistics.median(s[1] for s in stdlib) - bare_cpu,
        "bare_wall": bare_wall,
        "bare_cpu": bare_cpu,
    }


# The standard-library modules the gate cannot do without: the lockfile is JSON (json
# brings re, enum, functools, collections) and the digest is sha256.
STDLIB_FLOOR = "import json, hashlib, fcntl, errno, stat"


def importtime_top(env: dict[str, str], count: int, runs: int = 7) -> list[str]:
    """The modules with the largest self time under `python -X importtime` (fastest of runs)."""
    best: dict[str, int] = {}
    for _ in range(runs):
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import skillscan.gate"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        for line in run.stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) == 3 and parts[0].strip().isdigit():
                name, own = parts[2].strip(), int(parts[0])
                best[name] = min(own, best.get(name, own))
    top = sorted(best.items(), key=lambda item: -item[1])[:count]
    return [f"{name}: {own / 1000:.1f} ms" for name, own in top]


def report_import(runs: int) -> bool:
    """Print the import cost of the gate; True when within the target.

    Byte code is cached in a private folder: the environment may set
    PYTHONDONTWRITEBYTECODE, and an installed package always has its .pyc files.
    """
    with tempfile.TemporaryDirectory(prefix="skillscan-pyc-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        cost = import_time(env, runs)
        top = importtime_top(env, 6)
    ok = cost["cpu"] * 1000 <= IMPORT_MS
    print(f"\nimport skillscan.gate ({runs} fresh interpreters, medians, minus `python -c pass`)")
    for kind, label in (("cpu", "CPU time "), ("wall", "wall time")):
        bare = cost[f"bare_{kind}"] * 1000
        print(f"  {label} {cost[kind] * 1000:6.1f} ms   (python -c pass: {bare:.1f} ms)")
    print(
        f"  of the CPU time, `{STDLIB_FLOOR}` alone (the floor, same run): "
        f"{cost['stdlib_cpu'] * 1000:.1f} ms"
    )
    print(f"  {mark(ok)} import ≤ {IMPORT_MS:g} ms (CPU time)")
    print("  largest self times under -X importtime (wall, fastest of 7):")
    for row in top:
        print(f"    {row}")
    return ok


def report_skill(gate: Gate, skill: Path, paths: list[Path], repeat: int) -> bool:
    """Print check/load/floor figures for one skill; True when within its target."""
    runs = interleaved(
        {
            "check": lambda: gate.check(skill),
            "load": lambda: gate.load(skill),
            "floor": lambda: floor(paths),
            "keeping": lambda: floor_keeping(paths),
        },
        repeat=repeat,
    )
    check, load, base, keeping = runs["check"], runs["load"], runs["floor"], runs["keeping"]
    check_med, floor_med = statistics.median(check), statistics.median(base)
    size = sum(p.stat().st_size for p in paths)
    print(f"\n{skill.name}: {len(paths)} files, {size / 1e6:g} MB ({repeat} runs each)")
    print(f"  check   median {ms(check_med)}   p99 {ms(p99(check))}")
    print(f"  load    median {ms(statistics.median(load))}")
    print(f"  floor   median {ms(floor_med)}   (open + read + sha256 of the same files)")
    print(f"  floor keeping the bytes {ms(statistics.median(keeping))}   (what load must hold)")
    if skill.name == "typical":
        ok = check_med <= CHECK_TYPICAL_MS / 1000
        print(f"  {mark(ok)} check median ≤ {CHECK_TYPICAL_MS:g} ms")
    else:
        ratio = check_med / floor_med
        ok = ratio <= LARGE_VS_FLOOR
        print(f"  {mark(ok)} check median ≤ {LARGE_VS_FLOOR:g} x floor ({ratio:.2f} x)")
    return ok


def main() -> int:
    """Build the two skills, pin them, and print every figure and target."""
    parser = argparse.ArgumentParser(description="benchmark the runtime gate")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs")
    results: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="skillscan-bench-gate-") as tmp:
        skills = Path(tmp) / "skills"
        shapes = {"typical": (10, 50_000, 3000), "large": (200, 5_000_000, 200)}
        paths = {name: build_skill(skills / name, n, size) for name, (n, size, _) in shapes.items()}
        when = datetime(2025, 11, 26, tzinfo=UTC)
        entries = {
            name: LockEntry(
                source="bench/skills",
                commit="0" * 40,
                path=name,
                digest=digest_tree(skills / name),
                signatures="bench",
                verdict=Verdict.PASS,
                findings=FindingCounts(),
                review=Review(ReviewStatus.APPROVED, by="bench", at=when),
            )
            for name in shapes
        }
        lock = Path(tmp) / "skills.lock"
        lock.write_bytes(serialize(Lockfile(entries)))
        gate = Gate.load(lock)
        for name, (_, _, repeat) in shapes.items():
            results.append(report_skill(gate, skills / name, paths[name], repeat // scale))
    results.append(report_import(5 if args.quick else 21))
    print(f"\n{sum(results)}/{len(results)} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
