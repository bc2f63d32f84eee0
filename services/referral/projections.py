"""Read models of the referral service: one summary row per referral, rebuildable from events.

`SUMMARIES` declares the referral summary (`referral.referral_summaries`): typed columns the
worklist and metrics filter and sort on, and their indexes. It is kept by `careledger
projections run referral` and, so that a coordinator sees their own changes at once, caught up
by the API before each worklist or metrics answer (the runner locks the projection's tracking
row, so the two take turns). In memory, the same fold runs in process (unit tests).
"""

from __future__ import annotations

from services.common.access.reads import projection_for
from services.common.events import named_event_classes
from services.common.readmodels.postgres import PostgresSummaries, SummaryProjection
from services.common.readmodels.projection import Projection
from services.common.readmodels.readstore import ReadStore
from services.common.readmodels.summaries import (
    Column,
    Index,
    InMemorySummaries,
    SummaryKind,
    SummaryReadModel,
)
from services.referral import domain as _domain  # noqa: F401 - names the referral events
from services.referral.summary import (
    ReferralSummary,
    fold,
    summary_from_json,
    summary_to_json,
    summary_values,
)
from services.referral.team_rows import PlanTeamRows

# The referrals' own events: not the plan teams' (domain/plan_team.py) nor the access events.
REFERRAL_EVENTS = tuple(
    sorted(
        topic
        for topic, cls in named_event_classes("referral").items()
        if cls.__qualname__.split(".")[0] == "Referral"
    )
)
SUMMARIES: SummaryKind[ReferralSummary] = SummaryKind(
    name="referral_summaries",
    schema="referral",
    table="referral_summaries",
    topics=REFERRAL_EVENTS,
    fold=fold,
    columns=(
        Column("plan_id", "text"),
        Column("client_id", "text"),
        Column("referral_type", "text"),
        Column("origin", "text"),
        Column("coordinator_id", "text"),
        Column("organization_id", "text"),
        Column("state", "text"),
        Column("open", "boolean"),
        Column("blocked", "boolean"),
        Column("due_at", "timestamptz"),
        Column("acknowledge_by", "timestamptz"),
        Column("first_appointment_by", "timestamptz"),
        Column("booked_late", "boolean"),
        Column("sent_at", "timestamptz"),
        Column("attended_at", "timestamptz"),
        Column("completed_at", "timestamptz"),
        Column("accepted_at", "timestamptz"),  # the metrics' figures from here on
        Column("declined_at", "timestamptz"),
        Column("first_appointment_at", "timestamptz"),
        Column("appointments", "integer"),
        Column("no_shows", "integer"),
    ),
    values=summary_values,
    tenant_of=lambda s: s.tenant,
    to_json=summary_to_json,
    from_json=summary_from_json,
    indexes=(
        Index(("tenant", "open", "due_at", "id")),  # the worklist, in its order
        Index(("tenant", "sent_at")),  # the metrics' cohort
        Index(("tenant", "referral_type", "completed_at")),  # detox discharges
        Index(("tenant", "client_id", "attended_at")),  # their follow-up visits
        Index(("tenant", "plan_id", "due_at", "id")),  # a clinician's worklist: their plans'
    ),
)
ReferralSummaries = SummaryProjection.of(SUMMARIES)
ReferralReadModel = SummaryReadModel[ReferralSummary]


def in_memory_summaries() -> InMemorySummaries[ReferralSummary]:
    return InMemorySummaries(SUMMARIES)


def postgres_summaries(
    store: ReadStore, *, schema: str = SUMMARIES.schema
) -> PostgresSummaries[ReferralSummary]:
    return PostgresSummaries(SUMMARIES, store, schema=schema)


PROJECTIONS: list[type[Projection]] = [ReferralSummaries, PlanTeamRows, projection_for("referral")]
