"""deploy/k8s, checked offline: generated parts up to date, core objects against the Kubernetes
schemas (kubernetes-validate), and the properties production depends on.

The Strimzi and CloudNativePG resources are not checked against their CRD schemas: no registry
reachable here packages them (docs/scale-out.md, "Validation"); their fields that careledger
relies on are asserted below instead.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from contracts.topics import TOPICS
from services.stack import manifests
from services.stack.processes import SERVICES, service_processes

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
OVERLAYS = ("staging", "production")
KUBERNETES_VERSION = "1.32.0"
CUSTOM_GROUPS = ("kafka.strimzi.io/", "postgresql.cnpg.io/", "barmancloud.cnpg.io/")


@cache
def rendered(overlay: str) -> list[dict[str, Any]]:
    """`kubectl kustomize` of an overlay (kustomize builds offline)."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed to render deploy/k8s"
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_the_generated_manifests_are_what_the_code_makes_now() -> None:
    expected = manifests.expected_files()
    on_disk = {p.name: p.read_text() for p in manifests.GENERATED.glob("*.yaml")}
    stale = sorted(n for n in expected.keys() | on_disk.keys() if expected.get(n) != on_disk.get(n))
    assert not stale, f"run `python -m services.stack.manifests`: {stale} differ"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_core_object_fits_the_kubernetes_schema(overlay: str) -> None:
    errors = []
    for doc in rendered(overlay):
        if doc["apiVersion"].startswith(CUSTOM_GROUPS):
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not errors, errors
    assert {
        d["metadata"].get("namespace") for d in rendered(overlay) if d["kind"] != "Namespace"
    } == {"careledger" if overlay == "production" else f"careledger-{overlay}"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_is_three_kraft_brokers_over_tls_with_scram_users_and_acls(overlay: str) -> None:
    docs = rendered(overlay)
    [kafka] = of_kind(docs, "Kafka").values()
    [pool] = of_kind(docs, "KafkaNodePool").values()
    assert pool["spec"]["replicas"] == 3 and set(pool["spec"]["roles"]) == {"controller", "broker"}
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3 and config["min.insync.replicas"] == 2
    assert config["transaction.state.log.replication.factor"] == 3
    assert config["transaction.state.log.min.isr"] == 2
    assert config["auto.create.topics.enable"] is False
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert listeners and all(
        lst["tls"] and lst["authentication"]["type"] == "scram-sha-512" for lst in listeners
    )
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    users = of_kind(docs, "KafkaUser")
    assert set(users) == {f"careledger-{s}" for s in SERVICES}
    for service, user in ((s, users[f"careledger-{s}"]) for s in SERVICES):
        acls = {
            (a["resource"]["type"], a["resource"]["name"]): set(a["operations"])
            for a in user["spec"]["authorization"]["acls"]
        }
        assert acls[("topic", f"careledger.{service}")] == {"Describe", "Write"}
        assert acls[("transactionalId", f"careledger-relay-{service}")] == {"Describe", "Write"}
        others = {f"careledger.{s}" for s in SERVICES} - {f"careledger.{service}"}
        assert not any("Write" in ops for (kind, name), ops in acls.items() if name in others)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_topic_of_topics_py_is_a_kafka_topic_with_replication_3_and_min_isr_2(
    overlay: str,
) -> None:
    topics = {
        t["spec"]["topicName"]: t["spec"] for t in of_kind(rendered(overlay), "KafkaTopic").values()
    }
    assert set(topics) == {spec.name for spec in TOPICS}
    for spec in TOPICS:
        topic = topics[spec.name]
        assert topic["partitions"] == spec.partitions and topic["replicas"] == 3
        assert topic["config"]["min.insync.replicas"] == "2"
        assert topic["config"]["cleanup.policy"] == spec.cleanup_policy


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_postgresql_is_three_instances_synchronous_and_backed_up_to_a_named_object_store(
    overlay: str,
) -> None:
    docs = rendered(overlay)
    [cluster] = of_kind(docs, "Cluster").values()
    spec = cluster["spec"]
    assert spec["instances"] == 3
    assert spec["postgresql"]["synchronous"]["number"] >= 1
    [plugin] = spec["plugins"]
    store = plugin["parameters"]["barmanObjectName"]
    assert plugin["isWALArchiver"] is True and store in of_kind(docs, "ObjectStore")
    [backup] = of_kind(docs, "ScheduledBackup").values()
    assert backup["spec"]["cluster"]["name"] == cluster["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_process_is_a_deployment_sized_probed_and_fenced_in_by_a_network_policy(
    overlay: str,
) -> None:
    docs = rendered(overlay)
    deployments, policies = of_kind(docs, "Deployment"), of_kind(docs, "NetworkPolicy")
    assert set(deployments) == {f"careledger-{p.name}" for p in service_processes()}
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        [container] = spec["template"]["spec"]["containers"]
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]
        assert container["image"].startswith("registry.example.org/careledger:")
        assert "readinessProbe" in container, name
        assert name in policies and policies[name]["spec"]["egress"], name
        if name.endswith("-api"):
            assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health"
            assert name in of_kind(docs, "HorizontalPodAutoscaler")
            assert name in of_kind(docs, "PodDisruptionBudget") and name in of_kind(docs, "Service")
        if name.endswith("-relay"):
            assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    default = policies["careledger-default-deny"]["spec"]
    assert set(default["policyTypes"]) == {"Ingress", "Egress"} and "egress" not in default
    kinds = Counter(d["kind"] for d in docs)
    assert kinds["Deployment"] == len(service_processes())
    [job] = of_kind(docs, "Job").values()  # schemas and event tables, once per deploy
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "init", "--no-topics"]


def test_the_container_image_installs_the_one_distribution() -> None:
    text = (K8S.parents[1] / "Containerfile").read_text()
    assert "pip wheel" in text and "-c constraints.txt" in text
    assert 'ENTRYPOINT ["careledger"]' in text and "USER 10001" in text
