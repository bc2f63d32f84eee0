"""Kafka -> application, exactly once in effect; dead letters and quarantine."""
