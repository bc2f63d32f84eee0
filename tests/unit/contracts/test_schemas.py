"""Every domain event has a valid contract, and a new version never breaks an older one."""

from __future__ import annotations

import importlib
from itertools import pairwise

import pytest
from jsonschema import Draft202012Validator

from contracts.naming import event_name
from contracts.schemas import ContractId, breaking_changes, default_registry
from services.common.events import named_event_classes

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
CONTRACTS = default_registry().contracts()


def events_of(service: str) -> dict[str, type]:
    try:
        importlib.import_module(f"services.{service}.domain")
    except ModuleNotFoundError as exc:
        if exc.name and f"services.{service}.domain".startswith(exc.name):
            pytest.skip(f"services.{service}.domain does not exist yet")
        raise
    return named_event_classes(service)


@pytest.mark.parametrize("service", ["plan", "consent", "referral"])
def test_every_domain_event_version_has_a_schema_file(service: str) -> None:
    missing = []
    for topic, cls in events_of(service).items():
        for version in range(1, getattr(cls, "class_version", 1) + 1):
            contract = ContractId(service, event_name(topic), version)
            if not default_registry().path(contract).exists():
                missing.append(contract.relative_path)
    assert not missing, f"events without a contract in contracts/schemas: {missing}"


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.relative_path)
def test_every_schema_is_a_valid_2020_12_schema_of_a_record_body(contract: ContractId) -> None:
    schema = default_registry().load(contract)
    Draft202012Validator.check_schema(schema)
    assert schema.get("$schema") == DRAFT_2020_12
    assert schema.get("type") == "object"
    assert schema.get("additionalProperties") is False
    properties = schema.get("properties", {})
    assert {"id", "version", "timestamp"} <= set(properties), "the body always has these"
    assert set(schema.get("required", ())) <= set(properties)


def _versions() -> list[tuple[ContractId, ContractId]]:
    return [(a, b) for a, b in pairwise(CONTRACTS) if a[:2] == b[:2]]


@pytest.mark.parametrize("older,newer", _versions(), ids=lambda c: c.relative_path)
def test_a_new_version_keeps_every_required_field_of_the_previous_one(
    older: ContractId, newer: ContractId
) -> None:
    assert newer.version == older.version + 1, "versions of an event are numbered 1, 2, 3..."
    problems = breaking_changes(default_registry().load(older), default_registry().load(newer))
    assert not problems, f"{newer.relative_path} breaks {older.relative_path}: {problems}"


def test_compatibility_check_finds_removed_optional_and_retyped_required_fields() -> None:
    older = {
        "required": ["a", "b", "c", "d"],
        "properties": {k: {"type": "string"} for k in "abcd"},
    }
    newer = {
        "required": ["a", "c", "d", "e"],
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "string"},
            "c": {"type": "integer"},
            "e": {"type": "string"},
        },
    }
    assert breaking_changes(older, newer) == [
        "required field 'b' became optional",
        "required field 'c' changed type from 'string' to 'integer'",
        "required field 'd' was removed",
    ]
    assert breaking_changes(older, {**older, "properties": {**older["properties"], "x": {}}}) == []


def test_an_event_type_parses_into_service_event_and_version() -> None:
    contract = ContractId.from_ce_type("careledger.plan.FormatShifted.v2")
    assert contract == ContractId("plan", "FormatShifted", 2)
    assert contract.ce_type == "careledger.plan.FormatShifted.v2"
    assert contract.relative_path == "plan/FormatShifted.v2.json"
