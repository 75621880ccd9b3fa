"""The exception hierarchy, and the one table that maps each exception to an exit code.

Domain and integration code raise these; the CLI edge (`cli/_shared.py`) turns them into one
line on stderr, `error: <what> (<hint>)`, and the exit code. Exit codes follow DESIGN.md:
0 success, 1 the job ran and failed, 2 usage or configuration error, 75 temporary failure.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75


class EEError(Exception):
    """Base class: a problem we can name in one line."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """Return `what (hint)` on one line, newlines flattened."""
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


class UsageError(EEError):
    """Bad input from the operator: invalid IP, unknown state, malformed file."""

    exit_code = EXIT_USAGE


class ConfigError(EEError):
    """Settings that cannot be loaded or are invalid."""

    exit_code = EXIT_USAGE


class NotFound(UsageError):
    """A named thing (IP, domain, operator, key) does not exist."""


class Conflict(UsageError):
    """The thing exists already, or the change is not allowed from the current state."""


class PermissionDenied(UsageError):
    """The actor's role does not allow the command."""


class SchemaOutdated(EEError):
    """The database schema is behind the code."""

    exit_code = EXIT_USAGE


class TemporaryFailure(EEError):
    """A dependency is down (database, PowerMTA, MailWizz, DNS): try again later."""

    exit_code = EXIT_TEMPFAIL


class JobFailed(EEError):
    """The job ran and failed (some items could not be processed)."""

    exit_code = EXIT_FAILED


def exit_code_for(error: BaseException) -> int:
    """Given any exception, return the exit code the CLI should use."""
    if isinstance(error, EEError):
        return error.exit_code
    return EXIT_FAILED
