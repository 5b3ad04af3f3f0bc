"""Command line: parse arguments, call one library function, format, exit. No logic here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from skillscan import __version__
from skillscan.errors import ExitCode, InputError, SkillscanError, UsageError
from skillscan.model import Verdict

if TYPE_CHECKING:
    from skillscan import pins

# Only a usage error is raised below this line without importing the heavy modules, so
# `skillscan --help` stays fast.

FORMATS = ("text", "json")
# Kept literal so --help does not import the formatters; a test checks it matches them.
SCAN_FORMATS = ("text", "json", "sarif", "markdown")
PROGRESS_MIN_SKILLS = 5

EXIT_CODES_HELP = """exit codes:
  0  ok: nothing blocked
  1  policy: a skill was blocked (or, with --fail-on review, needs review), or a check failed
  2  usage or bad input: unknown option, missing path, no skill found, invalid file
  3  skillscan itself failed: scanner missing or crashed, interrupted"""

PIN_EXIT_CODES_HELP = """exit codes:
  0  ok
  1  policy: a skill was blocked or refused (nothing written), or a check failed
  2  usage or bad input: malformed reference, branch or tag instead of a commit, commit
     not in the repository, invalid lockfile, unknown skill
  3  skillscan itself failed: git failed or timed out, scanner missing or crashed"""


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
        choices=SCAN_FORMATS,
        dest="formats",
        help="report format, repeatable (each extra one needs --output-FORMAT); default: text",
    )
    scan.add_argument(
        "--output", type=Path, metavar="FILE", help="write the report to FILE instead of stdout"
    )
    for fmt in SCAN_FORMATS:
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
    _add_pinning_commands(commands)

    gate = commands.add_parser(
        "gate",
        help="decide at load time whether a skill folder may be loaded (JSON answer)",
        description=(
            "The runtime gate for agent gateways that are not Python. DIR is an installed\n"
            "skill (<install-dir>/<name>); it is allowed only if it is locked, approved, not\n"
            "revoked and its content matches the pinned digest. Prints one JSON object:\n"
            '{"allowed": true, "name", "commit", "digest"} or\n'
            '{"allowed": false, "reason", "message"}.'
        ),
        epilog="exit codes:\n  0  allowed\n  1  refused (the JSON says why)\n"
        "  2  usage, or the lockfile or revocation list is invalid (refused)\n"
        "  3  skillscan itself failed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gate.add_argument("dir", type=Path, metavar="DIR", help="the installed skill folder")
    gate.add_argument(
        "--lockfile",
        type=Path,
        default=Path("skills.lock"),
        metavar="FILE",
        help="the lockfile (default: ./skills.lock)",
    )
    gate.add_argument(
        "--revocations",
        type=Path,
        metavar="FILE",
        help="use this revocation list instead of the bundled one",
    )
    return parser


def _pin_parent(*, writes: bool, scans: bool) -> _Parser:
    """Options the pinning commands share."""
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--lockfile",
        type=Path,
        default=Path("skills.lock"),
        metavar="FILE",
        help="the lockfile (default: ./skills.lock)",
    )
    parent.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    if scans:
        parent.add_argument(
            "--cache-dir",
            type=Path,
            metavar="DIR",
            help="fetch cache (default: $XDG_CACHE_HOME/skillscan or ~/.cache/skillscan)",
        )
        parent.add_argument(
            "--signatures",
            type=Path,
            metavar="DIR",
            help="use this signature bundle instead of the bundled one",
        )
    if writes:
        parent.add_argument(
            "--install-dir",
            type=Path,
            metavar="DIR",
            help="also install the approved skill as DIR/NAME (read-only copy of the "
            "scanned bytes)",
        )
    return parent


def _add_pinning_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    def command(name: str, parents: list[_Parser], summary: str, description: str = "") -> _Parser:
        return commands.add_parser(
            name,
            parents=parents,
            help=summary,
            description=description or summary[:1].upper() + summary[1:] + ".",
            epilog=PIN_EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    resolve = command(
        "resolve",
        [],
        summary="print the full commit a branch, tag or short id names now",
        description="Resolve SOURCE@REF (a branch, tag, HEAD or short id) to the full commit\n"
        "it names right now, printed as a pinned reference to give `skillscan add`.",
    )
    resolve.add_argument("reference", metavar="SOURCE@REF[#SUBPATH]")
    resolve.add_argument("--format", choices=FORMATS, default="text", help="output format")

    add = command(
        "add",
        [_pin_parent(writes=True, scans=True)],
        summary="fetch, scan and pin a skill at an exact commit",
        description="Fetch SOURCE at exactly COMMIT, scan it, and pin it in the lockfile:\n"
        "pass -> approved by policy, review -> pending, block -> refused (nothing written).",
    )
    add.add_argument("reference", metavar="SOURCE@COMMIT[#SUBPATH]")
    add.add_argument("--path", metavar="SUB", help="the skill's folder inside the repository")
    add.add_argument(
        "--name", help="name in the lockfile (default: frontmatter name, else folder name)"
    )
    add.add_argument(
        "--ack",
        action="append",
        default=[],
        metavar="FINGERPRINT",
        help="acknowledge a finding of this scan (repeatable); you become the reviewer",
    )
    add.add_argument("--by", metavar="WHO", help="reviewer name for --ack (default: git user)")
    add.add_argument("--note", default="", help="note recorded with the review")

    update = command(
        "update",
        [_pin_parent(writes=True, scans=True)],
        summary="move a pinned skill to another commit; shows changed files and new findings",
        description="Fetch the skill at COMMIT (same source and path), list the files changed\n"
        "since the pinned commit and only the findings that are new.",
    )
    update.add_argument("target", metavar="NAME@COMMIT")

    review = command(
        "review",
        [_pin_parent(writes=True, scans=True)],
        summary="approve or reject a pinned skill",
        description="Record a human decision. Approving re-scans the pin and needs an\n"
        "explicit --ack for every critical or high finding; medium findings are\n"
        "acknowledged by the approval itself.",
    )
    review.add_argument("name", metavar="NAME")
    decision = review.add_mutually_exclusive_group(required=True)
    decision.add_argument("--approve", action="store_true", help="approve the pinned commit")
    decision.add_argument("--reject", action="store_true", help="reject the pinned commit")
    review.add_argument(
        "--ack",
        action="append",
        default=[],
        metavar="FINGERPRINT",
        help="acknowledge a finding (repeatable)",
    )
    review.add_argument("--note", default="", help="why")
    review.add_argument("--by", metavar="WHO", help="reviewer (default: git user.name, OS user)")

    remove = command(
        "remove",
        [_pin_parent(writes=False, scans=False)],
        summary="remove a skill from the lockfile",
    )
    remove.add_argument("name", metavar="NAME")
    remove.add_argument(
        "--install-dir",
        type=Path,
        metavar="DIR",
        help="also delete DIR/NAME (only if it holds exactly the pinned content)",
    )

    command("list", [_pin_parent(writes=False, scans=False)], summary="list the pinned skills")

    show = command(
        "show", [_pin_parent(writes=False, scans=False)], summary="show one pinned skill"
    )
    show.add_argument("name", metavar="NAME")

    check = command(
        "check",
        [_pin_parent(writes=False, scans=True)],
        summary="the CI gate: every skill pinned, approved, installed as locked",
        description="Check the lockfile: valid, full commits, every skill approved.\n"
        "--installed DIR: every locked skill in DIR/NAME with its digest, nothing else there.\n"
        "--rescan: every approved pin fetched and scanned with today's signatures; a\n"
        "finding of medium severity or above that no reviewer acknowledged fails.",
    )
    check.add_argument("--installed", type=Path, metavar="DIR", help="the installed skills")
    check.add_argument("--rescan", action="store_true", help="scan every pin again")
    check.add_argument(
        "--jobs",
        type=_positive,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes for --rescan (default: CPU count)",
    )


def _destinations(args: argparse.Namespace) -> list[tuple[str, Path | None]]:
    """(format, file or None for stdout) for each requested format."""
    formats: list[str] = list(dict.fromkeys(args.formats or []))
    for fmt in SCAN_FORMATS:
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


def _settings(args: argparse.Namespace, *, jobs: int = 1) -> pins.Settings:
    from skillscan import pins

    cache_dir = getattr(args, "cache_dir", None)
    return pins.Settings(
        lockfile=args.lockfile,
        cache_dir=cache_dir if cache_dir is not None else pins.default_cache_dir(),
        signatures_dir=getattr(args, "signatures", None),
        jobs=jobs,
    )


def _emit(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _cmd_resolve(args: argparse.Namespace) -> int:
    from skillscan import pins
    from skillscan.report.pinning import render_resolve

    _emit(render_resolve(pins.resolve(args.reference), args.format))
    return ExitCode.OK


def _cmd_add(args: argparse.Namespace) -> int:
    from skillscan import pins
    from skillscan.refs import make_ref, parse_ref, parse_subpath
    from skillscan.report.pinning import render_add

    ref = parse_ref(args.reference)
    if args.path is not None:
        path = parse_subpath(args.path)
        if ref.subpath and ref.subpath != path:
            raise UsageError(
                f"the reference names subpath {ref.subpath!r} but --path says {path!r}",
                hint="give the subpath once",
            )
        ref = make_ref(ref.source, ref.commit, path)
    result = pins.add(
        ref,
        _settings(args),
        name=args.name,
        install_dir=args.install_dir,
        acknowledged=args.ack,
        by=args.by,
        note=args.note,
    )
    _emit(render_add(result, args.format))
    return ExitCode.POLICY if result.outcome is pins.Outcome.BLOCKED else ExitCode.OK


def _cmd_update(args: argparse.Namespace) -> int:
    from skillscan import pins
    from skillscan.report.pinning import render_update

    name, commit = pins.parse_name_at_commit(args.target)
    result = pins.update(name, commit, _settings(args), install_dir=args.install_dir)
    _emit(render_update(result, args.format))
    return ExitCode.POLICY if result.outcome is pins.Outcome.BLOCKED else ExitCode.OK


def _cmd_review(args: argparse.Namespace) -> int:
    from skillscan import pins
    from skillscan.report.pinning import render_review

    decision = pins.Decision.APPROVE if args.approve else pins.Decision.REJECT
    result = pins.review(
        args.name,
        decision,
        _settings(args),
        acknowledged=args.ack,
        note=args.note,
        by=args.by,
        install_dir=args.install_dir,
    )
    _emit(render_review(result, args.format))
    return ExitCode.OK


def _cmd_remove(args: argparse.Namespace) -> int:
    from skillscan import pins
    from skillscan.report.pinning import render_remove

    result = pins.remove(args.name, _settings(args), install_dir=args.install_dir)
    _emit(render_remove(result, args.format))
    return ExitCode.OK


def _cmd_list(args: argparse.Namespace) -> int:
    from skillscan import pins
    from skillscan.report.pinning import render_list

    _emit(render_list(pins.load(_settings(args)), args.lockfile, args.format))
    return ExitCode.OK


def _cmd_show(args: argparse.Namespace) -> int:
    from skillscan import pins
    from skillscan.report.pinning import render_show

    _emit(render_show(args.name, pins.show_entry(args.name, _settings(args)), args.format))
    return ExitCode.OK


def _cmd_check(args: argparse.Namespace) -> int:
    from skillscan import pins
    from skillscan.report.pinning import render_check

    result = pins.check(
        _settings(args, jobs=args.jobs), installed=args.installed, rescan=args.rescan
    )
    _emit(render_check(result, args.format))
    return result.exit_code


def _cmd_gate(args: argparse.Namespace) -> int:
    import json

    from skillscan.gate import gate_decision

    code, decision = gate_decision(args.dir, args.lockfile, revocations=args.revocations)
    sys.stdout.write(json.dumps(decision, sort_keys=True) + "\n")
    return int(code)


_COMMANDS = {
    "scan": _cmd_scan,
    "gate": _cmd_gate,
    "resolve": _cmd_resolve,
    "add": _cmd_add,
    "update": _cmd_update,
    "review": _cmd_review,
    "remove": _cmd_remove,
    "list": _cmd_list,
    "show": _cmd_show,
    "check": _cmd_check,
}


def _printable(text: str) -> str:
    """A message for the terminal. It may quote a hostile repository's file names or a
    lockfile from a pull request, so controls and invisible characters are escaped."""
    return "".join(ch if ch.isprintable() or ch in "\n\t" else f"\\u{ord(ch):04x}" for ch in text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `skillscan` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return int(_COMMANDS[args.command](args))
    except SkillscanError as exc:
        print(f"skillscan: {_printable(exc.diagnostics())}", file=sys.stderr)
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
