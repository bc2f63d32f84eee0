"""The relay's reader is a spawned process: it must resolve every stored name a store holds
with nothing imported but the relay's source and the service's domain modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from services.common.events import named_event_classes
from services.registry import SPECS

_PROBE = """
import json, sys
from eventsourcing.utils import resolve_topic
from services.common.relay.source import import_domain
import_domain(json.loads(sys.argv[1]))
missing = []
for name in json.loads(sys.argv[2]):
    try:
        resolve_topic(name)
    except Exception as exc:
        missing.append(f"{name}: {type(exc).__name__}")
print(json.dumps(missing))
"""


@pytest.mark.parametrize("service", sorted(SPECS))
def test_a_fresh_reader_resolves_the_service_events_and_the_access_events(service: str) -> None:
    spec = SPECS[service]
    names = sorted({*named_event_classes(service), *named_event_classes("access")})
    assert any(name.startswith("careledger.access.") for name in names)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(spec.domain_modules), json.dumps(names)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(done.stdout) == [], f"names a spawned reader cannot resolve: {done.stdout}"
