"""The four practice journeys on a private full stack, checked as a user and on Kafka.

Every service runs as its own process (API, relay, consumer, projections); the tests drive the
APIs over HTTP and read the three topics independently with confluent-kafka (read_committed),
comparing them with the event stores one for one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console

from contracts.envelope import event_id
from services.common.settings import Settings
from services.demo.cli import run_demo
from services.demo.client import Practice
from services.demo.couple import JourneyResult
from services.demo.journeys import (
    coercive_control_disclosed,
    couples_therapy_starts,
    family_disclosures_audited,
    substance_use_and_detox,
)
from services.demo.kafka_check import KafkaReport, Seen

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(420)]
Check = Callable[[JourneyResult], KafkaReport]


def on_kafka(result: JourneyResult) -> KafkaReport:
    """The Kafka report, asserting every stored event is on Kafka once, valid, nothing extra."""
    report = result.kafka
    assert isinstance(report, KafkaReport)
    assert report.ok, (
        report.summary()
        + "\n"
        + "\n".join(
            report.missing
            + report.extra
            + report.duplicates
            + report.invalid
            + report.mismatched
            + report.out_of_order
        )
    )
    assert report.stored > 0
    assert report.stored <= report.on_kafka
    return report


def record(result: JourneyResult, label: str) -> Seen:
    """The Kafka record of one expected stored event, by its ce_id."""
    ce_id = result.records[label]
    report = on_kafka(result)
    assert ce_id in report.records, f"{label} ({ce_id}) is not on Kafka"
    return report.records[ce_id]


def records_of(result: JourneyResult, event: str, subject: str) -> list[Seen]:
    found = on_kafka(result).records.values()
    return [r for r in found if r.subject == subject and r.ce_type.split(".")[2] == event]


def goal(plan: dict[str, Any], goal_id: str) -> dict[str, Any]:
    return next(g for g in plan["goals"] if g["goal_id"] == goal_id)


def test_a_couple_starts_therapy_with_a_no_secrets_agreement_and_measurable_goals(
    practice: Practice, whole_store_check: Check
) -> None:
    result = couples_therapy_starts(practice, whole_store_check)
    plan, ids = result.facts["plan"], result.ids

    assert result.facts["agreement_in_force"]["mode"] == "no-secrets"
    assert plan["status"] == "active"
    (session,) = plan["sessions"]
    assert session["partner_id"] == ids["partner_a"]
    assert session["sharing_agreement_id"] == ids["agreement_id"]
    assert result.facts["achievement_before_review"] == "improving"
    trust = next(g for g in plan["goals"] if g["measure"] == "trust")
    assert trust["joint"] and trust["achievement_status"] == "improving"
    assert plan["mix"] == {"joint": 2, "individual": 2}, "the review shifts the mix"
    assert len(plan["reviews"]) == 1

    review = record(result, "review")
    assert review.ce_type == "careledger.plan.ReviewRecorded.v2"
    assert review.tenant == practice.tenant and review.subject == ids["plan_id"]
    assert record(result, "last measurement").ce_type == "careledger.plan.MeasurementRecorded.v2"
    session_record = records_of(result, "SessionRecorded", ids["plan_id"])[0]
    assert session_record.labels == ("BH", "PSY", "PSYTHPN", "R")
    assert "focus_issues" not in session_record.body, "session notes stay in the store"
    signed = records_of(result, "AgreementSigned", ids["agreement_id"])
    assert len(signed) == 2


def test_a_coercive_control_disclosure_pauses_joint_work_and_the_partner_is_denied_the_content(
    practice: Practice, whole_store_check: Check
) -> None:
    result = coercive_control_disclosed(practice, whole_store_check)
    plan, ids, decision = result.facts["plan"], result.ids, result.facts["decision"]

    assert plan["joint_paused"] is True
    assert plan["mix"]["joint"] == 0
    trust = next(g for g in plan["goals"] if g["joint"])
    assert trust["lifecycle_status"] == "on-hold" and trust["held_by_pause"]
    assert decision["outcome"] == "DENY"
    assert decision["basis"]["rule"] == "agreement-strict"
    assert decision["basis"]["agreement_id"] == ids["agreement_id"]
    as_a, as_b = result.facts["plan_as_a"], result.facts["plan_as_b"]
    shift_as_a = as_a["format_shifts"][0]
    assert "reason" not in shift_as_a and "reason" in shift_as_a["redacted"], (
        "Partner A never sees the reason"
    )
    assert "SDV" not in as_a["security_labels"]
    b_alone = next(s for s in as_a["sessions"] if s.get("partner_id") == ids["partner_b"])
    assert "focus_issues" not in b_alone, "nor Partner B's session content (strict agreement)"
    assert as_b["format_shifts"][0]["reason"] == "coercive-control"

    shift = record(result, "shift")
    assert shift.ce_type == "careledger.plan.FormatShifted.v2"
    assert shift.body["reason"] == "coercive-control"
    assert {"R", "SDV"} <= set(shift.labels)
    denial = record(result, "denial")
    assert denial.ce_type == "careledger.consent.DecisionRecorded.v3"
    assert denial.subject == ids["decision_id"] and denial.body["outcome"] == "DENY"
    assert {"PSY", "SDV"} <= set(denial.labels)
    assert denial.actor == "clinician-partner-a", "who asked travels with the record"


def test_substance_use_leads_to_a_consented_detox_referral_and_joint_therapy_resumes(
    practice: Practice, whole_store_check: Check
) -> None:
    result = substance_use_and_detox(practice, whole_store_check, timeout=60)
    facts, ids = result.facts, result.ids

    suggestion = facts["suggestion"]
    assert suggestion["referral_type"] == "detox" and suggestion["client_id"] == ids["partner_a"]
    assert facts["blocked"]["outcome"] in ("DENY", "NO_CONSENT")
    assert "Part 2" in facts["blocked"]["missing_consent"]
    assert facts["blocked_on_worklist"], "a blocked referral shows on the coordinator's worklist"
    consent = facts["sent"]["consent"]
    assert consent["outcome"] == "PERMIT"
    assert "attach-part2-notice" in {o["code"] for o in consent["obligations"]}
    done = facts["completed"]
    assert (done["status"], done["business_status"]) == ("completed", "Completed")
    assert done["outcome"] == "treatment-completed"
    noted = [r for r in facts["plan_referrals"] if r["referral_id"] == ids["referral_id"]]
    assert noted and noted[0]["stage"] == "completed"
    assert noted[0]["outcome"] == "treatment-completed"
    plan = facts["plan"]
    assert plan["joint_paused"] is False and plan["mix"]["joint"] == 2
    assert all(g["lifecycle_status"] == "active" for g in plan["goals"])

    pause = record(result, "pause")
    assert pause.body["reason"] == "withdrawal-risk" and {"R", "ETH"} <= set(pause.labels)
    suggested = records_of(result, "ReferralDrafted", ids["referral_id"])
    assert suggested and suggested[0].body["origin"] == "plan-suggestion"
    assert suggested[0].body["source_id"] == result.records["pause"]
    assert record(result, "blocked send").ce_type == "careledger.referral.ReferralSendBlocked.v1"
    completed = record(result, "referral completed")
    assert completed.ce_type == "careledger.referral.ReferralCompleted.v2"
    assert "42CFRPart2" in completed.labels
    assert records_of(result, "ReferralNoted", ids["plan_id"]), "the plan noted the referral"
    assert record(result, "resume").body["reason"] == "ready-to-resume"


def test_compliance_finds_every_disclosure_and_every_denial_for_each_partner(
    practice: Practice, whole_store_check: Check
) -> None:
    result = family_disclosures_audited(practice, whole_store_check)
    facts = result.facts

    for person in (result.ids["partner_a"], result.ids["partner_b"]):
        accounting = facts["accounting"][person]
        # Treatment and consented disclosures: HIPAA excludes them, neither is Part 2, so the
        # accounting lists them as excluded, with the reason; nothing is missing.
        assert accounting["items"] == []
        assert sorted(accounting["excluded"]) == sorted(facts["disclosures"][person])
        assert accounting["fhir_entries"] == len(facts["disclosures"][person])
        denial = facts["denials"][person]
        assert denial["outcome"] == "DENY"
        assert facts["denied_listed"][person] == [denial["decision_id"]]
    assert facts["denials"][result.ids["partner_a"]]["basis"]["rule"] == "part2-consent-required"

    for label in ("disclosure a", "disclosure b"):
        assert record(result, label).ce_type == "careledger.consent.DisclosureRecorded.v3"
    for label in ("denial a", "denial b"):
        assert record(result, label).body["outcome"] == "DENY"
    sent = records_of(result, "ReferralSent", result.ids["referral_id"])
    assert sent and sent[0].body["decision_id"] == facts["permits"][result.ids["partner_a"]]
    assert result.records["permit b"] == event_id(facts["permits"][result.ids["partner_b"]], 1)


def test_the_demo_runs_three_journeys_and_says_where_to_look(e2e_settings: Settings) -> None:
    console = Console(record=True, width=240, force_terminal=False)
    run_demo(e2e_settings, console=console)
    text = console.export_text()

    assert text.count("one for one, all valid") == 3
    assert "not on Kafka" not in text
    for url in e2e_settings.service_urls.values():
        assert f"{url}/docs" in text
    for role in ("clinician", "coordinator", "compliance", "integration", "admin"):
        assert f"{role} eyJ" in text
    assert "careledger tail careledger.plan --from-beginning" in text
