"""A relay that was fenced must know it, however kafka-python reports it: else it fences back."""

from __future__ import annotations

from kafka.errors import InvalidProducerEpochError, KafkaError, ProducerFencedError
from kafka.future import Future

from services.common.relay.kafka import was_fenced


def failed(exc: BaseException) -> Future:
    future = Future()
    future.failure(exc)
    return future


def sent_ok() -> Future:
    future = Future()
    future.success(None)
    return future


def test_a_fence_reported_as_such_is_a_fence() -> None:
    assert was_fenced(ProducerFencedError(), None)


def test_a_fence_that_reached_a_produce_request_first_is_found_in_the_send_futures() -> None:
    # kafka-python: "Bumping producer epoch ... after recoverable error", then a plain KafkaError
    plain = KafkaError("Cannot execute transactional method because we are in an error state")
    assert was_fenced(plain, None, [sent_ok(), failed(InvalidProducerEpochError())])


def test_a_broker_that_went_away_is_not_a_fence() -> None:
    plain = KafkaError("KafkaTimeoutError: Failed to flush")
    assert not was_fenced(plain, None, [sent_ok(), failed(KafkaError("disconnected"))])
