"""Session routes of the plan service: record a session, resolve a confidence it holds.

An individual session inside couples work is checked against the consent service's agreement
in force (`services.plan.agreements`: the plan service asks as itself, naming the clinician).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from services.common.http import IfMatch, set_etag
from services.plan.access import Clinician
from services.plan.application import PlanApplication
from services.plan.schemas import CommandResult, ConfidenceResolution, SessionCreate


def add_session_routes(router: APIRouter, app: PlanApplication) -> None:
    @router.post(
        "/plans/{plan_id}/sessions",
        tags=["care"],
        status_code=201,
        response_model=CommandResult,
        summary="Record a session (individual ones in couples work under the agreement in force)",
    )
    def record_session(
        plan_id: UUID,
        body: SessionCreate,
        caller: Clinician,
        if_match: IfMatch,
        response: Response,
    ) -> Any:
        result = app.record_session(
            plan_id, ctx=caller.ctx, expected_version=if_match, **body.model_dump()
        )
        set_etag(response, result["version"])
        return result

    @router.post(
        "/plans/{plan_id}/sessions/{session_id}/confidence",
        tags=["care"],
        response_model=CommandResult,
        summary="Resolve a confidence held until a share-by date (shared, or no longer held)",
    )
    def resolve_confidence(
        plan_id: UUID,
        session_id: UUID,
        body: ConfidenceResolution,
        caller: Clinician,
        if_match: IfMatch,
        response: Response,
    ) -> Any:
        result = app.resolve_confidence(
            plan_id, str(session_id), ctx=caller.ctx, expected_version=if_match, **body.model_dump()
        )
        set_etag(response, result["version"])
        return result
