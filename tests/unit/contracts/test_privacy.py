"""Every event is labelled and publishes no free text: declarations, contracts and their checks."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event

from contracts.fields import NOT_FREE_TEXT, STORED_ONLY, covered, fields, free_text_paths
from contracts.naming import event_name, publication_of
from contracts.privacy import CONFIDENTIALITY, LABELS, Publication, canonical, labels_of
from contracts.schemas import ContractId, breaking_changes, default_registry
from services.common.events import name_events, named_event_classes, published

SERVICES_ROOT = Path(__file__).resolve().parents[3] / "services"
# Every service with a domain, now or later: a new one is checked without editing this test.
SERVICES = sorted(
    {p.parent.parent.name for p in SERVICES_ROOT.glob("*/domain/__init__.py")}
    | {p.parent.name for p in SERVICES_ROOT.glob("*/domain.py")}
)
for _service in SERVICES:
    importlib.import_module(f"services.{_service}.domain")
# Access events live in each service's store; their namespace has no domain package of its own.
importlib.import_module("services.common.access.log")
SERVICES.append("access")
EVENTS = {t: cls for t, cls in named_event_classes().items() if t.split(".")[1] in SERVICES}
CONTRACTS = [c for c in default_registry().contracts() if c.service in SERVICES]


def event_of(contract: ContractId) -> type[Any]:
    return EVENTS[f"careledger.{contract.service}.{contract.event}"]


def test_the_services_and_their_events_are_all_found() -> None:
    assert {"plan", "consent", "referral"} <= set(SERVICES)
    assert len(EVENTS) >= 45


@pytest.mark.parametrize("topic", sorted(EVENTS))
def test_every_event_class_declares_its_confidentiality_and_only_hcs_codes(topic: str) -> None:
    cls = EVENTS[topic]
    assert "PUBLICATION" in vars(cls) or hasattr(cls, "PUBLICATION"), (
        f"{topic} has no @published(labels=[...]) declaration: it would publish as R by default"
    )
    labels = set(publication_of(cls).labels)
    assert len(labels & CONFIDENTIALITY) == 1, f"{topic}: declare exactly one of N or R"
    assert labels <= set(LABELS)


@pytest.mark.parametrize("topic", sorted(EVENTS))
def test_every_event_publishes_a_contract_without_its_private_fields(topic: str) -> None:
    cls, service = EVENTS[topic], topic.split(".")[1]
    publication = publication_of(cls)
    version = publication.version or getattr(cls, "class_version", 1)
    schema = default_registry().load(ContractId(service, event_name(topic), version))
    published = fields(schema)
    assert not [p for p in published if covered(p, publication.private)]
    for path, codes in publication.coded.items():
        node = published[canonical(path)]
        assert set(node.schema["enum"]) == set(codes) and not node.required, path
    assert set(schema.get("x-withdrawn", publication.withdrawn)) == set(publication.withdrawn)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.relative_path)
def test_every_free_text_field_of_every_contract_is_declared_private(
    contract: ContractId,
) -> None:
    publication = publication_of(event_of(contract))
    loose = [
        path
        for path in free_text_paths(default_registry().load(contract))
        if not covered(path, publication.withdrawn)
    ]
    assert not loose, (
        f"{contract.relative_path}: {loose} may hold free text. Declare them private (or "
        "coded) in @published and publish a new version, or, if they hold ids or codes, give "
        "them an enum, format or pattern (or name them in contracts.fields.NOT_FREE_TEXT)"
    )


@pytest.mark.parametrize("topic", sorted(EVENTS))
def test_every_declared_private_field_exists_in_an_earlier_contract(topic: str) -> None:
    """A private field was in an earlier contract, or (a new event's first contract leaves it
    out) is one of the stored event's own fields."""
    service, name = topic.split(".")[1], event_name(topic)
    known: set[str] = set(getattr(EVENTS[topic], "__annotations__", {}))
    for contract in CONTRACTS:
        if (contract.service, contract.event) == (service, name):
            document = default_registry().load(contract)
            known |= set(fields(document)) | set(document.get(STORED_ONLY, ()))
    missing = set(publication_of(EVENTS[topic]).withdrawn) - known
    assert not missing, f"{topic} declares fields no contract has: {sorted(missing)}"


def test_the_free_text_scan_finds_loose_strings_and_passes_ids_codes_and_dates() -> None:
    schema = {
        "properties": {
            "note": {"type": ["string", "null"]},
            "client_id": {"type": "string"},
            "on": {"type": "string", "format": "date"},
            "reason": {"type": "string", "enum": ["a", "b"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "checks": {"type": "array", "items": {"properties": {"why": {"type": "string"}}}},
            "security_labels": {"type": "array", "items": {"type": "string"}},
        }
    }
    assert free_text_paths(schema) == ["note", "tags", "checks[].why"]
    assert "security_labels" in NOT_FREE_TEXT


def test_a_new_version_may_withdraw_only_fields_it_declares_private() -> None:
    older = {
        "title": "v1",
        "required": ["a", "note", "who"],
        "properties": {
            "a": {"type": "string"},
            "note": {"type": "string"},
            "who": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
            },
            "extra": {"type": "string"},
        },
    }
    newer = {
        "required": ["a", "who"],
        "properties": {
            "a": {"type": "string"},
            "who": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        },
        "x-withdrawn": ["note", "who.name"],
    }
    assert breaking_changes(older, newer) == [
        "field 'extra' was removed: only fields declared private (x-withdrawn) may be"
    ]
    undeclared = {**newer, "x-withdrawn": ["note"]}
    assert breaking_changes(older, undeclared)[0] == "required field 'who.name' was removed"
    bogus = {**newer, "x-withdrawn": ["note", "who.name", "nothing"]}
    assert "'nothing' is declared withdrawn" in breaking_changes(older, bogus)[0]


def test_labels_imply_restriction_and_no_redisclosure_and_are_never_empty() -> None:
    assert labels_of(["N", "BH"]) == ["BH", "N"]
    assert labels_of(["N"], ["SDV"]) == ["R", "SDV"]
    assert labels_of(["N"], ["42CFRPart2", "ETH"]) == ["42CFRPart2", "ETH", "NORDSCLCD", "R"]
    assert labels_of(["R", "BH", "PSYTHPN"], ["PSY"]) == ["BH", "PSY", "PSYTHPN", "R"]
    assert labels_of([]) == ["R"]


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"labels": ("BH",)}, "confidentiality code"),
        ({"labels": ("R", "SECRET")}, "unknown security labels"),
        ({"labels": ("R",), "private": ("notes[]",)}, "the last step"),
        ({"labels": ("R",), "private": ("Notes",)}, "field path"),
    ],
)
def test_a_publication_refuses_what_it_cannot_keep(kwargs: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Publication(**kwargs)


def test_withdrawal_reaches_into_lists_recursive_lists_and_coded_fields() -> None:
    publication = Publication(
        labels=("N",),
        private=("note", "items[].why", "rules[]*.who[].name"),
        coded={"measure": frozenset({"phq-9"})},
    )
    body = {
        "note": "x",
        "measure": "days sober",
        "items": [{"why": "y", "n": 1}],
        "rules": [
            {
                "who": [{"id": "1", "name": "z"}],
                "rules": [{"who": [{"id": "2", "name": "w"}], "rules": []}],
            }
        ],
    }
    assert publication.withdraw(body) == {
        "items": [{"n": 1}],
        "rules": [{"who": [{"id": "1"}], "rules": [{"who": [{"id": "2"}], "rules": []}]}],
    }
    assert publication.withdraw({"measure": "phq-9"}) == {"measure": "phq-9"}
    assert publication.withdrawn == ["items[].why", "measure", "note", "rules[].who[].name"]


class Probe(Aggregate):
    @published(labels=["N"])
    @event("ProbeOpened")
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    @event("ProbeNoted")
    @published(labels=["R", "PSYTHPN"], private=["text"], version=2)
    def _noted(self, text: str) -> None:
        self.text = text

    @event("ProbeUndeclared")
    def _undeclared(self) -> None:
        pass


name_events("privacyprobe", Probe)


def test_a_declaration_above_or_below_event_reaches_the_event_class() -> None:
    opened, noted = publication_of(Probe.ProbeOpened), publication_of(Probe.ProbeNoted)
    assert (opened.labels, opened.version) == (("N",), None)
    assert (noted.labels, noted.private, noted.version) == (("R", "PSYTHPN"), ("text",), 2)
    assert publication_of(Probe.ProbeUndeclared).labels == ("R",), "undeclared: restricted"
