"""The consent domain and its decision engine import no framework, database or broker."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("fastapi", "starlette", "psycopg", "kafka", "structlog", "httpx")


def test_the_consent_domain_imports_no_framework_database_or_broker() -> None:
    probe = (
        "import sys, services.consent.domain, services.consent.domain.policy; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
