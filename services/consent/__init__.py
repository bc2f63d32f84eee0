"""The consent service: who may see what, every decision, every disclosure."""
