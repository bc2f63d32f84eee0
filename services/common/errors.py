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

    def __init_subclass__(
        cls, *, status: int | None = None, title: str | None = None, **kwargs: Any
    ) -> None:
        """`class NotFound(CareLedgerError, status=404, title="Not found")`."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = extra
        self.audit: Any = None  # what a refused read touched, for the access log (never shown)


class NotFound(CareLedgerError, status=404, title="Not found"):
    """No such record for this caller's tenant (404)."""


class Conflict(CareLedgerError, status=409, title="Conflict"):
    """The command does not fit the aggregate's current state (409)."""


class InvalidTransition(Conflict, title="Invalid transition"):
    """A lifecycle step not allowed from the current status; names the allowed ones."""

    def __init__(self, what: str, current: str, requested: str, allowed: Iterable[str]) -> None:
        allowed_list = sorted(allowed)
        hint = ", ".join(allowed_list) if allowed_list else "none (final status)"
        super().__init__(
            f"{what} cannot go from '{current}' to '{requested}'; allowed from '{current}': {hint}",
            current=current,
            requested=requested,
            allowed=allowed_list,
        )


class StaleVersion(CareLedgerError, status=412, title="Precondition failed"):
    """If-Match named a version that is no longer current (412)."""


class RuleBroken(CareLedgerError, status=422, title="Unprocessable content"):
    """Input that parses but breaks a domain rule (422); `errors` names each field."""

    def __init__(self, detail: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(detail, errors=dict(errors or {}))


class TooLarge(CareLedgerError, status=413, title="Content too large"):
    """A request body or an event over the size the system accepts (413)."""


class Unauthorized(CareLedgerError, status=401, title="Unauthorized"):
    """No bearer token, or one this service does not accept (401)."""


class Forbidden(CareLedgerError, status=403, title="Forbidden"):
    """The caller may not do this (403)."""


class Unavailable(CareLedgerError, status=503, title="Service unavailable"):
    """A dependency (database, another service) did not answer (503)."""
