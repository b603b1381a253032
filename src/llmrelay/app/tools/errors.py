"""Why a tool run ended without a final answer."""

from __future__ import annotations

from typing import Any

from llmrelay.app.tools.result import ToolRun
from llmrelay.errors import LLMRelayError


class MaxTurnsExceededError(LLMRelayError):
    """The model was still calling tools after ``max_turns`` model calls. ``run`` holds the
    transcript so far (every call answered, so it can be continued), usage and cost."""

    def __init__(self, message: str, *, run: ToolRun, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.run = run


__all__ = ["MaxTurnsExceededError"]
