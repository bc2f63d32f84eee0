"""Which referrals a caller may read, as one condition the worklist filters by in SQL.

The read policy places a caller against each referral by its plan's care team and its client
(domain/read_policy.py). For a list, `care_cut` asks it once per plan the caller is connected to
(`reach`: every client, or only some) and once for every other plan (they all answer alike),
and returns a `TeamCut`: a condition over the summaries' `plan_id` and `client_id` that the
PostgreSQL read model renders as SQL (an indexed `plan_id = ANY(...)` for a clinician) and the
in-memory one tests row by row. So the worklist pages exactly what `reader_of` lets the caller
read, without placing the caller row by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from services.common.readmodels.query import Row
from services.common.viewer import Viewer
from services.referral.domain import read_policy as rp
from services.referral.domain.plan_team import TeamRules

_PLAN, _CLIENT = sql.Identifier("plan_id"), sql.Identifier("client_id")


@dataclass(frozen=True)
class TeamCut:
    """Readable: every referral of a plan in `every`; of a plan in `only`, those of the clients
    it names (perhaps none); of any other plan, all when `others` is true, else none."""

    others: bool
    every: frozenset[str] = frozenset()
    only: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def nothing(self) -> bool:
        return not self.others and not self.every and not any(self.only.values())

    @property
    def everything(self) -> bool:
        return self.others and not self.only

    def clause(self) -> tuple[sql.Composable, list[Any]]:
        pairs = sorted((p, c) for p, clients in self.only.items() for c in clients)
        named = sql.SQL(
            "EXISTS (SELECT 1 FROM unnest(%s::text[], %s::text[]) AS k(plan, client)"
            " WHERE k.plan = {} AND k.client = {})"
        ).format(_PLAN, _CLIENT)
        values = [[p for p, _ in pairs], [c for _, c in pairs]]
        if self.others:  # every plan but those in `only`, whose named clients only
            text = sql.SQL("NOT ({} = ANY(%s)) OR {}").format(_PLAN, named)
            return text, [sorted(self.only), *values]
        # Only the plans listed: by the index on (tenant, plan_id), however large the practice.
        listed = sorted(self.every | {p for p, clients in self.only.items() if clients})
        text = sql.SQL("{} = ANY(%s) AND ({} = ANY(%s) OR {})").format(_PLAN, _PLAN, named)
        return text, [listed, sorted(self.every), *values]

    def test(self, row: Row) -> bool:
        plan, client = str(row.get("plan_id")), row.get("client_id")
        if plan in self.every:
            return True
        if plan in self.only:
            return client in self.only[plan]
        return self.others


def care_cut(viewer: Viewer, teams: Iterable[tuple[str, TeamRules]], now: dt.datetime) -> TeamCut:
    """The referrals `viewer` may read, given the teams (by plan id) they are connected to."""
    every: set[str] = set()
    only: dict[str, frozenset[str]] = {}
    for plan_id, team in teams:
        found = rp.reach(viewer, team, now)
        if found.every:
            every.add(plan_id)
        else:
            only[plan_id] = found.clients
    return TeamCut(rp.may_read(rp.reader_of(viewer, None, None, now)), frozenset(every), only)
