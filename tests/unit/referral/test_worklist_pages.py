"""Worklist pages over HTTP: offset or an opaque cursor, and a 422 for a cursor it never gave."""

from __future__ import annotations

from typing import Any

import pytest

from services.referral.application import ReferralApplication
from tests.unit.referral.support_api_client import Api, referral_body
from tests.unit.referral.support_helpers import FakeConsentGate


@pytest.fixture
def api(app: ReferralApplication, gate: FakeConsentGate) -> Api:
    gate.outcome = "DENY"
    return Api(app)


def blocked(api: Api, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        rid = api.post("/referrals", json=referral_body()).json()["id"]
        api.post(f"/referrals/{rid}/send")
        ids.append(rid)
    return ids


def pages(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every page, following `next_cursor` from the first."""
    found = [api.get("/referrals/worklist", params=params).json()]
    while found[-1]["next_cursor"]:
        params = {**params, "cursor": found[-1]["next_cursor"]}
        found.append(api.get("/referrals/worklist", params=params).json())
    return found


def test_following_the_cursor_reads_every_item_once_in_the_worklist_order(api: Api) -> None:
    ids = blocked(api, 5)
    walked = pages(api, limit=2)
    assert [len(p["items"]) for p in walked] == [2, 2, 1]
    seen = [item["id"] for page in walked for item in page["items"]]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 5
    whole = api.get("/referrals/worklist", params={"limit": 50}).json()["items"]
    assert seen == [item["id"] for item in whole]
    assert all(page["total"] == 5 for page in walked)
    assert walked[1]["next_offset"] is None  # a cursor page points on by cursor only


def test_a_clinician_outside_the_care_team_pages_an_empty_worklist(api: Api) -> None:
    blocked(api, 3)
    assert api.get("/referrals/worklist", params={"limit": 1}).json()["total"] == 3
    page = api.get("/referrals/worklist", params={"limit": 1}, role="clinician").json()
    assert (page["items"], page["total"], page["next_cursor"]) == ([], 0, None)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0", "W10", "e30"])
def test_a_cursor_the_worklist_never_gave_is_a_422_problem(api: Api, cursor: str) -> None:
    blocked(api, 1)
    response = api.get("/referrals/worklist", params={"cursor": cursor})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "cursor" in response.json()["errors"]


def test_a_cursor_and_an_offset_together_are_a_422_problem(api: Api) -> None:
    blocked(api, 3)
    cursor = api.get("/referrals/worklist", params={"limit": 1}).json()["next_cursor"]
    response = api.get("/referrals/worklist", params={"cursor": cursor, "offset": 1})
    assert response.status_code == 422
    assert "offset" in response.json()["errors"]
