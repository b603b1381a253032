"""A/B assignment: which version of a prompt a user gets, by a stable hash of their id.

The same id always lands in the same bucket (SHA-256, not Python's per-process ``hash``),
on every machine and in every process, so a user keeps seeing one variant. Buckets are
spread uniformly over [0, 1); a version's share of users is its weight over the sum of
weights. Each experiment has a salt (by default the prompt's name), so two experiments
split the same users independently.

Pure functions only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from llmrelay.app.prompts.errors import PromptTemplateError

_SCALE = float(1 << 64)


def bucket(salt: str, user_id: str) -> float:
    """A number in [0, 1) fixed by ``salt`` and ``user_id``."""
    digest = hashlib.sha256(f"{salt}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


@dataclass(frozen=True, slots=True)
class Experiment:
    """Versions of one prompt and their weights, in the order given.

    Adding a version moves some users between variants (the cut points shift); changing
    the salt reshuffles everyone.
    """

    prompt: str
    split: tuple[tuple[str, float], ...]
    salt: str | None = None

    @classmethod
    def from_mapping(
        cls, prompt: str, split: Mapping[str, float], salt: str | None = None, *, where: str = ""
    ) -> Experiment:
        """``split`` maps version to weight (``{v1: 90, v2: 10}`` or ``{v1: 0.9, v2: 0.1}``)."""
        prefix = f"{where}: " if where else ""
        items: list[tuple[str, float]] = []
        for version, weight in split.items():
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
                raise PromptTemplateError(
                    f"{prefix}experiment {prompt}: the weight of {version} must be a number ≥ 0, "
                    f"got {weight!r}"
                )
            items.append((str(version), float(weight)))
        if not items or sum(w for _, w in items) <= 0:
            raise PromptTemplateError(f"{prefix}experiment {prompt}: give at least one version a weight > 0")
        return cls(prompt, tuple(items), salt)

    @property
    def shares(self) -> dict[str, float]:
        """Each version's expected share of users (weights normalised to sum to 1)."""
        total = sum(w for _, w in self.split)
        return {v: w / total for v, w in self.split}

    def assign(self, user_id: str) -> str:
        """The version ``user_id`` gets: the same one every time."""
        point = bucket(self.salt or self.prompt, user_id)
        total = sum(w for _, w in self.split)
        edge = 0.0
        for version, weight in self.split:
            edge += weight / total
            if point < edge:
                return version
        # float rounding can leave the last edge a hair under 1.0
        return next(v for v, w in reversed(self.split) if w > 0)
