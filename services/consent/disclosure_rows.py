"""The disclosures read model: one row per disclosure, by person and date, rebuildable from events.

`DISCLOSURES` declares it (`consent.disclosures`: the person and the disclosure time as typed,
indexed columns, the disclosure's view as JSON), kept by `careledger projections run consent`
and caught up by the API before it answers (read-your-writes). The accounting of a person's
disclosures and the FHIR AuditEvent search read one person's rows of a period by index, instead
of loading the person's file and each disclosure from the event store; in memory the same
`fold` runs in process (unit tests).

A disclosure is one event (`DisclosureRecorded` on a decision, `DisclosureNoted` without one)
and never changes, so its row is that event's fields as `DisclosureView.view()` shows them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from contracts.records import to_json_value
from services.common.readmodels.postgres import SummaryProjection
from services.common.readmodels.query import Cmp, Condition, Order, eq
from services.common.readmodels.summaries import (
    Column,
    Index,
    SummaryKind,
    SummaryReadModel,
)

RECORDED = "careledger.consent.DisclosureRecorded"  # on a decision of this service
NOTED = "careledger.consent.DisclosureNoted"  # on a paper consent, an exception, or none known
# The fields both events store as they are (DisclosureView.view(), less what is derived below).
_KEPT = (
    "person_id",
    "basis_rule",
    "basis",
    "recipient",
    "description",
    "categories",
    "labels",
    "purpose",
    "disclosed_at",
    "disclosed_by",
    "part2",
    "recorded_by",
    "source",
    "problems",
    "source_ref",
)
_TIMES = ("disclosed_at", "recorded_at")
# The person's file lists disclosures in the order they were recorded: so do the reads.
ORDER = Order(("recorded_at", "id"))


def disclosure_row(
    name: str, disclosure_id: str, version: int, state: Mapping[str, Any]
) -> dict[str, Any]:
    """The view of the disclosure one event records (as the aggregate's `view()` shows it)."""
    on_decision = name == "DisclosureRecorded"
    return {
        "disclosure_id": disclosure_id,
        "version": version,
        "tenant": state["tenant"],
        **{f: state[f] for f in _KEPT},
        "decision_id": state["decision_id"] if on_decision else None,
        "consent_id": state["consent_id"] if on_decision else None,
        "consent_version": state["consent_version"] if on_decision else None,
        "obligations_met": list(state["obligations_met"]) if on_decision else [],
        "recorded_late": state["recorded_late"]
        if on_decision
        else state["source"] != "referral-send",
        "recorded_at": state["timestamp"],
    }


def into(
    rows: dict[str, dict[str, Any]],
    name: str,
    aggregate_id: str,
    version: int,
    state: Mapping[str, Any],
) -> None:
    """`disclosure_row` as the read-model kit calls it: on the rows by disclosure id."""
    if aggregate_id not in rows:
        rows[aggregate_id] = disclosure_row(name, aggregate_id, version, state)


def _from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(data)
    for field in _TIMES:
        row[field] = dt.datetime.fromisoformat(row[field])
    signed_on = row["basis"].get("signed_on")  # a paper consent's
    if isinstance(signed_on, str):
        row["basis"] = {**row["basis"], "signed_on": dt.date.fromisoformat(signed_on)}
    return row


DISCLOSURES: SummaryKind[dict[str, Any]] = SummaryKind(
    name="disclosures",
    schema="consent",
    table="disclosures",
    topics=(RECORDED, NOTED),
    fold=into,
    columns=(
        Column("person_id", "text"),
        Column("disclosed_at", "timestamptz"),
        Column("recorded_at", "timestamptz"),
    ),
    values=lambda row: {f: row[f] for f in ("person_id", "disclosed_at", "recorded_at")},
    tenant_of=lambda row: str(row["tenant"]),
    to_json=lambda row: dict(to_json_value(row)),
    from_json=_from_json,
    indexes=(Index(("tenant", "person_id", "disclosed_at")),),  # one person's, of a period
)
Disclosures = SummaryProjection.of(DISCLOSURES)
DisclosureReadModel = SummaryReadModel[dict[str, Any]]


def of_person(
    person_id: str, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> Sequence[Condition]:
    """One person's disclosures made in [start, end) (either end open when None)."""
    where: list[Condition] = [eq("person_id", person_id)]
    if start is not None:
        where.append(Cmp("disclosed_at", ">=", start))
    if end is not None:
        where.append(Cmp("disclosed_at", "<", end))
    return where


def shown(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's disclosure view (the row less the practice it belongs to)."""
    return {k: v for k, v in row["data"].items() if k != "tenant"}
