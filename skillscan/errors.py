"""The error hierarchy and the one place that maps each kind of failure to an exit code."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes shared by every command (DESIGN §4.3)."""

    OK = 0
    POLICY = 1  # something was blocked, refused or failed a check
    USAGE = 2  # usage or bad input: unknown option, malformed reference, invalid lockfile
    INTERNAL = 3  # the tool itself failed: scanner crashed, git failed


class SkillscanError(Exception):
    """Base of every failure a user can be told about without a traceback."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """The text shown to the user: what happened, and what to do next."""
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(SkillscanError):
    """The command line itself is wrong (unknown option, malformed reference)."""

    exit_code = ExitCode.USAGE


class InputError(SkillscanError):
    """An input the user pointed at is missing or invalid (path, lockfile, config)."""

    exit_code = ExitCode.USAGE


class PolicyError(SkillscanError):
    """A skill was blocked or refused, or a check failed."""

    exit_code = ExitCode.POLICY


class InternalError(SkillscanError):
    """The tool could not do its job (scanner missing or crashed, git failed)."""

    exit_code = ExitCode.INTERNAL
