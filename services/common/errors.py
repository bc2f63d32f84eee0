"""Errors the domain and applications raise; http/app.py turns each into one problem+json status.

Pure Python on purpose: domain modules import these without importing any framework.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class CareLedgerError(Exception):
    """Base of every expected error; `detail` is safe to show a caller (ids only, no PHI)."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = extra
        self.audit: Any = None  # what a refused read touched, for the access log (never shown)


class NotFound(CareLedgerError):
    status = 404
    title = "Not found"


class Conflict(CareLedgerError):
    """The command does not fit the aggregate's current state (409)."""

    status = 409
    title = "Conflict"


class InvalidTransition(Conflict):
    """A lifecycle step not allowed from the current status; names the allowed ones."""

    title = "Invalid transition"

    def __init__(self, what: str, current: str, requested: str, allowed: Iterable[str]) -> None:
        allowed_list = sorted(allowed)
        hint = ", ".join(allowed_list) if allowed_list else "none (final status)"
        super().__init__(
            f"{what} cannot go from '{current}' to '{requested}'; allowed from '{current}': {hint}",
            current=current,
            requested=requested,
            allowed=allowed_list,
        )


class StaleVersion(CareLedgerError):
    """If-Match named a version that is no longer current (412)."""

    status = 412
    title = "Precondition failed"


class RuleBroken(CareLedgerError):
    """Input that parses but breaks a domain rule (422); `errors` names each field."""

    status = 422
    title = "Unprocessable content"

    def __init__(self, detail: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(detail, errors=dict(errors or {}))


class TooLarge(CareLedgerError):
    """A request body or an event over the size the system accepts (413)."""

    status = 413
    title = "Content too large"


class Unauthorized(CareLedgerError):
    """No bearer token, or one this service does not accept (401)."""

    status = 401
    title = "Unauthorized"


class Forbidden(CareLedgerError):
    status = 403
    title = "Forbidden"


class Unavailable(CareLedgerError):
    """A dependency (database, another service) did not answer (503)."""

    status = 503
    title = "Service unavailable"
