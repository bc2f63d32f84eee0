"""The referral table of docs/access-policy.md, checked on every referral read route.

The table is parsed from the page. A referral of Sam (X) is sent and declined, so it holds its
clinical text in every place (reason, decline reason, notes); every caller of the table reads
it through every read route, and what each answer shows must be what the cell says.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.records import InboundRecord
from services.common.store.application import build_application
from services.referral.application import ReferralApplication
from tests.unit.referral import support_helpers
from tests.unit.referral.support_api_client import Api
from tests.unit.referral.support_helpers import FakeConsentGate
from tests.unit.referral.test_reactions import deliver

PAGE = Path(__file__).resolve().parents[2] / "docs" / "access-policy.md"
PLAN = uuid.uuid4()
ALEX, SAM = "client-alex", "client-sam"
LEAD, SEES_SAM, SEES_ALEX, ER = "clin-lead", "clin-sam-alone", "clin-alex-alone", "clin-er"
TEXT = "marker-clinical-text"
ROWS = {"Referral frame of X": "frame", "Referral clinical text of X": "text"}
CALLERS: dict[str, list[tuple[str, str, str | None]]] = {  # column -> (sub, role, patient)s
    "Lead therapist": [(LEAD, "clinician", None)],
    "Individual therapist of X": [(SEES_SAM, "clinician", None)],
    "Other clinician": [("clin-other", "clinician", None), (SEES_ALEX, "clinician", None)],
    "Other clinician, break-glass": [(ER, "clinician", None)],
    "Coordinator": [("coord-1", "coordinator", None), ("admin-1", "admin", None)],
    "Compliance": [("comp-1", "compliance", None)],
    "Integration (EHR)": [("ehr-1", "integration", None)],
    "Client X": [("portal-sam", "client", SAM)],
}


def table() -> dict[tuple[str, str], str]:
    lines = PAGE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Referral data class |"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines[start:end]]
    header, rows = cells[0][1:], cells[2:]
    assert header == list(CALLERS) and [r[0] for r in rows] == list(ROWS)
    return {(col, ROWS[r[0]]): cell for r in rows for col, cell in zip(header, r[1:], strict=True)}


TABLE = table()


def plan_record(event: str, body: dict[str, Any], n: int) -> InboundRecord:
    return support_helpers.plan_record(PLAN, event, body, n)


def seed(app: ReferralApplication, api: Api) -> str:
    members = [{"client_id": ALEX, "sex": "female"}, {"client_id": SAM, "sex": "male"}]
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).isoformat()
    for record in (
        plan_record(
            "PlanCreated",
            {
                "members": members,
                "clinicians": [{"clinician_id": LEAD, "roles": ["couples-therapist"]}],
            },
            1,
        ),
        plan_record(
            "ClinicianAssigned",
            {
                "clinician_id": SEES_SAM,
                "reason": "intake",
                "roles": ["individual-therapist"],
                "clients": [SAM],
            },
            2,
        ),
        plan_record(
            "ClinicianAssigned",
            {
                "clinician_id": SEES_ALEX,
                "reason": "intake",
                "roles": ["individual-therapist"],
                "clients": [ALEX],
            },
            3,
        ),
        plan_record(
            "EmergencyAccessGranted",
            {"grant_id": "g-1", "clinician_id": ER, "granted_at": until, "until": until},
            4,
        ),
    ):
        deliver(app, record)
    body = {
        "plan_id": str(PLAN),
        "client_id": SAM,
        "referral_type": "detox",
        "priority": "urgent",
        "reason": TEXT,
        "organization": {"id": "org-detox-1", "name": "Riverside"},
    }
    rid = str(api.post("/referrals", json=body).json()["id"])
    assert api.post(f"/referrals/{rid}/send", json={"note": TEXT}).status_code == 200
    declined = api.post(
        f"/referrals/{rid}/decline", role="integration", json={"reason": TEXT, "note": TEXT}
    )
    assert declined.status_code == 200, declined.text
    return rid


def blocked(app: ReferralApplication, api: Api) -> str:
    """A second referral of Sam, its send blocked by consent: on the coordinators' worklist."""
    body = {
        "plan_id": str(PLAN),
        "client_id": SAM,
        "referral_type": "detox",
        "priority": "urgent",
        "reason": TEXT,
        "organization": {"id": "org-detox-1", "name": "Riverside"},
    }
    rid = str(api.post("/referrals", json=body).json()["id"])
    gate: FakeConsentGate = app.consent_gate  # type: ignore[assignment]
    gate.outcome = "DENY"
    assert api.post(f"/referrals/{rid}/send").status_code == 409
    gate.outcome = "PERMIT"
    return rid


def seen(answer: Any, text_in: Callable[[Any], bool]) -> dict[str, str]:
    if answer.status_code == 403:
        return {"frame": "denied", "text": "denied"}
    assert answer.status_code == 200, answer.text
    return {"frame": "full", "text": "full" if text_in(answer) else "denied"}


READS: list[tuple[str, Callable[[Any], bool]]] = [  # (path, does the answer hold the text?)
    ("/referrals/{rid}", lambda a: a.json()["reason"] == a.json()["decline_reason"] == TEXT),
    ("/referrals/{rid}/history", lambda a: TEXT in a.text),
    ("/fhir/ServiceRequest/{rid}", lambda a: TEXT in str(a.json().get("reasonCode"))),
    ("/fhir/ServiceRequest/{rid}/_history/3", lambda a: "reasonCode" in a.json()),
    ("/fhir/Task/{rid}", lambda a: TEXT in str(a.json().get("statusReason"))),
    ("/fhir/Task/{rid}/_history/3", lambda a: "statusReason" in a.json()),
]


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Api, str, str]]:
    app: ReferralApplication = build_application(ReferralApplication, None)
    app.consent_gate = FakeConsentGate("PERMIT")
    api = Api(app)
    yield api, seed(app, api), blocked(app, api)
    app.close()


def token(api: Api, sub: str, role: str, patient: str | None) -> dict[str, str]:
    minted = api.app.state.tokens.mint(sub, "practice-a", [role], patient=patient)
    return {"Authorization": f"Bearer {minted}"}


@pytest.mark.parametrize("path", [r[0] for r in READS])
def test_every_caller_sees_the_referral_as_the_table_says(
    world: tuple[Api, str, str], path: str
) -> None:
    api, rid, _ = world
    text_in = dict(READS)[path]
    wrong = []
    for column, callers in CALLERS.items():
        for sub, role, patient in callers:
            answer = api.client.get(path.format(rid=rid), headers=token(api, sub, role, patient))
            for cls, shown in seen(answer, text_in).items():
                if shown != TABLE[column, cls]:
                    wrong.append(f"{column} ({sub}) sees {cls} as {shown}: {TABLE[column, cls]}")
            if TABLE[column, "text"] == "denied":
                assert TEXT not in answer.text, (column, sub)
    assert wrong == [], f"GET {path}:\n" + "\n".join(wrong)


def test_the_worklist_leaves_out_what_the_caller_may_not_read(
    world: tuple[Api, str, str],
) -> None:
    api, _, rid = world
    listed = {
        sub: [
            r["id"]
            for r in api.client.get(
                "/referrals/worklist", headers=token(api, sub, role, None)
            ).json()["items"]
        ]
        for sub, role in ((LEAD, "clinician"), (SEES_ALEX, "clinician"), ("coord-1", "coordinator"))
    }
    assert rid in listed[LEAD] and rid in listed["coord-1"] and rid not in listed[SEES_ALEX]
