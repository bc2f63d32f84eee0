"""Each service's domain package imports no framework, database or broker (every module of it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = ("fastapi", "starlette", "psycopg", "kafka", "structlog", "httpx")


@pytest.mark.parametrize("service", ["consent", "plan", "referral"])
def test_the_domain_imports_no_framework_database_or_broker(service: str) -> None:
    package = f"services.{service}.domain"
    probe = (
        "import importlib, pkgutil, sys; "
        f"domain = importlib.import_module({package!r}); "
        "[importlib.import_module(f'{domain.__name__}.{m.name}') "
        "for m in pkgutil.iter_modules(domain.__path__)]; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
