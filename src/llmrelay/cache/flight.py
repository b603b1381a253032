"""Single flight: identical calls that arrive together send one upstream request.

The first call for a key leads; the others wait (at most ``wait`` seconds) for the
leader's answer. The leader publishes the entry it stored, or None when it has none to
share (it failed, or its answer was not storable): then each waiter goes upstream on its
own. Waiting is bounded so that one slow leader cannot hold many callers beyond their
patience; a waiter that gives up simply goes upstream. One process only: replicas
coalesce nothing between them (they share entries through Redis instead).
"""

from __future__ import annotations

import asyncio

from llmrelay.cache.entry import Entry


class Flights:
    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[Entry | None]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    def join(self, key: str) -> asyncio.Future[Entry | None] | None:
        """None: the caller leads (and must ``land`` the key); else the leader's future."""
        fut = self._flights.get(key)
        if fut is not None:
            return fut
        self._flights[key] = asyncio.get_running_loop().create_future()
        return None

    def land(self, key: str, entry: Entry | None) -> None:
        """The leader is done: hand ``entry`` (or None) to the waiters."""
        fut = self._flights.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result(entry)

    @staticmethod
    async def wait(fut: asyncio.Future[Entry | None], timeout: float) -> Entry | None:
        """The leader's entry, or None if it had none or took longer than ``timeout``."""
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return None
