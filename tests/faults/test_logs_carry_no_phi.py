"""No PHI in any service log (invariant 9), after every fault run of the session.

Runs after the fault tests (file order), so the logs it scans hold the crashes, restarts, 503s and
retries as well as ordinary requests. It sends a short load of its own first, so it proves
something when run alone too.
"""

from __future__ import annotations

import pytest

from tests.faults.support_load import PHI_VALUES, PlanLoad
from tests.faults.support_stack import PrivateStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(120, func_only=True)]


def test_no_service_log_holds_the_names_addresses_or_free_text_the_requests_carried(
    stack: PrivateStack,
) -> None:
    load = PlanLoad(stack.url, commands=40, threads=2, pace=0.05).start()
    load.join(60)
    assert load.statuses()[201] > 0, dict(load.statuses())
    logs = stack.logs()
    assert {p.name for p in logs} >= {"plan-api.log", "referral-api.log", "plan-relay.log"}
    found = [
        f"{log.name}: {value!r}"
        for log in logs
        for value in PHI_VALUES
        if value.lower() in log.read_text(errors="replace").lower()
    ]
    assert found == [], "PHI in logs:\n" + "\n".join(found)
