"""Why an extraction gave no value. Both are ``llmrelay.OutputParseError``s (never retried
by the pipeline: asking the same thing again the same way would fail the same way)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmrelay.app.structured.result import total_cost, total_usage
from llmrelay.errors import OutputParseError
from llmrelay.types import ChatResponse, Usage


class _Accounted(OutputParseError):
    """Carries every call made before failing, so their usage and cost are not lost."""

    def __init__(self, message: str, *, responses: Sequence[ChatResponse] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.responses: tuple[ChatResponse, ...] = tuple(responses)

    @property
    def attempts(self) -> int:
        return len(self.responses)

    @property
    def usage(self) -> Usage | None:
        return total_usage(self.responses)

    @property
    def cost(self) -> float | None:
        return total_cost(self.responses)


class OutputTruncatedError(_Accounted):
    """The model stopped at its output limit (finish reason ``length``) before the object
    was complete. ``text`` is what arrived. Not re-asked: the same limit would cut the
    answer again; raise ``max_tokens`` or ask for less."""


class OutputValidationError(_Accounted):
    """Every attempt's reply failed to parse or validate. ``text`` is the last reply,
    ``problems`` the reason each attempt was refused, in order."""

    def __init__(self, message: str, *, problems: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.problems: tuple[str, ...] = tuple(problems)


__all__ = ["OutputTruncatedError", "OutputValidationError"]
