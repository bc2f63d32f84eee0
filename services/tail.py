"""`careledger tail <topic>`: follow a topic (read_committed) and print each record's envelope."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from rich.console import Console

from contracts.envelope import parse_consumer_record
from services.common.kafka_access import KafkaTarget, as_access


@dataclass(frozen=True)
class TailLine:
    partition: int
    offset: int
    ce_type: str
    subject: str
    sequence: str
    labels: tuple[str, ...]
    valid: bool
    problem: str = ""


def follow(
    kafka: KafkaTarget, topic: str, *, from_beginning: bool, limit: int | None, idle_seconds: float
) -> Iterator[TailLine]:
    """Records of `topic` as they arrive; stops after `limit` records or `idle_seconds` of quiet."""
    access = as_access(kafka)
    consumer = KafkaConsumer(
        **access.options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        group_id=None,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            raise SystemExit(f"no topic {topic!r} on {access.bootstrap}")
        consumer.assign(partitions)
        if from_beginning:
            consumer.seek_to_beginning(*partitions)
        else:
            consumer.seek_to_end(*partitions)
        seen, quiet_since = 0, time.monotonic()
        while limit is None or seen < limit:
            batch = consumer.poll(timeout_ms=500)
            if not batch:
                if idle_seconds and time.monotonic() - quiet_since > idle_seconds:
                    return
                continue
            quiet_since = time.monotonic()
            for records in batch.values():
                for record in records:
                    yield _line(record)
                    seen += 1
    finally:
        consumer.close()


def _line(record: object) -> TailLine:
    headers = {k: v.decode() for k, v in (getattr(record, "headers", None) or ())}
    partition, offset = getattr(record, "partition", 0), getattr(record, "offset", 0)
    try:
        parse_consumer_record(record)
        valid, problem = True, ""
    except Exception as exc:  # shown, not raised: tail is a looking glass
        valid, problem = False, f"{type(exc).__name__}: {exc}"
    return TailLine(
        partition=partition,
        offset=offset,
        ce_type=headers.get("ce_type", "?"),
        subject=headers.get("ce_subject", "?"),
        sequence=headers.get("ce_sequence", "?"),
        labels=tuple(x for x in headers.get("ce_sensitivity", "").split(",") if x),
        valid=valid,
        problem=problem,
    )


def print_lines(lines: Iterator[TailLine], console: Console | None = None) -> int:
    console = console or Console()
    count = 0
    for line in lines:
        labels = f" [magenta]{','.join(line.labels)}[/]" if line.labels else ""
        status = "" if line.valid else f" [red]INVALID {line.problem}[/]"
        console.print(
            f"p{line.partition}@{line.offset} [bold]{line.ce_type}[/] "
            f"subject={line.subject} seq={line.sequence}{labels}{status}",
            highlight=False,
            soft_wrap=True,
        )
        count += 1
    return count
