"""Read latency as the practice grows: lists, worklists and metrics at 1,000 to 100,000 aggregates.

    .venv/bin/python bench/reads.py [--sizes 1000,10000,100000] [--calls 200] [--keep]
                                    [--reads "plan list,reviews due"]

Needs the local stack's PostgreSQL (`careledger stack up --infra-only`, or `make infra`). For
each size N it makes private schemas for the plan, referral and consent services, seeds N plans,
N referrals and N consent decisions of one practice straight into the event stores and their
read models (bench/seed_reads.py; no HTTP), and then times seven reads through each service's
HTTP app in process (FastAPI's TestClient, real bearer tokens: the read policy and the access
log run, each read commits its access event):

  plan list         GET /plans?limit=50 as one care team's couples therapist
  reviews due       GET /worklists/reviews-due?within_days=7 as a coordinator
  uneven growth     GET /worklists/uneven-growth as a coordinator
  referral worklist GET /referrals/worklist?limit=50 as a coordinator
  referral metrics  GET /referrals/metrics (the last 30 days) as a coordinator
  decision list     GET /decisions?outcome=PERMIT&limit=50 (the last 30 days) as compliance
  accounting        GET /persons/<id>/disclosure-accounting as compliance (40 disclosures)

Each read runs 20 times untimed, then --calls times; prints p50 and p99 per read and size, the
ratio of the largest size's p99 to the smallest's, and last one line of JSON. Target: p99 under
50 ms at 100,000 and a ratio under 2. The schemas are dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed_reads as s
from services.common.auth.callers import TokenService
from services.common.logging import configure_logging
from services.common.settings import Settings, load_settings

READS = (
    "plan list",
    "reviews due",
    "uneven growth",
    "referral worklist",
    "referral metrics",
    "decision list",
    "accounting",
)
DISCLOSURES = 40


@contextmanager
def practice(settings: Settings, size: int, keep: bool) -> Iterator[dict[str, TestClient]]:
    """The three services' apps over a practice of `size` aggregates each, seeded."""
    from services.common.access.consent_gate import NoConsentService
    from services.consent.application import ConsentApplication
    from services.consent.bootstrap import build_consents
    from services.consent.bootstrap import create_app as consent_api
    from services.plan.application import PlanApplication
    from services.plan.bootstrap import build_plans, close_plans
    from services.plan.bootstrap import create_app as plan_api
    from services.referral.application import ReferralApplication
    from services.referral.bootstrap import build_referrals
    from services.referral.bootstrap import create_app as referral_api

    prefix = f"benchreads{size}_{uuid.uuid4().hex[:6]}"
    names = {svc: f"{prefix}_{svc}" for svc in ("plan", "referral", "consent")}
    rng = random.Random(size)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f"CREATE SCHEMA {name}")
    try:
        with ExitStack() as stack:
            plans = build_plans(
                settings,
                application_class=type("BenchPlans", (PlanApplication,), {"name": names["plan"]}),
                create_table=True,
            )
            stack.callback(close_plans, plans)
            referrals = build_referrals(
                settings,
                application_class=type(
                    "BenchReferrals", (ReferralApplication,), {"name": names["referral"]}
                ),
                create_table=True,
                gate=NoConsentService(),  # reads ask nothing; no referral is sent here
            )
            consents = build_consents(
                settings,
                application_class=type(
                    "BenchConsents", (ConsentApplication,), {"name": names["consent"]}
                ),
                create_table=True,
            )
            print(f"size {size}:", flush=True)
            for read_model, app in (
                (plans.read_model, plans),
                (referrals.summaries, referrals),
                (consents.decision_log, consents),
            ):
                read_model.current(app)  # type: ignore[union-attr]  # tables before events
            s.timed("plans", lambda: s.seed_plans(plans, size, rng))
            s.timed("plan summaries", lambda: s.fill(plans.read_model, plans))  # type: ignore[arg-type]
            s.timed("referrals", lambda: s.seed_referrals(referrals, size, rng))
            s.timed("referral summaries", lambda: s.fill(referrals.summaries, referrals))  # type: ignore[arg-type]
            s.timed("decisions", lambda: s.seed_decisions(consents, size, rng))
            s.timed("disclosures", lambda: s.seed_disclosures(consents, DISCLOSURES))
            s.timed("decision rows", lambda: s.fill(consents.decision_log, consents))  # type: ignore[arg-type]
            clients = {
                "plan": stack.enter_context(TestClient(plan_api(settings, plans))),
                "referral": stack.enter_context(TestClient(referral_api(settings, referrals))),
                "consent": stack.enter_context(TestClient(consent_api(settings, consents))),
            }
            yield clients
    finally:
        if not keep:
            with psycopg.connect(settings.database_url, autocommit=True) as conn:
                for name in names.values():
                    conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def requests(settings: Settings) -> dict[str, tuple[str, str, dict[str, Any], dict[str, str]]]:
    tokens = TokenService(settings)

    def bearer(sub: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.mint(sub, s.TENANT, [role])}"}

    therapist, coordinator = bearer(s.lead(3), "clinician"), bearer("coord-1", "coordinator")
    compliance = bearer("compliance-1", "compliance")
    today = s.TODAY.isoformat()
    month = {
        "from": (s.TODAY - dt.timedelta(days=30)).isoformat(),
        "to": (s.TODAY + dt.timedelta(days=1)).isoformat(),
    }
    return {
        "plan list": ("plan", "/plans", {"limit": 50}, therapist),
        "reviews due": ("plan", "/worklists/reviews-due", {"on": today}, coordinator),
        "uneven growth": ("plan", "/worklists/uneven-growth", {"on": today}, coordinator),
        "referral worklist": ("referral", "/referrals/worklist", {"limit": 50}, coordinator),
        "referral metrics": ("referral", "/referrals/metrics", {}, coordinator),
        "decision list": (
            "consent",
            "/decisions",
            {"outcome": "PERMIT", "limit": 50, **month},
            compliance,
        ),
        "accounting": ("consent", f"/persons/{s.PERSON}/disclosure-accounting", {}, compliance),
    }


def measure(
    client: TestClient, path: str, params: dict[str, Any], headers: Any, calls: int
) -> dict[str, Any]:
    for _ in range(20):
        answer = client.get(path, params=params, headers=headers)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    samples = []
    for _ in range(calls):
        began = time.perf_counter()
        answer = client.get(path, params=params, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    samples.sort()
    body = answer.json()
    shown = len(body.get("items", [])) if isinstance(body, dict) else 0
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 1),
        "items": shown,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the schemas")
    parser.add_argument("--reads", default=",".join(READS), help="which reads, comma-separated")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    chosen = [r.strip() for r in args.reads.split(",")]
    if unknown := set(chosen) - set(READS):
        parser.error(f"no such read: {', '.join(sorted(unknown))} (choose from {', '.join(READS)})")
    configure_logging("WARNING")  # not a line per request
    settings = load_settings(env="dev")
    asked = requests(settings)
    results: dict[int, dict[str, dict[str, Any]]] = {}
    for size in sizes:
        with practice(settings, size, args.keep) as clients:
            results[size] = {}
            for read in chosen:
                service, path, params, headers = asked[read]
                figures = measure(clients[service], path, params, headers, args.calls)
                results[size][read] = figures
                print(
                    f"  {read:<18} p50 {figures['p50_ms']:7.1f} ms  p99 {figures['p99_ms']:7.1f} ms"
                    f"  ({figures['items']} items)",
                    flush=True,
                )
    small, large = sizes[0], sizes[-1]
    head = "".join(f" | {n:,} p50 / p99 ms" for n in sizes)
    print(f"\n| read{head} | p99 {large:,} / {small:,} |")
    print("|---" * (len(sizes) + 2) + "|")
    ratios = {}
    for read in chosen:
        cells = "".join(
            f" | {results[n][read]['p50_ms']} / {results[n][read]['p99_ms']}" for n in sizes
        )
        ratios[read] = round(results[large][read]["p99_ms"] / results[small][read]["p99_ms"], 2)
        print(f"| {read}{cells} | {ratios[read]} |")
    print(json.dumps({"calls": args.calls, "results": results, "ratios": ratios}))


if __name__ == "__main__":
    main()
