"""The access log's cost: GET /plans/{id} with and without it, in one run.

    .venv/bin/python bench/access_log.py [--plans 200] [--clients 16] [--reads 4000] [--rounds 2]

Needs the local stack's PostgreSQL (`careledger stack up --infra-only`). Creates a private
PostgreSQL schema holding `--plans` active couple plans (each with a goal, sessions of both
partners and a measurement), then starts two plan APIs on it, each its own uvicorn process
(`bench.access_log:with_access_log`, `bench.access_log:without_access_log`): the same app,
except that the second one's access log stores nothing. Each round drives each API in turn
with --clients keep-alive clients in a closed loop, reading the plans as their couples
therapist (the full view: the read policy runs, no consent question is asked), --reads reads
per round. Prints reads/s and p50/p95/p99 per API and round, and last one line of JSON with
the best round of each and the ratio with/without (target: at least 0.7).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load_support import Job, drive, latency_figures
from services.common.auth.callers import TokenService
from services.common.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
STORE_ENV = "CARELEDGER_BENCH_READS_STORE"
LEAD = "clin-bench-lead"
TENANT = "practice-bench"


class _Nothing:
    """An access-log store that keeps nothing: the baseline without the log."""

    def save_as(self, ctx: Any, *aggregates: Any) -> None:
        return None


def _app(keep_log: bool) -> FastAPI:
    from services.plan.agreements import InMemoryAgreements
    from services.plan.application import PlanApplication
    from services.plan.bootstrap import build_plans, create_app

    settings = load_settings()
    cls = type("BenchReads", (PlanApplication,), {"name": os.environ[STORE_ENV]})
    plans = build_plans(settings, application_class=cls)
    # The seeded couples' agreement is in force (no consent service runs here: reads are measured).
    agreements = InMemoryAgreements()
    agreements.put(
        TENANT,
        {
            "agreement_id": "agr-1",
            "partner_ids": ["a", "b"],
            "in_force": {
                "terms_version": 1,
                "mode": "no-secrets",
                "carve_outs": [],
                "signatures": {},
            },
        },
    )
    plans.agreements = agreements
    api = create_app(settings, plans)
    if not keep_log:
        api.state.access_log.store = _Nothing()
    return api


def with_access_log() -> FastAPI:
    return _app(keep_log=True)


def without_access_log() -> FastAPI:
    return _app(keep_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(factory: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"bench.access_log:{factory}",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{factory} did not answer on port {port}")


def seed(base: str, headers: dict[str, str], plans: int) -> list[str]:
    ids = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(plans):
            body = {
                "unit_kind": "couple",
                "mix": {"joint": 2, "individual": 2},
                "members": [{"client_id": "a", "sex": "female"}, {"client_id": "b", "sex": "male"}],
                "clinicians": [{"clinician_id": LEAD, "roles": ["couples-therapist"]}],
                "starts_on": "2026-01-05",
            }
            plan_id = client.post("/plans", json=body).json()["plan_id"]
            client.post(f"/plans/{plan_id}/status", json={"status": "active"})
            for partner in ("a", "b"):
                recorded = client.post(
                    f"/plans/{plan_id}/sessions",
                    json={
                        "format": "individual",
                        "modality": "in-person",
                        "held_on": "2026-01-12",
                        "partner_id": partner,
                        "focus_issues": ["repair"],
                        "sharing_agreement_id": "agr-1",
                    },
                )
                assert recorded.status_code == 201, recorded.text
            trust = {"partner_id": "a", "measure": "trust", "value": 6, "taken_on": "2026-01-12"}
            client.post(f"/plans/{plan_id}/measurements", json=trust)
            ids.append(plan_id)
    return ids


def measure(
    port: int, headers: dict[str, str], ids: list[str], clients: int, reads: int
) -> dict[str, Any]:
    per_client = [
        [Job(f"/plans/{ids[(k + n * clients) % len(ids)]}", b"") for n in range(reads // clients)]
        for k in range(clients)
    ]
    samples, elapsed = drive("127.0.0.1", port, headers, per_client, lambda _: None, method="GET")
    ok = [s.latency_s for s in samples if s.status == 200]
    assert len(ok) == len(samples), {s.status for s in samples}
    return {"reads_per_s": round(len(ok) / elapsed, 1), **latency_figures(ok)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reads", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    settings = load_settings()
    store = f"benchreads_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {store}")
    env = {
        **os.environ,
        STORE_ENV: store,
        "CARELEDGER_DATABASE_URL": settings.database_url,
        "PYTHONPATH": str(REPO),
    }
    token = TokenService(settings).mint(LEAD, TENANT, ["clinician"])
    headers = {"Authorization": f"Bearer {token}"}
    ports = {"with": free_port(), "without": free_port()}
    procs = []
    try:
        from services.plan.application import PlanApplication
        from services.plan.bootstrap import build_plans, close_plans

        cls = type("BenchReads", (PlanApplication,), {"name": store})
        close_plans(build_plans(settings, application_class=cls, create_table=True))
        procs = [
            serve("with_access_log", ports["with"], env),
            serve("without_access_log", ports["without"], env),
        ]
        ids = seed(f"http://127.0.0.1:{ports['with']}", headers, args.plans)
        measure(ports["without"], headers, ids, args.clients, args.reads // 4)  # warm both
        measure(ports["with"], headers, ids, args.clients, args.reads // 4)
        results: dict[str, list[dict[str, Any]]] = {"with": [], "without": []}
        for n in range(args.rounds):
            for name in ("without", "with") if n % 2 == 0 else ("with", "without"):
                figures = measure(ports[name], headers, ids, args.clients, args.reads)
                results[name].append(figures)
                print(
                    f"round {n + 1} {name:>7} access log: {figures['reads_per_s']:8.1f} "
                    f"reads/s  p50 {figures['p50_ms']} p95 {figures['p95_ms']} "
                    f"p99 {figures['p99_ms']} ms"
                )
        best = {k: max(v, key=lambda f: f["reads_per_s"]) for k, v in results.items()}
        ratio = round(best["with"]["reads_per_s"] / best["without"]["reads_per_s"], 2)
        print(f"with/without: {ratio} (target >= 0.7)")
        print(
            json.dumps(
                {
                    "plans": args.plans,
                    "clients": args.clients,
                    "reads": args.reads,
                    "rounds": results,
                    "best": best,
                    "ratio": ratio,
                }
            )
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {store} CASCADE")


if __name__ == "__main__":
    main()
