"""careledger's Kafka topics, defined once: names, partitions, compaction.

`careledger db init` and `stack up` create them (services/stack/topics.py), the Kubernetes
manifests declare them, the AsyncAPI document lists them; no topic is ever auto-created.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SERVICE_NAMES = ("plan", "consent", "referral")  # each publishes its events to careledger.<name>
ACCESS_TOPIC = "careledger.access"
DEADLETTER_TOPIC = "careledger.deadletter"
CHECKPOINT_TOPIC = "careledger.relay-checkpoints"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    cleanup_policy: str = "delete"
    configs: dict[str, str] = field(default_factory=dict)


def event_topic(service: str) -> str:
    """The topic a service's relay publishes its domain events to."""
    return f"careledger.{service}"


# Domain events are keyed by aggregate id: never compact them (compaction keeps only the last
# event per key). Retention is forever: Kafka is a durable log of the event store.
EVENT_TOPICS: tuple[TopicSpec, ...] = tuple(
    TopicSpec(event_topic(service), partitions=6) for service in SERVICE_NAMES
)
# Access events (services/common/access/log.py): every read of clinical or consent content and
# every refusal, relayed from each service's store. As many partitions as the event topics
# (the relay picks one partition per record for either). Kept forever, like the events: the
# practice must keep them at least 6 years (docs/compliance.md).
ACCESS = TopicSpec(ACCESS_TOPIC, partitions=6)
DEADLETTER = TopicSpec(DEADLETTER_TOPIC, partitions=3)
# Relays keep their store position here, one record per relay, written in the same Kafka
# transaction as the events they publish; compaction keeps the latest position per relay.
RELAY_CHECKPOINTS = TopicSpec(CHECKPOINT_TOPIC, partitions=1, cleanup_policy="compact")
TOPICS: tuple[TopicSpec, ...] = (*EVENT_TOPICS, ACCESS, DEADLETTER, RELAY_CHECKPOINTS)
