"""The plan service asks the consent service with its own credential, naming the reader.

Both APIs run in memory; the plan service's consent gate speaks HTTP to the consent API, so the
real decision point (the couple's sharing agreement) decides what a partner's portal shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from services.common.access.consent_gate import HttpConsentGate
from services.common.auth.service_identity import service_credential
from services.common.store.application import build_application
from services.consent.application import ConsentApplication
from services.consent.bootstrap import create_app as consent_api
from services.plan.agreements import HttpAgreementCheck
from services.plan.application import PlanApplication
from services.plan.bootstrap import create_app as plan_api
from tests.unit.plan.support_api_client import (
    MARK,
    SETTINGS,
    TOKENS,
    active_plan,
    couple_with_sams_material,
    headers,
    signed_agreement,
)
from tests.unit.plan.support_builders import ALEX, SAM, TENANT, THERAPIST


class Through(httpx.BaseTransport):
    """Sends the gate's requests to an in-process API."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        target = request.url.raw_path.decode("ascii")  # the path and its query
        answer = self.client.request(
            request.method, target, content=request.content, headers=dict(request.headers)
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def token(sub: str, roles: list[str], **claims: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.mint(sub, TENANT, roles, **claims)}"}


ALEX_PORTAL = token("portal-alex", ["client"], patient=ALEX)


Consent = tuple[ConsentApplication, TestClient]
Plans = tuple[PlanApplication, TestClient]


@pytest.fixture
def consent() -> Iterator[Consent]:
    app: ConsentApplication = build_application(ConsentApplication, None)
    with TestClient(consent_api(SETTINGS, app)) as client:
        yield app, client
    app.close()


@pytest.fixture
def agreement_questions(consent: Consent) -> Through:
    """The plan service's questions about the couple's agreement, as the consent API got them."""
    return Through(consent[1])


@pytest.fixture
def plans(consent: Consent, agreement_questions: Through) -> Iterator[Plans]:
    app: PlanApplication = build_application(PlanApplication, None)
    gate = HttpConsentGate("http://consent", transport=Through(consent[1]))
    credential = service_credential(SETTINGS, "plan", calls="consent")
    app.agreements = HttpAgreementCheck(
        lambda: "http://consent", credential, transport=agreement_questions
    )
    with TestClient(plan_api(SETTINGS, app, gate=gate)) as client:
        yield app, client
    app.close()


@pytest.mark.parametrize(("mode", "shown"), [("no-secrets", True), ("strict", False)])
def test_a_partners_portal_sees_the_other_partners_session_as_the_agreement_decides(
    consent: Consent,
    plans: Plans,
    mode: str,
    shown: bool,
) -> None:
    consents, consent_client = consent
    plan_app, plan_client = plans
    signed_agreement(consent_client, mode)
    plan_id = couple_with_sams_material(plan_client)

    answer = plan_client.get(f"/plans/{plan_id}", headers=ALEX_PORTAL)
    assert answer.status_code == 200, answer.text
    assert (MARK in answer.text) is shown

    decided = consent_client.get(
        "/decisions", params={"person_id": SAM}, headers=headers("compliance")
    ).json()["items"]
    assert [(d["actor_id"], d["recipient"]["id"]) for d in decided] == [("portal-alex", ALEX)]
    meta = consents.history_records(UUID(decided[0]["decision_id"]))[0]["meta"]
    assert (meta["actor_id"], meta["actor_role"]) == ("service:plan", "integration")
    read = plan_client.get(
        "/access-log", params={"user": "portal-alex"}, headers=headers("compliance")
    ).json()["items"][0]
    access_meta = plan_app.history_records(UUID(read["id"]))[0]["meta"]
    assert access_meta["correlation_id"] == meta["correlation_id"]


def test_only_a_service_credential_asks_for_someone_else(consent: Consent) -> None:
    _, client = consent
    ask = {
        "person_id": SAM,
        "recipient": {"kind": "partner", "id": ALEX},
        "purpose": "TREAT",
        "categories": ["individual-session"],
        "labels": ["PSY"],
    }
    named = {"X-On-Behalf-Of": "portal-alex"}
    service = token("service:plan", ["integration"], scope="system/Consent.r")
    refused = {
        "a client": ALEX_PORTAL,
        "a clinician naming someone": {**headers(), **named},
        "an integration token without the scope": {**token("ehr", ["integration"]), **named},
        "a service naming nobody": service,
    }
    for who, sent in refused.items():
        assert client.post("/decisions", json=ask, headers=sent).status_code == 403, who
    asked = client.post("/decisions", json=ask, headers={**service, **named})
    assert asked.status_code == 201, asked.text
    assert asked.json()["actor_id"] == "portal-alex"


def test_a_session_is_checked_against_the_agreement_as_the_plan_service_for_the_clinician(
    consent: Consent, plans: Plans, agreement_questions: Through
) -> None:
    _, consent_client = consent
    _, plan_client = plans
    signed_agreement(consent_client, "no-secrets")
    plan_id = active_plan(plan_client)
    session = {
        "format": "individual",
        "modality": "in-person",
        "held_on": "2026-01-12",
        "partner_id": SAM,
        "focus_issues": ["trust"],
    }
    recorded = plan_client.post(
        f"/plans/{plan_id}/sessions",
        json=session,
        headers=headers(**{"X-Correlation-Id": "flow-7"}),
    )
    assert recorded.status_code == 201, recorded.text
    (asked,) = agreement_questions.seen
    claims = TOKENS.verify(asked.headers["authorization"].removeprefix("Bearer "))
    assert (claims["sub"], claims["roles"]) == ("service:plan", ["integration"])
    assert (asked.headers["x-on-behalf-of"], asked.headers["x-correlation-id"]) == (
        THERAPIST,
        "flow-7",
    )


def test_only_a_service_credential_reads_an_agreement_for_someone_else(consent: Consent) -> None:
    _, client = consent
    signed_agreement(client, "strict")
    couple = {"partner_id": [ALEX, SAM]}
    service = token("service:plan", ["integration"], scope="system/Consent.r")
    named = {"X-On-Behalf-Of": THERAPIST}
    refused = {
        "a clinician naming someone": {**headers(), **named},
        "a service naming nobody": service,
    }
    for who, sent in refused.items():
        answer = client.get("/agreements", params=couple, headers=sent)
        assert answer.status_code == 403, who
        assert "X-On-Behalf-Of" in answer.json()["detail"], who
    read = client.get("/agreements", params=couple, headers={**service, **named})
    assert read.status_code == 200, read.text
