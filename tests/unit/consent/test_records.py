"""The labels of named records, read from their owners over HTTP with the caller's token."""

from __future__ import annotations

import httpx
import pytest

from services.common.errors import Forbidden, RuleBroken, Unavailable
from services.consent.records import HttpRecordLookup, RecordRef

PLAN = {
    "id": "p-1",
    "security_labels": ["PSY", "R", "SDV"],
    "sessions": [
        {"session_id": "s-1", "format": "individual"},
        {"session_id": "s-2", "format": "joint"},
    ],
}
REFERRAL = {"id": "r-1", "security_labels": ["42CFRPart2", "ETH", "R"]}


def owner(request: httpx.Request) -> httpx.Response:
    if request.headers.get("authorization") != "Bearer t0k":
        return httpx.Response(401)
    found = {"/plans/p-1": PLAN, "/referrals/r-1": REFERRAL}.get(request.url.path)
    if request.url.path == "/plans/down":
        return httpx.Response(503)
    return httpx.Response(200, json=found) if found else httpx.Response(404)


def lookup() -> HttpRecordLookup:
    urls = {"plan": "http://plan.test", "referral": "http://referral.test"}
    return HttpRecordLookup(lambda: urls, transport=httpx.MockTransport(owner))


def test_plans_sessions_and_referrals_give_their_own_labels() -> None:
    refs = [
        RecordRef("plan", "p-1"),
        RecordRef("session", "s-1", "p-1"),
        RecordRef("session", "s-2", "p-1"),
        RecordRef("referral", "r-1"),
    ]
    found = lookup().labels(refs, token="t0k")
    assert [(r.kind, sorted(r.labels), r.individual_session) for r in found] == [
        ("plan", ["PSY", "R", "SDV"], False),
        ("session", ["PSY"], True),
        ("session", ["PSY"], False),
        ("referral", ["42CFRPart2", "ETH", "R"], False),
    ]


def test_a_record_the_owner_does_not_show_is_a_422_naming_it() -> None:
    with pytest.raises(RuleBroken) as caught:
        lookup().labels([RecordRef("plan", "p-1"), RecordRef("referral", "r-9")], token="t0k")
    assert "records[1]" in caught.value.extra["errors"]
    with pytest.raises(RuleBroken) as missing_session:
        lookup().labels([RecordRef("session", "s-9", "p-1")], token="t0k")
    assert "no session s-9" in missing_session.value.extra["errors"]["records[0]"]


def test_a_session_without_its_plan_or_an_unknown_kind_is_a_422() -> None:
    with pytest.raises(RuleBroken) as caught:
        lookup().labels([RecordRef("session", "s-1"), RecordRef("diary", "d-1")], token="t0k")
    assert set(caught.value.extra["errors"]) == {"records[0].plan_id", "records[1].kind"}


def test_a_refused_token_is_a_403_and_an_owner_that_fails_a_503() -> None:
    with pytest.raises(Forbidden):
        lookup().labels([RecordRef("plan", "p-1")], token="other")
    with pytest.raises(Unavailable):
        lookup().labels([RecordRef("plan", "down")], token="t0k")
    no_urls = HttpRecordLookup(dict, transport=httpx.MockTransport(owner))
    with pytest.raises(Unavailable):
        no_urls.labels([RecordRef("plan", "p-1")], token="t0k")
