"""Who saw what: the access log, its read model, the consent decision point as services ask it."""
