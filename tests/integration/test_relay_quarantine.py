"""Poison in the store never stops the relay: each kind is quarantined, the rest published.

Planted straight into the store: an event that breaks its contract (its aggregate's next event
is held behind it), one that does not decode, one of a type no code names. The relay publishes
every other event exactly once, shows the held ones (`relay status`, a metric, PHI-free log
lines), and after a fix (the corrected contract deployed, the relay restarted) `relay retry`
publishes the held aggregate's events, in order, exactly once.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common.context import CommandContext
from services.common.relay.kafka import read_checkpoint_state
from services.stack.state import free_port
from tests.integration.support_poison import plant, positions, stored_state
from tests.integration.support_relay import (
    PROBE_SCHEMAS,
    RelayProbe,
    RelayWorld,
    assert_exactly_once_in_order,
    make_world,
    read_topic,
    store_probe_events,
    wait_for_line,
    write_probe_schemas,
)

pytestmark = pytest.mark.integration
PHI = "Jane Doe"


@pytest.fixture
def world(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[RelayWorld]:
    yield from make_world(database_url, kafka_bootstrap, tmp_path)


def relay_cli(world: RelayWorld, command: str) -> Any:
    result = subprocess.run(
        world.relay_argv(f"--{command}"),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**world.env(), "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait_for(condition: Any, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_poison_in_the_store_is_quarantined_and_published_in_order_after_a_fix(
    world: RelayWorld, tmp_path: Path
) -> None:
    app = world.app()
    ctx = CommandContext(actor_id="u-1", actor_role="clinician", tenant="t-relay")
    try:
        good = store_probe_events(app, aggregates=3, events_each=4)
        probe = RelayProbe(tenant="t-relay")
        app.save_as(ctx, probe)
        probe._recorded(n=PHI, security_labels=[])  # a bug: n must be an integer
        app.save_as(ctx, probe)
        probe._recorded(n=2, security_labels=[])  # fine, but after the bad one
        app.save_as(ctx, probe)
        url = world.settings.database_url
        undecodable = plant(
            url, world.store, topic="careledger.relayprobe.RelayProbeRecorded", state=b"{not json"
        )
        unknown = plant(
            url, world.store, topic="careledger.relayprobe.NoSuchEvent", state=stored_state(n=1)
        )
        good += store_probe_events(app, aggregates=2, events_each=3)
    finally:
        app.close()
    last = positions(world.settings.database_url, world.store)[-1]
    log, port = tmp_path / "relay.log", free_port()
    relay = world.start_relay(log, "--metrics-port", str(port))
    try:
        wait_for(lambda: checkpoint(world).position == last, "the relay to pass every event")
        held = checkpoint(world).held
        assert sorted(held) == sorted({undecodable, unknown, *bad_positions(world, probe)})
        status = relay_cli(world, "status")
        reasons = {row["position"]: row["reason"] for row in status["quarantined"]}
        assert status["held"] == 4 and status["lag"] == 0
        assert "does not match its contract" in reasons[bad_positions(world, probe)[0]]
        assert reasons[bad_positions(world, probe)[1]].startswith("held behind position")
        assert "JSONDecodeError" in reasons[undecodable]
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        assert f'careledger_quarantine_held{{service="{world.store}",source="relay"}} 4.0' in (
            metrics
        )
        records = read_topic(world.settings.kafka_bootstrap, world.topic, world.registry)
        assert_exactly_once_in_order(records, good + 1)  # and the probe's creation
        assert PHI not in log.read_text()
    finally:
        relay.terminate()
        relay.wait(timeout=30)

    fixed = dict(PROBE_SCHEMAS)  # the fix: a contract that takes what was stored
    recorded = json.loads(json.dumps(fixed["RelayProbeRecorded.v1.json"]))
    recorded["properties"]["n"] = {"type": ["integer", "string"]}
    fixed["RelayProbeRecorded.v1.json"] = recorded
    registry = write_probe_schemas(world.schema_root, fixed)
    relay = world.start_relay(tmp_path / "fixed.log")
    try:
        wait_for_line(tmp_path / "fixed.log", "resumes after")
        assert relay_cli(world, "retry-all")["marked"] == 4
        wait_for(lambda: len(checkpoint(world).held) == 2, "the held aggregate to go out")
    finally:
        relay.terminate()
        relay.wait(timeout=30)
    records = read_topic(world.settings.kafka_bootstrap, world.topic, registry)
    assert_exactly_once_in_order(records, good + 3)  # the probe's three, in order
    assert sorted(checkpoint(world).held) == [undecodable, unknown]
    still = {row["position"] for row in relay_cli(world, "status")["quarantined"]}
    assert still == {undecodable, unknown}


def checkpoint(world: RelayWorld) -> Any:
    return read_checkpoint_state(
        world.settings.kafka_bootstrap, world.store, topic=world.checkpoint_topic
    )


def bad_positions(world: RelayWorld, probe: RelayProbe) -> list[int]:
    """Positions of the probe's second and third events (the bad one, the one behind it)."""
    import psycopg

    with psycopg.connect(world.settings.database_url) as conn:
        rows = conn.execute(
            f"SELECT notification_id FROM {world.store}.{world.store}_events"  # noqa: S608
            " WHERE originator_id = %s AND originator_version > 1 ORDER BY 1",
            (probe.id,),
        ).fetchall()
    return [int(r[0]) for r in rows]
