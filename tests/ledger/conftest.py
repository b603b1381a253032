"""``backend_url``: each ledger backend in turn, on a real database (see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(url, table prefix): a temporary SQLite file, or PostgreSQL under a prefix of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.sqlite3", "llmrelay_"
    else:
        yield request.getfixturevalue("pg_available"), request.getfixturevalue("pg_prefix")
