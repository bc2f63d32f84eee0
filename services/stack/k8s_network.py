"""Network policies: deny by default, then each process may reach only what it uses."""

from __future__ import annotations

from typing import Any

from services.stack.k8s import API_PORT, KAFKA_CLUSTER, PART_OF, PG_CLUSTER, kind_of
from services.stack.processes import service_processes


def _to(labels: dict[str, str], port: int) -> dict[str, Any]:
    return {
        "to": [{"podSelector": {"matchLabels": labels}}],
        "ports": [{"protocol": "TCP", "port": port}],
    }


DNS = {
    "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
POSTGRES = _to({"cnpg.io/cluster": PG_CLUSTER}, 5432)
KAFKA = _to({"strimzi.io/cluster": KAFKA_CLUSTER, "strimzi.io/kind": "Kafka"}, 9093)


# Which processes call which API inside the cluster: the consent service's decision point is
# asked by referral sends and by the plan service's reads of a partner's individual material
# (services/common/access/consent_gate.py), the plan API asks it for a couple's agreement in force
# when a session is recorded; the decision point asks the owners of the records a decision
# request names for their labels.
API_CALLERS: dict[str, tuple[str, ...]] = {
    "consent-api": ("plan-api", "referral-api", "referral-consumer"),
    "plan-api": ("consent-api",),
    "referral-api": ("consent-api",),
}


def network_policies() -> list[dict[str, Any]]:
    """Deny by default; then each process may reach only what it uses."""
    policies: list[dict[str, Any]] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "careledger-default-deny"},
            "spec": {"podSelector": {"matchLabels": PART_OF}, "policyTypes": ["Ingress", "Egress"]},
        }
    ]
    policies.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "careledger-db-init"},
            "spec": {
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "db-init"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": [DNS, POSTGRES],
            },
        }
    )
    for spec in service_processes():
        kind = kind_of(spec)
        egress = [DNS, POSTGRES] if kind == "projections" else [DNS, POSTGRES, KAFKA]
        egress += [
            _to({"app.kubernetes.io/name": api}, API_PORT)
            for api, callers in API_CALLERS.items()
            if spec.name in callers
        ]
        policy: dict[str, Any] = {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": spec.name}},
            "policyTypes": ["Ingress", "Egress"],
            "egress": egress,
            "ingress": [],
        }
        if kind == "api":
            callers: list[dict[str, Any]] = [
                {"namespaceSelector": {"matchLabels": {"careledger/ingress": "true"}}}
            ]
            callers += [
                {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}
                for name in API_CALLERS.get(spec.name, ())
            ]
            policy["ingress"] = [
                {"from": callers, "ports": [{"protocol": "TCP", "port": API_PORT}]}
            ]
        policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"careledger-{spec.name}"},
                "spec": policy,
            }
        )
    return policies
