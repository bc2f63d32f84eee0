"""What the referral routes depend on: the application, the caller (by role), If-Match, keys."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Request, Response

from services.common.auth.callers import Caller, Role, allow
from services.common.http.app import IfMatch, set_etag
from services.referral.application import ReferralApplication
from services.referral.reads import shown_to

__all__ = ["IfMatch"]

REFERRERS = (Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN)
RECEIVING_SIDE = (Role.COORDINATOR, Role.INTEGRATION, Role.ADMIN)
READERS = (Role.COORDINATOR, Role.CLINICIAN, Role.COMPLIANCE, Role.INTEGRATION, Role.ADMIN)
COORDINATION = (Role.COORDINATOR, Role.COMPLIANCE, Role.ADMIN)
EHR_WRITERS = (Role.INTEGRATION, Role.COORDINATOR, Role.ADMIN)
KEY_NAMESPACE = uuid.UUID("0f6f1f0e-7c55-4f43-a0a4-2f8f3d3f6c11")


async def application(request: Request) -> ReferralApplication:
    """The one long-lived application the composition root put on the app."""
    app: ReferralApplication = request.app.state.application
    return app


Referrals = Annotated[ReferralApplication, Depends(application)]
Referrer = Annotated[Caller, Depends(allow(*REFERRERS))]
ReceivingSide = Annotated[Caller, Depends(allow(*RECEIVING_SIDE))]
Reader = Annotated[Caller, Depends(allow(*READERS))]
Coordination = Annotated[Caller, Depends(allow(*COORDINATION))]
Lead = Annotated[Caller, Depends(allow(Role.COORDINATOR, Role.ADMIN))]
WorklistReader = Annotated[Caller, Depends(allow(Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN))]
EhrWriter = Annotated[Caller, Depends(allow(*EHR_WRITERS))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def keyed_id(caller: Caller, key: str | None) -> UUID | None:
    """The id a create with this Idempotency-Key gets, so a retry finds the first one."""
    if not key:
        return None
    return uuid.uuid5(KEY_NAMESPACE, json.dumps([caller.tenant, caller.sub, key]))


def answer(
    response: Response, view: dict[str, Any], app: ReferralApplication, caller: Caller
) -> dict[str, Any]:
    """A referral view as the caller may see it (domain/read_policy.py), with its ETag."""
    set_etag(response, view["version"])
    return shown_to(app, caller.reader, view)
