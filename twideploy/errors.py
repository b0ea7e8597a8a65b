"""One exception hierarchy; the CLI turns each into a message and an exit code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about a manifest, located at `file:line` (line 0 when unknown)."""

    file: str
    line: int
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {prefix}{self.message}"


class TwideployError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = 1


class ManifestError(TwideployError):
    """The manifests are invalid; carries every problem found, each with file and line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TwilioApiError(TwideployError):
    """Twilio (or the emulator) answered with an error that retries did not cure."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        self.status = status
        self.code = code
        super().__init__(message)


class StalePlanError(TwideployError):
    """A saved plan was computed against a live state that has since changed."""


class LockError(TwideployError):
    """Another apply holds the environment's lock."""


class LeaseLostError(LockError):
    """The run's lease on an account's lock expired and another run took it: it must stop writing."""


class UnfinishedDeployError(TwideployError):
    """A previous apply was interrupted; its journal must be resumed or undone first."""


class ApplyError(TwideployError):
    """A step of apply failed; what was done has been rolled back (see `rollback_report`)."""

    def __init__(self, message: str, rollback_report: list[str] | None = None):
        self.rollback_report = rollback_report or []
        super().__init__(message)


class NotUndoable(TwideployError):
    """An undo no retry can do: Twilio cannot give back what was deleted (an asset's content),
    or cannot go back at all (undeploy a build). The rollback says so and goes on; running it
    again would not help, so the step is not left for a later rollback."""


class RollbackError(TwideployError):
    """A rollback could not undo every write; `rollback_report` says which, and the message
    names the command that resumes it."""

    def __init__(self, message: str, rollback_report: list[str]):
        self.rollback_report = rollback_report
        super().__init__(message)


class GitError(TwideployError):
    """The git state forbids the operation (dirty tree under CI, unknown ref, ...)."""


class PreviewError(TwideployError):
    """A preview cannot start: bad label or testers, another preview open, a draft not ours."""
