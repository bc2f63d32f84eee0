"""The disclosures read model holds each disclosure as its aggregate shows it, by person and date.

`record_every_kind` records one disclosure of each kind (on a decision now, late on a decision,
late on a paper consent and on a legal exception, a referral send on a known and on an unknown
decision); the read model's rows must equal the aggregates' own views, in the order they were
recorded, and the accounting reads the period's rows only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from services.common.context import CommandContext
from services.consent import reactions
from services.consent.application import ConsentApplication
from services.consent.domain.commands import (
    Decide,
    ProduceAccounting,
    RecordDisclosure,
    RecordLateDisclosure,
)
from tests.unit.consent.support_builders import NOW, active_consent, context, request
from tests.unit.consent.test_decisions_and_disclosures import disclosure_terms
from tests.unit.consent.test_late_disclosures import late, paper_part2, sent, years_ago


def record_every_kind(app: ConsentApplication, ctx: CommandContext) -> list[str]:
    """One disclosure of each kind for person-a (and one for person-b); their ids, in order."""
    active_consent(app, ctx)
    decision = app.decide(ctx=ctx, command=Decide(request=request()))
    ids = [
        app.record_disclosure(ctx=ctx, command=RecordDisclosure(terms=disclosure_terms(decision)))
    ]
    recorder = context(role="compliance", actor="comp-1")
    for terms in (late(), paper_part2(years_ago(2)), late(disclosed_at=years_ago(7))):
        ids.append(
            app.record_late_disclosure(ctx=recorder, command=RecordLateDisclosure(terms=terms))
        )
    app.record_late_disclosure(
        ctx=recorder, command=RecordLateDisclosure(terms=late(person_id="person-b"))
    )
    for decision_id, ce_id in ((decision["decision_id"], "ce-1"), ("no-such-decision", "ce-2")):
        found = reactions.react(app, sent(decision_id, ce_id=ce_id))
        app.save_as(ctx, *found)
        ids.append(found[0].view())
    return [str(d["disclosure_id"]) for d in ids]


def aggregate_views(app: ConsentApplication, ids: list[str]) -> list[dict[str, Any]]:
    return [dict(app.repository.get(UUID(i)).view()) for i in ids]


def test_the_rows_are_the_disclosures_as_their_aggregates_show_them(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    ids = record_every_kind(app, ctx)
    assert app.disclosures_of(ctx.tenant, "person-a") == aggregate_views(app, ids)
    assert [d["person_id"] for d in app.disclosures_of(ctx.tenant, "person-b")] == ["person-b"]
    assert app.disclosures_of("practice-2", "person-a") == []


def test_a_period_reads_only_the_disclosures_made_in_it(
    app: ConsentApplication, ctx: CommandContext
) -> None:
    ids = record_every_kind(app, ctx)
    start, end = years_ago(6), NOW - dt.timedelta(days=1)
    found = app.disclosures_of(ctx.tenant, "person-a", start=start, end=end)
    expected = [v for v in aggregate_views(app, ids) if start <= v["disclosed_at"] < end]
    assert found == expected and 0 < len(found) < len(ids)
    accounting = app.account(ctx=ctx, person_id="person-a", command=ProduceAccounting())
    listed = {r["disclosure_id"] for r in [*accounting["items"], *accounting["excluded"]]}
    assert listed == {v["disclosure_id"] for v in aggregate_views(app, ids)} - {
        ids[3]  # made 7 years ago: before the HIPAA window
    }
