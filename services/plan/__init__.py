"""The plan service: one treatment plan per client unit, every change an event."""
