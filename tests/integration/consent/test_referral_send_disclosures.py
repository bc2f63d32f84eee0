"""Every referral send becomes one disclosure, though the consent consumer is SIGKILLed.

Real ReferralSent records (from a real ReferralApplication, turned into Kafka records as the
relay does) go to a private topic on the real broker; the consent service's consumer runs as
its own process on a private PostgreSQL schema and is killed mid-stream several times.
"""

from __future__ import annotations

import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from contracts.envelope import OutboundRecord
from services.common.settings import Settings
from services.consent.reactions import source_ref
from tests.integration.consent.support_referral_sends import (
    TENANT,
    Worker,
    consent_app,
    disclosures_stored,
    referral_sends,
    schema_fixture,
)
from tests.integration.support_consumer import produce, topic

__all__ = ["topic"]  # fixture
SENDS, PEOPLE, KILLS = 240, 8, 4


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    yield from schema_fixture(database_url)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_each_referral_sent_is_one_disclosure_although_the_consumer_is_killed(
    kafka_bootstrap: str, database_url: str, topic: str, schema: str
) -> None:
    settings = Settings(env="dev", database_url=database_url, kafka_bootstrap=kafka_bootstrap)
    consents = consent_app(schema, settings, create=True)
    people = [f"client-{n}" for n in range(PEOPLE)]
    try:
        records = referral_sends(consents, people, SENDS)
    finally:
        consents.close()
    produce(kafka_bootstrap, topic, records, batch=60)
    worker = Worker(
        {
            "bootstrap": kafka_bootstrap,
            "database_url": database_url,
            "schema": schema,
            "topic": topic,
            "group": f"test-{uuid.uuid4().hex}",
        }
    )

    rng, progress, mid_stream = random.Random(), [], 0
    for _ in range(KILLS):
        proc = worker.start()
        before = len(disclosures_stored(database_url, schema))
        deadline = time.monotonic() + 60
        while len(disclosures_stored(database_url, schema)) == before:
            assert time.monotonic() < deadline, "the consumer recorded nothing in 60 s"
            time.sleep(0.05)  # killed once it is consuming: a kill during start-up tests less
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = len(disclosures_stored(database_url, schema))
        mid_stream += before < done < SENDS
        progress.append(done)

    proc = worker.start()
    try:
        deadline = time.monotonic() + 180
        while len(disclosures_stored(database_url, schema)) < SENDS:
            assert time.monotonic() < deadline, f"stuck at {progress}"
            time.sleep(0.2)
        time.sleep(2.0)  # any record taking effect twice would show now
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr.decode()[-2_000:]

    stored = disclosures_stored(database_url, schema)
    print(f"disclosures after each of {KILLS} SIGKILLs: {progress}")
    assert mid_stream >= KILLS - 1, f"kills did not land mid-stream: {progress}"
    by_source = Counter(d["source_ref"] for d in stored)
    assert by_source == Counter(source_ref_of(r) for r in records)
    assert all(n == 1 for n in by_source.values())
    assert {d["problems"] == {} and d["part2"] for d in stored} == {True}

    consents = consent_app(schema, settings)
    try:
        per_person = {p: consents.disclosures_of(TENANT, p) for p in people}
    finally:
        consents.close()
    assert sum(len(found) for found in per_person.values()) == SENDS
    first = per_person[people[0]][0]
    assert first["recipient"] == {
        "kind": "organization",
        "id": "org-detox",
        "name": "Harbor Detox",
        "address": "1 Harbor Rd",
    }
    assert first["labels"] == ["42CFRPart2", "ETH", "R"]


def source_ref_of(record: OutboundRecord) -> str:
    """The source_ref the consumer gives the disclosure of one produced record."""
    return source_ref(dict(record.headers)["ce_id"].decode())
