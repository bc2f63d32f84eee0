"""HTTP for every service: app factory, problem+json, request guard, Idempotency-Key, OpenAPI."""
