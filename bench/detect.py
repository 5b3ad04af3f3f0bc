"""Detection benchmark: skillscan over the labelled corpus, optionally side by side with Cisco's.

Usage, from the repository root:

    python bench/detect.py [--corpus ../shared/corpus] [--jobs 2] [--misses N]
                           [--vs-cisco] [--json FILE]

Every skill folder of every set in the corpus is scanned in ONE batch (one `scan_roots` call),
as a marketplace would scan. A sample (`<set>/<sample_id>/`, a row of labels.csv) may hold
several skill folders; its verdict is the worst of theirs (block > review > pass). A labelled
sample without any report is "not scanned" and counts as a pass (a miss on malicious sets).

Printed: per set n, blocked %, flagged (block or review) %, false-block % and false-review % on
benign samples; wall time, ms per labelled sample and per skill folder, peak memory; and the
targets of issue 3 with ✓/✗. `--misses N` lists missed malicious samples and false alarms on
benign ones with their top findings, for tuning rules. `--json FILE` writes every figure.

`--vs-cisco` installs cisco-ai-skill-scanner into a venv of its own (never into this one),
runs `skill-scanner scan-all --recursive` on the same corpus offline (default static analyzers
only, no LLM/VirusTotal/AI Defense, network namespace when `unshare` allows it) and prints both
detection tables, both timings and the speed ratio. If it cannot be installed or run, a
message says why and skillscan's figures are still printed (exit 0).

Nothing in the corpus is executed: both scanners read it in place. Exit codes: 0 figures
printed (targets met or not), 2 bad arguments or corpus, 3 skillscan's scan crashed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from skillscan import __version__
from skillscan.errors import InputError
from skillscan.scan import ScanOptions, discover_all, scan_roots

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
DEFAULT_CISCO_VENV = Path.home() / ".cache" / "skillscan-bench" / "cisco-venv"
CISCO_PACKAGE = "cisco-ai-skill-scanner"
CISCO_VERSION = "2.3.2"  # the version measured in the corpus MANIFEST

SET_ORDER = ("clawhavoc", "msb", "cisco_evals", "official_benign", "clawhub_benign")
BENIGN_LABELS = frozenset({"benign", "presumed_benign"})
VERDICT_RANK = {"pass": 0, "review": 1, "block": 2}
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
TOP_FINDINGS = 10  # findings kept per sample for --misses

Key = tuple[str, str]  # (set, sample_id)


class BenchError(Exception):
    """A failure the benchmark reports in one line (bad corpus, Cisco unavailable...)."""


def status(message: str) -> None:
    """A progress line on stderr, after whatever stdout holds so far."""
    sys.stdout.flush()
    print(f"  {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- labels and runs


@dataclass(frozen=True)
class Sample:
    """One row of labels.csv: the folder `<set>/<sample_id>/`."""

    set: str
    sample_id: str
    label: str
    group: str

    @property
    def key(self) -> Key:
        return (self.set, self.sample_id)

    @property
    def benign(self) -> bool:
        return self.label in BENIGN_LABELS


@dataclass(frozen=True)
class Hit:
    """A finding as --misses shows it."""

    severity: str
    rule_id: str
    where: str
    evidence: str


@dataclass
class ToolRun:
    """What one scanner said about the corpus, and what it cost."""

    tool: str
    version: str
    wall_seconds: float
    cpu_seconds: float
    skill_folders: int  # reports the tool produced
    verdicts: dict[Key, str] = field(default_factory=dict)  # worst verdict per sample
    hits: dict[Key, list[Hit]] = field(default_factory=dict)
    memory_mib: dict[str, float] = field(default_factory=dict)
    unlabelled: int = 0  # reports under no labelled sample
    notes: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase of the scan


def read_labels(corpus: Path) -> list[Sample]:
    """The rows of `<corpus>/labels.csv`. Raises BenchError when it is missing or malformed."""
    path = corpus / "labels.csv"
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc.strerror}; pass --corpus DIR") from exc
    try:
        return [Sample(r["set"], r["sample_id"], r["label"], r["group"]) for r in rows]
    except KeyError as exc:
        raise BenchError(
            f"{path}: missing column {exc}; expected set,sample_id,label,group"
        ) from exc


def sample_of(path: str | Path, corpus: Path) -> tuple[Key, str] | None:
    """The sample a skill folder belongs to and its subpath inside it (first two components)."""
    try:
        parts = Path(path).resolve().relative_to(corpus).parts
    except ValueError:
        return None
    if len(parts) < 2:
        return None
    return (parts[0], parts[1]), "/".join(parts[2:])


def _relative(path: str | Path, corpus: Path) -> str:
    try:
        return Path(path).resolve().relative_to(corpus).as_posix()
    except ValueError:
        return str(path)


def record(run: ToolRun, corpus: Path, path: str | Path, verdict: str, hits: list[Hit]) -> None:
    """Fold one report into its sample: worst verdict wins, findings are pooled."""
    found = sample_of(path, corpus)
    if found is None:
        run.unlabelled += 1
        return
    key, subpath = found
    previous = run.verdicts.get(key, "pass")
    if key not in run.verdicts or VERDICT_RANK[verdict] > VERDICT_RANK[previous]:
        run.verdicts[key] = verdict
    if subpath:
        hits = [Hit(h.severity, h.rule_id, f"{subpath}/{h.where}", h.evidence) for h in hits]
    pooled = run.hits.setdefault(key, [])
    # A skill nested in another is reported by both: show each finding once.
    pooled.extend(h for h in hits if h not in pooled)
    pooled.sort(key=lambda h: -SEVERITY_RANK.get(h.severity, 0))
    del pooled[TOP_FINDINGS:]


# --------------------------------------------------------------------------- resource sampling


@dataclass
class TreeUsage:
    """Peak summed memory and last-seen CPU of a process tree, sampled from /proc (Linux)."""

    peak_mib: float = 0.0
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    available: bool = True

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_pid.values())


def _proc_table() -> dict[int, tuple[int, int, float]]:
    """pid -> (ppid, rss bytes, cpu seconds) for every readable process."""
    page = os.sysconf("SC_PAGE_SIZE")
    ticks = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        fields = raw[raw.rfind(")") + 2 :].split()  # the command name may hold spaces
        cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        table[int(entry.name)] = (int(fields[1]), int(fields[21]) * page, cpu)
    return table


def _pss_bytes(pid: int, rss: int) -> int:
    """Proportional set size: shared pages split between their users, so a sum over forked
    workers does not count the parent's pages once per worker. RSS where it is unreadable."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss


def _descendants(table: Mapping[int, tuple[int, int, float]], root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


@contextmanager
def sample_tree(root: int, interval: float = 0.25) -> Iterator[TreeUsage]:
    """Sample the tree under `root` in a thread: peak summed PSS and CPU per process.
    Worker processes of a forkserver are grandchildren that getrusage(RUSAGE_CHILDREN)
    never sees until the forkserver exits, so this is the only measure that includes them."""
    usage = TreeUsage(available=Path("/proc/self/stat").exists())
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            table = _proc_table()
            tree = [pid for pid in _descendants(table, root) if pid in table]
            total = sum(_pss_bytes(pid, table[pid][1]) for pid in tree) / 2**20
            usage.peak_mib = max(usage.peak_mib, total)
            for pid in tree:
                usage.cpu_by_pid[pid] = table[pid][2]
            stop.wait(interval)

    thread = threading.Thread(target=loop, daemon=True)
    if usage.available:
        thread.start()
    try:
        yield usage
    finally:
        stop.set()
        if usage.available:
            thread.join()


def maxrss_mib(who: int) -> float:
    """getrusage ru_maxrss (KiB on Linux) in MiB: the largest single process, not a sum."""
    return resource.getrusage(who).ru_maxrss / 1024


# --------------------------------------------------------------------------- skillscan


def discover_sets(corpus: Path, sets: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Every skill folder under each set directory, and notes on sets that have none."""
    roots: list[Path] = []
    notes: list[str] = []
    for name in sets:
        try:
            roots.extend(discover_all([corpus / name]))
        except InputError as exc:
            notes.append(f"set {name}: {exc.message}")
    return roots, notes


@dataclass
class PhaseClock:
    """A progress callback that notes when each phase of scan_roots began (and shows
    progress on a terminal), so a slow phase is visible to whoever tunes it."""

    start: float = field(default_factory=time.perf_counter)
    began: dict[str, float] = field(default_factory=dict)
    show: bool = False

    def __call__(self, done: int, total: int, phase: str) -> None:
        self.began.setdefault(phase, time.perf_counter())
        if self.show:
            print(f"\r  skillscan {phase}: {done}/{total}   ", end="", file=sys.stderr, flush=True)

    def phases(self, end: float) -> dict[str, float]:
        """Seconds to the first analysed skill (discovery, pool start-up), then of the
        per-skill analyzers (semgrep runs on analysed skills meanwhile), then of the wait
        for semgrep after them."""
        first = self.began.get("analyze", end)
        semgrep = self.began.get("semgrep", end)
        return {
            "start-up": first - self.start,
            "analyzers": semgrep - first,
            "semgrep": end - semgrep,
        }


def run_skillscan(corpus: Path, sets: Sequence[str], jobs: int) -> ToolRun:
    """Discover and scan every set in one batch, timed (discovery included, as Cisco's
    run includes its own) and measured."""
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    with sample_tree(os.getpid()) as tree:
        clock = PhaseClock(show=sys.stderr.isatty())
        roots, notes = discover_sets(corpus, sets)
        result = scan_roots(roots, ScanOptions(jobs=jobs), progress=clock)
        end = time.perf_counter()
    if clock.show:
        print(file=sys.stderr)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = (self_after.ru_utime + self_after.ru_stime) - (
        self_before.ru_utime + self_before.ru_stime
    )
    tree.cpu_by_pid.pop(os.getpid(), None)  # counted exactly by getrusage
    run = ToolRun(
        tool="skillscan",
        version=f"{__version__} (signatures {result.signatures_version})",
        wall_seconds=end - clock.start,
        cpu_seconds=own_cpu + tree.cpu_seconds,
        skill_folders=len(result.reports),
        notes=notes,
        phases=clock.phases(end),
    )
    run.memory_mib = {
        "self": maxrss_mib(resource.RUSAGE_SELF),
        "children": maxrss_mib(resource.RUSAGE_CHILDREN),
        "tree": tree.peak_mib,
    }
    for report in result.reports:
        hits = [
            Hit(f.severity.value, f.rule_id, f"{f.file}:{f.line}", f.evidence)
            for f in sorted(report.findings, key=lambda f: f.sort_key())
            if not f.acknowledged
        ]
        record(run, corpus, report.path, report.verdict.value, hits[:TOP_FINDINGS])
    return run


# --------------------------------------------------------------------------- Cisco's scanner


def _run_quiet(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def _installed_version(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    code = f"import importlib.metadata as m; print(m.version({CISCO_PACKAGE!r}))"
    done = _run_quiet([str(python), "-c", code], timeout=60)
    return done.stdout.strip() if done.returncode == 0 else None


def _pip_install(venv: Path, spec: str) -> str | None:
    """Install `spec` into the venv; the tail of pip's output when it failed."""
    argv = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    argv += ["--disable-pip-version-check", spec]
    try:
        done = _run_quiet(argv, timeout=1800)
    except subprocess.TimeoutExpired:
        return "pip timed out after 30 min"
    if done.returncode == 0:
        return None
    lines = [ln for ln in done.stderr.splitlines() if not ln.startswith("WARNING")]
    return " | ".join(lines[-3:]) or f"pip exited {done.returncode}"


def ensure_cisco(venv: Path, version: str) -> tuple[Path, str]:
    """The skill-scanner CLI in its own venv, installed on first use: (path, version).
    The pinned version is preferred; the latest is taken when the pin is not on the index."""
    exe = venv / "bin" / "skill-scanner"
    installed = _installed_version(venv)
    if exe.exists() and installed and version in ("latest", installed):
        return exe, installed
    if not (venv / "bin" / "python").exists():
        python = shutil.which("python3") or sys.executable
        status(f"creating {venv} ...")
        done = _run_quiet([python, "-m", "venv", str(venv)], timeout=300)
        if done.returncode != 0:
            raise BenchError(f"cannot create a venv at {venv}: {done.stderr.strip()[-300:]}")
    status(f"installing {CISCO_PACKAGE} {version} into {venv} (about 2 min) ...")
    error = _pip_install(
        venv, CISCO_PACKAGE if version == "latest" else f"{CISCO_PACKAGE}=={version}"
    )
    if error and version != "latest":
        status(f"{version} failed ({error}); trying the latest")
        error = _pip_install(venv, CISCO_PACKAGE)
    installed = _installed_version(venv)
    if error or not exe.exists() or not installed:
        raise BenchError(f"cannot install {CISCO_PACKAGE}: {error or 'no skill-scanner script'}")
    return exe, installed


def _offline_prefix() -> tuple[list[str], str]:
    """`unshare -rn` (an empty network namespace) when the kernel lets us; else env only."""
    unshare = shutil.which("unshare")
    if unshare:
        try:
            if _run_quiet([unshare, "-rn", "true"], timeout=10).returncode == 0:
                return [unshare, "-rn"], "network namespace without interfaces (unshare -rn)"
        except (OSError, subprocess.TimeoutExpired):
            pass
    return [], "telemetry/offline environment only (unshare unavailable)"


def cisco_env(home: Path) -> dict[str, str]:
    """A minimal environment: no API keys reach it, no telemetry, its dot-files kept apart."""
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),  # onnxruntime writes a device id under ~/.cache
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        TRANSFORMERS_OFFLINE="1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_TELEMETRY="False",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass(frozen=True)
class Finished:
    """How a child process ended, with its own rusage."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float
    maxrss_mib: float
    tree_mib: float
    timed_out: bool


def run_measured(
    argv: Sequence[str], env: Mapping[str, str], timeout: float, out: Path, err: Path
) -> Finished:
    """Run argv in a process group of its own and reap it with wait4, which gives its exact
    rusage. On timeout, or if we are interrupted, the whole group is killed: no orphan is
    left scanning."""
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            list(argv), stdout=stdout, stderr=stderr, env=dict(env), start_new_session=True
        )
    start = time.perf_counter()
    timed_out = False
    reaped = False
    try:
        with sample_tree(proc.pid) as tree:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    reaped = True
                    break
                if not timed_out and time.perf_counter() - start > timeout:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                time.sleep(0.05)
    finally:
        if not reaped:
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Finished(
        returncode=proc.returncode,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        maxrss_mib=usage.ru_maxrss / 1024,
        tree_mib=tree.peak_mib,
        timed_out=timed_out,
    )


def cisco_verdict(result: Mapping[str, object]) -> str:
    """Cisco's own decision mapped onto ours: `is_safe` is false exactly when a CRITICAL or
    HIGH finding exists (block); a safe result whose max_severity is MEDIUM is review."""
    if not result.get("is_safe", True):
        return "block"
    return "review" if str(result.get("max_severity", "")).upper() == "MEDIUM" else "pass"


def _cisco_hits(result: Mapping[str, object]) -> list[Hit]:
    findings = result.get("findings")
    hits = []
    for f in findings if isinstance(findings, list) else []:
        line = f.get("line_number") or 0
        snippet = str(f.get("snippet") or f.get("title") or "")[:160]
        where = f"{f.get('file_path') or ''}:{line}"
        hits.append(Hit(str(f.get("severity", "")).lower(), str(f.get("rule_id")), where, snippet))
    hits.sort(key=lambda h: -SEVERITY_RANK.get(h.severity, 0))
    return hits[:TOP_FINDINGS]


def run_cisco(corpus: Path, venv: Path, version: str, timeout: float, behavioral: bool) -> ToolRun:
    """Install if needed, then scan the whole corpus in one `scan-all` process."""
    exe, installed = ensure_cisco(venv, version)
    prefix, isolation = _offline_prefix()
    argv = [*prefix, str(exe), "scan-all", str(corpus), "--recursive"]
    argv += ["--format", "json", "--compact", "--policy", "balanced"]
    if behavioral:
        argv.append("--use-behavioral")
    with tempfile.TemporaryDirectory(prefix="skillscan-bench-") as tmp:
        report = Path(tmp, "cisco.json")
        out, err = Path(tmp, "stdout.txt"), Path(tmp, "stderr.txt")
        status("running Cisco skill-scanner scan-all (tens of minutes on the full corpus) ...")
        env = cisco_env(venv.parent / "cisco-home")
        done = run_measured([*argv, "--output", str(report)], env, timeout, out, err)
        if done.timed_out:
            raise BenchError(f"Cisco's scanner did not finish within {timeout:g} s (killed)")
        if not report.exists():
            tail = err.read_text(errors="replace").strip().splitlines()[-5:]
            raise BenchError(
                f"Cisco's scanner exited {done.returncode} without a report: " + " | ".join(tail)
            )
        data = json.loads(report.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise BenchError("Cisco's JSON report has no results[] list (format changed?)")
    results = [r for r in data["results"] if isinstance(r, dict)]
    analyzers = sorted({a for r in results for a in r.get("analyzers_used", [])})
    run = ToolRun(
        tool="cisco",
        version=installed,
        wall_seconds=done.wall_seconds,
        cpu_seconds=done.cpu_seconds,
        skill_folders=len(results),
        memory_mib={"process": done.maxrss_mib, "tree": done.tree_mib},
    )
    durations = sorted(float(r.get("duration_ms") or 0) for r in results)
    own_ms = sum(durations)
    median_ms = durations[len(durations) // 2] if durations else 0.0
    run.notes += [
        "argv: " + " ".join(argv[len(prefix) :]).replace(str(exe), "skill-scanner"),
        f"offline: {isolation}",
        f"analyzers: {', '.join(analyzers) or '?'}; exit code {done.returncode}",
        f"its own per-skill durations: sum {own_ms / 1000:.1f} s (the rest of the wall time "
        f"is start-up: rule loading), median {median_ms:.0f} ms",
    ]
    slowest = sorted(results, key=lambda r: -float(r.get("duration_ms") or 0))[:3]
    run.notes.append(
        "its slowest skills: "
        + ", ".join(
            f"{_relative(r['skill_path'], corpus)} {float(r.get('duration_ms') or 0) / 1000:.1f} s"
            for r in slowest
        )
    )
    skipped = data.get("skills_skipped") or data.get("summary", {}).get("skills_skipped")
    if skipped:
        run.notes.append(f"skills it skipped: {len(skipped)}")
    for result in results:
        if result.get("skill_path"):
            record(run, corpus, result["skill_path"], cisco_verdict(result), _cisco_hits(result))
    return run


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class SetStats:
    """Outcome counts of one set; malicious and benign samples are counted apart."""

    name: str
    n: int
    blocked: int
    flagged: int
    malicious: int
    malicious_blocked: int
    malicious_flagged: int
    benign: int
    benign_blocked: int
    benign_review: int
    not_scanned: tuple[str, ...]

    def rate(self, count: int, of: int) -> float | None:
        return 100.0 * count / of if of else None

    @property
    def rates(self) -> dict[str, float | None]:
        return {
            "blocked_pct": self.rate(self.blocked, self.n),
            "flagged_pct": self.rate(self.flagged, self.n),
            "malicious_blocked_pct": self.rate(self.malicious_blocked, self.malicious),
            "malicious_flagged_pct": self.rate(self.malicious_flagged, self.malicious),
            "false_block_pct": self.rate(self.benign_blocked, self.benign),
            "false_review_pct": self.rate(self.benign_review, self.benign),
        }


def summarize(samples: Sequence[Sample], run: ToolRun) -> dict[str, SetStats]:
    """Per-set counts for one tool's verdicts."""
    stats = {}
    for name in ordered_sets(samples):
        members = [s for s in samples if s.set == name]
        verdict = {s.key: run.verdicts.get(s.key, "pass") for s in members}
        bad = [s for s in members if not s.benign]
        good = [s for s in members if s.benign]
        stats[name] = SetStats(
            name=name,
            n=len(members),
            blocked=sum(verdict[s.key] == "block" for s in members),
            flagged=sum(verdict[s.key] != "pass" for s in members),
            malicious=len(bad),
            malicious_blocked=sum(verdict[s.key] == "block" for s in bad),
            malicious_flagged=sum(verdict[s.key] != "pass" for s in bad),
            benign=len(good),
            benign_blocked=sum(verdict[s.key] == "block" for s in good),
            benign_review=sum(verdict[s.key] == "review" for s in good),
            not_scanned=tuple(s.sample_id for s in members if s.key not in run.verdicts),
        )
    return stats


def ordered_sets(samples: Iterable[Sample]) -> list[str]:
    """Known sets in the issue's order, then any others alphabetically."""
    names = {s.set for s in samples}
    return [n for n in SET_ORDER if n in names] + sorted(names - set(SET_ORDER))


@dataclass(frozen=True)
class Timing:
    """Speed figures of one run."""

    wall_seconds: float
    cpu_seconds: float
    ms_per_sample: float
    ms_per_folder: float


def timing(run: ToolRun, labelled: int) -> Timing:
    wall = run.wall_seconds
    return Timing(
        wall_seconds=wall,
        cpu_seconds=run.cpu_seconds,
        ms_per_sample=1000 * wall / max(labelled, 1),
        ms_per_folder=1000 * wall / max(run.skill_folders, 1),
    )


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class TargetResult:
    """One line of the issue's target table, measured."""

    name: str
    goal: str
    value: str
    ok: bool


def _pct(count: int, of: int) -> str:
    return f"{100.0 * count / of:.1f}% ({count}/{of})" if of else "n/a"


def evaluate_targets(stats: Mapping[str, SetStats], speed: Timing) -> list[TargetResult]:
    """The targets of issue 3 for the sets present (speed against Cisco: `speed_target`)."""
    found: list[TargetResult] = []
    if s := stats.get("clawhavoc"):
        blocked = s.malicious_blocked
        found.append(
            TargetResult(
                "clawhavoc blocked",
                "≥ 99%",
                _pct(blocked, s.malicious),
                blocked >= 0.99 * s.malicious,
            )
        )
    if s := stats.get("msb"):
        flagged, blocked = s.malicious_flagged, s.malicious_blocked
        found += [
            TargetResult(
                "msb flagged", "≥ 80%", _pct(flagged, s.malicious), flagged >= 0.80 * s.malicious
            ),
            TargetResult(
                "msb blocked", "≥ 60%", _pct(blocked, s.malicious), blocked >= 0.60 * s.malicious
            ),
        ]
    if s := stats.get("cisco_evals"):
        found += [
            TargetResult(
                "cisco_evals malicious flagged",
                "≥ 16/17",
                f"{s.malicious_flagged}/{s.malicious}",
                s.malicious_flagged >= s.malicious - 1,
            ),
            TargetResult(
                "cisco_evals benign blocked",
                "0/4",
                f"{s.benign_blocked}/{s.benign}",
                s.benign_blocked == 0,
            ),
        ]
    if s := stats.get("official_benign"):
        found += [
            TargetResult(
                "official_benign blocked", "0", str(s.benign_blocked), s.benign_blocked == 0
            ),
            TargetResult(
                "official_benign review", "≤ 3", str(s.benign_review), s.benign_review <= 3
            ),
        ]
    if s := stats.get("clawhub_benign"):
        blocked, review = s.benign_blocked, s.benign_review
        found += [
            TargetResult(
                "clawhub_benign blocked",
                "≤ 2%",
                _pct(blocked, s.benign),
                blocked <= 0.02 * s.benign,
            ),
            TargetResult(
                "clawhub_benign review", "≤ 10%", _pct(review, s.benign), review <= 0.10 * s.benign
            ),
        ]
    per_skill = speed.ms_per_sample
    found.append(
        TargetResult("speed per labelled skill", "≤ 15 ms", f"{per_skill:.1f} ms", per_skill <= 15)
    )
    return found


def speed_target(ours: Timing, theirs: Timing) -> TargetResult:
    ratio = theirs.wall_seconds / ours.wall_seconds if ours.wall_seconds else 0.0
    return TargetResult("speed vs Cisco (its wall / ours)", "≥ 5x", f"{ratio:.1f}x", ratio >= 5)


# --------------------------------------------------------------------------- printing


def _fmt(value: float | None, width: int = 8) -> str:
    return f"{value:{width}.1f}%" if value is not None else f"{'-':>{width + 1}}"


def print_table(stats: Mapping[str, SetStats]) -> None:
    print(f"{'set':<16}{'n':>6}{'blocked':>10}{'flagged':>10}{'false-block':>13}", end="")
    print(f"{'false-review':>14}{'not scanned':>13}")
    for s in stats.values():
        r = s.rates
        print(f"{s.name:<16}{s.n:>6}{_fmt(r['blocked_pct'])} {_fmt(r['flagged_pct'])}", end="")
        print(f"{_fmt(r['false_block_pct'], 11)} {_fmt(r['false_review_pct'], 12)}", end="")
        print(f"{len(s.not_scanned):>13}")
    print("(blocked/flagged over every sample of the set; false-* over its benign samples)")
    if "cisco_evals" in stats:
        s = stats["cisco_evals"]
        print(
            f"cisco_evals: malicious flagged {s.malicious_flagged}/{s.malicious}, "
            f"malicious blocked {s.malicious_blocked}/{s.malicious}, "
            f"benign blocked {s.benign_blocked}/{s.benign}, "
            f"benign review {s.benign_review}/{s.benign}"
        )


def print_not_scanned(stats: Mapping[str, SetStats], limit: int = 20) -> None:
    for s in stats.values():
        if s.not_scanned:
            shown = ", ".join(s.not_scanned[:limit])
            more = f" … (+{len(s.not_scanned) - limit})" if len(s.not_scanned) > limit else ""
            print(f"not scanned in {s.name} ({len(s.not_scanned)}): {shown}{more}")


def print_cost(run: ToolRun, speed: Timing, labelled: int, jobs_text: str) -> None:
    print(
        f"time: {speed.wall_seconds:.1f} s wall, cpu ≈ {speed.cpu_seconds:.1f} s ({jobs_text}); "
        f"{labelled} labelled samples, {run.skill_folders} skill folders → "
        f"{speed.ms_per_sample:.1f} ms per labelled skill, "
        f"{speed.ms_per_folder:.1f} ms per skill folder"
    )
    if run.phases:
        print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in run.phases.items()))
    memory = ", ".join(f"{k} {v:.0f} MiB" for k, v in run.memory_mib.items())
    print(f"peak memory: {memory}")


def print_targets(targets: Sequence[TargetResult]) -> None:
    print("targets (issue 3):")
    for t in targets:
        print(f"  {'✓' if t.ok else '✗'} {t.name:<34} target {t.goal:<8} measured {t.value}")


def print_side_by_side(ours: Mapping[str, SetStats], theirs: Mapping[str, SetStats]) -> None:
    cols = ("blocked_pct", "flagged_pct", "false_block_pct", "false_review_pct")
    head = f"{'blocked':>9}{'flagged':>9}{'f-block':>9}{'f-review':>9}"
    print(f"{'':<16}{'n':>6}   {'—— skillscan ——':^36}   {'—— cisco ——':^36}")
    print(f"{'set':<16}{'':>6}   {head}   {head}")
    for name, s in ours.items():
        left = "".join(_fmt(s.rates[c]) for c in cols)
        other = theirs.get(name)
        right = "".join(_fmt(other.rates[c]) for c in cols) if other else ""
        print(f"{name:<16}{s.n:>6}   {left}   {right}")
    if "cisco_evals" in ours and "cisco_evals" in theirs:
        a, b = ours["cisco_evals"], theirs["cisco_evals"]
        print(
            f"cisco_evals malicious flagged: skillscan {a.malicious_flagged}/{a.malicious}, "
            f"cisco {b.malicious_flagged}/{b.malicious}; benign blocked: skillscan "
            f"{a.benign_blocked}/{a.benign}, cisco {b.benign_blocked}/{b.benign}"
        )


def print_misses(samples: Sequence[Sample], run: ToolRun, limit: int) -> None:
    """Missed malicious samples and false alarms on benign ones, with their top findings."""
    print(f"\n== {run.tool}: misses and false alarms (up to {limit} each) ==")
    for name in ordered_sets(samples):
        members = [s for s in samples if s.set == name]
        verdict = {s.key: run.verdicts.get(s.key, "pass") for s in members}
        missed = sorted(
            (s for s in members if not s.benign and verdict[s.key] != "block"),
            key=lambda s: VERDICT_RANK[verdict[s.key]],
        )
        false_block = [s for s in members if s.benign and verdict[s.key] == "block"]
        false_review = [s for s in members if s.benign and verdict[s.key] == "review"]
        for title, chosen in (
            ("not blocked (malicious)", missed),
            ("false blocks", false_block),
            ("false reviews", false_review),
        ):
            if chosen:
                print(f"-- {name}: {title}: {len(chosen)}")
                for sample in chosen[:limit]:
                    print_sample(sample, verdict[sample.key], run.hits.get(sample.key, []))


def print_sample(sample: Sample, verdict: str, hits: Sequence[Hit]) -> None:
    print(f"  {verdict:<6} {sample.set}/{sample.sample_id}  [{sample.group}]")
    for hit in hits[:3]:
        print(f"         {hit.severity:<8} {hit.rule_id}  {hit.where}")
        if hit.evidence:
            print(f"                  {hit.evidence[:110]}")


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Scan the labelled corpus in one batch and print detection and speed figures."
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder")
    parser.add_argument("--jobs", type=int, default=2, help="skillscan worker processes")
    parser.add_argument("--misses", type=int, default=0, metavar="N", help="list N misses")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure to FILE")
    parser.add_argument("--vs-cisco", action="store_true", help="compare with Cisco's scanner")
    parser.add_argument("--cisco-venv", type=Path, default=DEFAULT_CISCO_VENV)
    parser.add_argument(
        "--cisco-version", default=CISCO_VERSION, help="version to pin, or 'latest'"
    )
    parser.add_argument("--cisco-timeout", type=float, default=7200.0, help="seconds")
    parser.add_argument(
        "--cisco-behavioral",
        action="store_true",
        help="also run Cisco's (static, offline) behavioral dataflow analyzer",
    )
    return parser


def run_json(
    run: ToolRun, samples: Sequence[Sample], stats: Mapping[str, SetStats]
) -> dict[str, object]:
    """One tool's figures for --json, with every sample's verdict (to diff two runs)."""
    speed = timing(run, len(samples))
    return {
        "version": run.version,
        "sets": {name: {**asdict(s), **s.rates} for name, s in stats.items()},
        "timing": asdict(speed),
        "skill_folders": run.skill_folders,
        "unlabelled_reports": run.unlabelled,
        "memory_mib": run.memory_mib,
        "phases_seconds": run.phases,
        "notes": run.notes,
        "verdicts": {f"{k[0]}/{k[1]}": v for k, v in sorted(run.verdicts.items())},
    }


def compare_with_cisco(
    args: argparse.Namespace,
    corpus: Path,
    samples: Sequence[Sample],
    ours: ToolRun,
    our_stats: Mapping[str, SetStats],
    figures: dict[str, object],
) -> TargetResult:
    """Run Cisco's scanner and print the comparison; a failure is reported, not raised."""
    print("\n== Cisco skill-scanner, same corpus, same run ==")
    try:
        theirs = run_cisco(
            corpus, args.cisco_venv, args.cisco_version, args.cisco_timeout, args.cisco_behavioral
        )
    except (BenchError, OSError, subprocess.SubprocessError, ValueError) as exc:
        print(f"Cisco's scanner was not compared: {exc}")
        figures["cisco"] = {"error": str(exc)}
        return TargetResult(
            "speed vs Cisco (its wall / ours)", "≥ 5x", "n/a (Cisco did not run)", False
        )
    their_stats = summarize(samples, theirs)
    their_speed = timing(theirs, len(samples))
    print(f"{CISCO_PACKAGE} {theirs.version}")
    for note in theirs.notes:
        print(f"  {note}")
    print(
        "  verdict: block = is_safe false (it has a CRITICAL or HIGH finding); review = is_safe "
        "true\n  and max_severity MEDIUM; pass = LOW/INFO/SAFE. Worst over a sample's skills."
    )
    print()
    print_side_by_side(our_stats, their_stats)
    print_not_scanned(their_stats)
    print()
    print("cisco ", end="")
    print_cost(theirs, their_speed, len(samples), "one process, it has no parallel option")
    print("  (process: wait4 ru_maxrss, its largest process; tree: peak summed PSS, sampled)")
    print("skillscan ", end="")
    print_cost(ours, timing(ours, len(samples)), len(samples), f"jobs {args.jobs}")
    target = speed_target(timing(ours, len(samples)), their_speed)
    cpu_ratio = their_speed.cpu_seconds / max(ours.cpu_seconds, 1e-9)
    print(f"speed ratio (cisco wall / skillscan wall): {target.value}; cpu ratio {cpu_ratio:.1f}x")
    figures["cisco"] = run_json(theirs, samples, their_stats)
    figures["speed_ratio"] = target.value
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.misses < 0:
        parser.error("--jobs must be at least 1 and --misses at least 0")
    corpus = args.corpus.resolve()
    try:
        samples = read_labels(corpus)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sets = ordered_sets(samples)
    print(f"corpus {corpus}: {len(samples)} labelled samples in {len(sets)} sets")
    try:
        ours = run_skillscan(corpus, sets, args.jobs)
    except Exception as exc:  # the scan itself failing is the one real error here
        print(f"error: skillscan's scan failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    our_stats = summarize(samples, ours)
    our_speed = timing(ours, len(samples))
    targets = evaluate_targets(our_stats, our_speed)

    print(f"\n== skillscan {ours.version}, one batch, jobs {args.jobs} ==")
    print_table(our_stats)
    print_not_scanned(our_stats)
    for note in ours.notes:
        print(f"note: {note}")
    if ours.unlabelled:
        print(f"note: {ours.unlabelled} skill folders lie outside any labelled sample")
    print_cost(ours, our_speed, len(samples), f"jobs {args.jobs}")
    print(
        "  (self/children: getrusage ru_maxrss, the largest single process; children are "
        "semgrep and reaped helpers;\n   tree: peak of the summed PSS of our process tree, "
        "sampled every 0.25 s, forkserver workers included)"
    )

    figures: dict[str, object] = {
        "corpus": str(corpus),
        "labelled_samples": len(samples),
        "skillscan": run_json(ours, samples, our_stats),
    }
    if args.vs_cisco:
        targets.append(compare_with_cisco(args, corpus, samples, ours, our_stats, figures))

    print()
    print_targets(targets)
    figures["targets"] = [asdict(t) for t in targets]
    if args.misses > 0:
        print_misses(samples, ours, args.misses)
    if args.json:
        try:
            args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            print(f"error: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return 2
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Cisco's process group is killed on the way out
        sys.exit(130)
