"""Run the analyzers over one or many skills, apply the policy, return one report per skill.

Per-skill analyzers run in worker processes (`--jobs`), each under a time budget; semgrep
runs once per batch of skills. Whatever fails (an analyzer raising, running out of time, a
worker dying, semgrep erroring) becomes SKS-SCAN-INCOMPLETE for the skills concerned, so a
scan that did not finish can never pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import posixpath
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from skillscan import __version__
from skillscan.analyzers import ANALYZERS, Analyzer
from skillscan.analyzers import semgrep as semgrep_analyzer
from skillscan.analyzers.semgrep import (
    MAX_TARGET_BYTES,
    SCRIPT_SUFFIXES,
    SemgrepSettings,
    Target,
)
from skillscan.errors import InputError, SkillscanError
from skillscan.model import Finding, ScanResult, SkillReport, incomplete
from skillscan.policy import acknowledge, deduplicate, verdict
from skillscan.signatures import Signatures, load_signatures
from skillscan.skill import DEFAULT_LIMITS, SKIPPED_DIRS, Limits, Skill, discover, load_skill

# Progress callback: (skills done, skills in total, phase) where phase is "analyze" or "semgrep".
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ScanOptions:
    """Everything that shapes a scan; the defaults are the documented bounds."""

    limits: Limits = DEFAULT_LIMITS
    jobs: int = 1
    signatures_dir: Path | None = None
    analyzer_timeout: float = 30.0  # seconds per analyzer per skill
    skill_timeout: float = 300.0  # hard bound for one skill in a worker process
    semgrep: SemgrepSettings = field(default_factory=SemgrepSettings)
    analyzers: Mapping[str, Analyzer] = field(default_factory=lambda: dict(ANALYZERS))
    acknowledged: frozenset[str] = frozenset()  # fingerprints a reviewer acknowledged
    # With jobs > 1, semgrep runs on the skills analysed so far whenever it is idle and at
    # least this many wait, while the workers analyse the rest (identical scripts are staged
    # once per run: smaller runs would repeat more of them).
    semgrep_batch_skills: int = 150


class AnalyzerTimeout(BaseException):
    """Raised inside an analyzer when its time budget is spent (BaseException so that an
    analyzer's own `except Exception` cannot swallow it)."""


@contextlib.contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Interrupt the body after `seconds` (main thread only; elsewhere the worker bound holds)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise AnalyzerTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_analyzers(skill: Skill, signatures: Signatures, options: ScanOptions) -> list[Finding]:
    """Every per-skill analyzer on one skill; a failure is a finding, never an exception."""
    findings: list[Finding] = []
    for name, analyze in options.analyzers.items():
        try:
            with _time_budget(options.analyzer_timeout):
                findings.extend(analyze(skill, signatures))
        except AnalyzerTimeout:
            findings.append(incomplete(name, f"ran out of time ({options.analyzer_timeout:g} s)"))
        except RecursionError:
            findings.append(incomplete(name, "input nested too deeply"))
        except Exception as exc:  # fail closed on any analyzer bug
            findings.append(incomplete(name, f"{type(exc).__name__}: {str(exc)[:120]}"))
    return findings


@dataclass(frozen=True)
class _Partial:
    """What a worker sends back for one skill: findings so far and semgrep's targets."""

    root: str
    name: str
    findings: tuple[Finding, ...]
    targets: tuple[Target, ...]


def _analyze_root(root: str, options: ScanOptions) -> _Partial:
    signatures = load_signatures(options.signatures_dir)
    try:
        skill = load_skill(Path(root), options.limits)
    except SkillscanError as exc:
        return _Partial(root, Path(root).name, (incomplete("loader", exc.message),), ())
    except Exception as exc:  # an unforeseen loader failure must not end the batch
        reason = f"{type(exc).__name__}: {str(exc)[:120]}"
        return _Partial(root, Path(root).name, (incomplete("loader", reason),), ())
    findings = run_analyzers(skill, signatures, options)
    return _Partial(
        root,
        skill.name,
        tuple(findings),
        tuple(semgrep_analyzer.targets(skill, signatures, options.semgrep.max_target_bytes)),
    )


# A worker is replaced after this many skills (bounding what a worker can accumulate); each
# start reloads what skillscan.warm did not build (a custom bundle, lazy caches).
_SKILLS_PER_WORKER = 1000


def _worker_main(conn: Connection, options: ScanOptions) -> None:
    """A worker process: analyse each root received, send its _Partial back; stop on None."""
    # Ctrl-C reaches the whole process group: the parent handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            root = conn.recv()
        except (EOFError, OSError):
            return
        if root is None:
            return
        conn.send(_analyze_root(root, options))


class _Worker:
    """One worker process and the skill it is analysing (None when idle)."""

    def __init__(self, context: BaseContext, options: ScanOptions) -> None:
        self.conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child, options), daemon=True
        )
        self.process.start()
        child.close()
        self.root: str | None = None
        self.deadline = 0.0
        self.analysed = 0

    def give(self, root: str, seconds: float) -> None:
        self.root = root
        self.deadline = time.monotonic() + seconds
        # A worker that died while idle cannot take it: its pipe then reads as closed, and
        # take() reports it (the skill is marked and the worker replaced).
        with contextlib.suppress(OSError):
            self.conn.send(root)

    def take(self) -> _Partial | None:
        """The result of the current skill if one is ready; None if the worker died."""
        try:
            partial: _Partial = self.conn.recv()
        except (EOFError, OSError):
            return None
        self.root = None
        self.analysed += 1
        return partial

    def stop(self, *, kill: bool) -> None:
        if not kill:
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _analyze_all(
    roots: Sequence[str],
    options: ScanOptions,
    progress: Progress | None,
    on_done: Callable[[_Partial], None] | None = None,
) -> list[_Partial]:
    """Per-skill analysis of every root, in worker processes when jobs > 1; `on_done` is
    called with each skill's result as soon as it is in."""
    done: dict[str, _Partial] = {}

    def finish(partial: _Partial) -> None:
        done[partial.root] = partial
        if on_done:
            on_done(partial)
        if progress:
            progress(len(done), len(roots), "analyze")

    if options.jobs <= 1 or len(roots) <= 1:
        for root in roots:
            finish(_analyze_root(root, options))
        return [done[r] for r in roots]
    context = multiprocessing.get_context("forkserver")
    # skillscan.warm builds the default signatures and the instruction catalog in the
    # forkserver, so that workers inherit them rather than each building them again (not
    # for a scan with its own bundle, which the workers build; the forkserver starts once
    # per process, with what the first parallel scan asked for).
    warm = [] if options.signatures_dir is not None else ["skillscan.warm"]
    context.set_forkserver_preload(["skillscan.scan", *warm])
    # Our own small pool rather than multiprocessing.Pool: its worker-handling thread wakes
    # (and polls every worker) whenever a result waits in the queue, which cost the parent
    # about 1 ms of CPU per skill; and here a stuck or dead worker costs only its own skill.
    waiting = list(reversed(roots))
    workers = [_Worker(context, options) for _ in range(min(options.jobs, len(roots)))]

    def renew(worker: _Worker, *, kill: bool) -> None:
        worker.stop(kill=kill)
        workers[workers.index(worker)] = _Worker(context, options)

    def lost(worker: _Worker, root: str, reason: str) -> None:
        """The worker's skill gets no result: mark it, replace the worker."""
        renew(worker, kill=True)
        finish(_Partial(root, Path(root).name, (incomplete("worker", reason),), ()))

    try:
        for worker in workers:
            worker.give(waiting.pop(), options.skill_timeout)
        while any(w.root is not None for w in workers):
            busy = [(w, w.root) for w in workers if w.root is not None]
            wait_for = max(0.0, min(w.deadline for w, _ in busy) - time.monotonic())
            ready = set(mp_wait([w.conn for w, _ in busy], timeout=wait_for))
            for worker, root in busy:
                if worker.conn in ready:
                    partial = worker.take()
                    if partial is None:
                        worker.process.join(timeout=1)
                        code = worker.process.exitcode
                        lost(worker, root, f"worker died (exit code {code})")
                    else:
                        finish(partial)
                        if worker.analysed >= _SKILLS_PER_WORKER:
                            renew(worker, kill=False)
                elif time.monotonic() >= worker.deadline:
                    lost(worker, root, f"worker gave no result within {options.skill_timeout:g} s")
            for worker in workers:
                if worker.root is None and waiting:
                    worker.give(waiting.pop(), options.skill_timeout)
    finally:
        for worker in workers:
            worker.stop(kill=worker.root is not None or bool(waiting))
    return [done[r] for r in roots]


_WEIGHT_MAX_ENTRIES = 2000


def _semgrep_weight(root: str) -> int:
    """Bytes of the scripts (by extension) under a skill folder: a cheap guess of its semgrep
    work, from directory entries only (no file is opened, no link followed, at most
    _WEIGHT_MAX_ENTRIES entries). It only orders the work; the scan itself is unchanged."""
    total = 0
    seen = 0
    stack = [root]
    while stack and seen < _WEIGHT_MAX_ENTRIES:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    seen += 1
                    if seen > _WEIGHT_MAX_ENTRIES:
                        break
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in SKIPPED_DIRS:
                            stack.append(entry.path)
                    elif (
                        entry.is_file(follow_symlinks=False)
                        and posixpath.splitext(entry.name)[1].lower() in SCRIPT_SUFFIXES
                    ):
                        with contextlib.suppress(OSError):
                            size = entry.stat(follow_symlinks=False).st_size
                            total += size if size <= MAX_TARGET_BYTES else 0  # never staged
        except OSError:
            continue
    return total


def discover_all(paths: Sequence[Path]) -> list[Path]:
    """Every skill folder under the given paths, each once, in order. Raises InputError."""
    seen: set[Path] = set()
    roots: list[Path] = []
    for path in paths:
        found = discover(path)
        if not found:
            raise InputError(
                f"no skill found under {path}", hint="a skill is a folder holding a SKILL.md file"
            )
        for root in found:
            key = root.resolve()
            if key not in seen:
                seen.add(key)
                roots.append(root)
    return roots


class _SemgrepRun:
    """One semgrep run over some analysed skills, in a background thread (which only waits
    on the semgrep process)."""

    def __init__(
        self,
        partials: list[_Partial],
        signatures: Signatures,
        settings: SemgrepSettings,
        cancel: threading.Event,
    ) -> None:
        self.partials = partials
        self.findings: list[list[Finding]] = []
        self.error: BaseException | None = None
        targets = [list(p.targets) for p in partials]

        def run() -> None:
            try:
                self.findings = semgrep_analyzer.analyze_batch(
                    targets, signatures, settings, cancel
                )
            except BaseException as exc:  # handed to the scanning thread by results()
                self.error = exc

        self.thread = threading.Thread(target=run, name="skillscan-semgrep", daemon=True)
        self.thread.start()


class _SemgrepPipeline:
    """Semgrep on the skills analysed so far while the workers analyse the rest: whenever no
    semgrep run is going and at least `min_batch` analysed skills wait, they go to a new run
    (so runs grow while semgrep is the slower side). What waits when the analysis ends runs
    at once. `close()` kills a run still going (an interrupted scan leaves no semgrep)."""

    def __init__(
        self, signatures: Signatures, settings: SemgrepSettings, min_batch: int | None
    ) -> None:
        self.signatures = signatures
        self.settings = settings
        # A run beside the busy workers gets one semgrep job: its parallel engine waits for
        # all of its jobs at every garbage collection, and on cores the workers already fill
        # that waiting cost more CPU than a second job saved (41 s instead of 19 s of CPU on
        # the corpus bench, 2 cores). The last run, after the analysis, has the cores alone.
        self.overlap_settings = dataclasses.replace(settings, jobs=1)
        self.min_batch = min_batch  # None: one run, after the analysis
        self.waiting: list[_Partial] = []
        self.runs: list[_SemgrepRun] = []
        self.cancel = threading.Event()

    def add(self, partial: _Partial) -> None:
        """A skill was analysed: start a run if semgrep is idle and enough skills wait."""
        self.waiting.append(partial)
        if self.min_batch is None or len(self.waiting) < self.min_batch:
            return
        if self.runs and self.runs[-1].thread.is_alive():
            return
        batch, self.waiting = self.waiting, []
        self.runs.append(_SemgrepRun(batch, self.signatures, self.overlap_settings, self.cancel))

    def results(self, partials: Sequence[_Partial]) -> list[list[Finding]]:
        """Semgrep findings for every skill in `partials`, in order (runs what is left)."""
        started = {id(p) for run in self.runs for p in run.partials}
        rest = [p for p in partials if id(p) not in started]
        late = semgrep_analyzer.analyze_batch(
            [list(p.targets) for p in rest], self.signatures, self.settings
        )
        by_partial = dict(zip((id(p) for p in rest), late, strict=True))
        for run in self.runs:
            run.thread.join()
            if run.error is not None:
                raise run.error
            by_partial.update(zip((id(p) for p in run.partials), run.findings, strict=True))
        return [by_partial[id(p)] for p in partials]

    def close(self) -> None:
        """Stop a semgrep run still going (after an error or an interrupt) and wait for it."""
        self.cancel.set()
        for run in self.runs:
            run.thread.join()


def scan_roots(
    roots: Sequence[Path], options: ScanOptions | None = None, progress: Progress | None = None
) -> ScanResult:
    """Scan skill folders already discovered; one report per folder, in the given order."""
    options = options or ScanOptions()
    signatures = load_signatures(options.signatures_dir)
    settings = options.semgrep
    if settings.jobs != options.jobs:
        settings = dataclasses.replace(settings, jobs=options.jobs)
    min_batch = options.semgrep_batch_skills if options.jobs > 1 else None
    order = [str(r) for r in roots]
    if min_batch is not None:
        # Skills with the most script bytes first: semgrep, the slower side, gets its big
        # runs early, and what is left for it after the analyzers is small.
        order.sort(key=_semgrep_weight, reverse=True)
    pipeline = _SemgrepPipeline(signatures, settings, min_batch)
    try:
        analysed = _analyze_all(order, options, progress, pipeline.add)
        by_root = {p.root: p for p in analysed}
        partials = [by_root[str(r)] for r in roots]
        if progress:
            progress(0, len(partials), "semgrep")
        semgrep_findings = pipeline.results(partials)
    finally:
        pipeline.close()
    if progress:
        progress(len(partials), len(partials), "semgrep")
    reports = []
    for partial, extra in zip(partials, semgrep_findings, strict=True):
        findings = deduplicate(acknowledge([*partial.findings, *extra], options.acknowledged))
        reports.append(SkillReport(partial.root, partial.name, verdict(findings), tuple(findings)))
    return ScanResult(__version__, signatures.version, tuple(reports))


def scan_paths(
    paths: Sequence[Path], options: ScanOptions | None = None, progress: Progress | None = None
) -> ScanResult:
    """Discover the skills under `paths` and scan them all. Raises InputError for a bad path."""
    return scan_roots(discover_all(paths), options, progress)
