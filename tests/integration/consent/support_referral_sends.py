"""What the referral-send consumer tests share: real ReferralSent records, a private topic and
a private consent store, and the consumer process they start and kill.

The records are what the referral relay would publish: referrals drafted and sent by a real
ReferralApplication (in memory) on PERMIT decisions recorded in the consent store, each stored
event turned into its Kafka record by `contracts.envelope.build_record`. The consumer process
(`python -m tests.integration.consent.support_referral_sends '<json config>'`) runs the consent
service's own reactions, reading the private topic instead of `careledger.referral`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from contracts.envelope import OutboundRecord, build_record
from contracts.records import InboundRecord
from services.common.access.consent_gate import ConsentDecision
from services.common.access.consent_gate import DecisionRequest as GateRequest
from services.common.consumer.loop import run_consumer
from services.common.context import CommandContext
from services.common.events import decode_state
from services.common.settings import Settings
from services.common.store.application import build_application
from services.consent import reactions
from services.consent.application import ConsentApplication
from services.consent.bootstrap import build_consents
from services.consent.domain.commands import ActivateConsent, Decide, RecordConsent
from services.consent.domain.terms import DecisionRequest, Recipient
from services.referral.application import ReferralApplication
from services.referral.domain.commands import DraftReferral, SendReferral

REPO = Path(__file__).resolve().parents[3]
TENANT = "practice-sends"
TEST_KAFKA = {"session_timeout_ms": 6_000, "heartbeat_interval_ms": 1_000}
DETOX = {"id": "org-detox", "name": "Harbor Detox", "address": "1 Harbor Rd"}
CLINICIAN = CommandContext(actor_id="clin-1", actor_role="clinician", tenant=TENANT)
COORDINATOR = CommandContext(actor_id="coord-1", actor_role="coordinator", tenant=TENANT)


class PrivateTopicReactions:
    """The consent service's reactions, reading a private topic instead of careledger.referral."""

    def __init__(self, topic: str) -> None:
        self.topics: Sequence[str] = (topic,)
        self.events = reactions.events

    def react(self, app: Any, record: InboundRecord) -> list[Any]:
        return reactions.react(app, record)


def consent_app(schema: str, settings: Settings, *, create: bool = False) -> ConsentApplication:
    cls = type("ConsentSends", (ConsentApplication,), {"name": schema})
    return build_consents(settings, application_class=cls, create_table=create)


class PermitGate:
    """The decision point, asked in process: the coordinator's decision in the consent store."""

    def __init__(self, consents: ConsentApplication) -> None:
        self.consents = consents

    def decide(self, request: GateRequest, *, token: str | None) -> ConsentDecision:
        asked = DecisionRequest(
            person_id=request.person_id,
            actor_id=COORDINATOR.actor_id,
            recipient=Recipient(**request.recipient),
            purpose=request.purpose,
            categories=frozenset(request.categories),
            labels=frozenset(request.labels),
            at=self.consents.clock(),
        )
        decision = self.consents.decide(ctx=COORDINATOR, command=Decide(request=asked))
        return ConsentDecision(
            decision["decision_id"], decision["outcome"], decision["basis"], decision["obligations"]
        )


def part2_consent(consents: ConsentApplication, person: str) -> None:
    terms = {
        "person_id": person,
        "status": "draft",
        "scope": "patient-privacy",
        "part2": True,
        "disclosers": ["practice"],
        "description": "referral for withdrawal management",
        "recipients": [{"kind": "organization", "id": DETOX["id"]}],
        "purposes": ["TREAT"],
        "categories": ["referral", "substance-use"],
        "labels": ["42CFRPart2", "ETH", "R"],
        "provision_type": "permit",
        "provisions": [],
        "start": None,
        "end": None,
        "expiry_event": "end of treatment",
        "revocation_right_acknowledged": True,
        "signature": {"signed_by": person, "signed_on": "2026-01-01"},
    }
    created = consents.create_consent(ctx=CLINICIAN, command=RecordConsent(terms=terms))
    consents.change_consent(
        ctx=CLINICIAN, consent_id=created["consent_id"], command=ActivateConsent()
    )


def referral_sends(consents: ConsentApplication, people: list[str], sends: int) -> list[Any]:
    """Draft and send `sends` detox referrals (round robin over `people`); their records."""
    referrals: ReferralApplication = build_application(ReferralApplication, None)
    referrals.consent_gate = PermitGate(consents)
    for person in people:
        part2_consent(consents, person)
    for n in range(sends):
        command = DraftReferral(
            plan_id=uuid.uuid4(),
            client_id=people[n % len(people)],
            referral_type="detox",
            priority="urgent",
            reason="withdrawal management",
            coordinator_id=COORDINATOR.actor_id,
            organization=DETOX,
        )
        draft, _ = referrals.draft(ctx=COORDINATOR, command=command)
        rid = uuid.UUID(draft["id"])
        referrals.send(ctx=COORDINATOR, referral_id=rid, command=SendReferral(), token=None)
    return records_of(referrals, "careledger.referral.ReferralSent")


def records_of(app: Any, stored_topic: str) -> list[OutboundRecord]:
    notifications = app.recorder.select_notifications(1, 100_000, topics=[stored_topic])
    return [
        build_record(
            stored_topic=n.topic,
            aggregate_id=n.originator_id,
            version=n.originator_version,
            position=n.id,
            state=decode_state(app.mapper, n.topic, n.state),
        )
        for n in notifications
    ]


def disclosures_stored(database_url: str, schema: str) -> list[dict[str, Any]]:
    """The state of every DisclosureRecorded in the store, one entry per stored event."""
    query = sql.SQL("SELECT state FROM {}.{} WHERE topic = %s").format(
        sql.Identifier(schema), sql.Identifier(f"{schema}_events")
    )
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(query, ("careledger.consent.DisclosureRecorded",)).fetchall()
    return [json.loads(bytes(row[0])) for row in rows]


@dataclass(frozen=True)
class Worker:
    config: dict[str, Any]

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.consent.support_referral_sends",
                json.dumps(self.config),
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )


def worker(config: dict[str, Any]) -> None:
    """The consent consumer process the crash test starts and kills."""
    settings = Settings(
        env="dev", database_url=config["database_url"], kafka_bootstrap=config["bootstrap"]
    )
    app = consent_app(config["schema"], settings)
    try:
        run_consumer(
            "consent",
            app,
            PrivateTopicReactions(config["topic"]),
            settings,
            group_id=config["group"],
            kafka_options=TEST_KAFKA,
        )
    finally:
        app.close()


def schema_fixture(database_url: str) -> Iterator[str]:
    name = f"consent_sends_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


if __name__ == "__main__":
    worker(json.loads(sys.argv[1]))
