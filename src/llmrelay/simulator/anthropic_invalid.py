"""The Anthropic simulator's validation error and the small checks its request modules share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AnthropicInvalid(Exception):
    """A request the real API would refuse with 400 invalid_request_error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number_in(body: Mapping[str, Any], name: str, low: float, high: float | None) -> None:
    if name not in body or body[name] is None:
        return
    value = body[name]
    if not is_number(value):
        raise AnthropicInvalid(f"{name}: Input should be a valid number")
    if value < low:
        raise AnthropicInvalid(f"{name}: Input should be greater than or equal to {low:g}")
    if high is not None and value > high:
        raise AnthropicInvalid(f"{name}: Input should be less than or equal to {high:g}")
