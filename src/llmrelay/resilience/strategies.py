"""Routing strategies: which of an alias's available deployments gets the next attempt.

Pure functions of the candidates (already filtered: open circuits, cooling keys and
deployments are gone) and a random generator. Ties, and candidates the strategy knows
nothing about yet, are settled by weight, so configured weights always mean something.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from llmrelay.types import ChatRequest, TextPart

#: output tokens assumed for a cost estimate when the request sets no max_tokens
ASSUMED_OUTPUT_TOKENS = 512


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    weight: float = 1.0
    in_flight: int = 0
    #: EWMA latency (TTFT for streams); None before the first answer
    speed: float | None = None
    #: estimated USD for this request; None when the price is unknown
    cost: float | None = None


Strategy = Callable[[Sequence[Candidate], random.Random], Candidate]


def weighted_random(cands: Sequence[Candidate], rng: random.Random) -> Candidate:
    if len(cands) == 1:
        return cands[0]
    return rng.choices(list(cands), weights=[c.weight for c in cands])[0]


def least_in_flight(cands: Sequence[Candidate], rng: random.Random) -> Candidate:
    """Fewest requests in flight relative to weight (a weight-2 deployment takes twice the load)."""
    best = min(c.in_flight / c.weight for c in cands)
    return weighted_random([c for c in cands if c.in_flight / c.weight == best], rng)


def lowest_latency(cands: Sequence[Candidate], rng: random.Random, explore: float = 0.05) -> Candidate:
    """The fastest by EWMA. Unmeasured deployments go first, and a share ``explore`` of
    calls goes to a random one, so that a deployment that was slow once gets re-measured."""
    unknown = [c for c in cands if c.speed is None]
    if unknown:
        return weighted_random(unknown, rng)
    if explore > 0 and rng.random() < explore:
        return weighted_random(cands, rng)
    return min(cands, key=lambda c: (c.speed, -c.weight))


def lowest_cost(cands: Sequence[Candidate], rng: random.Random) -> Candidate:
    """The cheapest estimate; deployments without a price only when none has one."""
    priced = [c for c in cands if c.cost is not None]
    if not priced:
        return weighted_random(cands, rng)
    cheapest = min(c.cost for c in priced if c.cost is not None)
    return weighted_random([c for c in priced if c.cost == cheapest], rng)


def pick(name: str, cands: Sequence[Candidate], rng: random.Random, *, explore: float = 0.05) -> Candidate:
    if not cands:
        raise ValueError("no candidates to choose from")
    if name == "lowest_latency":
        return lowest_latency(cands, rng, explore)
    return STRATEGIES[name](cands, rng)


STRATEGIES: Mapping[str, Strategy] = {
    "weighted_random": weighted_random,
    "least_in_flight": least_in_flight,
    "lowest_latency": lowest_latency,
    "lowest_cost": lowest_cost,
}


def estimate_cost(request: ChatRequest, price: tuple[float, float] | None) -> float | None:
    """Rough USD for ``request`` at ``price`` (USD per million input, output tokens).

    Four characters a token is crude, but only the ranking between deployments matters,
    and it ranks a long prompt on a cheap-input model correctly against a short one.
    """
    if price is None:
        return None
    chars = 0
    for m in request.messages:
        if isinstance(m.content, str):
            chars += len(m.content)
        elif m.content is not None:
            chars += sum(len(p.text) for p in m.content if isinstance(p, TextPart))
    output = request.max_tokens or ASSUMED_OUTPUT_TOKENS
    return (chars / 4 * price[0] + output * price[1]) / 1_000_000
