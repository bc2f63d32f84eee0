"""Shared pytest setup; the real stack fixture lives in tests/integration/conftest.py."""
