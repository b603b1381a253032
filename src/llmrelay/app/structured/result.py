"""The outcome of an extraction, and the sums over several model calls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeAlias, TypeVar

from llmrelay.types import ChatResponse, Usage

T = TypeVar("T")

#: how the structure was asked for: the provider's structured outputs, JSON mode plus
#: instructions, a forced tool call, or instructions alone
ResolvedMode: TypeAlias = Literal["native", "json", "tool", "prompt"]
Mode: TypeAlias = Literal["auto", "native", "json", "tool", "prompt"]
MODES: frozenset[str] = frozenset(("auto", "native", "json", "tool", "prompt"))


def total_usage(responses: Iterable[ChatResponse]) -> Usage | None:
    """Usage summed over calls (None when no call reported any)."""
    total: Usage | None = None
    for r in responses:
        if r.usage is not None:
            total = r.usage if total is None else total + r.usage
    return total


def total_cost(responses: Iterable[ChatResponse]) -> float | None:
    """US dollars summed over calls; None when any call's cost is unknown (a partial sum
    would look like a complete one)."""
    total = 0.0
    seen = False
    for r in responses:
        if r.cost is None:
            return None
        total += r.cost
        seen = True
    return total if seen else None


@dataclass(frozen=True, slots=True)
class Extraction(Generic[T]):
    """A validated value and what it took to get it.

    ``responses`` holds every model call in order (the first, then each re-ask);
    ``usage`` and ``cost`` are summed over all of them. ``repaired`` says the accepted
    reply was not plain JSON (fences, prose, repairs).
    """

    value: T
    responses: Sequence[ChatResponse]
    mode: ResolvedMode
    repaired: bool = False

    @property
    def response(self) -> ChatResponse:
        """The call whose reply was accepted."""
        return self.responses[-1]

    @property
    def attempts(self) -> int:
        return len(self.responses)

    @property
    def usage(self) -> Usage | None:
        return total_usage(self.responses)

    @property
    def cost(self) -> float | None:
        return total_cost(self.responses)


__all__ = ["MODES", "Extraction", "Mode", "ResolvedMode", "total_cost", "total_usage"]
