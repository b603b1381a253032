"""``Timeouts``: the limits every exchange runs under, whichever client carries it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmrelay import errors

if TYPE_CHECKING:
    import httpx2


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds, or ``None`` for no limit.

    ``connect``: establishing the TCP/TLS connection. ``read``: the longest silence
    between two reads (the wait for the first byte included). ``total``: a deadline for
    the whole exchange, streaming included. ``write`` and ``pool`` (waiting for a free
    pooled connection) default to the same 600 s as the official SDKs.
    """

    connect: float | None = 5.0
    read: float | None = 600.0
    total: float | None = None
    write: float | None = 600.0
    pool: float | None = 600.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total", "write", "pool"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise errors.ConfigError(
                    f"Timeouts.{name} must be a positive number of seconds or None (no limit), got {value!r}"
                )

    def as_httpx(self) -> httpx2.Timeout:
        import httpx2

        return httpx2.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)
