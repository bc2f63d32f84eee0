"""Who reads a referral: the plan's care team (as plan records tell it), coordinators without
the clinical text, nobody outside the team without break-glass; every read is logged."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from contracts.records import InboundRecord
from contracts.schemas import ContractId, default_registry
from services.referral.application import ReferralApplication
from tests.unit.referral import support_helpers
from tests.unit.referral.support_api_client import Api
from tests.unit.referral.test_reactions import deliver

PLAN = uuid.uuid4()
ALEX, SAM = "client-alex", "client-sam"
LEAD, SEES_SAM, SEES_ALEX, ER = "clin-lead", "clin-sam-alone", "clin-alex-alone", "clin-er"
REASON = "marker: withdrawal symptoms since Friday"


def plan_record(event: str, body: dict[str, Any], n: int) -> InboundRecord:
    return support_helpers.plan_record(PLAN, event, body, n)


def assigned(clinician: str, client: str, n: int) -> InboundRecord:
    return plan_record(
        "ClinicianAssigned",
        {
            "clinician_id": clinician,
            "reason": "intake",
            "roles": ["individual-therapist"],
            "clients": [client],
        },
        n,
    )


@pytest.fixture
def api(app: ReferralApplication) -> Api:
    members = [{"client_id": ALEX, "sex": "female"}, {"client_id": SAM, "sex": "male"}]
    clinicians = [{"clinician_id": LEAD, "roles": ["couples-therapist"]}]
    for record in (
        plan_record("PlanCreated", {"members": members, "clinicians": clinicians}, 1),
        assigned(SEES_SAM, SAM, 2),
        assigned(SEES_ALEX, ALEX, 3),
    ):
        deliver(app, record)
    return Api(app)


def drafted(api: Api) -> str:
    body = {
        "plan_id": str(PLAN),
        "client_id": SAM,
        "referral_type": "detox",
        "priority": "urgent",
        "reason": REASON,
    }
    answer = api.post("/referrals", json=body)
    assert answer.status_code == 201, answer.text
    shown = answer.json()
    assert shown["reason"] is None and "reason" in shown["redacted"], "no clinical text for them"
    return str(answer.json()["id"])


def read(api: Api, path: str, sub: str, role: str = "clinician") -> Any:
    token = api.app.state.tokens.mint(sub, "practice-a", [role])
    return api.client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_the_team_treating_the_client_reads_it_whole_and_the_other_side_not_at_all(
    api: Api,
) -> None:
    rid = drafted(api)
    for path in (
        f"/referrals/{rid}",
        f"/referrals/{rid}/history",
        f"/fhir/ServiceRequest/{rid}",
        f"/fhir/Task/{rid}",
    ):
        for sub in (LEAD, SEES_SAM):
            answer = read(api, path, sub)
            assert answer.status_code == 200, (path, sub, answer.text)
        assert REASON in read(api, path, LEAD).text or "Task" in path
        for sub in (SEES_ALEX, "clin-other"):
            refused = read(api, path, sub)
            assert refused.status_code == 403 and REASON not in refused.text, (path, sub)
    coordinator = read(api, f"/referrals/{rid}", "coord-1", "coordinator").json()
    assert coordinator["reason"] is None and "reason" in coordinator["redacted"]
    fhir = read(api, f"/fhir/ServiceRequest/{rid}", "coord-1", "coordinator").text
    assert REASON not in fhir
    history = read(api, f"/referrals/{rid}/history", "coord-1", "coordinator").text
    assert REASON not in history


def test_break_glass_on_the_plan_opens_its_referrals_and_every_read_is_logged(
    app: ReferralApplication, api: Api
) -> None:
    rid = drafted(api)
    assert read(api, f"/referrals/{rid}", ER).status_code == 403
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).isoformat()
    grant = {"grant_id": "g-1", "clinician_id": ER, "granted_at": until, "until": until}
    [team] = deliver(app, plan_record("EmergencyAccessGranted", grant, 4))
    assert REASON in read(api, f"/referrals/{rid}", ER).text
    rows = read(api, "/access-log", "comp-1", "compliance").json()["items"]
    seen = [(r["who"]["sub"], r["status"], r["break_glass"]) for r in rows if r["what"]["clients"]]
    assert (ER, 200, True) in seen and (ER, 403, False) in seen
    for record in app.history_records(team.id):
        default_registry().validate(ContractId.from_ce_type(record["type"]), record["body"])


def test_a_team_change_moves_access_with_it(app: ReferralApplication, api: Api) -> None:
    rid = drafted(api)
    deliver(
        app,
        plan_record("ClinicianRemoved", {"clinician_id": SEES_SAM, "reason": "caseload-change"}, 5),
    )
    assert read(api, f"/referrals/{rid}", SEES_SAM).status_code == 403
    deliver(
        app,
        plan_record(
            "ClinicianRolesChanged",
            {
                "clinician_id": SEES_ALEX,
                "roles": ["individual-therapist"],
                "clients": [ALEX, SAM],
                "reason": "coverage",
            },
            6,
        ),
    )
    assert REASON in read(api, f"/referrals/{rid}", SEES_ALEX).text
    assert (
        deliver(
            app,
            plan_record("ClinicianRemoved", {"clinician_id": SEES_SAM, "reason": "coverage"}, 5),
        )
        == []
    )
