from __future__ import annotations

import io
import json
import threading

import pytest
from fastapi.testclient import TestClient

from services.common.auth.callers import TokenService
from services.common.logging import configure_logging
from tests.unit.common.support_kit import SETTINGS, build

TOKENS = TokenService(SETTINGS)


def bearer(*roles: str, tenant: str = "practice-a", sub: str = "u-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.mint(sub, tenant, roles)}"}


@pytest.fixture()
def client() -> TestClient:
    app, _ = build()
    return TestClient(app, raise_server_exceptions=False)


def test_a_request_without_a_token_is_a_401_problem(client: TestClient) -> None:
    response = client.get("/numbers")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "Bearer" in response.json()["detail"]


def test_a_role_not_declared_on_the_endpoint_is_a_403_that_names_the_allowed_roles(
    client: TestClient,
) -> None:
    response = client.get("/numbers", headers=bearer("clinician"))
    assert response.status_code == 403
    assert "compliance" in response.json()["detail"]


def test_a_token_signed_with_another_secret_is_refused(client: TestClient) -> None:
    forged = TokenService(SETTINGS.model_copy(update={"jwt_secret": "x" * 40}))
    headers = {"Authorization": f"Bearer {forged.mint('u', 'practice-a', ['compliance'])}"}
    assert client.get("/numbers", headers=headers).status_code == 401


def test_another_tenants_record_answers_404(client: TestClient) -> None:
    created = client.post(
        "/notes", json={"client_id": "c1", "text": "x"}, headers=bearer("clinician")
    )
    note_id = created.json()["id"]
    assert client.get(f"/notes/{note_id}", headers=bearer("clinician")).status_code == 200
    other = client.get(f"/notes/{note_id}", headers=bearer("clinician", tenant="practice-b"))
    assert other.status_code == 404


def test_invalid_body_is_a_422_that_names_each_field(client: TestClient) -> None:
    response = client.post("/notes", json={"client_id": ""}, headers=bearer("clinician"))
    assert response.status_code == 422
    body = response.json()
    assert set(body["errors"]) == {"client_id", "text"}
    assert "client_id" in body["detail"]


def test_writes_and_reads_carry_the_version_as_etag(client: TestClient) -> None:
    created = client.post(
        "/notes", json={"client_id": "c1", "text": "x"}, headers=bearer("clinician")
    )
    assert created.headers["etag"] == 'W/"1"'
    note_id = created.json()["id"]
    assert client.get(f"/notes/{note_id}", headers=bearer("clinician")).headers["etag"] == 'W/"1"'


def test_a_stale_if_match_is_a_412_and_changes_nothing(client: TestClient) -> None:
    note_id = client.post(
        "/notes", json={"client_id": "c1", "text": "one"}, headers=bearer("clinician")
    ).json()["id"]
    ok = client.post(
        f"/notes/{note_id}/amendments",
        json={"client_id": "c1", "text": "two"},
        headers={**bearer("clinician"), "If-Match": '"1"'},
    )
    assert ok.status_code == 200 and ok.headers["etag"] == 'W/"2"'
    stale = client.post(
        f"/notes/{note_id}/amendments",
        json={"client_id": "c1", "text": "three"},
        headers={**bearer("clinician"), "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    assert client.get(f"/notes/{note_id}", headers=bearer("clinician")).json()["text"] == "two"


def test_a_malformed_if_match_is_a_422(client: TestClient) -> None:
    note_id = client.post(
        "/notes", json={"client_id": "c1", "text": "one"}, headers=bearer("clinician")
    ).json()["id"]
    response = client.post(
        f"/notes/{note_id}/amendments",
        json={"client_id": "c1", "text": "two"},
        headers={**bearer("clinician"), "If-Match": "yesterday"},
    )
    assert response.status_code == 422
    assert "If-Match" in response.json()["errors"]


def test_a_retried_idempotency_key_replays_the_first_response_and_stores_nothing() -> None:
    app, store = build()
    client = TestClient(app)
    headers = {**bearer("clinician"), "Idempotency-Key": "k-1"}
    first = client.post("/notes", json={"client_id": "c1", "text": "x"}, headers=headers)
    again = client.post("/notes", json={"client_id": "c1", "text": "x"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(list(store.recorder.select_notifications(start=1, limit=100))) == 1


def test_the_same_idempotency_key_with_another_body_is_a_422() -> None:
    app, store = build()
    client = TestClient(app)
    headers = {**bearer("clinician"), "Idempotency-Key": "k-2"}
    client.post("/notes", json={"client_id": "c1", "text": "x"}, headers=headers)
    other = client.post("/notes", json={"client_id": "c1", "text": "y"}, headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["errors"]
    assert len(list(store.recorder.select_notifications(start=1, limit=100))) == 1


def test_idempotency_keys_are_per_caller() -> None:
    app, store = build()
    client = TestClient(app)
    body = {"client_id": "c1", "text": "x"}
    client.post(
        "/notes", json=body, headers={**bearer("clinician", sub="a"), "Idempotency-Key": "k"}
    )
    client.post(
        "/notes", json=body, headers={**bearer("clinician", sub="b"), "Idempotency-Key": "k"}
    )
    assert len(list(store.recorder.select_notifications(start=1, limit=100))) == 2


def test_pages_say_where_the_next_one_starts(client: TestClient) -> None:
    page = client.get("/numbers?limit=3&offset=3", headers=bearer("compliance")).json()
    assert page == {"items": [3, 4, 5], "total": 7, "limit": 3, "offset": 3, "next_offset": 6}
    assert client.get("/numbers?limit=0", headers=bearer("compliance")).status_code == 422


def test_a_request_carrying_phi_leaves_none_of_it_in_the_log() -> None:
    out = io.StringIO()
    configure_logging("DEBUG", stream=out)
    app, _ = build()
    client = TestClient(app)
    phi = {
        "client_id": "c-77",
        "text": "Partner disclosed heavy drinking",
        "patient_name": "Avery Quinn",
    }
    created = client.post("/notes", json=phi, headers=bearer("clinician"))
    client.post("/notes", json={**phi, "text": ""}, headers=bearer("clinician"))  # a 422 too
    client.get(f"/notes/{created.json()['id']}", headers=bearer("clinician"))
    logged = out.getvalue()
    lines = [json.loads(line) for line in logged.splitlines()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) == 3, "every request is logged once"
    assert all(line["request_id"] and line["correlation_id"] for line in requests)
    assert any(line.get("tenant") == "practice-a" and line.get("actor") == "u-1" for line in lines)
    for value in ("Avery", "Quinn", "heavy drinking"):
        assert value not in logged


def test_the_phi_processor_masks_nested_keys() -> None:
    out = io.StringIO()
    configure_logging("INFO", stream=out)
    from services.common.logging import get_logger

    get_logger("t").info("x", recipient={"id": "r-1", "name": "Dr Example", "address": "1 Main St"})
    record = json.loads(out.getvalue())
    assert record["recipient"] == {"id": "r-1", "name": "[redacted]", "address": "[redacted]"}


def test_concurrent_amendments_of_one_note_have_one_winner() -> None:
    app, _ = build()
    client = TestClient(app)
    note_id = client.post(
        "/notes", json={"client_id": "c1", "text": "x"}, headers=bearer("clinician")
    ).json()["id"]
    statuses: list[int] = []

    def amend(i: int) -> None:
        r = client.post(
            f"/notes/{note_id}/amendments",
            json={"client_id": "c1", "text": f"v{i}"},
            headers={**bearer("clinician"), "If-Match": '"1"'},
        )
        statuses.append(r.status_code)

    threads = [threading.Thread(target=amend, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == 1
    assert all(s in (409, 412) for s in statuses if s != 200)


def test_an_expired_token_is_refused_even_after_it_was_accepted(client: TestClient) -> None:
    import time

    import jwt

    # `exp` is whole seconds: a token of 1 s may live only a moment; 5 s leaves at least 4.
    token = TOKENS.mint("u-1", "practice-a", ["compliance"], ttl_seconds=5)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/numbers", headers=headers).status_code == 200
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    assert client.get("/numbers", headers=headers).status_code == 401


def test_a_sync_route_runs_under_the_request_deadline(client: TestClient) -> None:
    body = client.get("/deadline", headers=bearer("clinician")).json()
    assert 0 < body["remaining"] <= SETTINGS.request_deadline_seconds
