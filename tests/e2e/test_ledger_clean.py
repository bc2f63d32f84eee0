"""An untouched full stack keeps every store's hash chain whole: after a journey through all
three services (their APIs, relays, consumers and projections writing), `careledger ledger
verify` finds nothing in any store."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable

import psycopg
import pytest

from services.common.settings import SERVICES, Settings
from services.common.store.chain import events_table, verify_chain
from services.demo.client import Practice
from services.demo.couple import JourneyResult
from services.demo.journeys import substance_use_and_detox
from services.demo.kafka_check import KafkaReport
from services.stack.stack import executable

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(420)]


def test_every_store_verifies_clean_after_a_journey(
    practice: Practice,
    whole_store_check: Callable[[JourneyResult], KafkaReport],
    e2e_settings: Settings,
) -> None:
    result = substance_use_and_detox(practice, whole_store_check)
    assert result.kafka is not None and result.kafka.ok, "the journey itself went through"
    with psycopg.connect(e2e_settings.database_url) as conn:
        for service in SERVICES:
            count, findings = verify_chain(conn, *events_table(service))
            assert count > 0, f"the journey wrote to the {service} store"
            assert findings == [], f"{service}: {findings[:3]}"
    env = dict(os.environ, CARELEDGER_ENV="dev", CARELEDGER_DATABASE_URL=e2e_settings.database_url)
    done = subprocess.run(
        [executable(), "ledger", "verify", "consent"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True and summary["events"] > 0 and summary["findings"] == 0
