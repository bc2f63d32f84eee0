"""Kubernetes resources of the services' processes: one Deployment each, and the db-init Job.

What every generated manifest shares (the cluster names, the volumes, the requests and limits)
is here too; services/stack/manifests.py writes the files.
"""

from __future__ import annotations

from typing import Any

from services.stack.processes import ProcessSpec, service_processes

KAFKA_CLUSTER = "careledger"  # the Strimzi Kafka resource
PG_CLUSTER = "careledger-pg"  # the CloudNativePG Cluster resource
BROKERS = 3
API_PORT = 8000
PART_OF = {"app.kubernetes.io/part-of": "careledger"}
KAFKA_CA_DIR = "/etc/careledger/kafka-ca"  # the cluster CA that signs the brokers' certificates
VOLUMES = [
    {"name": "tmp", "emptyDir": {}},
    {
        "name": "kafka-ca",
        "secret": {
            "secretName": f"{KAFKA_CLUSTER}-cluster-ca-cert",
            "items": [{"key": "ca.crt", "path": "ca.crt"}],
        },
    },
]
JWKS_DIR = "/etc/careledger/jwks"  # the ConfigMap careledger-jwks: the public keys tokens are
# verified with (the identity provider's, and each service key's, from `careledger keys new`)
SERVICE_KEY_DIR = "/etc/careledger/service-key"  # a calling service's own private key
CALLERS = ("plan",)  # services that ask another with their own credential (plan asks consent)

# Requests and limits from docs/benchmarks.md ("Load"): an API used 1.0-1.65 ms of CPU per
# command and peaked at 92-106 MB; a relay with its reader 0.4-0.55 ms and ~160 MB; the
# consumers a fraction of a core. Requests hold the usual load, limits the peaks with room.
RESOURCES: dict[str, dict[str, dict[str, str]]] = {
    "api": {"requests": {"cpu": "500m", "memory": "192Mi"}, "limits": {"memory": "384Mi"}},
    "relay": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    "consumer": {"requests": {"cpu": "100m", "memory": "160Mi"}, "limits": {"memory": "320Mi"}},
    "projections": {"requests": {"cpu": "100m", "memory": "160Mi"}, "limits": {"memory": "320Mi"}},
}


def kind_of(spec: ProcessSpec) -> str:
    """api, relay, consumer or projections: the last part of the process name."""
    return spec.name.rsplit("-", 1)[1]


def service_of(spec: ProcessSpec) -> str:
    return spec.name.rsplit("-", 1)[0]


def consumed_topics(service: str) -> list[str]:
    """The topics the service's reactions read (its `reactions.topics`)."""
    from services.registry import spec_of

    reactions = spec_of(service).reactions
    return list(reactions.topics) if reactions is not None else []


def group_of(service: str) -> str:
    return f"careledger-{service}-reactions"  # services/common/consumer/loop.py


# -- the services' processes ------------------------------------------------------------------


def _env(service: str, kind: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {
            "name": "CARELEDGER_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": f"{PG_CLUSTER}-app", "key": "uri"}},
        },
    ]
    if kind == "api" and service in CALLERS:
        env.append(
            {"name": "CARELEDGER_SERVICE_KEY_FILE", "value": f"{SERVICE_KEY_DIR}/{service}.pem"}
        )
    if kind == "projections":  # they read PostgreSQL only (and `careledger ready` checks that)
        return [*env, {"name": "CARELEDGER_KAFKA_BOOTSTRAP", "value": ""}]
    return [
        *env,
        {"name": "CARELEDGER_KAFKA_SASL_USERNAME", "value": f"careledger-{service}"},
        {
            "name": "CARELEDGER_KAFKA_SASL_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": f"careledger-{service}", "key": "password"}},
        },
    ]


def _container(spec: ProcessSpec, kind: str) -> dict[str, Any]:
    service = service_of(spec)
    args = list(spec.argv[1:])
    if kind == "api":
        args = ["serve", service, "--host", "0.0.0.0", "--port", str(API_PORT)]  # noqa: S104
    container: dict[str, Any] = {
        "name": kind,
        "image": "careledger",
        "args": args,
        "envFrom": [{"configMapRef": {"name": "careledger-config"}}],
        "env": _env(service, kind),
        "resources": RESOURCES[kind],
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    container["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108
    if kind != "projections":
        container["volumeMounts"].append(
            {"name": "kafka-ca", "mountPath": KAFKA_CA_DIR, "readOnly": True}
        )
    if kind == "api":
        container["volumeMounts"].append({"name": "jwks", "mountPath": JWKS_DIR, "readOnly": True})
        if service in CALLERS:
            container["volumeMounts"].append(
                {"name": "service-key", "readOnly": True, "mountPath": SERVICE_KEY_DIR}
            )
        container["ports"] = [{"name": "http", "containerPort": API_PORT}]
        container["readinessProbe"] = {
            "httpGet": {"path": "/ready", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 3,
            "failureThreshold": 2,
        }
        container["livenessProbe"] = {
            "httpGet": {"path": "/health", "port": "http"},
            "periodSeconds": 10,
            "timeoutSeconds": 3,
            "failureThreshold": 6,
        }
    else:  # no HTTP: a probe that runs the CLI, seldom (it starts a Python process)
        container["readinessProbe"] = {
            "exec": {"command": ["careledger", "ready"]},
            "periodSeconds": 30,
            "timeoutSeconds": 10,
            "failureThreshold": 3,
        }
    return container


def _labels(spec: ProcessSpec) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": spec.name,
        "app.kubernetes.io/component": kind_of(spec),
        "careledger/service": service_of(spec),
        **PART_OF,
    }


def _volumes(spec: ProcessSpec) -> list[dict[str, Any]]:
    """Every pod's volumes; an API's also the JWKS, a calling API's also its private key."""
    if kind_of(spec) != "api":
        return VOLUMES
    service = service_of(spec)
    extra: list[dict[str, Any]] = [{"name": "jwks", "configMap": {"name": "careledger-jwks"}}]
    if service in CALLERS:
        extra.append(
            {
                "name": "service-key",
                "secret": {
                    "secretName": f"careledger-{service}-key",
                    "defaultMode": 0o400,
                    "items": [{"key": "private.pem", "path": f"{service}.pem"}],
                },
            }
        )
    return [*VOLUMES, *extra]


def _deployment(spec: ProcessSpec) -> dict[str, Any]:
    kind = kind_of(spec)
    # One relay per service (a second is fenced by its transactional id anyway): Recreate stops
    # the old pod before the new one starts. Consumers share partitions by group (2 of 6).
    replicas = {"api": 2, "relay": 1, "consumer": 2, "projections": 2}[kind]
    strategy = (
        {"type": "Recreate"}
        if kind == "relay"
        else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"careledger-{spec.name}", "labels": _labels(spec)},
        "spec": {
            "replicas": replicas,
            "strategy": strategy,
            "selector": {"matchLabels": {"app.kubernetes.io/name": spec.name}},
            "template": {
                "metadata": {"labels": _labels(spec)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_container(spec, kind)],
                    "volumes": _volumes(spec),
                },
            },
        },
    }


CPU_70 = {"type": "Utilization", "averageUtilization": 70}


def _api_extras(spec: ProcessSpec) -> list[dict[str, Any]]:
    name, selector = f"careledger-{spec.name}", {"app.kubernetes.io/name": spec.name}
    meta = {"name": name, "labels": _labels(spec)}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": meta,
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": 2,
                "maxReplicas": 6,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": CPU_70}}],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}},
        },
    ]


def service_resources(service: str) -> list[dict[str, Any]]:
    specs = [s for s in service_processes() if service_of(s) == service]
    resources: list[dict[str, Any]] = []
    for spec in specs:
        resources.append(_deployment(spec))
        if kind_of(spec) == "api":
            resources += _api_extras(spec)
    return resources


def db_init_job() -> dict[str, Any]:
    """Schemas and event tables, once per deploy (idempotent); the topic operator makes topics."""
    labels = {
        "app.kubernetes.io/name": "db-init",
        "app.kubernetes.io/component": "db-init",
        **PART_OF,
    }
    env = [e for e in _env("plan", "projections") if e["name"] != "CARELEDGER_KAFKA_BOOTSTRAP"]
    container = {
        "name": "db-init",
        "image": "careledger",
        "args": ["db", "init", "--no-topics"],
        "envFrom": [{"configMapRef": {"name": "careledger-config"}}],
        "env": env,
        "resources": RESOURCES["consumer"],
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "careledger-db-init", "labels": labels},
        "spec": {
            "backoffLimit": 10,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": VOLUMES[:1],
                },
            },
        },
    }
