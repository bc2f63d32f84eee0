"""Idempotency-Key: kept per (tenant, subject), released on any failure, expiring, never shared."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from services.common.auth.callers import TokenService
from services.common.http.idempotency import MemoryIdempotencyStore, Owner, fingerprint_of
from tests.unit.common.support_kit import SETTINGS, KitApplication, build

TOKENS = TokenService(SETTINGS)
BODY = {"client_id": "c1", "text": "x"}


def auth(tenant: str = "practice-a", sub: str = "u-1", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.mint(sub, tenant, ['clinician'])}", **extra}


def stored(store: KitApplication) -> int:
    return len(list(store.recorder.select_notifications(start=1, limit=100)))


@pytest.fixture()
def kit() -> tuple[TestClient, KitApplication]:
    app, store = build()
    return TestClient(app, raise_server_exceptions=False), store


def test_a_key_is_released_when_the_command_raises_and_the_retry_runs_it(
    kit: tuple[TestClient, KitApplication],
) -> None:
    client, store = kit
    client.app.state.failures.append("the database went away mid-command")  # type: ignore[attr-defined]
    headers = auth(**{"Idempotency-Key": "k-raise"})
    assert client.post("/flaky", json=BODY, headers=headers).status_code == 500
    retried = client.post("/flaky", json=BODY, headers=headers)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert stored(store) == 1


def test_a_refused_request_releases_its_key_so_the_corrected_one_runs(
    kit: tuple[TestClient, KitApplication],
) -> None:
    client, store = kit
    headers = auth(**{"Idempotency-Key": "k-fix"})
    assert client.post("/notes", json={"client_id": ""}, headers=headers).status_code == 422
    assert client.post("/notes", json=BODY, headers=headers).status_code == 201
    assert stored(store) == 1


def test_callers_whose_joined_ids_look_alike_never_share_a_key(
    kit: tuple[TestClient, KitApplication],
) -> None:
    client, store = kit
    first = client.post("/notes", json=BODY, headers=auth("a", "b/c", **{"Idempotency-Key": "k"}))
    second = client.post("/notes", json=BODY, headers=auth("a/b", "c", **{"Idempotency-Key": "k"}))
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert stored(store) == 2


@pytest.mark.parametrize(
    ("path", "extra"),
    [("/notes?client_id=x", {}), ("/notes", {"If-Match": '"3"'})],
)
def test_the_same_key_with_another_query_or_if_match_is_a_422(
    kit: tuple[TestClient, KitApplication], path: str, extra: dict[str, str]
) -> None:
    client, store = kit
    assert client.post("/notes", json=BODY, headers=auth(**{"Idempotency-Key": "k-q"})).is_success
    other = client.post(path, json=BODY, headers=auth(**{"Idempotency-Key": "k-q"}, **extra))
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["errors"]
    assert stored(store) == 1


def test_a_duplicate_while_the_first_runs_is_a_409_with_retry_after() -> None:
    store = MemoryIdempotencyStore()
    app, _ = build(idempotency=store)
    client = TestClient(app, raise_server_exceptions=False)
    body = json.dumps(BODY).encode()
    running = fingerprint_of({"method": "POST", "path": "/notes"}, b"", body)
    assert isinstance(store.claim(Owner("practice-a", "u-1"), "k-busy", running), str)
    answer = client.post(
        "/notes",
        content=body,
        headers=auth(**{"Idempotency-Key": "k-busy", "content-type": "application/json"}),
    )
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["Retry-After"] == "1"


def test_kept_answers_expire_and_are_purged(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr("services.common.http.idempotency.time.time", lambda: clock[0])
    store = MemoryIdempotencyStore(ttl_seconds=60)
    owner = Owner("practice-a", "u-1")
    claim = store.claim(owner, "k", "f")
    assert isinstance(claim, str)
    store.complete(claim, 201, [], b"{}")
    assert not isinstance(store.claim(owner, "k", "f"), str)  # replayed while kept
    clock[0] += 61
    assert isinstance(store.claim(owner, "k", "f"), str)  # expired: purged, claimed afresh
    assert len(store._rows) == 1
