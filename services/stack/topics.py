"""`ensure_topics`: create careledger's Kafka topics (defined once in contracts/topics.py)."""

from __future__ import annotations

from typing import Any

from kafka.admin import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

from contracts.topics import TOPICS, TopicSpec
from services.common.kafka_access import KafkaTarget, as_access
from services.common.settings import KAFKA_MAX_MESSAGE_BYTES

FOREVER = "-1"


def replication_for(broker_count: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas): 3 and 2 on a cluster, 1 and 1 on one broker."""
    return min(3, broker_count), min(2, broker_count)


def topic_request(
    spec: TopicSpec, broker_count: int, max_message_bytes: int = KAFKA_MAX_MESSAGE_BYTES
) -> dict[str, Any]:
    """The create_topics options for `spec` on a cluster of `broker_count` brokers.

    `max_message_bytes` is set on every topic, not left to the broker's default, so the limit
    the services refuse oversized events by (`CARELEDGER_KAFKA_MAX_MESSAGE_BYTES`) is the one
    the topics really have.
    """
    replication, min_isr = replication_for(broker_count)
    configs = {
        "cleanup.policy": spec.cleanup_policy,
        "min.insync.replicas": str(min_isr),
        "max.message.bytes": str(max_message_bytes),
        **spec.configs,
    }
    if spec.cleanup_policy == "delete":
        configs |= {"retention.ms": FOREVER, "retention.bytes": FOREVER}
    return {
        "num_partitions": spec.partitions,
        "replication_factor": replication,
        "configs": configs,
    }


def admin_client(kafka: KafkaTarget, timeout_ms: int = 10_000) -> KafkaAdminClient:
    return KafkaAdminClient(
        **as_access(kafka).options(),
        client_id="careledger-stack",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=max(timeout_ms, 15_000),
    )


def broker_count(admin: KafkaAdminClient) -> int:
    return max(1, len(admin.describe_cluster().get("brokers", [])))


def ensure_topics(
    kafka: KafkaTarget,
    specs: tuple[TopicSpec, ...] = TOPICS,
    *,
    brokers: int | None = None,
    max_message_bytes: int = KAFKA_MAX_MESSAGE_BYTES,
) -> list[str]:
    """Create the missing topics of `specs`, leave existing ones alone; return those created.

    `brokers` is the cluster's size (default: the brokers that answer now, which is fewer
    than the cluster has while one is down).
    """
    admin = admin_client(kafka)
    try:
        existing = set(admin.list_topics())
        brokers = brokers or broker_count(admin)
        missing = {
            s.name: topic_request(s, brokers, max_message_bytes)
            for s in specs
            if s.name not in existing
        }
        created: list[str] = []
        for name, request in missing.items():
            try:
                admin.create_topics({name: request}, wait_for_metadata=True)
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another `db init` won the race: fine
        return created
    finally:
        admin.close()
