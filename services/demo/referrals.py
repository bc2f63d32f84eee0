"""The referral halves of journeys 3 and 4: the detox loop, family therapy and disclosures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.demo.client import Practice
from services.demo.couple import CLINICIAN, COORDINATOR, Couple, JourneyResult, iso, today

DETOX = {"id": "org-detox-harbor", "name": "Harbor Detox (synthetic)"}
FAMILY = {"id": "org-family-riverside", "name": "Riverside Family Therapy (synthetic)"}
FAMILY_MEMBER = {"kind": "family-member", "id": "family-member-of-b", "name": "Family Member"}


def _state(body: Any) -> str:
    return f"{body.get('state')} / {body.get('business_status') or '-'}"


def _consent(practice: Practice, person: str, label: str, terms: dict[str, Any]) -> str:
    """Create, sign and activate a consent of `person`; its id."""
    created = practice.call(
        "consent",
        "POST",
        "/consents",
        action=f"record {label}",
        role="clinician",
        sub=CLINICIAN,
        json={
            "person_id": person,
            "status": "proposed",
            "scope": "patient-privacy",
            "revocation_right_acknowledged": True,
            "signature": {"signed_by": person, "signed_on": iso(today())},
            **terms,
        },
        outcome=lambda body: f"consent {body.get('consent_id')}",
    )
    consent_id = str(created["consent_id"])
    practice.call(
        "consent",
        "POST",
        f"/consents/{consent_id}/activation",
        action=f"activate {label}",
        role="clinician",
        sub=CLINICIAN,
        outcome=lambda body: str(body.get("status")),
    )
    return consent_id


def _step(practice: Practice, rid: str, step: str, label: str, body: Any = None) -> Any:
    return practice.call(
        "referral",
        "POST",
        f"/referrals/{rid}/{step}",
        action=label,
        role="coordinator",
        sub=COORDINATOR,
        json=body,
        outcome=_state,
    ).body


def detox_loop(
    practice: Practice, result: JourneyResult, couple: Couple, *, timeout: float
) -> None:
    """Suggestion -> blocked without Part 2 consent -> consent -> sent ... completed."""

    def suggested() -> Any:
        page = practice.quiet_get(
            "referral",
            "/referrals/worklist",
            role="coordinator",
            params={"reason": "suggested", "limit": 200},
        )
        items = (page or {}).get("items") or []
        mine = [i for i in items if str(i.get("plan_id")) == couple.plan_id]
        return mine[0] if mine else None

    item = practice.poll("the referral service suggests a referral", suggested, timeout=timeout)
    rid = str(item["id"])
    result.ids["referral_id"] = rid
    result.facts["suggestion"] = item
    draft = practice.call(
        "referral",
        "POST",
        f"/referrals/{rid}/revise",
        action="coordinator names the detox program",
        role="coordinator",
        sub=COORDINATOR,
        json={
            "client_id": couple.partner_a,
            "referral_type": "detox",
            "priority": "urgent",
            "reason": "Withdrawal management",
            "organization": DETOX,
        },
        outcome=_state,
    ).body
    blocked = practice.call(
        "referral",
        "POST",
        f"/referrals/{rid}/send",
        action="send without Part 2 consent",
        role="coordinator",
        sub=COORDINATOR,
        expect=(409,),
        outcome=lambda body: f"blocked: {body.get('outcome')}",
    )
    result.facts["blocked"] = blocked.body
    worklist = practice.call(
        "referral",
        "GET",
        "/referrals/worklist",
        action="coordinator's worklist",
        role="coordinator",
        params={"reason": "blocked-by-consent", "limit": 200},
        outcome=lambda body: f"{body.get('total')} blocked",
    )
    result.facts["blocked_on_worklist"] = any(
        str(i.get("id")) == rid for i in worklist.body.get("items", [])
    )
    consent_id = _consent(
        practice,
        couple.partner_a,
        "Partner A's Part 2 consent for detox",
        {
            "part2": True,
            "disclosers": ["practice"],
            "description": "Referral and substance-use assessment for withdrawal management",
            "recipients": [{"kind": "organization", **DETOX}],
            "purposes": ["TREAT"],
            "categories": draft["categories"],
            "labels": draft["security_labels"],
            "end": iso(today() + dt.timedelta(days=365)),
        },
    )
    result.ids["part2_consent_id"] = consent_id
    sent = _step(practice, rid, "send", "send again with the Part 2 consent")
    result.facts["sent"] = sent
    _step(practice, rid, "accept", "the detox program accepts")
    appointment = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=5)
    _step(
        practice,
        rid,
        "schedule",
        "schedule the intake",
        {"appointment_at": appointment.isoformat()},
    )
    _step(
        practice,
        rid,
        "record-attendance",
        "Partner A attends",
        {"attended_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()},
    )
    done = _step(
        practice,
        rid,
        "complete",
        "close the loop: treatment completed",
        {"outcome": "treatment-completed"},
    )
    result.facts["completed"] = done
    result.expect_record("blocked send", rid, int(blocked.body["version"]))
    result.expect_record("referral completed", rid, int(done["version"]))


def family_therapy_referral(practice: Practice, result: JourneyResult, couple: Couple) -> None:
    """A consented family-therapy referral for Partner A, a consented disclosure of Partner B
    to a family member, one denial for each, then compliance's accounting."""
    a, b = couple.partner_a, couple.partner_b
    draft = practice.call(
        "referral",
        "POST",
        "/referrals",
        action="draft a family-therapy referral",
        role="coordinator",
        sub=COORDINATOR,
        json={
            "plan_id": couple.plan_id,
            "client_id": a,
            "referral_type": "family-therapy",
            "priority": "routine",
            "reason": "Family sessions",
            "organization": FAMILY,
        },
        outcome=_state,
    ).body
    rid = str(draft["id"])
    result.ids["referral_id"] = rid
    _consent(
        practice,
        a,
        "Partner A's consent for family therapy",
        {
            "recipients": [{"kind": "organization", **FAMILY}],
            "purposes": ["TREAT"],
            "categories": draft["categories"] or ["referral"],
            "labels": draft["security_labels"],
        },
    )
    sent = _step(practice, rid, "send", "send the family-therapy referral")
    permit_a = str((sent.get("consent") or {}).get("decision_id"))
    disclosures: dict[str, list[str]] = {a: [], b: []}
    # The send is a disclosure: the consent service records it from careledger.referral.
    disclosures[a].append(_recorded_send(practice, a))
    _consent(
        practice,
        b,
        "Partner B's consent to inform a family member",
        {
            "recipients": [FAMILY_MEMBER],
            "purposes": ["FAMRQT"],
            "categories": ["treatment-plan"],
        },
    )
    permit_b = _decide(
        practice,
        b,
        FAMILY_MEMBER,
        "FAMRQT",
        ["treatment-plan"],
        [],
        "may Partner B's plan go to the family member?",
    )
    disclosures[b].append(
        _disclose(
            practice, b, permit_b["decision_id"], FAMILY_MEMBER, ["treatment-plan"], [], "FAMRQT"
        )
    )
    denials = {
        a: _decide(
            practice,
            a,
            FAMILY_MEMBER,
            "FAMRQT",
            ["substance-use"],
            ["42CFRPart2", "ETH", "R"],
            "may Partner A's Part 2 records go to family?",
        ),
        b: _decide(
            practice,
            b,
            {"kind": "partner", "id": a},
            "TREAT",
            ["individual-session"],
            ["PSY", "R"],
            "may Partner B's individual session go to Partner A?",
            individual_session=True,
        ),
    }
    result.facts["permits"] = {a: permit_a, b: str(permit_b["decision_id"])}
    result.facts["denials"] = denials
    result.facts["disclosures"] = disclosures
    result.facts["accounting"] = {}
    result.facts["denied_listed"] = {}
    for person, label in ((a, "Partner A"), (b, "Partner B")):
        accounting = practice.call(
            "consent",
            "GET",
            f"/persons/{person}/disclosure-accounting",
            action=f"compliance: accounting of disclosures of {label}",
            role="compliance",
            outcome=lambda body: (
                f"{body.get('total')} accounted, {len(body.get('excluded') or [])} excluded"
            ),
        )
        fhir = practice.call(
            "consent",
            "GET",
            "/fhir/AuditEvent",
            params={"patient": person},
            action=f"compliance: {label}'s disclosures as FHIR AuditEvent",
            role="compliance",
            outcome=lambda body: f"{len(body.get('entry') or [])} AuditEvent(s)",
        )
        denied = practice.call(
            "consent",
            "GET",
            "/decisions",
            params={"outcome": "DENY", "person_id": person},
            action=f"compliance: denials for {label}",
            role="compliance",
            outcome=lambda body: f"{body.get('total')} denial(s)",
        )
        result.facts["accounting"][person] = {
            "items": [str(i["disclosure_id"]) for i in accounting.body.get("items", [])],
            "excluded": [str(i["disclosure_id"]) for i in accounting.body.get("excluded", [])],
            "fhir_entries": len(fhir.body.get("entry") or []),
        }
        result.facts["denied_listed"][person] = [
            str(d.get("decision_id")) for d in denied.body.get("items", [])
        ]
    for label, decision in (
        ("permit b", permit_b),
        ("denial a", denials[a]),
        ("denial b", denials[b]),
    ):
        result.expect_record(label, str(decision["decision_id"]), 1)
    for person, label in ((a, "disclosure a"), (b, "disclosure b")):
        result.expect_record(label, disclosures[person][0], 1)


def _decide(
    practice: Practice,
    person: str,
    recipient: dict[str, Any],
    purpose: str,
    categories: list[str],
    labels: list[str],
    label: str,
    *,
    individual_session: bool = False,
) -> dict[str, Any]:
    answer = practice.call(
        "consent",
        "POST",
        "/decisions",
        action=label,
        role="clinician",
        sub=CLINICIAN,
        json={
            "person_id": person,
            "recipient": recipient,
            "purpose": purpose,
            "categories": categories,
            "labels": labels,
            "context": {"individual_session": individual_session},
        },
        outcome=lambda body: str(body.get("outcome")),
    )
    decision: dict[str, Any] = answer.body
    return decision


def _recorded_send(practice: Practice, person: str, timeout: float = 60.0) -> str:
    """The id of the disclosure the consent service recorded for the person's referral send."""

    def recorded() -> Any:
        found = practice.quiet_get(
            "consent", "/fhir/AuditEvent", role="integration", params={"patient": person}
        )
        entries = (found or {}).get("entry") or []
        return entries[0]["resource"]["id"] if entries else None

    return str(practice.poll("the referral send is in the accounting", recorded, timeout=timeout))


def _disclose(
    practice: Practice,
    person: str,
    decision_id: str,
    recipient: dict[str, Any],
    categories: list[str],
    labels: list[str],
    purpose: str,
) -> str:
    answer = practice.call(
        "consent",
        "POST",
        "/disclosures",
        action="record the disclosure made",
        role="clinician",
        sub=CLINICIAN,
        json={
            "person_id": person,
            "decision_id": decision_id,
            "recipient": recipient,
            "description": "Treatment summary",
            "categories": categories,
            "labels": labels,
            "purpose": purpose,
            "disclosed_at": dt.datetime.now(dt.UTC).isoformat(),
        },
        outcome=lambda body: f"disclosure {body.get('disclosure_id')}",
    )
    return str(answer["disclosure_id"])
