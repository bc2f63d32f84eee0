"""Who calls: bearer tokens and their keys, callers and roles, a service's own credential."""
