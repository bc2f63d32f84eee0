"""Kafka resources for Strimzi: a KafkaTopic per topic, a KafkaUser (ACLs) per service."""

from __future__ import annotations

from typing import Any

from contracts.topics import ACCESS, DEADLETTER, RELAY_CHECKPOINTS, TOPICS
from services.stack.k8s import BROKERS, KAFKA_CLUSTER, consumed_topics, group_of
from services.stack.processes import SERVICES
from services.stack.topics import topic_request


def kafka_topics() -> list[dict[str, Any]]:
    """A KafkaTopic per topic of topics.py, as `stack up` creates it on a cluster of three."""
    resources = []
    for spec in TOPICS:
        request = topic_request(spec, BROKERS)
        resources.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaTopic",
                "metadata": {"name": spec.name, "labels": {"strimzi.io/cluster": KAFKA_CLUSTER}},
                "spec": {
                    "topicName": spec.name,
                    "partitions": request["num_partitions"],
                    "replicas": request["replication_factor"],
                    "config": request["configs"],
                },
            }
        )
    return resources


def _acl(kind: str, name: str, *operations: str) -> dict[str, Any]:
    return {
        "resource": {"type": kind, "name": name, "patternType": "literal"},
        "operations": list(operations),
    }


def kafka_users() -> list[dict[str, Any]]:
    """One SCRAM user per service, allowed exactly what its relay and consumer do."""
    users = []
    for service in SERVICES:
        acls = [
            _acl("topic", f"careledger.{service}", "Describe", "Write"),
            _acl("topic", ACCESS.name, "Describe", "Write"),  # its access events
            _acl("topic", RELAY_CHECKPOINTS.name, "Describe", "Read", "Write"),
            _acl("transactionalId", f"careledger-relay-{service}", "Describe", "Write"),
        ]
        if consumed := consumed_topics(service):
            acls += [_acl("topic", topic, "Describe", "Read") for topic in consumed]
            acls += [
                _acl("group", group_of(service), "Read"),
                _acl("topic", DEADLETTER.name, "Describe", "Write"),
            ]
        users.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaUser",
                "metadata": {
                    "name": f"careledger-{service}",
                    "labels": {"strimzi.io/cluster": KAFKA_CLUSTER},
                },
                "spec": {
                    "authentication": {"type": "scram-sha-512"},
                    "authorization": {"type": "simple", "acls": acls},
                },
            }
        )
    return users
