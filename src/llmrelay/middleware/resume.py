"""Streams that finish: what was delivered, whether a broken stream may be resumed, and
the check that a re-requested stream repeats exactly what the caller already has.

A stream that breaks after content reached the caller is asked for again (another
attempt, through routing, so possibly another deployment), in one of two ways:

* **continuation**, where the deployment's protocol continues a final assistant turn
  (Anthropic's prefill): the delivered text is sent as that turn and the model writes
  only what follows — nothing is generated or paid for twice. Trailing whitespace
  cannot end a prefill, so it is left out and the continuation must repeat it;
* **re-request** otherwise: the new stream must start with exactly the text (and
  reasoning) already delivered, and only what comes after it is passed on.

Either way the caller reads one complete answer with nothing repeated or lost. If the
new stream says anything else, the answer cannot be completed honestly and the caller
gets ``StreamTruncatedError`` with the partial text. Requests are resumed when
they are deterministic (temperature 0, or a seed) unless ``resume`` says ``always`` or
``off``; streams that delivered tool-call pieces are not resumed (a new stream names
its calls with new ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from llmrelay import errors
from llmrelay.pipeline import Call, Outcome, Resume
from llmrelay.types import ChatRequest, Message, ReasoningDelta, StreamEvent, TextDelta, ToolCallDelta


@dataclass(slots=True)
class Delivered:
    """What has been passed to the caller so far.

    The relay does not copy events as they pass (that is the hot path): the call's
    outcome folds every event the terminal hands up, which is exactly what reached the
    caller, and ``catch_up`` reads it when a stream breaks.
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: bool = False
    #: content has reached the caller: no plain retry any more
    committed: bool = False

    def catch_up(self, outcome: Outcome) -> None:
        # A re-requested stream that broke before repeating everything has less than was
        # delivered; the prefix check guarantees the longer one is what the caller has.
        text, reasoning = outcome.text, outcome.reasoning
        if len(text) >= len(self.text):
            self.text = text
        if len(reasoning) >= len(self.reasoning):
            self.reasoning = reasoning
        self.tool_calls = self.tool_calls or bool(outcome.calls)

    @property
    def partial_text(self) -> str:
        return self.text


def may_resume(call: Call, mode: Resume, delivered: Delivered) -> bool:
    """Whether a stream of ``call`` that broke after ``delivered`` may be resumed."""
    mode = call.resume or mode
    if mode == "off" or delivered.tool_calls:
        return False
    if mode == "always":
        return True
    req = call.chat
    return req.seed is not None or req.temperature == 0


@dataclass(frozen=True, slots=True)
class Continuation:
    """How to continue a broken stream by prefill: the request to send, the text it
    carries as the assistant's turn, and the whitespace the continuation must repeat."""

    request: ChatRequest
    prefill: str
    tail: str


def continuation(req: ChatRequest, delivered: Delivered) -> Continuation | None:
    """A prefill continuation of ``req`` after ``delivered``, or None when only a
    re-request can finish it (reasoning or tool calls were delivered: a prefill cannot
    carry them; or nothing but whitespace was)."""
    if delivered.reasoning or delivered.tool_calls or _thinks(req):
        return None
    prefill = delivered.text.rstrip()
    if not prefill:
        return None
    messages = list(req.messages)
    last = messages[-1] if messages else None
    if (
        last is not None
        and last.role == "assistant"
        and not last.tool_calls
        and isinstance(last.content, str)
    ):
        # the caller's own prefill: the reply so far continues it
        messages[-1] = Message.assistant(last.content + prefill)
    else:
        messages.append(Message.assistant(prefill))
    return Continuation(replace(req, messages=tuple(messages)), prefill, delivered.text[len(prefill) :])


def _thinks(req: ChatRequest) -> bool:
    """The request turns thinking on: Anthropic refuses a prefilled answer with extended
    thinking (extended thinking guide, "Feature compatibility"), so only a re-request can
    finish it."""
    raw = (req.extra or {}).get("thinking")
    if isinstance(raw, Mapping) and raw.get("type") not in (None, "disabled"):
        return True  # thinking asked for through the untyped passthrough
    r = req.reasoning
    if r is None:
        return False
    return not (r.effort == "none" or r.budget_tokens == 0)


class Diverged(Exception):
    """The re-requested stream does not repeat what was delivered."""


class PrefixFilter:
    """Passes on only what a re-requested stream adds beyond what was already delivered,
    checking that it repeats the delivered text and reasoning exactly."""

    __slots__ = ("_reasoning", "_reasoning_at", "_text", "_text_at")

    def __init__(self, delivered: Delivered) -> None:
        self._text = delivered.text
        self._reasoning = delivered.reasoning
        self._text_at = 0
        self._reasoning_at = 0

    @property
    def caught_up(self) -> bool:
        return self._text_at >= len(self._text) and self._reasoning_at >= len(self._reasoning)

    def feed(self, ev: StreamEvent) -> StreamEvent | None:
        """The part of ``ev`` the caller has not seen (None: all of it was seen);
        raises ``Diverged`` when it contradicts what was delivered."""
        kind = type(ev)
        if kind is TextDelta:
            text, self._text_at = _past(self._text, self._text_at, ev.text)  # type: ignore[union-attr]
            return TextDelta(text) if text else None
        if kind is ReasoningDelta:
            text, self._reasoning_at = _past(self._reasoning, self._reasoning_at, ev.text)  # type: ignore[union-attr]
            return ReasoningDelta(text) if text else None
        if kind is ToolCallDelta:
            if not self.caught_up:
                raise Diverged("the new stream called a tool where the delivered text was")
            return ev
        if not self.caught_up:  # usage, finish or end before the delivered text was repeated
            raise Diverged("the new stream ended before repeating what was delivered")
        return ev


def _past(seen: str, at: int, chunk: str) -> tuple[str, int]:
    """The part of ``chunk`` beyond ``seen`` (of which ``at`` characters were repeated)."""
    if at >= len(seen):
        return chunk, at
    overlap = seen[at : at + len(chunk)]
    if not chunk.startswith(overlap):
        where = at + next(i for i, (x, y) in enumerate(zip(chunk, overlap, strict=False)) if x != y)
        raise Diverged(f"the new stream differs from the delivered text at character {where}")
    return chunk[len(overlap) :], at + len(chunk)


def truncated(exc: errors.LLMRelayError, delivered: Delivered, why: str) -> errors.StreamTruncatedError:
    """The one error a caller sees for a stream that failed after delivering content."""
    partial = delivered.partial_text
    err = errors.StreamTruncatedError(
        f"the stream failed after {len(partial)} characters were delivered ({type(exc).__name__}: "
        + f"{exc.message}); {why}",
        partial_text=partial,
        provider=exc.provider,
        model=exc.model,
        status=exc.status,
        request_id=exc.request_id,
    )
    err.__cause__ = exc
    return err
