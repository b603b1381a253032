"""Key pools: several API keys for one deployment, used in rotation.

A key that the provider refuses (401/403) is taken out of the pool for the life of the
process; a key that is rate limited (429) cools down for the Retry-After (or a default).
Keys are only ever named by ``Secret.fingerprint``. A deployment with no key (a local
server) has a pool of one keyless slot, so that cool-downs work the same for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmrelay.resilience.lru import Bounded
from llmrelay.secrets import Secret


@dataclass(slots=True, eq=False)
class KeySlot:
    key: Secret | None
    cool_until: float = 0.0
    revoked: bool = False

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint if self.key is not None else "no-key"

    def usable(self, now: float) -> bool:
        return not self.revoked and now >= self.cool_until


class KeyPool:
    """Round-robin over the usable keys; ``now`` comes from the caller's clock."""

    __slots__ = ("_next", "slots")

    def __init__(self, keys: Sequence[Secret | None]) -> None:
        self.slots = [KeySlot(k) for k in (keys or [None])]
        self._next = 0

    def available_in(self, now: float) -> float | None:
        """0 if a key is usable now, else seconds until the first cools down; None if all are revoked."""
        waits = [max(0.0, s.cool_until - now) for s in self.slots if not s.revoked]
        return min(waits) if waits else None

    def take(self, now: float) -> KeySlot | None:
        n = len(self.slots)
        for i in range(n):
            slot = self.slots[(self._next + i) % n]
            if slot.usable(now):
                self._next = (self._next + i + 1) % n
                return slot
        return None

    def cool(self, slot: KeySlot, until: float) -> None:
        slot.cool_until = max(slot.cool_until, until)

    def revoke(self, slot: KeySlot) -> None:
        slot.revoked = True

    @property
    def revoked(self) -> list[str]:
        return [s.fingerprint for s in self.slots if s.revoked]

    def __len__(self) -> int:
        return len(self.slots)

    def __repr__(self) -> str:
        return f"KeyPool({len(self.slots)} keys, {len(self.revoked)} revoked)"


class KeyPools:
    """The key pool of each deployment, bounded (least recently used first out).

    A pool belongs to its keys and endpoint, not just the deployment's name: two aliases
    may name the same host/model with different keys (tenants, billing), and one must
    never lend the other its keys.
    """

    __slots__ = ("_pools",)

    def __init__(self, limit: int = 1024) -> None:
        self._pools: Bounded[tuple[str, str, tuple[str, ...]], KeyPool] = Bounded(limit)

    def __call__(self, name: str, base_url: str, keys: Sequence[Secret | None]) -> KeyPool:
        ident = (name, base_url, tuple(k.fingerprint if k else "" for k in keys))
        return self._pools.get_or_make(ident, lambda: KeyPool(keys))

    def __len__(self) -> int:
        return len(self._pools)
