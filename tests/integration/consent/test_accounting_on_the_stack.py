"""Late-recorded disclosures and both accounting windows on the real PostgreSQL and Kafka.

Disclosures made 2, 4, 5 and 7 years ago are recorded late over HTTP with their real dates and
bases; the accounting lists each under the regime it falls in (HIPAA 6 years for disclosures
under an exception, 42 CFR 2.24 3 years for Part 2 disclosures with consent), and producing it
is itself an event on the topic.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contracts.schemas import default_registry
from services.consent.application import ConsentApplication
from services.consent.bootstrap import create_app
from tests.integration.consent.test_consent_on_the_stack import (
    auth,
    consent,
    relay_everything,
    world,
)
from tests.integration.support_relay import RelayWorld, read_topic

__all__ = ["consent", "world"]  # fixtures
pytestmark = pytest.mark.integration
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
COURT = {
    "kind": "organization",
    "id": "county-court",
    "name": "County Court",
    "address": "1 Court Sq",
}
DETOX = {"kind": "organization", "id": "org-detox", "name": "Harbor Detox"}


def ago(years: float) -> dt.datetime:
    return NOW - dt.timedelta(days=round(365.25 * years))


def court_order(years: float) -> dict[str, Any]:
    return {
        "person_id": "person-a",
        "recipient": COURT,
        "purpose": "COC",
        "description": "treatment records produced under a court order",
        "categories": ["treatment-plan"],
        "disclosed_at": ago(years).isoformat(),
        "disclosed_by": "clin-old",
        "source": "import",
        "basis": {"kind": "legal-exception", "exception": "court-order", "reference": "CV-12"},
    }


def paper_part2(years: float) -> dict[str, Any]:
    signed = (ago(years) - dt.timedelta(days=7)).date().isoformat()
    return {
        "person_id": "person-a",
        "recipient": DETOX,
        "purpose": "TREAT",
        "description": "intake assessment sent by fax",
        "categories": ["substance-use"],
        "disclosed_at": ago(years).isoformat(),
        "disclosed_by": "clin-old",
        "source": "outside-system",
        "basis": {"kind": "paper-consent", "signed_on": signed, "reference": "paper file 4"},
    }


def test_late_disclosures_fall_in_their_regimes_windows_and_the_accounting_is_recorded(
    world: RelayWorld, consent: ConsentApplication
) -> None:
    compliance = auth(world, "compliance", "comp-1")
    ids: dict[str, str] = {}
    with TestClient(create_app(world.settings, consent)) as client:
        for label, body in (
            ("court-5y", court_order(5)),
            ("court-7y", court_order(7)),
            ("paper-2y", paper_part2(2)),
            ("paper-4y", paper_part2(4)),
        ):
            answer = client.post("/disclosures/late", json=body, headers=compliance)
            assert answer.status_code == 201, answer.text
            assert answer.json()["recorded_late"] and answer.json()["recorded_by"] == "comp-1"
            ids[label] = answer.json()["disclosure_id"]
        url = "/persons/person-a/disclosure-accounting"
        accounting = client.get(url, headers=compliance).json()
        as_csv = client.get(url, params={"format": "csv"}, headers=compliance).text
        relay_everything(world, consent)  # while the app (and its store) is open

    lines = {i["disclosure_id"]: i for i in accounting["items"]}
    assert {k: lines[v]["regimes"] for k, v in ids.items() if v in lines} == {
        "court-5y": ["HIPAA"],
        "paper-2y": ["42CFRPart2"],
    }
    assert lines[ids["court-5y"]]["recipient"]["address"] == "1 Court Sq"
    assert dt.datetime.fromisoformat(lines[ids["court-5y"]]["disclosed_at"]) == ago(5)
    [excluded] = accounting["excluded"]
    assert excluded["disclosure_id"] == ids["paper-4y"]
    assert set(excluded["excluded"]) == {"HIPAA", "42CFRPart2"}
    assert ids["court-7y"] not in {*lines, excluded["disclosure_id"]}  # older than 6 years
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [r["recorded_late"] for r in rows] == ["yes", "yes"]

    records = read_topic(world.settings.kafka_bootstrap, world.topic, default_registry())
    produced = [r for r in records if r.event_name == "AccountingProduced"]
    assert len(produced) == 2  # the JSON and the CSV accounting
    first = next(r for r in produced if r.subject == accounting["accounting_id"])
    assert (first.body["person_id"], first.body["requested_by"]) == ("person-a", "comp-1")
    assert sorted(first.body["disclosure_ids"]) == sorted([ids["court-5y"], ids["paper-2y"]])
    # Disclosures on no decision of this service: DisclosureNoted, with their real dates.
    late = {r.subject: r.body for r in records if r.event_name == "DisclosureNoted"}
    assert set(late) == set(ids.values())
    assert dt.datetime.fromisoformat(late[ids["court-5y"]]["disclosed_at"]) == ago(5)
    assert "description" not in late[ids["court-5y"]]
    assert "reference" not in late[ids["court-5y"]]["basis"]
