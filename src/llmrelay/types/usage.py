"""Token usage of one call, as the provider billed it (the accounting convention is in
``llmrelay.types``' module docstring)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one call used, as the provider billed them (see the module's convention).

    ``cached_input_tokens``, ``cache_write_tokens`` and ``reasoning_tokens`` are parts of
    ``input_tokens`` and ``output_tokens``, not additions to them; ``cache_write_1h_tokens``
    is the part of ``cache_write_tokens`` written with a one-hour lifetime.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cache_write_5m_tokens(self) -> int:
        """The cache writes with the default (five-minute) lifetime."""
        return max(0, self.cache_write_tokens - self.cache_write_1h_tokens)

    @property
    def uncached_input_tokens(self) -> int:
        """Prompt tokens neither read from nor written to a provider cache."""
        return max(0, self.input_tokens - self.cached_input_tokens - self.cache_write_tokens)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
        )
