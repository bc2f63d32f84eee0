"""What the plan routes depend on: the application, the reads, the caller and If-Match.

The composition root (bootstrap.py) puts one long-lived PlanApplication and its PlanReads on
`app.state`; routes take them as `Plans` and `Reads`. Who may call is in access.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response

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


__all__ = [
    "Clinician",
    "Compliance",
    "IfMatch",
    "PageParams",
    "Plans",
    "Reader",
    "Reads",
    "Scheduler",
    "written",
]
