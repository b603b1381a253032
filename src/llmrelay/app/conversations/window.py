"""Which turns fit: grouping turns into units that are kept or dropped whole (pure functions).

A *unit* is one user or assistant turn, or an assistant turn that calls tools together with
every tool result answering those calls. Units are never split, so a tool call is never
sent without its result or a result without its call (providers reject both). When other
turns were stored between a call and its results (concurrent writers), the unit still
holds them all and is emitted with the results right after the call, as providers expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmrelay.types import Message


@dataclass(frozen=True, slots=True)
class Unit:
    """Turns kept or dropped together: ``indices`` into the conversation's turns, in the
    order they are sent; ``start`` is the first of them; ``tokens`` their size."""

    indices: tuple[int, ...]
    tokens: int

    @property
    def start(self) -> int:
        return self.indices[0]


def group(turns: Sequence[Message]) -> list[tuple[int, ...]]:
    """The units of ``turns`` as index tuples, ordered by their first turn."""
    units: list[list[int]] = []
    open_calls: dict[str, int] = {}  # tool call id -> its unit
    for i, m in enumerate(turns):
        if m.role == "tool" and m.tool_call_id is not None and m.tool_call_id in open_calls:
            units[open_calls.pop(m.tool_call_id)].append(i)
            continue
        units.append([i])
        if m.role == "assistant":
            for call in m.tool_calls:
                open_calls[call.id] = len(units) - 1
    return [tuple(u) for u in units]


def units_of(turns: Sequence[Message], sizes: Sequence[int]) -> list[Unit]:
    """``group`` with each unit's size from the per-turn ``sizes``."""
    return [Unit(idx, sum(sizes[i] for i in idx)) for idx in group(turns)]


def newest_that_fit(units: Sequence[Unit], available: int) -> int:
    """The index of the first of the newest units whose sizes add up to at most
    ``available`` (``len(units)`` when not even the last one fits)."""
    used = 0
    k = len(units)
    while k > 0 and used + units[k - 1].tokens <= available:
        used += units[k - 1].tokens
        k -= 1
    return k


def align_to_user(units: Sequence[Unit], k: int, turns: Sequence[Message]) -> int:
    """When turns were dropped (``k > 0``), start the kept ones at a user turn if a later
    one exists: an answer without its question helps little, and some providers want the
    first turn after the system prompt to be the user's."""
    if k == 0:
        return k
    j = k
    while j < len(units) and turns[units[j].start].role != "user":
        j += 1
    return j if j < len(units) else k


def total(units: Sequence[Unit]) -> int:
    return sum(u.tokens for u in units)


def flatten(units: Sequence[Unit], turns: Sequence[Message]) -> list[Message]:
    return [turns[i] for u in units for i in u.indices]
