"""Fixtures of these tests (see tests/identity/support.py)."""

from tests.identity.support import from_address, settings  # noqa: F401
