"""contracts/asyncapi.yaml is generated from the schema files and never drifts from them."""

from __future__ import annotations

import yaml

from contracts.asyncapi import ASYNCAPI_PATH, payload_files, render
from contracts.schemas import default_registry


def test_committed_asyncapi_is_what_the_generator_writes() -> None:
    assert ASYNCAPI_PATH.read_text() == render(), (
        "contracts/asyncapi.yaml is out of date: run `python -m contracts.asyncapi --write`"
    )


def test_every_schema_file_has_a_message_and_every_message_a_schema_file() -> None:
    files = {c.relative_path for c in default_registry().contracts()}
    assert payload_files(ASYNCAPI_PATH.read_text()) == files


def test_asyncapi_declares_the_event_topics_and_the_access_topic_keyed_by_aggregate_id() -> None:
    document = yaml.safe_load(ASYNCAPI_PATH.read_text())
    assert document["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {
        "careledger.plan",
        "careledger.consent",
        "careledger.referral",
        "careledger.access",
    }
    headers = document["components"]["schemas"]["CloudEventHeaders"]
    assert {"ce_id", "ce_type", "ce_tenant", "ce_sensitivity"} <= set(headers["required"])
    for message in document["components"]["messages"].values():
        assert message["bindings"]["kafka"]["key"] == {"type": "string", "format": "uuid"}
