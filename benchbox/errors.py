"""One family of errors, each carrying the exit code it ends a run with.

The engine raises these and never exits; `benchbox.cli` is the only place that turns one into a
process exit code. The message is a single line meant for a human: it names the bad value and the
expected form, because that is what the user needs to fix it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """DESIGN.md's exit codes: scripts and CI jobs depend on them, so they never change."""

    PASS = 0
    GATE_FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    INTERRUPTED = 130
    TERMINATED = 143


class BenchboxError(Exception):
    """Base of every error benchbox reports to the user without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(BenchboxError):
    """A flag, config value or file the user gave is malformed."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """benchbox.toml is unreadable or holds an unknown or malformed key."""


class UnknownResultSchema(UsageError):
    """A result document written by a benchbox whose format this one does not read."""


class TargetUnreachable(BenchboxError):
    """The target never answered, or never became ready in time."""

    exit_code = ExitCode.UNREACHABLE


class GeneratorFailed(BenchboxError):
    """The load generator process died or spoke nonsense: benchbox's fault, not the target's."""

    exit_code = ExitCode.USAGE


class Interrupted(BenchboxError):
    """SIGINT or SIGTERM arrived; the run stops early but still writes what it measured."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(f"interrupted by {signal_name}")
        self.signal_name = signal_name

    @property
    def exit_code(self) -> ExitCode:  # type: ignore[override]
        return ExitCode.TERMINATED if self.signal_name == "SIGTERM" else ExitCode.INTERRUPTED


def bad_value(what: str, value: object, expected: str) -> UsageError:
    """Build the one-line error every parser uses: `bad --rate 'abc': expected a number > 0`."""
    shown = repr(value) if isinstance(value, str) else str(value)
    return UsageError(f"bad {what} {shown}: expected {expected}")
