"""The event store: eventsourcing wiring, repository and cache, group commit, pool, deadline."""
