"""The Kafka check itself: it must find what is missing, extra, duplicated or wrong (no stack)."""

from __future__ import annotations

from contracts.envelope import event_id
from services.demo.kafka_check import Seen, Stored, compare

PLAN_ID = "6c0931ad-34c2-4be5-804c-45dd64d8bff8"


def stored(version: int, tenant: str = "t1") -> Stored:
    return Stored("plan", PLAN_ID, version, "careledger.plan.GoalAdded", 10 + version, tenant)


def seen(version: int, offset: int, *, tenant: str = "t1", position: int | None = None) -> Seen:
    return Seen(
        topic="careledger.plan",
        partition=0,
        offset=offset,
        ce_id=event_id(PLAN_ID, version),
        ce_type="careledger.plan.GoalAdded.v1",
        subject=PLAN_ID,
        tenant=tenant,
        sequence=version,
        position=10 + version if position is None else position,
        labels=(),
        body={},
    )


def by_id(*events: Stored) -> dict[str, Stored]:
    return {e.ce_id: e for e in events}


def test_stores_and_topics_that_agree_one_for_one_pass() -> None:
    events = by_id(stored(1), stored(2))
    report = compare(events, events, [seen(1, 0), seen(2, 1)], "t1")
    assert report.ok, report.summary()
    assert (report.stored, report.on_kafka) == (2, 2)


def test_a_stored_event_missing_from_kafka_is_reported() -> None:
    events = by_id(stored(1), stored(2))
    report = compare(events, events, [seen(1, 0)], "t1")
    assert report.missing == [event_id(PLAN_ID, 2)]
    assert not report.ok


def test_a_record_published_twice_or_not_stored_is_reported() -> None:
    events = by_id(stored(1))
    report = compare(events, events, [seen(1, 0), seen(1, 1), seen(2, 2)], "t1")
    assert report.duplicates == [event_id(PLAN_ID, 1)]
    assert report.extra == [event_id(PLAN_ID, 2)]


def test_an_event_stored_after_the_first_read_is_not_extra() -> None:
    before, after = by_id(stored(1)), by_id(stored(1), stored(2))
    assert compare(after, before, [seen(1, 0), seen(2, 1)], "t1").ok


def test_headers_that_disagree_with_the_store_and_versions_out_of_order_are_reported() -> None:
    events = by_id(stored(1), stored(2))
    report = compare(events, events, [seen(2, 0, position=99), seen(1, 1)], "t1")
    assert report.mismatched == [f"{event_id(PLAN_ID, 2)}: ce_position differs"]
    assert report.out_of_order == [f"{PLAN_ID} v1 after v2"]


def test_records_of_other_tenants_are_left_out_of_a_tenant_check() -> None:
    events = by_id(stored(1))
    assert compare(events, events, [seen(1, 0), seen(7, 1, tenant="t2")], "t1").ok
