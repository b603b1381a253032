"""What a ledger backend does, and choosing one from a URL.

``sqlite:///relative/path`` and ``sqlite:////absolute/path`` (SQLAlchemy's spelling;
``~`` is expanded) select SQLite; ``postgresql://…`` or ``postgres://…`` select
PostgreSQL. No URL means ``ledger.sqlite3`` in the user data directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from llmrelay.errors import ConfigError, LLMRelayError
from llmrelay.ledger.query import UsageQuery, UsageRow
from llmrelay.ledger.record import UsageRecord


class LedgerError(LLMRelayError):
    """The ledger database failed or could not be reached; the message says which and why."""


class LedgerBackend(Protocol):
    """A store of usage records. Every method may be slow; callers keep it off the hot path."""

    @property
    def description(self) -> str:
        """Where the records go, safe to print (no password)."""
        ...

    async def start(self) -> None:
        """Connect, and create or migrate the tables."""
        ...

    async def write(self, records: Sequence[UsageRecord]) -> None:
        """Store a batch atomically; a record id already stored is skipped, so a retried
        batch is never counted twice."""
        ...

    async def summarize(self, query: UsageQuery) -> list[UsageRow]: ...

    async def fetch(self, since: datetime | None = None, until: datetime | None = None) -> list[UsageRecord]:
        """The records in the window, oldest first."""
        ...

    async def aclose(self) -> None: ...


def default_path() -> Path:
    """``ledger.sqlite3`` in the user data directory (``$XDG_DATA_HOME/llmrelay`` on Linux)."""
    from platformdirs import user_data_path

    return user_data_path("llmrelay", appauthor=False) / "ledger.sqlite3"


def sqlite_path(url: str) -> Path:
    rest = url[len("sqlite:///") :]
    if not rest:
        raise ConfigError("ledger url sqlite:/// names no file: use e.g. sqlite:///usage.sqlite3")
    return Path(rest).expanduser()


def display_url(url: str | None) -> str:
    """The URL with any password masked, for messages."""
    if url is None:
        return f"sqlite:///{default_path()}"
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def open_backend(url: str | None, table_prefix: str = "llmrelay_") -> LedgerBackend:
    """The backend for ``url`` (None: the default SQLite file). No I/O happens here."""
    if url is None or url.startswith("sqlite:///"):
        from llmrelay.ledger.sqlite import SQLiteBackend

        return SQLiteBackend(default_path() if url is None else sqlite_path(url), table_prefix)
    if url.startswith(("postgresql://", "postgres://")):
        from llmrelay.ledger.postgres import PostgresBackend

        return PostgresBackend(url, table_prefix)
    raise ConfigError(
        f"unsupported ledger url {display_url(url)!r}: use sqlite:///path/to/file or postgresql://host/db"
    )
