"""The usage ledger: a record per call, written in batches off the request path.

    from llmrelay.ledger import open_backend, UsageQuery
    backend = open_backend("postgresql://127.0.0.1/llmrelay")
    await backend.start()
    rows = await backend.summarize(UsageQuery(by="model"))

The ledger middleware (``llmrelay.middleware.ledger``) builds a ``UsageRecord`` for each
call and hands it to a ``LedgerWriter``, which writes batches in the background to
SQLite (default: ``ledger.sqlite3`` in the user data directory) or PostgreSQL.
"""

from __future__ import annotations

from llmrelay.ledger.backend import LedgerBackend, LedgerError, default_path, display_url, open_backend
from llmrelay.ledger.pricing import CatalogPricer, Pricer
from llmrelay.ledger.query import GROUPINGS, UsageQuery, UsageRow, parse_when
from llmrelay.ledger.record import OK, GuardMark, UsageRecord, error_kind, key_label
from llmrelay.ledger.writer import LedgerStats, LedgerWriter
from llmrelay.settings import LedgerSettings

__all__ = [
    "GROUPINGS",
    "OK",
    "CatalogPricer",
    "GuardMark",
    "LedgerBackend",
    "LedgerError",
    "LedgerStats",
    "LedgerWriter",
    "Pricer",
    "UsageQuery",
    "UsageRecord",
    "UsageRow",
    "default_path",
    "display_url",
    "error_kind",
    "key_label",
    "open_backend",
    "open_writer",
    "parse_when",
]


def open_writer(settings: LedgerSettings, pricer: Pricer | None = None) -> LedgerWriter:
    """A writer for the configured backend (no I/O until the first record)."""
    url = settings.url.get_secret_value() if settings.url is not None else None
    return LedgerWriter(
        open_backend(url, settings.table_prefix),
        batch_size=settings.batch_size,
        flush_interval=settings.flush_interval,
        queue_size=settings.queue_size,
        shutdown_timeout=settings.shutdown_timeout,
        pricer=pricer,
    )
