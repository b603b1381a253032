"""Suite-wide fixtures.

* Isolation: the usage ledger (on by default) writes under a temporary data directory,
  never into the developer's own ``~/.local/share/llmrelay``; the CLI's response cache
  under a temporary cache directory, never into ``~/.cache/llmrelay``.
* The real PostgreSQL on 127.0.0.1:5432 (database ``test``, trust auth), for the ledger:
  ``pg_available`` gives its URL, ``pg_prefix`` a table prefix of the test's own whose
  tables are dropped afterwards. Without PostgreSQL those tests skip, saying why —
  except under CI=true, where a missing database is a failure.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

_DATA_HOME = tempfile.mkdtemp(prefix="llmrelay-test-data-")
os.environ["XDG_DATA_HOME"] = _DATA_HOME
os.environ["XDG_CACHE_HOME"] = os.path.join(_DATA_HOME, "cache")

PG_URL = os.environ.get("LLMRELAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    import shutil

    shutil.rmtree(_DATA_HOME, ignore_errors=True)


def _in_thread(coro_fn) -> None:  # type: ignore[no-untyped-def]
    # on a thread of its own: these helpers may be called while a test's loop runs
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro_fn()).result()


def _pg_problem() -> str | None:
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed (pip install 'llmrelay[postgres]')"

    async def probe() -> None:
        conn = await asyncpg.connect(PG_URL, timeout=3)
        await conn.close()

    try:
        _in_thread(probe)
    except Exception as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_available() -> str:
    problem = _pg_problem()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL for the ledger tests: {problem}")
        pytest.skip(problem)
    return PG_URL


def drop_ledger_tables(url: str, prefix: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(f"DROP TABLE IF EXISTS {prefix}usage, {prefix}ledger_version")
        finally:
            await conn.close()

    _in_thread(drop)


@pytest.fixture
def pg_prefix(pg_available: str) -> Iterator[str]:
    """A ledger table prefix used by this test only; its tables are dropped afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield prefix
    drop_ledger_tables(pg_available, prefix)
