"""The care team changes over time: assign, change roles and clients, remove, with a reason."""

from __future__ import annotations

from uuid import UUID

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict, Forbidden, NotFound, RuleBroken
from services.plan import fhir
from services.plan.application import SYSTEM_READER, PlanApplication
from services.plan.domain.care_team import served_clients, team_entry
from services.plan.domain.commands import AssignClinician, ChangeClinicianRoles, RemoveClinician
from tests.unit.plan.support_builders import INDIVIDUAL_THERAPIST, SAM, TENANT, THERAPIST

COORDINATOR = CommandContext(actor_id="coord-1", actor_role="coordinator", tenant=TENANT)
OUTSIDER = CommandContext(actor_id="clin-outside", actor_role="clinician", tenant=TENANT)


def test_a_lead_assigns_an_individual_therapist_for_one_partner(
    app: PlanApplication, ctx: CommandContext, plan_id: UUID
) -> None:
    result = app.assign_clinician(
        ctx=ctx,
        plan_id=plan_id,
        command=AssignClinician(
            clinician_id="clin-new",
            roles=["individual-therapist"],
            clients=[SAM],
            reason="specialist-needed",
        ),
    )
    plan = app.plan(plan_id, TENANT)
    entry = team_entry(plan, "clin-new")
    assert entry == {
        "clinician_id": "clin-new",
        "roles": ["individual-therapist"],
        "clients": [SAM],
    }
    assert served_clients(plan, entry) == [SAM]
    assert result["version"] == plan.version
    events = [h["event"] for h in app.history(plan_id, tenant=TENANT)]
    assert events[-1] == "ClinicianAssigned"


def test_roles_and_clients_change_and_a_member_is_removed_with_a_reason(
    app: PlanApplication, ctx: CommandContext, plan_id: UUID
) -> None:
    app.change_clinician_roles(
        ctx=COORDINATOR,
        plan_id=plan_id,
        command=ChangeClinicianRoles(
            clinician_id=INDIVIDUAL_THERAPIST,
            roles=["individual-therapist"],
            clients=[SAM],
            reason="caseload-change",
        ),
    )
    assert team_entry(app.plan(plan_id, TENANT), INDIVIDUAL_THERAPIST)["clients"] == [SAM]
    app.remove_clinician(
        ctx=ctx,
        plan_id=plan_id,
        command=RemoveClinician(clinician_id=INDIVIDUAL_THERAPIST, reason="clinician-leaving"),
    )
    assert team_entry(app.plan(plan_id, TENANT), INDIVIDUAL_THERAPIST) is None
    bodies = [h["body"] for h in app.history(plan_id, tenant=TENANT)[-2:]]
    assert [b["reason"] for b in bodies] == ["caseload-change", "clinician-leaving"]


def test_the_plan_keeps_its_lead(app: PlanApplication, ctx: CommandContext, plan_id: UUID) -> None:
    with pytest.raises(Conflict, match="needs a couples-therapist"):
        app.remove_clinician(
            ctx=ctx,
            plan_id=plan_id,
            command=RemoveClinician(clinician_id=THERAPIST, reason="clinician-leaving"),
        )
    with pytest.raises(Conflict, match="needs a couples-therapist"):
        app.change_clinician_roles(
            ctx=ctx,
            plan_id=plan_id,
            command=ChangeClinicianRoles(
                clinician_id=THERAPIST, roles=["individual-therapist"], reason="coverage"
            ),
        )


def test_a_clinician_outside_the_team_cannot_add_themselves(
    app: PlanApplication, plan_id: UUID
) -> None:
    with pytest.raises(Forbidden, match="couples-therapist or a coordinator"):
        app.assign_clinician(
            ctx=OUTSIDER,
            plan_id=plan_id,
            command=AssignClinician(
                clinician_id="clin-outside", roles=["couples-therapist"], reason="coverage"
            ),
        )


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"clinician_id": THERAPIST, "roles": ["couples-therapist"]}, Conflict),
        ({"clinician_id": "c-2", "roles": ["healer"]}, RuleBroken),
        (
            {"clinician_id": "c-2", "roles": ["individual-therapist"], "clients": ["nobody"]},
            RuleBroken,
        ),
        ({"clinician_id": "c-2", "roles": ["care-coordinator"], "clients": [SAM]}, RuleBroken),
        ({"clinician_id": "c-2", "roles": ["care-coordinator"], "reason": "because"}, RuleBroken),
    ],
)
def test_a_bad_assignment_is_refused_with_what_to_fix(
    app: PlanApplication, ctx: CommandContext, plan_id: UUID, change: dict, error: type
) -> None:
    before = app.plan(plan_id, TENANT).version
    with pytest.raises(error):
        app.assign_clinician(
            ctx=ctx, plan_id=plan_id, command=AssignClinician(**{"reason": "intake", **change})
        )
    assert app.plan(plan_id, TENANT).version == before


def test_changing_someone_not_on_the_team_is_a_404(
    app: PlanApplication, ctx: CommandContext, plan_id: UUID
) -> None:
    with pytest.raises(NotFound):
        app.remove_clinician(
            ctx=ctx,
            plan_id=plan_id,
            command=RemoveClinician(clinician_id="clin-nobody", reason="coverage"),
        )


def test_the_fhir_care_plan_shows_the_team(
    app: PlanApplication, ctx: CommandContext, plan_id: UUID
) -> None:
    app.assign_clinician(
        ctx=ctx,
        plan_id=plan_id,
        command=AssignClinician(
            clinician_id="clin-new",
            roles=["individual-therapist"],
            clients=[SAM],
            reason="specialist-needed",
        ),
    )
    resource = fhir.care_plan(app.plan(plan_id, TENANT), SYSTEM_READER)
    assert resource["careTeam"] == [{"reference": "#team"}]
    team = next(r for r in resource["contained"] if r["resourceType"] == "CareTeam")
    members = {
        (p["member"]["reference"], p["role"][0]["coding"][0]["code"]) for p in team["participant"]
    }
    assert members == {
        (f"Practitioner/{THERAPIST}", "couples-therapist"),
        (f"Practitioner/{INDIVIDUAL_THERAPIST}", "individual-therapist"),
        ("Practitioner/clin-new", "individual-therapist"),
    }
