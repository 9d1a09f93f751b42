"""Errors that reach the user as one clean line and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_CONFIG = 2
EXIT_CANNOT_RUN = 3
EXIT_LOCKED = 4  # another run holds this shop's lock; nothing was done (harmless for cron)


class SyncError(Exception):
    """Base of every expected error; `str(err)` is the line the user sees."""

    exit_code = EXIT_CANNOT_RUN


class ConfigError(SyncError):
    """A setting is missing or malformed: say which one and what is expected."""

    exit_code = EXIT_CONFIG


class CannotRun(SyncError):
    """The run cannot start or go on: authentication, reachability, lock."""

    exit_code = EXIT_CANNOT_RUN


class AuthError(CannotRun):
    """Credentials were refused; the message says what to fix."""


class Unreachable(CannotRun):
    """A host did not answer (DNS, connection, timeout after retries)."""


class LockHeld(CannotRun):
    """Another run for the same shop holds the lock."""

    exit_code = EXIT_LOCKED


class MassArchiveRefused(CannotRun):
    """The read would archive more of the live catalog than the guard allows."""


class HttpError(SyncError):
    """An HTTP answer we did not expect; keeps status, a redacted excerpt, request id."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "",
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.request_id = request_id
