"""An individual session inside couples work rests on the agreement in force for both partners;
under limited-secrets a confidence can be held until a share-by date, on the worklist when due."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from contracts.records import META_KEY
from services.common.auth.service_identity import service_credential
from services.common.errors import Conflict, Forbidden, NotFound, RuleBroken, Unavailable
from services.plan.agreements import HttpAgreementCheck, InMemoryAgreements
from services.plan.application import PlanApplication
from services.plan.domain.commands import RecordSession, ResolveConfidence
from tests.unit.plan.support_api_client import SETTINGS, TOKENS, active_plan, headers
from tests.unit.plan.support_builders import (
    AGREEMENT,
    ALEX,
    INDIVIDUAL_THERAPIST,
    SAM,
    TENANT,
    agreement_view,
    individual_session,
    joint_session,
)

DAY = dt.date(2026, 1, 12)
PLAN_SERVICE = service_credential(SETTINGS, "plan", calls="consent")


def under(app: PlanApplication, view: dict[str, Any] | None) -> None:
    agreements = InMemoryAgreements()
    if view is not None:
        agreements.put(TENANT, view)
    app.agreements = agreements


def test_without_an_agreement_an_individual_session_is_a_409_naming_the_missing_one(
    app, ctx, plan_id
):
    under(app, None)
    with pytest.raises(Conflict) as refused:
        app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**individual_session()))
    assert f"no information-sharing agreement between {ALEX} and {SAM}" in refused.value.detail
    assert refused.value.extra["missing_agreement"]["partner_ids"] == [ALEX, SAM]
    assert app.get_plan(plan_id, tenant=TENANT)["sessions"] == []


def test_an_agreement_one_partner_has_not_signed_is_not_in_force(app, ctx, plan_id):
    under(app, agreement_view(signed=(ALEX,)))
    with pytest.raises(Conflict) as refused:
        app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**individual_session()))
    missing = refused.value.extra["missing_agreement"]
    assert (missing["agreement_id"], missing["unsigned"]) == (AGREEMENT, [SAM])
    assert f"{SAM} has not signed" in refused.value.detail


def test_the_session_stores_the_agreement_in_force_and_its_terms_version(app, ctx, plan_id):
    under(app, agreement_view(terms_version=3))
    app.record_session(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordSession(**individual_session(sharing_agreement_id=None)),
    )
    session = app.get_plan(plan_id, tenant=TENANT)["sessions"][0]
    assert (session["sharing_agreement_id"], session["sharing_agreement_version"]) == (AGREEMENT, 3)


def test_naming_another_agreement_than_the_one_in_force_is_a_409(app, ctx, plan_id):
    with pytest.raises(Conflict) as refused:
        app.record_session(
            ctx=ctx,
            plan_id=plan_id,
            command=RecordSession(**individual_session(sharing_agreement_id="other")),
        )
    assert refused.value.extra["agreement_in_force"] == AGREEMENT


def test_an_agreement_of_the_person_with_someone_else_does_not_count(app, ctx, plan_id):
    under(app, {**agreement_view(), "partner_ids": [ALEX, "client-earlier-partner"]})
    with pytest.raises(Conflict):
        app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**individual_session()))


def test_a_joint_session_needs_no_agreement_and_names_none(app, ctx, plan_id):
    under(app, None)
    app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**joint_session()))
    with pytest.raises(RuleBroken) as broken:
        app.record_session(
            ctx=ctx,
            plan_id=plan_id,
            command=RecordSession(**joint_session(sharing_agreement_id=AGREEMENT)),
        )
    assert "sharing_agreement_id" in broken.value.extra["errors"]


@pytest.mark.parametrize(
    ("mode", "share_by"),
    [
        ("no-secrets", DAY),
        ("strict", DAY),
        ("limited-secrets", DAY - dt.timedelta(days=1)),
        ("limited-secrets", DAY + dt.timedelta(days=366)),
    ],
)
def test_a_share_by_date_needs_limited_secrets_and_a_date_within_a_year(
    app, ctx, plan_id, mode, share_by
):
    under(app, agreement_view(mode))
    with pytest.raises(RuleBroken) as broken:
        app.record_session(
            ctx=ctx, plan_id=plan_id, command=RecordSession(**individual_session(share_by=share_by))
        )
    assert "share_by" in broken.value.extra["errors"]


def held_confidence(app: PlanApplication, ctx: Any, plan_id: UUID, share_by: dt.date) -> str:
    under(app, agreement_view("limited-secrets"))
    held = individual_session(share_by=share_by, clinician_id=INDIVIDUAL_THERAPIST)
    return str(
        app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**held))["session_id"]
    )


def test_a_confidence_is_on_the_worklist_a_week_before_its_date_and_once_overdue(app, ctx, plan_id):
    session_id = held_confidence(app, ctx, plan_id, dt.date(2026, 2, 1))
    assert app.confidences_due(TENANT, today=dt.date(2026, 1, 24)) == []
    due = app.confidences_due(TENANT, today=dt.date(2026, 1, 25))
    assert [(d["plan_id"], d["session_id"], d["partner_id"]) for d in due] == [
        (str(plan_id), session_id, ALEX)
    ]
    assert due[0]["overdue"] is False
    late = app.confidences_due(TENANT, today=dt.date(2026, 2, 4))[0]
    assert (late["overdue"], late["days_overdue"]) == (True, 3)


def test_the_worklist_is_the_clinicians_own_when_asked(app, ctx, plan_id):
    held_confidence(app, ctx, plan_id, dt.date(2026, 2, 1))
    on = dt.date(2026, 2, 1)
    assert len(app.confidences_due(TENANT, today=on, clinician_id=INDIVIDUAL_THERAPIST)) == 1
    assert app.confidences_due(TENANT, today=on, clinician_id="clin-other") == []


def test_a_resolved_confidence_leaves_the_worklist_and_cannot_be_resolved_twice(app, ctx, plan_id):
    session_id = held_confidence(app, ctx, plan_id, dt.date(2026, 2, 1))
    app.resolve_confidence(
        ctx=ctx,
        plan_id=plan_id,
        command=ResolveConfidence(
            session_id=session_id, outcome="shared", resolved_on=dt.date(2026, 1, 30)
        ),
    )
    assert app.confidences_due(TENANT, today=dt.date(2026, 2, 4)) == []
    session = app.get_plan(plan_id, tenant=TENANT)["sessions"][0]
    assert session["confidence"] == {"outcome": "shared", "resolved_on": dt.date(2026, 1, 30)}
    with pytest.raises(Conflict):
        app.resolve_confidence(
            ctx=ctx,
            plan_id=plan_id,
            command=ResolveConfidence(
                session_id=session_id, outcome="no-longer-held", resolved_on=dt.date(2026, 2, 1)
            ),
        )


def test_only_a_held_confidence_of_a_known_session_can_be_resolved(app, ctx, plan_id):
    session_id = app.record_session(
        ctx=ctx, plan_id=plan_id, command=RecordSession(**individual_session())
    )["session_id"]
    with pytest.raises(Conflict):
        app.resolve_confidence(
            ctx=ctx,
            plan_id=plan_id,
            command=ResolveConfidence(session_id=session_id, outcome="shared", resolved_on=DAY),
        )
    with pytest.raises(NotFound):
        app.resolve_confidence(
            ctx=ctx,
            plan_id=plan_id,
            command=ResolveConfidence(session_id="nope", outcome="shared", resolved_on=DAY),
        )


def test_the_api_answers_409_problem_json_naming_the_missing_agreement(
    app: PlanApplication, client: TestClient
):
    under(app, None)
    plan_id = active_plan(client)
    body = {
        "format": "individual",
        "partner_id": ALEX,
        "modality": "telehealth",
        "held_on": "2026-01-12",
        "focus_issues": ["safety"],
    }
    answer = client.post(f"/plans/{plan_id}/sessions", json=body, headers=headers())
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["missing_agreement"]["partner_ids"] == [ALEX, SAM]


def test_the_confidence_worklist_and_resolution_answer_over_http(
    app: PlanApplication, client: TestClient
):
    under(app, agreement_view("limited-secrets"))
    plan_id = active_plan(client)
    body = {
        "format": "individual",
        "partner_id": SAM,
        "modality": "in-person",
        "held_on": "2026-01-12",
        "focus_issues": ["trust"],
        "share_by": "2026-01-26",
    }
    created = client.post(f"/plans/{plan_id}/sessions", json=body, headers=headers())
    assert created.status_code == 201, created.text
    session_id = created.json()["session_id"]
    due = client.get("/worklists/confidences-due", params={"on": "2026-01-20"}, headers=headers())
    assert [i["session_id"] for i in due.json()["items"]] == [session_id]
    coordinator = client.get("/worklists/confidences-due", headers=headers("coordinator"))
    assert coordinator.status_code == 403
    resolved = client.post(
        f"/plans/{plan_id}/sessions/{session_id}/confidence",
        json={"outcome": "shared", "resolved_on": "2026-01-19"},
        headers=headers(),
    )
    assert resolved.status_code == 200, resolved.text
    after = client.get("/worklists/confidences-due", params={"on": "2026-01-27"}, headers=headers())
    assert after.json()["items"] == []


def consent_answering(status: int, body: Any, seen: list[httpx.Request]) -> HttpAgreementCheck:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return HttpAgreementCheck(
        lambda: "http://consent", PLAN_SERVICE, transport=httpx.MockTransport(answer)
    )


def test_the_http_check_asks_as_the_plan_service_naming_the_clinician_in_the_commands_flow():
    seen: list[httpx.Request] = []
    found = consent_answering(200, agreement_view(), seen).in_force(
        TENANT, [ALEX, SAM], on_behalf_of="clinician-1", correlation_id="flow-1"
    )
    assert (found.agreement_id, found.terms_version, found.mode) == (AGREEMENT, 1, "no-secrets")
    assert seen[0].url.path == "/agreements"
    assert seen[0].url.params.get_list("partner_id") == [ALEX, SAM]
    claims = TOKENS.verify(seen[0].headers["authorization"].removeprefix("Bearer "))
    assert (claims["sub"], claims["tenant"], claims["roles"]) == (
        "service:plan",
        TENANT,
        ["integration"],
    )
    assert seen[0].headers["x-on-behalf-of"] == "clinician-1"
    assert seen[0].headers["x-correlation-id"] == "flow-1"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, {"detail": "none"}, Conflict),
        (200, agreement_view(signed=(SAM,)), Conflict),
        (403, {}, Forbidden),
        (503, {}, Unavailable),
        (200, ["not", "an", "agreement"], Unavailable),
    ],
)
def test_the_http_check_turns_each_answer_into_a_clear_error(status, body, error):
    with pytest.raises(error):
        consent_answering(status, body, []).in_force(TENANT, [ALEX, SAM], on_behalf_of="c")


def test_a_consent_service_that_does_not_answer_is_a_503():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    check = HttpAgreementCheck(
        lambda: "http://consent", PLAN_SERVICE, transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(Unavailable):
        check.in_force(TENANT, [ALEX, SAM], on_behalf_of="c")
    with pytest.raises(Unavailable):
        HttpAgreementCheck(lambda: "", PLAN_SERVICE).in_force(TENANT, [ALEX, SAM], on_behalf_of="c")


def test_a_session_stored_before_terms_versions_were_kept_reads_back_with_none(
    app: PlanApplication, ctx, plan_id
):
    from eventsourcing.persistence import StoredEvent

    plan = app.plan(plan_id, TENANT)
    old = {
        "timestamp": plan.modified_on,
        "session_id": "0b5c7a52-1f0e-4c1a-9a55-3d4f2a1b9c01",
        "format": "individual",
        "modality": "in-person",
        "held_on": DAY,
        "partner_id": ALEX,
        "attendees": [ALEX],
        "clinician_id": None,
        "check_ins": [],
        "focus_issues": ["trust"],
        "homework": [],
        "sharing_agreement_id": "agreement-7",
        "security_labels": ["PSY"],
        META_KEY: ctx.as_metadata(),
    }
    stored = StoredEvent(
        plan.id,
        plan.version + 1,
        "careledger.plan.SessionRecorded",
        app.mapper.transcoder.encode(old),
    )
    app.recorder.insert_events([stored])
    (session,) = app.get_plan(plan_id, tenant=TENANT)["sessions"]
    assert (session["sharing_agreement_id"], session["sharing_agreement_version"]) == (
        "agreement-7",
        None,
    )
    assert session["share_by"] is None and session["confidence"] is None
    assert app.history_records(plan_id)[-1]["type"] == "careledger.plan.SessionRecorded.v2"
