"""The batch journal: a SQLite file that makes a run resumable.

Every finished item is committed before it is reported (WAL with ``synchronous=FULL``: the
commit is on disk when it returns), so a run that is interrupted — Ctrl-C, a kill, a crash,
a power cut — loses at most the calls that were in flight, and a resumed run never pays
again for an item it finished. Provider-mode submissions are journaled too, before and
after the provider accepts them, so a resumed run polls the batch it already paid for
instead of submitting it again.

Each result is stored with the fingerprint of the request that produced it: a journal
refuses to resume a different input.

SQLite is synchronous; every statement runs on one thread of the journal's own, so the
event loop never waits on the disk. Results that finish while a commit is under way go
into the next one together (group commit): each is still on disk before it is reported,
and a fast batch is not held to one item per disk flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from llmrelay.app.batch.items import BatchItem
from llmrelay.app.batch.records import BatchResult
from llmrelay.errors import ConfigError

_T = TypeVar("_T")
VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    idx INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    ok INTEGER NOT NULL,
    record TEXT NOT NULL,
    finished REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    token TEXT PRIMARY KEY,
    api TEXT NOT NULL,
    model TEXT NOT NULL,
    batch_id TEXT,
    indices TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Submission:
    """A provider batch this run submitted: ``state`` is ``submitting`` (sent, id not yet
    known), ``submitted`` or ``collected`` (its results are in the journal)."""

    token: str
    api: str
    model: str
    batch_id: str | None
    indices: tuple[int, ...]
    state: str


def default_path(output: str | Path) -> Path:
    """The journal beside an output file: ``out.jsonl`` → ``out.jsonl.journal``."""
    out = Path(output)
    return out.with_name(out.name + ".journal")


class Journal:
    """Open with ``await Journal.open(path, items)``; close with ``await journal.close()``."""

    def __init__(self, path: Path, executor: ThreadPoolExecutor, db: sqlite3.Connection) -> None:
        self.path = path
        self._executor = executor
        self._db = db
        self._pending: list[tuple[list[tuple[Any, ...]], str | None, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(cls, path: str | Path, items: Sequence[BatchItem], *, restart: bool = False) -> Journal:
        """Open (or create) the journal at ``path`` for ``items``.

        ``restart`` discards an existing journal. Raises ``ConfigError`` when the journal was
        written for a different input, naming the first item that differs.
        """
        target = Path(path)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmrelay-journal")
        loop = asyncio.get_running_loop()
        try:
            db = await loop.run_in_executor(executor, _connect, target, restart)
            journal = cls(target, executor, db)
            await journal._run(_check, db, items, target)
        except BaseException:
            executor.shutdown(wait=True)
            raise
        return journal

    async def close(self) -> None:
        if self._flusher is not None:  # let the last commit finish: its results were paid for
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(self._flusher)
        with contextlib.suppress(sqlite3.Error):
            await self._run(self._db.close)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def is_empty(self) -> bool:
        """Whether no run has recorded anything here yet."""

        def check() -> bool:
            results = self._db.execute("SELECT 1 FROM results LIMIT 1").fetchone()
            subs = self._db.execute("SELECT 1 FROM submissions LIMIT 1").fetchone()
            return results is None and subs is None

        return await self._run(check)

    # ------------------------------------------------------------------ results

    async def results(self) -> dict[int, dict[str, Any]]:
        """Every recorded result, by item index, as its JSON record."""

        def load() -> dict[int, dict[str, Any]]:
            rows = self._db.execute("SELECT idx, record FROM results").fetchall()
            return {int(idx): json.loads(record) for idx, record in rows}

        return await self._run(load)

    async def record(self, result: BatchResult, fingerprint: str) -> None:
        """Store one result durably (replacing an earlier one for the same item)."""
        await self.record_many([(result, fingerprint)])

    async def record_many(
        self, rows: Sequence[tuple[BatchResult, str]], *, collected: str | None = None
    ) -> None:
        """Store results durably; returns once they are committed. ``collected`` marks that
        submission's results as stored in the same commit."""
        now = time.time()
        values = [
            (r.index, r.id, fp, int(r.ok), json.dumps(r.to_json(), ensure_ascii=False), now) for r, fp in rows
        ]
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((values, collected, done))
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush())
        # a caller cancelled while waiting does not stop the commit: what it handed in is kept
        await asyncio.shield(done)

    async def _flush(self) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending, []
                try:
                    await self._run(self._write, [(v, c) for v, c, _ in group])
                except BaseException as exc:
                    for _, _, fut in group:
                        if not fut.done():
                            fut.set_exception(exc if isinstance(exc, Exception) else ConfigError(str(exc)))
                    raise
                for _, _, fut in group:
                    if not fut.done():
                        fut.set_result(None)
        finally:
            self._flusher = None

    def _write(self, group: list[tuple[list[tuple[Any, ...]], str | None]]) -> None:
        with self._db:
            for values, collected in group:
                self._db.executemany(
                    "INSERT OR REPLACE INTO results (idx, item_id, fingerprint, ok, record, finished) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )
                if collected is not None:
                    self._db.execute(
                        "UPDATE submissions SET state = 'collected' WHERE token = ?", (collected,)
                    )

    # ------------------------------------------------------------------ submissions

    async def submissions(self) -> list[Submission]:
        def load() -> list[Submission]:
            rows = self._db.execute(
                "SELECT token, api, model, batch_id, indices, state FROM submissions ORDER BY created"
            ).fetchall()
            return [
                Submission(token, api, model, batch_id, tuple(json.loads(indices)), state)
                for token, api, model, batch_id, indices, state in rows
            ]

        return await self._run(load)

    async def add_submission(self, sub: Submission) -> None:
        def write() -> None:
            with self._db:
                self._db.execute(
                    "INSERT INTO submissions (token, api, model, batch_id, indices, state, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        sub.token,
                        sub.api,
                        sub.model,
                        sub.batch_id,
                        json.dumps(sub.indices),
                        sub.state,
                        time.time(),
                    ),
                )

        await self._run(write)

    async def set_submitted(self, token: str, batch_id: str) -> None:
        def write() -> None:
            with self._db:
                self._db.execute(
                    "UPDATE submissions SET batch_id = ?, state = 'submitted' WHERE token = ?",
                    (batch_id, token),
                )

        await self._run(write)

    async def drop_submission(self, token: str) -> None:
        def write() -> None:
            with self._db:
                self._db.execute("DELETE FROM submissions WHERE token = ?", (token,))

        await self._run(write)


def _connect(path: Path, restart: bool) -> sqlite3.Connection:
    if restart:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(path) + suffix).unlink()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open the batch journal {path}: {exc}") from None
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a commit is on disk when it returns
        db.executescript(_SCHEMA)
        # executescript leaves autocommit on; `with db:` blocks then open their own transactions
        db.isolation_level = "DEFERRED"
        with db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('version', ?)", (VERSION,))
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ConfigError(
            f"{path} is not a batch journal ({exc}); give another output path or remove the file"
        ) from None
    if version != VERSION:
        db.close()
        raise ConfigError(f"the batch journal {path} has format {version}, this llmrelay writes {VERSION}")
    return db


def _check(db: sqlite3.Connection, items: Sequence[BatchItem], path: Path) -> None:
    rows = db.execute("SELECT idx, item_id, fingerprint FROM results ORDER BY idx").fetchall()
    for idx, item_id, fp in rows:
        if idx >= len(items):
            raise ConfigError(
                f"the batch journal {path} has a result for item {idx} ({item_id!r}), but the input has only "
                f"{len(items)} items: it belongs to another input. Use another output path, or restart "
                "(--restart) to discard it"
            )
        item = items[idx]
        if item.fingerprint != fp or item.id != item_id:
            raise ConfigError(
                f"the batch journal {path} was written for a different input: item {idx} "
                f"({item_id!r}) has changed. Use another output path, or restart (--restart) to discard it"
            )
