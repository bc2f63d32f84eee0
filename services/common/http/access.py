"""The access log over HTTP: refusals recorded by the error handler, and `GET /access-log`.

Each service installs one `AccessLog` on its app (`install_access_log`). A read route records
what it let through itself, before it answers (services/<service>/reads.py); a refused read
(401, 403, or 404 of a record of another practice) is recorded here, by the one problem+json
handler, before the problem leaves. Compliance reads the log as JSON, CSV or FHIR AuditEvent;
that read is itself an access event.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle

from services.common.access.log import AccessLog
from services.common.access.log import Request as Asked
from services.common.access.reads import AccessLogSource, AccessQuery, access_log_source
from services.common.auth.callers import Caller, Role, allow
from services.common.errors import CareLedgerError, RuleBroken
from services.common.fhir import FHIR_JSON
from services.common.viewer import Touched

DICOM = "http://dicom.nema.org/resources/ontology/DCM"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CSV_COLUMNS = (
    "timestamp",
    "service",
    "outcome",
    "status",
    "view",
    "sub",
    "roles",
    "on_behalf_of",
    "purpose",
    "resource_type",
    "records",
    "clients",
    "route",
    "break_glass",
    "id",
)


def asked(request: Request) -> Asked:
    """Who asked and by which route (the route pattern, never the raw path)."""
    route = request.scope.get("route")
    pattern = str(getattr(route, "path", request.url.path))
    return Asked(
        route=f"{request.method} {pattern}",
        correlation_id=getattr(request.state, "correlation_id", None) or "",
        viewer=getattr(request.state, "viewer", None),
    )


def audited(request: Request) -> AccessLog | None:
    log: AccessLog | None = getattr(request.app.state, "access_log", None)
    return log


def record_read(request: Request, touched: Touched) -> None:
    """Commit the access event of a read its route is about to answer (before it answers)."""
    log = audited(request)
    if log is not None:
        log.record(asked(request), touched)


async def record_refusal(request: Request, exc: CareLedgerError) -> None:
    """Record a refused read (401, 403, or a 404 that names another practice's record)."""
    log = audited(request)
    audit = getattr(exc, "audit", None)
    if log is None or request.method != "GET":
        return
    if exc.status not in (401, 403) and audit is None:
        return
    touched = audit if isinstance(audit, Touched) else Touched(resource_type=_resource(request))
    await run_in_threadpool(log.record, asked(request), touched, status=exc.status)


def _resource(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched")).strip("/").split("/")[0] or "unknown"


def install_access_log(api: FastAPI, service: str, application: Any) -> AccessLog:
    """Give the API its access log (in `application`'s store) and the routes that read it."""
    log = AccessLog(service, application)
    api.state.access_log = log
    api.include_router(access_log_router(log, access_log_source(application), application))
    return log


def _when(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RuleBroken("bad date", {name: "give an ISO 8601 date or date-time"}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def access_log_router(log: AccessLog, source: AccessLogSource, store: Any) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/access-log",
        tags=["access log"],
        summary="Who read or tried to read which records (compliance; JSON, CSV or FHIR)",
        response_model=None,
        responses={200: {"content": {"application/json": {}, "text/csv": {}, FHIR_JSON: {}}}},
    )
    def access_log(
        request: Request,
        caller: Annotated[Caller, Depends(allow(Role.COMPLIANCE))],
        patient: Annotated[str | None, Query(max_length=200)] = None,
        user: Annotated[str | None, Query(max_length=200)] = None,
        start: Annotated[str | None, Query(alias="from", description="ISO 8601, inclusive")] = None,
        end: Annotated[str | None, Query(alias="to", description="ISO 8601, exclusive")] = None,
        outcome: Literal["success", "refused"] | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
        format: Literal["json", "csv", "fhir"] = "json",
    ) -> dict[str, Any] | Response:
        query = AccessQuery(
            tenant=caller.tenant,
            patient=patient,
            user=user,
            start=_when(start, "from"),
            end=_when(end, "to"),
            outcome=outcome,
            offset=offset,
            limit=limit,
        )
        rows, total = source.find(store, query)
        clients = {c for r in rows for c in r["what"]["clients"]}
        ids = [(str(r["id"]), 1) for r in rows]
        log.record(asked(request), Touched("AuditEvent", ids, clients, view="full"))
        if format == "csv":
            return Response(as_csv(rows), media_type="text/csv; charset=utf-8")
        if format == "fhir":
            bundle = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": total,
                "entry": [{"resource": audit_event(r)} for r in rows] or None,
            }
            body = Bundle.model_validate(bundle).model_dump_json(exclude_none=True)
            return Response(body, media_type=FHIR_JSON)
        following = offset + len(rows)
        return {
            "items": rows,
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_offset": following if following < total else None,
        }

    return router


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        who, what = r["who"], r["what"]
        writer.writerow(
            [
                r["timestamp"],
                r["service"],
                r["outcome"],
                r["status"],
                r["view"] or "",
                who["sub"],
                " ".join(who["roles"]),
                who["on_behalf_of"] or "",
                r["purpose"],
                what["resource_type"],
                " ".join(f"{x['id']}@{x['version']}" for x in what["records"]),
                " ".join(what["clients"]),
                r["route"],
                str(r["break_glass"]).lower(),
                r["id"],
            ]
        )
    return out.getvalue()


def audit_event(row: dict[str, Any]) -> dict[str, Any]:
    """One access event as a FHIR R4 AuditEvent: type 110110 Patient Record, read/search-type."""
    who, what = row["who"], row["what"]
    interaction = "read" if len(what["records"]) == 1 else "search-type"
    entities: list[dict[str, Any]] = [
        {
            "what": {"reference": f"{what['resource_type']}/{x['id']}"},
            "detail": [{"type": "version", "valueString": str(x["version"])}],
        }
        for x in what["records"]
    ]
    entities += [
        {"what": {"reference": f"Patient/{c}"}, "role": {"code": "1"}} for c in what["clients"]
    ]
    resource = {
        "resourceType": "AuditEvent",
        "id": row["id"],
        "type": {"system": DICOM, "code": "110110", "display": "Patient Record"},
        "subtype": [{"system": RESTFUL, "code": interaction, "display": interaction}],
        "action": "R",
        "recorded": row["timestamp"],
        "outcome": "0" if row["outcome"] == "success" else "4",
        "outcomeDesc": f"HTTP {row['status']}" + (f", {row['view']}" if row["view"] else ""),
        "purposeOfEvent": [{"coding": [{"system": ACT_REASON, "code": row["purpose"]}]}],
        "agent": [
            {
                "who": {"identifier": {"value": who["sub"] or "anonymous"}},
                "role": [{"text": r} for r in who["roles"]] or None,
                "requestor": True,
                "altId": who["on_behalf_of"],
            }
        ],
        "source": {
            "observer": {"display": f"careledger {row['service']} service"},
            "site": row["route"],
        },
        "entity": entities or None,
    }
    return json.loads(AuditEvent.model_validate(resource).model_dump_json(exclude_none=True))  # type: ignore[no-any-return]
