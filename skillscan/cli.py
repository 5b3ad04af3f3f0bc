"""Command line: parse arguments, call one library function, format, exit. No logic here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from skillscan import __version__
from skillscan.errors import ExitCode, InputError, SkillscanError, UsageError
from skillscan.model import Verdict

# Only a usage error is raised below this line without importing the heavy modules, so
# `skillscan --help` stays fast.

FORMATS = ("text", "json")
PROGRESS_MIN_SKILLS = 5

EXIT_CODES_HELP = """exit codes:
  0  ok: nothing blocked
  1  policy: a skill was blocked (or, with --fail-on review, needs review), or a check failed
  2  usage or bad input: unknown option, missing path, no skill found, invalid file
  3  skillscan itself failed: scanner missing or crashed, interrupted"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors through our error type (exit 2, no traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", hint=f"run '{self.prog} --help'")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = _Parser(
        prog="skillscan",
        description="Scan, pin and gate AI-agent skills (folders with a SKILL.md).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"skillscan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    scan = commands.add_parser(
        "scan",
        help="scan skill folders and report findings and a verdict per skill",
        description=(
            "Scan every skill (folder holding a SKILL.md) under each PATH, offline.\n"
            "Each skill gets a verdict: block (a critical or high finding), review (a\n"
            "medium finding) or pass (no known technique matched)."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="skill folder, folder of skills or SKILL.md",
    )
    scan.add_argument(
        "--format",
        action="append",
        choices=FORMATS,
        dest="formats",
        help="report format, repeatable (each extra one needs --output-FORMAT); default: text",
    )
    scan.add_argument(
        "--output", type=Path, metavar="FILE", help="write the report to FILE instead of stdout"
    )
    for fmt in FORMATS:
        scan.add_argument(
            f"--output-{fmt}",
            type=Path,
            metavar="FILE",
            help=f"write the {fmt} report to FILE (implies --format {fmt})",
        )
    scan.add_argument(
        "--jobs",
        type=_positive,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes (default: CPU count)",
    )
    scan.add_argument(
        "--fail-on",
        choices=("block", "review"),
        default="block",
        help="exit 1 when any skill gets this verdict or worse (default: block)",
    )
    scan.add_argument(
        "--signatures",
        type=Path,
        metavar="DIR",
        help="use this signature bundle instead of the bundled one",
    )
    bounds = scan.add_argument_group(
        "bounds (past any bound the skill is blocked, never silently passed)"
    )
    bounds.add_argument(
        "--max-files", type=_positive, default=1000, metavar="N", help="files per skill (1000)"
    )
    bounds.add_argument(
        "--max-file-bytes",
        type=_positive,
        default=5 * 1024 * 1024,
        metavar="N",
        help="bytes per file (5 MiB)",
    )
    bounds.add_argument(
        "--max-total-bytes",
        type=_positive,
        default=50 * 1024 * 1024,
        metavar="N",
        help="bytes per skill (50 MiB)",
    )
    bounds.add_argument(
        "--max-depth", type=_positive, default=16, metavar="N", help="folder nesting (16)"
    )
    bounds.add_argument(
        "--analyzer-timeout",
        type=_seconds,
        default=30.0,
        metavar="S",
        help="seconds per analyzer per skill (30)",
    )
    bounds.add_argument(
        "--semgrep-timeout",
        type=_positive,
        default=10,
        metavar="S",
        help="semgrep seconds per rule per file (10)",
    )
    return parser


def _destinations(args: argparse.Namespace) -> list[tuple[str, Path | None]]:
    """(format, file or None for stdout) for each requested format."""
    formats: list[str] = list(dict.fromkeys(args.formats or []))
    for fmt in FORMATS:
        if getattr(args, f"output_{fmt}") is not None and fmt not in formats:
            formats.append(fmt)
    if not formats:
        formats = ["text"]
    plain = [fmt for fmt in formats if getattr(args, f"output_{fmt}") is None]
    if len(plain) > 1:
        raise UsageError(
            f"formats {', '.join(plain)} would all go to the same place",
            hint="give each extra format its own --output-FORMAT FILE",
        )
    out = [
        (fmt, getattr(args, f"output_{fmt}") or (args.output if fmt in plain else None))
        for fmt in formats
    ]
    for _, dest in out:
        if dest is not None and not dest.parent.is_dir():
            raise InputError(f"cannot write {dest}: folder {dest.parent} does not exist")
    return out


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[object]:
    """A rich progress bar on stderr, or nothing."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=None,
    ) as bar:
        yield bar


def _cmd_scan(args: argparse.Namespace) -> int:
    from skillscan.analyzers.semgrep import SemgrepSettings
    from skillscan.report import FORMATTERS
    from skillscan.scan import ScanOptions, discover_all, scan_roots
    from skillscan.skill import Limits

    destinations = _destinations(args)
    options = ScanOptions(
        limits=Limits(
            max_files=args.max_files,
            max_file_bytes=args.max_file_bytes,
            max_total_bytes=args.max_total_bytes,
            max_depth=args.max_depth,
        ),
        jobs=args.jobs,
        signatures_dir=args.signatures,
        analyzer_timeout=args.analyzer_timeout,
        semgrep=SemgrepSettings(per_file_timeout=args.semgrep_timeout, jobs=args.jobs),
    )
    roots = discover_all(args.paths)
    show_progress = sys.stderr.isatty() and len(roots) >= PROGRESS_MIN_SKILLS
    with _progress_bar(show_progress) as bar:
        progress = None
        if bar is not None:
            from rich.progress import Progress

            assert isinstance(bar, Progress)  # noqa: S101 - narrowing for mypy
            task = bar.add_task("scanning", total=len(roots))

            def progress(done: int, total: int, phase: str) -> None:
                label = "running semgrep" if phase == "semgrep" else "analyzing"
                bar.update(task, completed=done, total=total, description=label)

        result = scan_roots(roots, options, progress)
    for fmt, dest in destinations:
        formatter = FORMATTERS[fmt]
        if dest is None:
            sys.stdout.write(formatter.render(result, color=sys.stdout.isatty()))
        else:
            try:
                dest.write_text(formatter.render(result), encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write {dest}: {exc.strerror}") from exc
    failing = {Verdict.BLOCK} if args.fail_on == "block" else {Verdict.BLOCK, Verdict.REVIEW}
    return ExitCode.POLICY if any(r.verdict in failing for r in result.reports) else ExitCode.OK


_COMMANDS = {"scan": _cmd_scan}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `skillscan` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return int(_COMMANDS[args.command](args))
    except SkillscanError as exc:
        print(f"skillscan: {exc.diagnostics()}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("skillscan: interrupted; nothing was decided", file=sys.stderr)
        return int(ExitCode.INTERNAL)
    except Exception as exc:
        if os.environ.get("SKILLSCAN_DEBUG"):
            raise
        print(
            f"skillscan: internal error: {type(exc).__name__}: {exc}\n"
            "  hint: this is a bug in skillscan; rerun with SKILLSCAN_DEBUG=1 for a traceback",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
