"""What the consent routes depend on: the application, the caller (by role), If-Match, dates."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response

from services.common.auth.callers import Caller, Role, allow
from services.common.auth.service_identity import ON_BEHALF_OF
from services.common.errors import RuleBroken
from services.common.http.app import IfMatch, set_etag
from services.common.validation import moment_in_range
from services.consent.application import ConsentApplication

__all__ = ["IfMatch"]


async def application(request: Request) -> ConsentApplication:
    """The one long-lived application the composition root put on the app."""
    app: ConsentApplication = request.app.state.application
    return app


Consents = Annotated[ConsentApplication, Depends(application)]
Writer = Annotated[Caller, Depends(allow(Role.CLINICIAN, Role.COMPLIANCE, Role.ADMIN))]
# Staff ask for themselves; a service credential asks for the end caller it names.
Asker = Annotated[Caller, Depends(allow(Role.CLINICIAN, Role.COORDINATOR, Role.INTEGRATION))]
OnBehalfOf = Annotated[
    str | None,
    Header(
        alias=ON_BEHALF_OF,
        max_length=200,
        description="a service credential only: the caller whose read asks the question",
    ),
]
Discloser = Annotated[Caller, Depends(allow(Role.CLINICIAN))]
LateRecorder = Annotated[Caller, Depends(allow(Role.CLINICIAN, Role.COMPLIANCE))]
Reader = Annotated[
    Caller, Depends(allow(Role.CLINICIAN, Role.COMPLIANCE, Role.INTEGRATION, Role.ADMIN))
]
Compliance = Annotated[Caller, Depends(allow(Role.COMPLIANCE))]
# Every staff role; a client's own token reads none of the consent service's records.
Staff = Annotated[Caller, Depends(allow(*(r for r in Role if r is not Role.CLIENT)))]
Auditor = Annotated[Caller, Depends(allow(Role.COMPLIANCE, Role.INTEGRATION))]
From = Annotated[str | None, Query(alias="from", description="ISO 8601 date or date-time")]
To = Annotated[str | None, Query(alias="to", description="ISO 8601, exclusive")]


def sent(response: Response, data: dict[str, Any]) -> dict[str, Any]:
    """A view with its version as the ETag."""
    set_etag(response, int(data["version"]))
    return data


def when(value: str | None, name: str) -> dt.datetime | None:
    """An ISO 8601 date (midnight UTC) or date-time (UTC when no offset); 422 naming the field."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RuleBroken(
            f"'{name}' is not a date",
            errors={name: "use ISO 8601: 2026-01-31 or 2026-01-31T09:00Z"},
        ) from None
    return moment_in_range(name, parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC))


def listed(values: list[Any] | None) -> list[str] | None:
    """Enum values as their strings (None stays None)."""
    return None if values is None else [str(v) for v in values]
