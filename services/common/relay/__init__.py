"""Event store -> Kafka, exactly once, in commit order per aggregate."""
