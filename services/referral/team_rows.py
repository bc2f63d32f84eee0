"""The care teams read model: each plan's team by the clinicians on it or holding a grant of it.

`TEAMS` declares `referral.plan_teams` (one row per plan team: the plan, the ids of its
clinicians and grant holders in a GIN-indexed `text[]`, the team as JSON), folded from the
`PlanTeam` events (domain/plan_team.py) as the aggregate applies them, kept by `careledger
projections run referral`, caught up by the API before each read and rebuildable from the
events like every summary read model. A clinician's worklist asks it for the teams the
clinician is connected to (`teams_of`, one indexed read) and cuts the worklist by them in SQL
(care_cut.py); in memory the same fold runs in process (unit tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.records import to_json_value
from services.common.readmodels.postgres import SummaryProjection
from services.common.readmodels.query import Has
from services.common.readmodels.summaries import Column, Index, SummaryKind, SummaryReadModel
from services.referral.domain.plan_team import TeamRules, with_member, without_member

TOPICS = tuple(
    f"careledger.referral.{name}"
    for name in (
        "PlanTeamNoted",
        "PlanTeamMemberNoted",
        "PlanTeamMemberLeft",
        "PlanEmergencyAccessNoted",
    )
)


@dataclass
class TeamCopy(TeamRules):
    """One plan's team as the read model keeps it (what the read policy asks of a team)."""

    tenant: str
    plan_id: str
    members: list[str] = field(default_factory=list)
    clinicians: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)

    def connected(self) -> list[str]:
        """Who the team concerns: its clinicians and the holders of a grant (in force or not)."""
        ids = [c["clinician_id"] for c in self.clinicians] + [
            g["clinician_id"] for g in self.grants
        ]
        return sorted(set(ids))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_json_value(
            {"members": self.members, "clinicians": self.clinicians, "grants": self.grants}
        )
        return data

    @classmethod
    def from_json(cls, tenant: str, plan_id: str, data: Mapping[str, Any]) -> TeamCopy:
        grants = [
            {**g, "until": dt.datetime.fromisoformat(str(g["until"]))} for g in data["grants"]
        ]
        return cls(tenant, plan_id, list(data["members"]), list(data["clinicians"]), grants)


def fold(team: TeamCopy | None, name: str, state: Mapping[str, Any]) -> TeamCopy | None:
    """The team after one of its events, as the `PlanTeam` aggregate applies it."""
    if name == "PlanTeamNoted":
        clinicians = [dict(c) for c in state["clinicians"]]
        return TeamCopy(
            state["tenant"], str(state["plan_id"]), list(state["member_ids"]), clinicians
        )
    if team is None:
        return None
    if name == "PlanTeamMemberNoted":
        entry = {k: state[k] for k in ("clinician_id", "roles", "clients")}
        team.clinicians = with_member(team.clinicians, entry)
    elif name == "PlanTeamMemberLeft":
        team.clinicians = without_member(team.clinicians, state["clinician_id"])
    elif name == "PlanEmergencyAccessNoted":
        grant = {"clinician_id": state["clinician_id"], "until": state["until"]}
        team.grants = [*team.grants, grant]
    return team


def into(
    teams: dict[str, TeamCopy], name: str, team_id: str, version: int, state: Mapping[str, Any]
) -> None:
    """`fold` as the read-model kit calls it: on the teams by team id."""
    found = fold(teams.get(team_id), name, state)
    if found is not None:
        teams[team_id] = found


TEAMS: SummaryKind[TeamCopy] = SummaryKind(
    name="plan_teams",
    schema="referral",
    table="plan_teams",
    topics=TOPICS,
    fold=into,
    columns=(Column("plan_id", "text"), Column("clinician_ids", "text[]")),
    values=lambda t: {"plan_id": t.plan_id, "clinician_ids": t.connected()},
    tenant_of=lambda t: t.tenant,
    to_json=lambda t: {"tenant": t.tenant, "plan_id": t.plan_id, **t.to_json()},
    from_json=lambda data: TeamCopy.from_json(data["tenant"], data["plan_id"], data),
    indexes=(Index(("tenant", "clinician_ids"), method="gin"),),  # a clinician's teams
)
PlanTeamRows = SummaryProjection.of(TEAMS)
TeamReadModel = SummaryReadModel[TeamCopy]


def teams_of(app: Any, teams: TeamReadModel, *, tenant: str, clinician_id: str) -> list[TeamCopy]:
    """The teams of `tenant` that `clinician_id` is on or holds a grant of (one indexed read)."""
    return [
        r["data"]
        for r in teams.rows(app, tenant=tenant, where=[Has("clinician_ids", clinician_id)])
    ]
