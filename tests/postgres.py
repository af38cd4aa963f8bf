"""A throwaway PostgreSQL cluster for `pytest --postgres` (filled in by the production work)."""
from __future__ import annotations

import pytest


@pytest.fixture
def postgres_database_url() -> str:
    """A fresh PostgreSQL database URL for one test."""
    pytest.fail("PostgreSQL support for the test suite is not written yet.")
