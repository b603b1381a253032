"""Turn what a model wrote into a JSON value.

Models asked for JSON answer with code fences, a sentence before or after, trailing
commas, single quotes, Python's ``True``/``None``, comments, unquoted keys. Plain JSON
is tried first (the common case, and the only one native structured outputs produce);
anything else goes to ``json_repair``, a maintained parser written for exactly this
(LLM output), rather than a home-made pile of regular expressions. Its repairs are
deliberately lenient; what it makes of a reply is then *validated* against the caller's
type, and a wrong guess becomes a re-ask with the validation errors.

Truncation is not repaired here: a reply cut by ``max_tokens`` would be "repaired" into
a shorter, valid-looking object, so the caller checks the finish reason first.

``partial_json`` parses the growing prefix of a streamed reply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["JSONNotFoundError", "Parsed", "json_start", "parse_json", "partial_json"]

_FENCE = re.compile(r"```[ \t]*(?:json5?|javascript|js|python)?[ \t]*\r?\n?(.*?)(?:```|\Z)", re.DOTALL | re.I)
_TRAILING_NUMBER = re.compile(r"[-+]?[0-9][0-9.eE+-]*$|[-+]$")


class JSONNotFoundError(ValueError):
    """The text holds nothing that can be read as JSON; the message says why."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """A decoded value; ``repaired`` when the text was not plain JSON (fences, prose,
    repairs) and had to be extracted or fixed."""

    value: Any
    repaired: bool


def parse_json(text: str) -> Parsed:
    """The JSON value in ``text`` (raises ``JSONNotFoundError`` when there is none)."""
    stripped = text.strip()
    if not stripped:
        raise JSONNotFoundError("the reply is empty")
    try:
        return Parsed(json.loads(stripped), False)
    except ValueError:
        pass
    fenced = _FENCE.search(stripped)
    if fenced is not None:
        try:
            return Parsed(json.loads(fenced.group(1)), True)
        except ValueError:
            pass
    import json_repair  # imported on first use: most replies are plain JSON

    try:
        value = json_repair.loads(stripped)
    except (ValueError, RecursionError) as exc:  # it almost never raises; be sure
        raise JSONNotFoundError(f"the reply is not JSON and could not be repaired: {exc}") from exc
    if value == "" and '""' not in stripped and "''" not in stripped:
        # json_repair's answer for "no JSON in here"
        raise JSONNotFoundError("the reply holds no JSON value (only text)")
    return Parsed(value, True)


def json_start(text: str) -> int:
    """Where the JSON of a (possibly partial) reply starts: after a code fence's opening
    line, at its first ``{`` or ``[``; -1 while none has arrived."""
    fence = text.find("```")
    begin = 0
    if fence >= 0:
        newline = text.find("\n", fence)
        if newline < 0:
            return -1  # the fence's language tag is still arriving
        begin = newline + 1
    starts = [i for i in (text.find("{", begin), text.find("[", begin)) if i >= 0]
    return min(starts) if starts else -1


def partial_json(text: str) -> Any:
    """The value of a streamed reply so far, or None while nothing readable has arrived.

    Unfinished strings are kept (a field fills as it arrives); a number still arriving is
    left out until it ends, so ``12`` is never shown on the way to ``125``.
    """
    from pydantic_core import from_json  # a Rust parser with partial-input support

    start = json_start(text)
    if start < 0:
        return None
    body = text[start:]
    end = body.find("```")
    if end >= 0:
        body = body[:end]
    body = body.rstrip()
    body = _TRAILING_NUMBER.sub("", body) if body[-1:].isdigit() or body[-1:] in "+-.eE" else body
    try:
        return from_json(body, allow_partial="trailing-strings")
    except ValueError:
        return None
