"""Kafka cluster ids for `kafka-storage format`: never one its parser takes for an option."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import pytest

from services.stack import kafka


def test_an_id_that_would_start_with_a_dash_is_drawn_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dash_first = uuid.UUID(bytes=b"\xf8" + bytes(15))  # base64url of 0xF8... starts with '-'
    plain = uuid.UUID(bytes=b"\x10" + bytes(15))
    drawn: Iterator[uuid.UUID] = iter([dash_first, plain])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(drawn))
    assert base64.urlsafe_b64encode(dash_first.bytes).decode().startswith("-")
    cluster_id = kafka.new_cluster_id()
    assert not cluster_id.startswith("-")
    assert base64.urlsafe_b64decode(cluster_id + "==") == plain.bytes


def test_ids_are_22_characters_of_base64url() -> None:
    ids = {kafka.new_cluster_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
