"""The ledger under load, against the real databases: a stalled database does not slow
calls down, and a SIGTERM in the middle of a run loses no completed call's record."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from llmrelay.client import Client
from llmrelay.ledger import open_backend
from llmrelay.middleware.ledger import LedgerMiddleware
from llmrelay.settings import Settings


def settings(url: str, prefix: str) -> Settings:
    return Settings(ledger={"url": url, "table_prefix": prefix, "batch_size": 20, "flush_interval": 0.01})


async def test_a_stalled_database_does_not_slow_calls(backend_url: tuple[str, str]) -> None:
    url, prefix = backend_url
    prepared = open_backend(url, prefix)
    await prepared.start()
    await prepared.aclose()
    # Stall the database: hold a lock that every ledger write has to wait for.
    if url.startswith("sqlite"):
        blocker = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        release = lambda: blocker.execute("ROLLBACK")  # noqa: E731
    else:
        import asyncpg

        conn = await asyncpg.connect(url)
        tx = conn.transaction()
        await tx.start()
        await conn.execute(f"LOCK TABLE {prefix}usage IN ACCESS EXCLUSIVE MODE")
        release = None

    client = Client(settings(url, prefix))
    ledger = next(mw for mw in client._middleware if isinstance(mw, LedgerMiddleware))
    n = 300
    t0 = time.perf_counter()
    replies = await asyncio.gather(*(client.chat(f"call {i}") for i in range(n)))
    elapsed = time.perf_counter() - t0
    await asyncio.sleep(0.1)  # several flush intervals: the flusher is stuck on the lock
    stats = ledger.writer.stats
    # nothing written, all waiting (less at most one batch held by the blocked insert)
    assert stats.written == 0 and stats.pending >= n - 20
    assert elapsed < 10, f"{n} calls took {elapsed:.1f}s while the ledger was stalled"

    if release is not None:
        release()
        blocker.close()
    else:
        await tx.rollback()
        await conn.close()
    await client.aclose()
    assert ledger.writer.stats.written == n
    reader = open_backend(url, prefix)
    stored = {r.id for r in await reader.fetch()}
    await reader.aclose()
    assert stored == {r.meta.ledger_id for r in replies}


LOAD_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from llmrelay import lifecycle
    from llmrelay.client import Client
    from llmrelay.settings import Settings

    url, prefix = sys.argv[1], sys.argv[2]
    settings = Settings(
        # batches far apart: at the signal, most completed calls are still in the buffer
        ledger={"url": url, "table_prefix": prefix, "batch_size": 5000, "flush_interval": 30},
        simulator={"latency": 0.01},
    )

    async def worker(client, w):
        i = 0
        while True:
            i += 1
            if i % 3:
                resp = await client.chat(f"worker {w} call {i}", tags=[f"w{w}"])
            else:
                resp = await client.stream(f"worker {w} stream {i}").final()
            print(resp.meta.ledger_id, flush=True)

    async def main():
        async with Client(settings) as client:
            writer = client._middleware[0].writer
            print("READY", flush=True)
            try:
                await asyncio.gather(*(worker(client, w) for w in range(16)))
            finally:
                print("PENDING", writer.stats.pending, writer.stats.written, flush=True)

    lifecycle.run(main())
    """
)


def _sigterm_mid_load(url: str, prefix: str, tmp_path: Path) -> None:
    script = tmp_path / "load.py"
    script.write_text(LOAD_SCRIPT)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), url, prefix], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    completed: list[str] = []
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout.readline().strip() == "READY"
        while len(completed) < 300 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            completed.append(line.strip())
        assert len(completed) >= 300, "the load did not get going"
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    tail = rest.split("\n")
    pending_line = next(line for line in tail if line.startswith("PENDING"))
    pending, written = map(int, pending_line.split()[1:])
    assert pending >= len(completed) and written == 0  # so the shutdown flush is what saves them
    completed += [line for line in tail if line and not line.startswith("PENDING")]
    assert proc.returncode == 128 + signal.SIGTERM

    async def stored() -> dict[str, str]:
        backend = open_backend(url, prefix)
        try:
            return {r.id: r.status for r in await backend.fetch()}
        finally:
            await backend.aclose()

    records = asyncio.run(stored())
    missing = set(completed) - set(records)
    assert not missing, f"{len(missing)} of {len(completed)} completed calls have no ledger record"
    assert all(records[i] == "ok" for i in completed)
    # the calls in flight at the signal were cancelled, and are recorded as such
    assert set(records.values()) <= {"ok", "cancelled"}
    assert len(records) >= len(completed)


def test_sigterm_mid_load_keeps_every_completed_call_sqlite(tmp_path: Path) -> None:
    _sigterm_mid_load(f"sqlite:///{tmp_path}/ledger.sqlite3", "llmrelay_", tmp_path)


def test_sigterm_mid_load_keeps_every_completed_call_postgres(
    pg_available: str, pg_prefix: str, tmp_path: Path
) -> None:
    _sigterm_mid_load(pg_available, pg_prefix, tmp_path)
