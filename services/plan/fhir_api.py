"""FHIR R4 JSON routes of the plan service, for EHRs (CarePlan, its history, Goal, search).

Every route reads through `reads.PlanReads`: the read policy and the access log apply.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from services.common.errors import RuleBroken
from services.common.fhir import fhir_response
from services.common.http.access import asked
from services.common.http.app import PageParams
from services.common.readmodels.query import Window
from services.plan import fhir
from services.plan.access import Reader
from services.plan.reads import PlanReads


def add_fhir_routes(router: APIRouter, reads: PlanReads) -> None:
    """FHIR R4 JSON views for EHRs."""

    @router.get("/fhir/CarePlan/{plan_id}", tags=["fhir"], summary="The plan as a CarePlan")
    def care_plan(request: Request, plan_id: UUID, caller: Reader) -> Response:
        return fhir_response(*reads.care_plan(asked(request), plan_id))

    @router.get(
        "/fhir/CarePlan/{plan_id}/_history/{version}",
        tags=["fhir"],
        summary="The CarePlan at one version",
    )
    def care_plan_version(
        request: Request,
        plan_id: UUID,
        version: Annotated[int, Depends(_version)],
        caller: Reader,
    ) -> Response:
        return fhir_response(*reads.care_plan(asked(request), plan_id, version))

    @router.get("/fhir/Goal/{goal_id}", tags=["fhir"], summary="One goal as a FHIR Goal")
    def goal(request: Request, goal_id: str, caller: Reader) -> Response:
        return fhir_response(*reads.goal(asked(request), goal_id))

    @router.get("/fhir/CarePlan", tags=["fhir"], summary="Search CarePlans by client id")
    def search(
        request: Request,
        caller: Reader,
        page: PageParams,
        subject: Annotated[str, Query(description="Patient/<id> or the client id")],
    ) -> Response:
        client = subject.removeprefix("Patient/")
        window = Window(limit=page.limit, offset=page.offset)
        resources, found = reads.many(
            asked(request), subject=client, window=window, render=fhir.care_plan
        )
        total = found.total
        base = str(request.base_url).rstrip("/")
        links = [("self", str(request.url))]
        following = page.offset + len(found.rows)
        if found.next_cursor is not None:  # more rows follow (the total stops counting at 1000)
            query = urlencode({"subject": subject, "limit": page.limit, "offset": following})
            links.append(("next", f"{base}/fhir/CarePlan?{query}"))
        return fhir_response(fhir.search_bundle(resources, total, base, links))


async def _version(version: str) -> int:
    """`_history/<version>`: a positive whole number."""
    if not version.isdigit() or not 1 <= int(version) < 2**31:
        raise RuleBroken("bad version", {"version": "give a version number of 1 or more"})
    return int(version)
