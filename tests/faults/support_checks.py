"""What every fault test ends with: store and topic agree exactly once; read models complete."""

from __future__ import annotations

import time

from contracts.envelope import event_id
from tests.faults.support_load import SHIFT_REASONS, Answer, PlanLoad
from tests.faults.support_stack import SERVICES, PrivateStack, TopicReader, count, query
from tests.faults.support_stack import stored_event_ids as stored

CATCH_UP_SECONDS = 120


def caught_up(stack: PrivateStack, topics: dict[str, TopicReader]) -> dict[str, int]:
    """Wait for the relays and projections; fail on a lost, doubled or unknown event."""
    url = stack.info.database_url
    deadline = time.monotonic() + CATCH_UP_SECONDS
    published: dict[str, int] = {}
    for service in SERVICES:
        expected = stored(url, service)
        reader = topics[service]
        while not set(expected) <= set(reader.counts) and time.monotonic() < deadline:
            reader.poll_for(1.0)
        reader.poll_for(1.5)  # a late duplicate would show up now
        lost = sorted(expected[i] for i in set(expected) - set(reader.counts))
        doubled = sorted(i for i, n in reader.counts.items() if n > 1)
        # Read the store again after the topic: whatever a relay published was committed before,
        # and a consumer may have saved more (e.g. suggestions) since `expected` was read.
        unknown = sorted(set(reader.counts) - set(stored(url, service)))
        assert not lost, f"{service}: {len(lost)} stored events never reached Kafka: {lost[:10]}"
        assert not doubled, f"{service}: {len(doubled)} events published twice: {doubled[:10]}"
        assert not unknown, f"{service}: {len(unknown)} records not in the store: {unknown[:10]}"
        published[service] = len(expected)
    while time.monotonic() < deadline and projection_gaps(url):
        time.sleep(0.5)
    gaps = projection_gaps(url)
    assert not gaps, "read models not caught up:\n" + "\n".join(gaps)
    return published


def stopped_and_caught_up(
    load: PlanLoad, stack: PrivateStack, topics: dict[str, TopicReader]
) -> dict[str, int]:
    """Stop the load, then `caught_up`."""
    load.stop()
    load.join(120)
    return caught_up(stack, topics)


def assert_all_succeeded(during: list[Answer], at_least: int, what: str, *loads: PlanLoad) -> None:
    """At least `at_least` commands answered during the fault, each 2xx; no 500 at any time."""
    statuses = sorted({a.status for a in during})
    assert len(during) >= at_least, f"the load did not run while {what}"
    assert all(200 <= a.status < 300 for a in during), statuses
    assert all(load.statuses()[500] == 0 for load in loads)


def projection_gaps(url: str) -> list[str]:
    """What the read models and the referral reaction lack, compared with the event stores."""
    plans = count(url, "SELECT count(*) FROM plan.plan_events WHERE topic LIKE '%.PlanCreated'")
    summaries = count(url, "SELECT count(*) FROM plan.plan_summaries")
    referrals = count(
        url, "SELECT count(*) FROM referral.referral_events WHERE topic LIKE '%.ReferralDrafted'"
    )
    referral_summaries = count(url, "SELECT count(*) FROM referral.referral_summaries")
    reasons = ", ".join(f"'{r}'" for r in SHIFT_REASONS)
    shifts = query(
        url,
        "SELECT originator_id, originator_version FROM plan.plan_events "  # noqa: S608
        "WHERE topic LIKE '%.FormatShifted' "
        f"AND convert_from(state, 'UTF8')::jsonb->>'reason' IN ({reasons})",
    )
    wanted = {event_id(str(oid), int(v)) for oid, v in shifts}
    suggested = [
        row[0]
        for row in query(
            url,
            "SELECT convert_from(state, 'UTF8')::jsonb->>'source_id' FROM referral.referral_events "
            "WHERE topic LIKE '%.ReferralDrafted' "
            "AND convert_from(state, 'UTF8')::jsonb->>'origin' = 'plan-suggestion'",
        )
    ]
    gaps = []
    if summaries != plans:
        gaps.append(f"plan_summaries has {summaries} rows for {plans} plans")
    if referral_summaries != referrals:
        gaps.append(f"referral_summaries has {referral_summaries} rows for {referrals} referrals")
    if set(suggested) != wanted or len(suggested) != len(set(suggested)):
        gaps.append(
            f"{len(wanted)} substance-use shifts gave {len(suggested)} suggestions "
            f"({len(set(suggested))} distinct, {len(wanted - set(suggested))} missing)"
        )
    return gaps
