"""A bounded map for per-deployment state, so that arbitrary model names cannot grow memory.

Deployments named ``provider/model`` come from callers: a gateway that lets clients
name any model would otherwise keep a health record and a key pool for every name it
was ever sent. The least recently used entry goes once ``limit`` is reached.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from llmrelay.errors import ConfigError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Bounded(Generic[K, V]):
    __slots__ = ("_items", "_limit")

    def __init__(self, limit: int = 1024) -> None:
        if limit < 1:
            raise ConfigError(f"a bounded map needs a limit >= 1, got {limit}")
        self._items: OrderedDict[K, V] = OrderedDict()
        self._limit = limit

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        items = self._items
        value = items.get(key)
        if value is None:
            value = items[key] = make()
            if len(items) > self._limit:
                items.popitem(last=False)
        else:
            items.move_to_end(key)
        return value

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def __len__(self) -> int:
        return len(self._items)
