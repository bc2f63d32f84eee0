"""The consent service through HTTP on the real PostgreSQL, its events relayed to real Kafka.

Each test gets a private PostgreSQL schema, event topic, checkpoint topic and transactional id
(the relay tests' `make_world`), so nothing here touches the shared `careledger.*` topics. The
API runs in process (FastAPI TestClient) on a ConsentApplication stored in that schema; the relay
runs in a thread and publishes exactly what the store committed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from contracts.schemas import default_registry
from services.common.auth.callers import TokenService
from services.common.readmodels.postgres import PostgresSummaries
from services.common.relay.config import RelayConfig
from services.common.relay.publisher import Relay
from services.consent.application import ConsentApplication
from services.consent.bootstrap import build_consents, close_consents, create_app
from tests.integration.support_relay import RelayWorld, make_world, read_topic

pytestmark = pytest.mark.integration
TENANT = "practice-it"
DETOX = {"kind": "organization", "id": "org-detox", "name": "Harbor Detox"}
SISTER = {"kind": "family-member", "id": "person-sister"}
REQUIRED = (
    "disclosure_id",
    "disclosed_at",
    "recipient",
    "description",
    "purpose",
    "labels",
    "disclosed_by",
    "decision_id",
    "consent_id",
    "regimes",
)


@pytest.fixture
def world(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, kafka_bootstrap, tmp_path)


@pytest.fixture
def consent(world: RelayWorld) -> Iterator[ConsentApplication]:
    cls = type("ConsentOnStack", (ConsentApplication,), {"name": world.store})
    app = build_consents(world.settings, application_class=cls, create_table=True)
    yield app
    close_consents(app)


@pytest.fixture
def client(world: RelayWorld, consent: ConsentApplication) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings, consent)) as test_client:
        yield test_client


def auth(world: RelayWorld, role: str, sub: str) -> dict[str, str]:
    token = TokenService(world.settings).mint(sub, TENANT, [role])
    return {"Authorization": f"Bearer {token}"}


def relay_everything(world: RelayWorld, consent: ConsentApplication) -> None:
    """Run the relay until it has published every committed event, then stop it."""
    config = RelayConfig(
        service=world.store,
        topic=world.topic,
        transactional_id=world.transactional_id,
        checkpoint_topic=world.checkpoint_topic,
        checkpoint_key=world.store,
        access_topic=world.access_topic,
        domain_modules=("services.consent.domain",),
    )
    relay = Relay(config, world.settings)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            relay.run()
        except BaseException as exc:  # surfaced below, with the test's failure
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    last = consent.recorder.max_notification_id() or 0
    deadline = time.monotonic() + 90
    while relay.position < last and time.monotonic() < deadline and not errors:
        time.sleep(0.1)
    relay.stop.set()
    thread.join(timeout=30)
    assert not errors, f"the relay failed: {errors[0]!r}"
    assert relay.position >= last, "the relay did not publish every event in time"


def post(client: TestClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def part2_consent(client: TestClient, clinician: dict[str, str]) -> dict[str, Any]:
    body = {
        "person_id": "person-a",
        "part2": True,
        "disclosers": ["practice-it"],
        "description": "withdrawal history and intake assessment",
        "recipients": [DETOX],
        "purposes": ["TREAT"],
        "categories": ["substance-use", "assessment"],
        "labels": ["42CFRPart2", "ETH"],
        "start": "2026-01-01",
        "end": "2030-01-01",
        "revocation_right_acknowledged": True,
        "signature": {"signed_by": "person-a", "signed_on": "2026-01-01"},
    }
    created = post(client, "/consents", body, clinician)
    return dict(post(client, f"/consents/{created['consent_id']}/activation", {}, clinician))


def decision_body(recipient: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "person_id": "person-a",
        "recipient": recipient,
        "purpose": "TREAT",
        "categories": ["substance-use"],
        "labels": ["42CFRPart2"],
        **extra,
    }


def test_a_strict_agreement_denies_a_partner_and_the_denial_is_on_kafka(
    world: RelayWorld, consent: ConsentApplication, client: TestClient
) -> None:
    clinician = auth(world, "clinician", "clin-1")
    agreement = post(
        client,
        "/agreements",
        {"partner_ids": ["person-a", "person-b"], "mode": "strict"},
        clinician,
    )
    for partner in ("person-a", "person-b"):
        post(
            client,
            f"/agreements/{agreement['agreement_id']}/signatures",
            {"partner_id": partner},
            clinician,
        )
    request = {
        "person_id": "person-a",
        "recipient": {"kind": "partner", "id": "person-b"},
        "purpose": "TREAT",
        "categories": ["individual-session"],
        "context": {"individual_session": True},
    }
    decision = post(client, "/decisions", request, clinician)
    assert decision["outcome"] == "DENY"
    assert decision["basis"]["rule"] == "agreement-strict"

    relay_everything(world, consent)
    records = read_topic(world.settings.kafka_bootstrap, world.topic, default_registry())
    denials = [r for r in records if r.ce_type == "careledger.consent.DecisionRecorded.v3"]
    assert [(r.subject, r.body["outcome"]) for r in denials] == [(decision["decision_id"], "DENY")]
    assert denials[0].tenant == TENANT
    assert denials[0].body["basis"]["agreement_id"] == agreement["agreement_id"]


def test_a_part2_consent_for_detox_permits_the_program_and_denies_a_family_member(
    world: RelayWorld, client: TestClient
) -> None:
    clinician = auth(world, "clinician", "clin-1")
    consent = part2_consent(client, clinician)
    permit = post(client, "/decisions", decision_body(DETOX), clinician)
    assert permit["outcome"] == "PERMIT"
    assert permit["basis"] == {"consent_id": consent["consent_id"], "consent_version": 2}
    assert permit["obligations"][0]["code"] == "attach-part2-notice"
    deny = post(client, "/decisions", decision_body(SISTER), clinician)
    assert (deny["outcome"], deny["basis"]) == ("DENY", {"rule": "part2-consent-required"})


def test_the_accounting_lists_exactly_the_disclosures_made_in_all_three_formats(
    world: RelayWorld, consent: ConsentApplication, client: TestClient
) -> None:
    clinician = auth(world, "clinician", "clin-1")
    compliance = auth(world, "compliance", "comp-1")
    part2_consent(client, clinician)
    made = []
    day = dt.datetime.now(dt.UTC).date()
    for address in ("1 Harbor Rd", None):
        decision = post(client, "/decisions", decision_body(DETOX), clinician)
        recipient = {**DETOX, **({"address": address} if address else {})}
        made.append(
            post(
                client,
                "/disclosures",
                {
                    "person_id": "person-a",
                    "decision_id": decision["decision_id"],
                    "recipient": recipient,
                    "description": "intake assessment",
                    "categories": ["substance-use"],
                    "purpose": "TREAT",
                    "disclosed_at": dt.datetime.now(dt.UTC).isoformat(),
                    "obligations_met": ["attach-part2-notice"],
                },
                clinician,
            )["disclosure_id"]
        )
    post(client, "/decisions", decision_body(SISTER), clinician)  # a denial: never disclosed

    url = f"/persons/person-a/disclosure-accounting?from={day.isoformat()}"
    as_json = client.get(url, headers=compliance).json()
    assert [r["disclosure_id"] for r in as_json["items"]] == made
    for row in as_json["items"]:
        assert all(row[name] for name in REQUIRED), row
        assert row["labels"] == ["42CFRPart2", "ETH"]  # the decision's, though none were sent
        assert row["regimes"] == ["42CFRPart2"]  # treatment: HIPAA 164.528(a)(1)(i) excludes it
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"{url}&format=csv", headers=compliance).text))
    )
    assert [r["disclosure_id"] for r in rows] == made
    assert rows[0]["recipient_address"] == "1 Harbor Rd"
    bundle = Bundle.model_validate_json(client.get(f"{url}&format=fhir", headers=compliance).text)
    assert [e.resource.id for e in bundle.entry] == made
    for entry in bundle.entry:
        event = entry.resource
        assert (event.type.code, event.subtype[0].code, event.outcome) == (
            "110106",
            "disclose",
            "0",
        )
        assert {a.type.coding[0].code for a in event.agent} == {"110153", "110152", "AUT"}


def test_denials_and_break_glass_reviews_come_from_the_postgres_read_model_and_rebuild_alike(
    world: RelayWorld, consent: ConsentApplication, client: TestClient
) -> None:
    clinician = auth(world, "clinician", "clin-1")
    compliance = auth(world, "compliance", "comp-1")
    denied = post(client, "/decisions", decision_body(SISTER), clinician)
    glass = post(
        client,
        "/decisions",
        decision_body(
            {"kind": "provider", "id": "er-1"},
            break_glass={
                "kind": "medical-emergency",
                "justification": "unresponsive after overdose, ED needs history",
                "received_by": "Dr. On Call",
                "affiliation": "County General ED",
                "nature_of_emergency": "suspected overdose",
            },
        ),
        clinician,
    )
    denials = client.get("/decisions?outcome=DENY", headers=compliance).json()
    assert [d["decision_id"] for d in denials["items"]] == [denied["decision_id"]]
    queue = client.get("/reviews", headers=compliance).json()
    assert [d["decision_id"] for d in queue["items"]] == [glass["decision_id"]]
    post(client, f"/decisions/{glass['decision_id']}/review", {"finding": "justified"}, compliance)
    assert client.get("/reviews", headers=compliance).json()["total"] == 0

    log = consent.decision_log
    assert isinstance(log, PostgresSummaries)
    before = log.every(consent, tenant=TENANT)
    assert log.rebuild(consent) > 0
    assert log.every(consent, tenant=TENANT) == before
