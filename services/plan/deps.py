"""What the plan routes depend on: the application, the reads, the caller and If-Match.

The composition root (bootstrap.py) puts one long-lived PlanApplication and its PlanReads on
`app.state`; routes take them as `Plans` and `Reads`. Who may call is in access.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request, Response

from services.common.auth.callers import Caller
from services.common.http.app import IfMatch, PageParams, set_etag
from services.plan.access import Clinician, Compliance, Reader, Scheduler
from services.plan.application import PlanApplication
from services.plan.reads import PlanReads


def plans(request: Request) -> PlanApplication:
    found: PlanApplication = request.app.state.application
    return found


def plan_reads(request: Request) -> PlanReads:
    """Every read goes through these: the read policy, consent and the access log."""
    found: PlanReads = request.app.state.reads
    return found


Plans = Annotated[PlanApplication, Depends(plans)]
Reads = Annotated[PlanReads, Depends(plan_reads)]


def written(response: Response, result: dict[str, Any], location: str | None = None) -> Any:
    """A command's answer: the plan's new version as its ETag, and where a new thing is."""
    set_etag(response, result["version"])
    if location:
        response.headers["Location"] = location
    return result


@dataclass(frozen=True)
class CommandOn:
    """A command on one plan: its id, the application, If-Match and the response it answers on."""

    plan_id: UUID
    plans: PlanApplication
    if_match: int | None
    response: Response

    def run(
        self, method: Callable[..., dict[str, Any]], command: object, caller: Caller
    ) -> dict[str, Any]:
        """`method` (a command method of the application) as `caller`, with If-Match; answers
        with the plan's new version as the ETag."""
        result = method(
            ctx=caller.ctx, plan_id=self.plan_id, command=command, expected_version=self.if_match
        )
        written(self.response, result)
        return result


def command_on(plan_id: UUID, plans: Plans, if_match: IfMatch, response: Response) -> CommandOn:
    return CommandOn(plan_id, plans, if_match, response)


OnPlan = Annotated[CommandOn, Depends(command_on)]


__all__ = [
    "Clinician",
    "Compliance",
    "IfMatch",
    "OnPlan",
    "PageParams",
    "Plans",
    "Reader",
    "Reads",
    "Scheduler",
    "written",
]
