"""The read-policy table of docs/access-policy.md, checked on every plan read route.

The table is parsed from the page (its caller columns and data-class rows), so the page and the
code cannot drift apart. One couple's plan holds each data class for both partners and for the
unit; every caller of the table reads it through every read route, once with the consent
service answering PERMIT and once DENY, and what each answer shows of each data class must be
what the cell says: full, redacted (what remains) or denied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.plan.agreements import InMemoryAgreements
from services.plan.bootstrap import build_plans
from services.plan.bootstrap import create_app as plan_app
from services.plan.domain.formats import SHIFT_REASONS
from tests.unit.plan.support_api_client import SETTINGS, TOKENS, goal_body, plan_body, shift_body
from tests.unit.plan.support_builders import ALEX, SAM, TENANT, agreement_view
from tests.unit.referral.support_helpers import FakeConsentGate

PAGE = Path(__file__).resolve().parents[2] / "docs" / "access-policy.md"
LEAD, SEES_ALEX, ER = "clin-lead", "clin-alex-alone", "clin-er"
JUSTIFICATION = "tonight in the emergency room"
REASONS = {ALEX: "coercive-control", SAM: "self-harm-risk", None: "cool-down"}  # shift about
DISPLAY = {about: SHIFT_REASONS[reason].display for about, reason in REASONS.items()}
Cls = tuple[str, str | None]  # (data class, whose: a client id or None for the unit)
ROWS: dict[str, Callable[[str, str], Cls]] = {  # table row -> data class, given X and the other
    "Plan frame and goals": lambda x, o: ("frame", None),
    "Individual-session content of X": lambda x, o: ("content", x),
    "Individual-session content of the other partner": lambda x, o: ("content", o),
    "Measurements and alerts of X": lambda x, o: ("measurements", x),
    "Measurements and alerts of the other partner": lambda x, o: ("measurements", o),
    "Format-shift coded reason, shift about X": lambda x, o: ("reason", x),
    "Format-shift coded reason, shift about the other partner": lambda x, o: ("reason", o),
    "Format-shift coded reason, shift about the unit": lambda x, o: ("reason", None),
    "Format-shift rationale, shift about X": lambda x, o: ("rationale", x),
    "Format-shift rationale, shift about the other partner": lambda x, o: ("rationale", o),
    "Format-shift rationale, shift about the unit": lambda x, o: ("rationale", None),
    "Break-glass justification": lambda x, o: ("justification", None),
}


def bearer(sub: str, role: str, patient: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.mint(sub, TENANT, [role], patient=patient)}"}


CALLERS: dict[str, dict[str, str]] = {  # table column -> token (X is Alex where there is one)
    "Lead therapist": bearer(LEAD, "clinician"),
    "Individual therapist of X": bearer(SEES_ALEX, "clinician"),
    "Other clinician": bearer("clin-other", "clinician"),
    "Other clinician, break-glass": bearer(ER, "clinician"),
    "Coordinator": bearer("coord-1", "coordinator"),
    "Compliance": bearer("comp-1", "compliance"),
    "Integration (EHR)": bearer("ehr-1", "integration"),
    "Client X": bearer("portal-alex", "client", patient=ALEX),
}


def table() -> dict[tuple[str, Cls], str]:
    """(column, data class) -> cell, from the page; every row and column must be known."""
    lines = PAGE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Data class |"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines[start:end]]
    header, rows = cells[0][1:], cells[2:]
    assert header == list(CALLERS), header
    assert [r[0] for r in rows] == list(ROWS)
    return {
        (column, ROWS[row[0]](ALEX, SAM)): cell
        for row in rows
        for column, cell in zip(header, row[1:], strict=True)
    }


TABLE = table()


def expected(cell: str, permit: bool) -> str:
    kind, _, otherwise = cell.partition("/")
    return ("full" if permit else otherwise) if kind == "consent" else kind


def post(client: TestClient, path: str, body: dict[str, Any], who: str = LEAD) -> Any:
    answer = client.post(path, json=body, headers=bearer(who, "clinician"))
    assert answer.status_code in (200, 201), (path, answer.text)
    return answer.json()


def seed(client: TestClient) -> dict[str, str]:
    """A couple's plan holding every data class of the table, for each partner and the unit."""
    team = [{"clinician_id": LEAD, "roles": ["couples-therapist"]}]
    plan_id = post(client, "/plans", plan_body(clinicians=team))["plan_id"]
    post(client, f"/plans/{plan_id}/status", {"status": "active"})
    post(
        client,
        f"/plans/{plan_id}/care-team",
        {
            "clinician_id": SEES_ALEX,
            "reason": "intake",
            "roles": ["individual-therapist"],
            "clients": [ALEX],
        },
    )
    goal_id = post(client, f"/plans/{plan_id}/goals", goal_body())["goal_id"]
    for partner in (ALEX, SAM):
        post(
            client,
            f"/plans/{plan_id}/sessions",
            {
                "format": "individual",
                "modality": "in-person",
                "held_on": "2026-01-12",
                "partner_id": partner,
                "focus_issues": [f"focus of {partner}"],
            },
        )
        post(
            client,
            f"/plans/{plan_id}/measurements",
            {"partner_id": partner, "measure": "phq-9", "items": [1] * 9, "taken_on": "2026-01-12"},
        )
    for about, reason in REASONS.items():
        shift = shift_body(
            reason=reason,
            about_partner_id=about,
            decided_by=LEAD,
            rationale=f"rationale about {about}",
        )
        post(client, f"/plans/{plan_id}/format-shifts", shift)
    post(client, f"/plans/{plan_id}/break-glass", {"justification": JUSTIFICATION}, who=ER)
    return {"plan_id": plan_id, "goal_id": goal_id}


# ---- what an answer shows of each data class ({}: nothing, the plan is denied) -----------

Seen = dict[Cls, str]
OWNERS = (ALEX, SAM)


def seen_in_plan(plan: dict[str, Any] | None) -> Seen:
    if plan is None:
        return {}  # left out: every class denied
    seen: Seen = {("frame", None): "full" if "description" in plan["goals"][0] else "redacted"}
    for owner in OWNERS:
        session = next((s for s in plan["sessions"] if s.get("partner_id") == owner), None)
        seen["content", owner] = (
            "denied" if session is None else "full" if "focus_issues" in session else "redacted"
        )
        measured = any(m["partner_id"] == owner for m in plan["measurements"])
        alerted = any(a["partner_id"] == owner for a in plan["alerts"])
        assert measured == alerted, "measurements and alerts of one partner go together"
        seen["measurements", owner] = "full" if measured else "denied"
    for about in REASONS:
        shift = next(s for s in plan["format_shifts"] if s.get("about_partner_id") == about)
        seen["reason", about] = "full" if "reason" in shift else "denied"
        seen["rationale", about] = "full" if "rationale" in shift else "denied"
    return seen


def seen_in_history(entries: list[dict[str, Any]]) -> Seen:
    def body(event: str, **match: Any) -> dict[str, Any] | None:
        for entry in entries:
            if entry["event"] == event and all(entry["body"].get(k) == v for k, v in match.items()):
                return dict(entry["body"])
        return None

    goal = body("GoalAdded")
    seen: Seen = {("frame", None): "full" if goal and "description" in goal else "redacted"}
    for owner in OWNERS:
        session = body("SessionRecorded", partner_id=owner)
        seen["content", owner] = (
            "denied" if session is None else "full" if "focus_issues" in session else "redacted"
        )
        seen["measurements", owner] = (
            "full" if body("MeasurementRecorded", partner_id=owner) else "denied"
        )
    for about in REASONS:
        shift = body("FormatShifted", about_partner_id=about) or {}
        seen["reason", about] = "full" if "reason" in shift else "denied"
        seen["rationale", about] = "full" if "rationale" in shift else "denied"
    granted = body("EmergencyAccessGranted") or {}
    seen["justification", None] = "full" if "justification" in granted else "denied"
    return seen


def seen_in_care_plan(resource: dict[str, Any] | None) -> Seen:
    """A CarePlan carries each shift's coded reason as a note, nothing else of this table."""
    if resource is None:
        return {}
    notes = " ".join(n["text"] for n in resource.get("note", []))
    return {
        ("reason", about): "full" if f": {DISPLAY[about]};" in notes else "denied"
        for about in REASONS
    }


def seen_in_goal(resource: dict[str, Any]) -> Seen:
    redacted = resource["description"]["text"].startswith("redacted")
    return {("frame", None): "redacted" if redacted else "full"}


def one(answer: Any) -> Any:
    if answer.status_code == 403:
        return None
    assert answer.status_code == 200, answer.text
    return answer.json()


def listed(items: list[dict[str, Any]], plan_id: str) -> dict[str, Any] | None:
    return next((i for i in items if i["id"] == plan_id), None)


def entry(bundle: dict[str, Any]) -> dict[str, Any] | None:
    found = [e["resource"] for e in bundle.get("entry", [])]
    return found[0] if found else None


def seen_in_worklist(answer: Any, plan_id: str) -> Seen | None:
    """A worklist row says only that the plan is there: for a reader who sees its frame."""
    if answer.status_code == 403:
        return None  # the route's roles (clinicians, coordinators) refuse: the role matrix's job
    rows = answer.json()["items"]
    return {("frame", None): "listed"} if any(r["plan_id"] == plan_id for r in rows) else {}


Read = tuple[str, Callable[[dict[str, str]], str], Callable[[Any, dict[str, str]], Seen | None]]
READS: list[Read] = [  # (name, url from the ids, what the answer shows; None: cannot tell)
    ("one", lambda i: "/plans/{plan_id}", lambda a, i: seen_in_plan(one(a))),
    ("?version", lambda i: "/plans/{plan_id}?version={version}", lambda a, i: seen_in_plan(one(a))),
    ("?at", lambda i: "/plans/{plan_id}?at={at}", lambda a, i: seen_in_plan(one(a))),
    (
        "list",
        lambda i: "/plans",
        lambda a, i: seen_in_plan(listed(a.json()["items"], i["plan_id"])),
    ),
    (
        "search",
        lambda i: f"/plans?subject={SAM}",
        lambda a, i: seen_in_plan(listed(a.json()["items"], i["plan_id"])),
    ),
    (
        "history",
        lambda i: "/plans/{plan_id}/history",
        lambda a, i: {} if a.status_code == 403 else seen_in_history(one(a)["items"]),
    ),
    ("CarePlan", lambda i: "/fhir/CarePlan/{plan_id}", lambda a, i: seen_in_care_plan(one(a))),
    (
        "_history",
        lambda i: "/fhir/CarePlan/{plan_id}/_history/{version}",
        lambda a, i: seen_in_care_plan(one(a)),
    ),
    (
        "FHIR search",
        lambda i: f"/fhir/CarePlan?subject=Patient/{SAM}",
        lambda a, i: seen_in_care_plan(entry(a.json())),
    ),
    (
        "Goal",
        lambda i: "/fhir/Goal/{goal_id}",
        lambda a, i: {} if a.status_code == 403 else seen_in_goal(one(a)),
    ),
    (
        "reviews due",
        lambda i: "/worklists/reviews-due?on=2026-02-01&within_days=7",
        lambda a, i: seen_in_worklist(a, i["plan_id"]),
    ),
]


@pytest.fixture(scope="module", params=["PERMIT", "DENY"])
def world(request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, dict[str, str], bool]]:
    gate = FakeConsentGate(request.param)
    plans = build_plans(None)
    agreements = InMemoryAgreements()  # the couple's agreement is in force
    agreements.put(TENANT, agreement_view())
    plans.agreements = agreements
    api = plan_app(SETTINGS, plans, gate=gate)
    with TestClient(api, raise_server_exceptions=False) as client:
        ids = seed(client)
        plan = client.get(f"/plans/{ids['plan_id']}", headers=CALLERS["Lead therapist"]).json()
        ids["version"] = str(plan["version"])
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        ids["at"] = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        yield client, ids, request.param == "PERMIT"


@pytest.mark.parametrize("route", [r[0] for r in READS])
def test_every_caller_sees_on_this_route_what_the_policy_table_says(
    world: tuple[TestClient, dict[str, str], bool], route: str
) -> None:
    client, ids, permit = world
    _, url, show = next(r for r in READS if r[0] == route)
    wrong: list[str] = []
    for column, token in CALLERS.items():
        answer = client.get(url(ids).format(**ids), headers=token)
        seen = show(answer, ids)
        if seen is None:
            continue
        if not seen:  # refused (403) or left out of a list: the whole plan is denied
            seen = {cls: "denied" for (col, cls) in TABLE if col == column}
        for cls, shown in seen.items():
            want = expected(TABLE[column, cls], permit)
            if shown != want and not (shown == "listed" and want != "denied"):
                wrong.append(f"{column} sees {cls} as {shown}, the table says {want}")
    consent = "PERMIT" if permit else "DENY"
    assert wrong == [], f"GET {url(ids)} (consent {consent}):\n" + "\n".join(wrong)
