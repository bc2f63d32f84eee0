"""Read models of the plan service: one summary per plan, rebuildable from events.

`PlanSummaries` is the PostgreSQL read model (`plan.plan_summaries`, declared in queries.py),
kept by `careledger projections run plan` and caught up by the API before it answers a list, a
worklist or a lookup (the runner locks the projection's tracking row, so the two take turns).
In memory the same fold runs in process (unit tests, stores without PostgreSQL).
"""

from __future__ import annotations

from typing import Any, ClassVar

from services.common.access.reads import projection_for
from services.common.readmodels import postgres
from services.common.readmodels.postgres import SummaryProjection
from services.common.readmodels.projection import Projection, ProjectionRunner
from services.common.readmodels.readstore import ReadStore
from services.common.readmodels.summaries import InMemorySummaries, SummaryKind
from services.plan.queries import CREATED, PLAN_EVENTS, PLAN_SUMMARIES
from services.plan.summary import Summary

__all__ = ["PLAN_EVENTS", "PROJECTIONS", "PlanSummaries", "PostgresSummaries", "in_memory"]


class PlanSummaries(SummaryProjection[Summary]):
    """`plan.plan_summaries`: the typed columns and indexes of queries.PLAN_SUMMARIES."""

    kind: ClassVar[SummaryKind[Any]] = PLAN_SUMMARIES
    name = PLAN_SUMMARIES.name
    schema = PLAN_SUMMARIES.schema
    tables = (PLAN_SUMMARIES.table,)
    topics: ClassVar[tuple[str, ...]] = PLAN_SUMMARIES.topics

    def of_tenant(self, tenant: str) -> list[Summary]:
        """Every summary of a practice, oldest plan first (checks and tests; no list reads it)."""
        return [r["data"] for r in self.select(tenant, (), order=CREATED)]


class PostgresSummaries(postgres.PostgresSummaries[Summary]):
    """The PostgreSQL read model of the application `app`, caught up before each read."""

    def __init__(self, app: Any, store: ReadStore, *, schema: str = PlanSummaries.schema) -> None:
        super().__init__(PLAN_SUMMARIES, store, schema=schema, projection_cls=PlanSummaries)
        self._app = app

    @property
    def projection(self) -> PlanSummaries:
        found = self.current(self._app)
        assert isinstance(found, PlanSummaries)
        return found

    @property
    def runner(self) -> ProjectionRunner:
        self.current(self._app)
        assert self._caught is not None
        return self._caught.runner


def in_memory() -> InMemorySummaries[Summary]:
    return InMemorySummaries(PLAN_SUMMARIES)


PROJECTIONS: list[type[Projection]] = [PlanSummaries, projection_for("plan")]
