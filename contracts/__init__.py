"""The event contracts: Kafka record envelope, JSON Schemas, schemas.lock and asyncapi.yaml."""
