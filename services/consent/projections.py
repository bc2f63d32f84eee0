"""The compliance read model: every decision, with its break-glass review, rebuildable from events.

`DECISIONS` declares the decision rows (`consent.compliance_decisions`: typed, indexed columns
and the row as JSON), kept by `careledger projections run consent` and caught up by the API
before it answers (read-your-writes; the runner locks the projection's tracking row, so the
two take turns). It serves the list of denials and break-glass decisions for a period and the
compliance review queue, filtered, sorted and paged in SQL; in memory the same `fold` runs in
process (unit tests).

The accounting of disclosures reads the disclosures read model (disclosure_rows.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.records import to_json_value
from services.common.access.reads import projection_for
from services.common.readmodels.postgres import PostgresSummaries, SummaryProjection
from services.common.readmodels.projection import Projection
from services.common.readmodels.query import Cmp, Condition, Order, eq
from services.common.readmodels.readstore import ReadStore
from services.common.readmodels.summaries import (
    Column,
    Index,
    InMemorySummaries,
    SummaryKind,
    SummaryReadModel,
)
from services.consent.disclosure_rows import Disclosures

DECISION_RECORDED = "careledger.consent.DecisionRecorded"
REVIEW_CLOSED = "careledger.consent.BreakGlassReviewClosed"
TOPICS = (DECISION_RECORDED, REVIEW_CLOSED)


def fold(
    row: dict[str, Any] | None, topic: str, aggregate_id: str, state: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The decision row after one of its events (None for an event of an unknown decision)."""
    if topic == DECISION_RECORDED:
        fields = (
            "tenant",
            "person_id",
            "actor_id",
            "recipient",
            "purpose",
            "categories",
            "labels",
            "decided_at",
            "outcome",
            "basis",
            "obligations",
            "break_glass",
            "carve_out",
            "review_required",
        )
        return {"decision_id": aggregate_id, **{f: state[f] for f in fields}, "review": None}
    if row is None:
        return None
    review = {k: state[k] for k in ("finding", "reviewer_id", "note")}
    return {**row, "review": {**review, "closed_at": state["timestamp"]}}


def into(
    rows: dict[str, dict[str, Any]],
    name: str,
    aggregate_id: str,
    version: int,
    state: Mapping[str, Any],
) -> None:
    """`fold` as the read-model kit calls it: on the rows by decision id."""
    row = fold(rows.get(aggregate_id), f"careledger.consent.{name}", aggregate_id, state)
    if row is not None:
        rows[aggregate_id] = row


def decision_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """The typed columns of a decision's row (what the lists filter and sort on)."""
    return {
        "person_id": row["person_id"],
        "outcome": row["outcome"],
        "break_glass": row.get("break_glass") is not None,
        "carve_out": row.get("carve_out") is not None,
        "decided_at": row["decided_at"],
        "review_open": bool(row["review_required"]) and row["review"] is None,
    }


DECISIONS: SummaryKind[dict[str, Any]] = SummaryKind(
    name="compliance_decisions",
    schema="consent",
    table="compliance_decisions",
    topics=TOPICS,
    fold=into,
    columns=(
        Column("person_id", "text"),
        Column("outcome", "text"),
        Column("break_glass", "boolean"),
        Column("carve_out", "boolean"),
        Column("decided_at", "timestamptz"),
        Column("review_open", "boolean"),
    ),
    values=decision_values,
    tenant_of=lambda row: str(row["tenant"]),
    to_json=lambda row: dict(to_json_value(row)),
    from_json=lambda data: _from_json(data),
    indexes=(
        Index(("tenant", "decided_at", "id")),  # a period's decisions, in order
        Index(("tenant", "outcome", "decided_at", "id")),  # denials
        Index(("tenant", "person_id", "decided_at", "id")),  # one person's
        Index(("tenant", "decided_at", "id"), where="break_glass OR carve_out"),
        Index(("tenant", "decided_at", "id"), where="review_open"),  # the review queue
    ),
)
ComplianceDecisions = SummaryProjection.of(DECISIONS)
ORDER = Order(("decided_at", "id"))  # oldest first


@dataclass(frozen=True)
class DecisionFilter:
    """The decision list's filters: [start, end), outcome, break-glass, carve-out, person."""

    outcome: str | None = None
    break_glass: bool | None = None
    carve_out: bool | None = None
    person_id: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def where(self) -> list[Condition]:
        conditions: list[Condition] = []
        for column in ("outcome", "break_glass", "carve_out", "person_id"):
            value = getattr(self, column)
            if value is not None:
                conditions.append(eq(column, value))
        if self.start is not None:
            conditions.append(Cmp("decided_at", ">=", self.start))
        if self.end is not None:
            conditions.append(Cmp("decided_at", "<", self.end))
        return conditions


REVIEW_OPEN: list[Condition] = [eq("review_open", True)]
DecisionReadModel = SummaryReadModel[dict[str, Any]]


def in_memory_decisions() -> InMemorySummaries[dict[str, Any]]:
    return InMemorySummaries(DECISIONS)


def postgres_decisions(
    store: ReadStore, *, schema: str = DECISIONS.schema
) -> PostgresSummaries[dict[str, Any]]:
    return PostgresSummaries(DECISIONS, store, schema=schema)


def _from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(data)
    row["decided_at"] = dt.datetime.fromisoformat(row["decided_at"])
    return row


PROJECTIONS: list[type[Projection]] = [
    ComplianceDecisions,
    Disclosures,
    projection_for("consent"),
]
