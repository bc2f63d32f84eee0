"""What the stores and Kafka cannot hold is refused at the API: a 422 naming the field, or 413."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contracts.topics import TopicSpec
from services.common.auth.callers import TokenService
from services.common.context import CommandContext, acting_as
from services.common.errors import RuleBroken, TooLarge
from services.common.settings import RECORD_MARGIN_BYTES, Settings
from services.common.store.application import build_application, postgres_env
from services.stack.topics import topic_request
from tests.unit.common.support_kit import SETTINGS, KitApplication, Note, build

TOKENS = TokenService(SETTINGS)
AUTH = {"Authorization": f"Bearer {TOKENS.mint('u-1', 'practice-a', ['clinician'])}"}
CTX = CommandContext(actor_id="u-1", actor_role="clinician", tenant="practice-a")


@pytest.fixture()
def client() -> Iterator[TestClient]:
    app, _ = build()
    yield TestClient(app, raise_server_exceptions=False)


def post_raw(client: TestClient, path: str, body: bytes, **headers: str) -> Any:
    return client.post(
        path, content=body, headers={**AUTH, "content-type": "application/json", **headers}
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [("a\x00b", "U+0000"), ("a\ud800b", "surrogate"), ("\udfff", "surrogate")],
)
def test_text_the_stores_cannot_hold_is_a_422_naming_the_field(
    client: TestClient, text: str, why: str
) -> None:
    body = json.dumps({"client_id": "c1", "text": text}).encode()  # ensure_ascii: \u escapes
    response = post_raw(client, "/notes", body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert list(response.json()["errors"]) == ["text"]
    if why == "U+0000":  # pydantic refuses surrogates itself, with its own words
        assert why in response.json()["errors"]["text"]


def test_odd_but_valid_unicode_is_kept_as_it_came(client: TestClient) -> None:
    text = "\u00a0\u200b\u202e\ufeff\ufffe\U0001f600 e\u0301 \x01\x1f\x7f\u0085 \U0010ffff"
    created = client.post("/notes", json={"client_id": "c1", "text": text}, headers=AUTH)
    assert created.status_code == 201, created.text
    read = client.get(f"/notes/{created.json()['id']}", headers=AUTH)
    assert read.json()["text"] == text


@pytest.mark.parametrize(
    ("url", "field"),
    [("/notes?client_id=a%00b", "query.client_id"), ("/notes?a%00=1", "query")],
)
def test_a_query_parameter_with_nul_is_a_422_naming_it(
    client: TestClient, url: str, field: str
) -> None:
    response = client.get(url, headers=AUTH)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


def test_a_path_with_nul_is_a_422(client: TestClient) -> None:
    response = client.get("/notes/a%00b", headers=AUTH)
    assert (response.status_code, list(response.json()["errors"])) == (422, ["path"])


def test_a_header_with_nul_is_a_422_naming_the_header(client: TestClient) -> None:
    response = client.post(
        "/notes",
        json={"client_id": "c", "text": "t"},
        headers={**AUTH, "X-Correlation-Id": "a\x00b"},
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["x-correlation-id"]


def test_a_body_over_the_limit_is_a_413_problem_before_it_is_read(client: TestClient) -> None:
    body = json.dumps({"client_id": "c", "text": "x" * (256 * 1024)}).encode()
    response = post_raw(client, "/notes", body)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["max_bytes"] == 256 * 1024


def test_a_chunked_body_over_the_limit_is_a_413_too() -> None:
    app, _ = build(Settings(env="dev", max_body_bytes=1000))
    client = TestClient(app, raise_server_exceptions=False)

    def chunks() -> Iterator[bytes]:
        yield b'{"client_id": "c", "text": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    response = client.post(
        "/notes", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 413
    small = client.post("/notes", json={"client_id": "c", "text": "fits"}, headers=AUTH)
    assert small.status_code == 201


@pytest.mark.parametrize(
    "if_match", ['"' + "9" * 5000 + '"', '"\u00b2"', '"1_000"', 'W/"12345678901234567"']
)
def test_an_if_match_that_is_no_version_is_a_422(client: TestClient, if_match: str) -> None:
    sent = if_match.encode("latin-1")  # a superscript two is a digit to str.isdigit
    created = client.post("/notes", json={"client_id": "c", "text": "t"}, headers=AUTH)
    response = client.post(
        f"/notes/{created.json()['id']}/amendments",
        json={"client_id": "c", "text": "u"},
        headers={**AUTH, "If-Match": sent},  # type: ignore[dict-item]
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["If-Match"]
    assert len(response.text) < 500  # the header is not echoed back


def test_an_event_over_the_record_limit_is_refused_when_saved_and_not_stored() -> None:
    app: KitApplication = build_application(
        KitApplication, None, env={"CARELEDGER_MAX_EVENT_BYTES": "400"}
    )
    note = Note(tenant="practice-a", client_id="c", text="x" * 500)
    with pytest.raises(TooLarge) as refused:
        app.save_as(CTX, note)
    assert refused.value.status == 413
    assert app.recorder.max_notification_id() in (None, 0)


def test_the_store_refuses_unstorable_text_that_did_not_come_through_the_api() -> None:
    app: KitApplication = build_application(KitApplication, None)
    fine = Note(tenant="practice-a", client_id="c", text="a \\u0000 literally")
    bad = Note(tenant="practice-a", client_id="c\x00", text="t")
    lone = Note(tenant="practice-a", client_id="c", text="\ud83d")
    app.save_as(CTX, fine)
    for note, field in ((bad, "client_id"), (lone, "text")):
        with pytest.raises(RuleBroken) as refused:
            app.save_as(CTX, note)
        assert list(refused.value.extra["errors"]) == [field]
    [event] = Note(tenant="t", client_id="x\x00", text="t").collect_events()
    with acting_as(CTX), pytest.raises(RuleBroken):  # what a consumer records is mapped too
        app.mapper.to_stored_event(event)
    assert app.recorder.max_notification_id() == 1


def test_the_event_limit_is_the_topics_record_limit_less_the_records_envelope() -> None:
    small = Settings(env="dev", kafka_max_message_bytes=16_384)
    assert small.max_event_bytes == 16_384 - RECORD_MARGIN_BYTES
    assert Settings(env="dev").max_event_bytes == 1_048_576 - RECORD_MARGIN_BYTES  # the producer's
    created = topic_request(TopicSpec("careledger.plan", 6), 1, small.kafka_max_message_bytes)
    assert created["configs"]["max.message.bytes"] == "16384"
    assert postgres_env(small.model_copy(update={"database_url": "postgresql://h/db"}), "plan")[
        "CARELEDGER_MAX_EVENT_BYTES"
    ] == str(16_384 - RECORD_MARGIN_BYTES)
