"""Session routes of the plan service: record a session, resolve a confidence it holds.

An individual session inside couples work is checked against the consent service's agreement
in force (`services.plan.agreements`: the plan service asks as itself, naming the clinician).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from services.plan.deps import Clinician, OnPlan
from services.plan.domain.commands import RecordSession, ResolveConfidence
from services.plan.schemas import CommandResult, ConfidenceResolution, SessionCreate

router = APIRouter(tags=["care"])


@router.post(
    "/plans/{plan_id}/sessions",
    status_code=201,
    response_model=CommandResult,
    summary="Record a session (individual ones in couples work under the agreement in force)",
)
def record_session(body: SessionCreate, caller: Clinician, on: OnPlan) -> Any:
    return on.run(on.plans.record_session, RecordSession(**body.model_dump()), caller)


@router.post(
    "/plans/{plan_id}/sessions/{session_id}/confidence",
    response_model=CommandResult,
    summary="Resolve a confidence held until a share-by date (shared, or no longer held)",
)
def resolve_confidence(
    session_id: UUID, body: ConfidenceResolution, caller: Clinician, on: OnPlan
) -> Any:
    return on.run(
        on.plans.resolve_confidence,
        ResolveConfidence(session_id=str(session_id), **body.model_dump()),
        caller,
    )
