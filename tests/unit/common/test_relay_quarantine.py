"""The relay holds a poison event and every later event of its aggregate; the rest goes out."""

from __future__ import annotations

import pytest

from services.common.relay.config import Poison, TooManyHeld, Wire
from services.common.relay.quarantine import MAX_HELD, RelayQuarantine


def wire(aggregate: str, position: int) -> Wire:
    headers = [("ce_position", str(position).encode()), ("ce_type", b"careledger.x.Y.v1")]
    return (aggregate.encode(), b"{}", headers, 0)


def test_a_poison_event_holds_its_aggregate_and_nothing_else() -> None:
    held = RelayQuarantine("svc", "svc", "postgresql://unused")
    items = [
        wire("a", 1),
        Poison(2, "b", "careledger.x.Y", "ContractViolation: n"),
        wire("b", 3),
        wire("a", 4),
        wire("c", 5),
        wire("b", 6),
    ]
    sendable, positions, rows = held.sort(items)
    assert [w[0] for w in sendable] == [b"a", b"a", b"c"]
    assert positions == {2: "b", 3: "b", 6: "b"}
    assert [(r.position, r.held_behind) for r in rows] == [(2, None), (3, 2), (6, 2)]
    assert rows[0].reason.startswith("ContractViolation")


def test_events_of_an_aggregate_held_in_an_earlier_batch_stay_held() -> None:
    held = RelayQuarantine("svc", "svc", "postgresql://unused")
    held.held = {7: "b"}
    sendable, positions, rows = held.sort([wire("b", 9), wire("a", 10)])
    assert [w[0] for w in sendable] == [b"a"]
    assert positions == {7: "b", 9: "b"}
    assert rows[0].held_behind == 7


def test_more_held_events_than_one_bad_record_explains_stop_the_relay() -> None:
    held = RelayQuarantine("svc", "svc", "postgresql://unused")
    poison = [Poison(p, f"agg-{p}", "t", "TopicError") for p in range(1, MAX_HELD + 2)]
    with pytest.raises(TooManyHeld):
        held.sort(poison)
