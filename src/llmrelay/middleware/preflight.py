"""Preflight: refuse, before sending, a call whose prompt plus output cannot fit the model.

The prompt is counted offline (exact for OpenAI encodings, an estimate elsewhere) for
every deployment the call may reach after a context-window failure — its alias's
deployments, then the chain of ``context_window_fallback`` aliases, as routing follows
it — and compared with each model's context window from the catalog. The call goes on
when at least one of them can take it; deployments that cannot are listed in
the call's ``TooSmall`` extension for routing to skip. When none can, it fails
with ``ContextWindowExceededError`` and nothing is sent. A model the catalog does not
know is never refused (its window is unknown).

It sits before budget and rate limiting so a call that cannot succeed reserves nothing.
Most prompts are far below the window: a cheap upper bound (``prompt_upper_bound``)
settles those without running a tokenizer. Counts that are made are kept on the
call's ``PromptCounts`` extension, where the budget and rate-limit layers find them
already made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from llmrelay.catalog import Catalog, ModelInfo
from llmrelay.catalog.fit import thinking_budget
from llmrelay.errors import ContextWindowExceededError, LLMRelayError
from llmrelay.middleware.callstate import TooSmall
from llmrelay.middleware.sizing import PromptCounts, prompt_count
from llmrelay.pipeline import Call, Observer, Op
from llmrelay.pipeline.context import StackContext
from llmrelay.resolve import Deployment, Route
from llmrelay.tokens import TokenCount
from llmrelay.types import ChatRequest, TextPart

#: how far an inexact count may overshoot before it is trusted to refuse a call: a wrong
#: refusal costs the caller an answer, a wrong pass only the provider's own refusal
TOLERANCE = {"exact": 0.0, "tiktoken": 0.02, "estimate": 0.15}

# Generous per-message and per-request room in the upper bound (real framing is 3-8 tokens).
_FRAMING_CHARS = 16
_FRAMING_TOKENS = 64


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one deployment's window compares with the call."""

    deployment: Deployment
    info: ModelInfo | None
    count: TokenCount | None
    needed: int | None  # prompt + reserved output, None when the window is unknown

    @property
    def fits(self) -> bool:
        if self.info is None or self.count is None or self.needed is None:
            return True
        return self.needed <= self.info.context_window


def _output_reserved(call: Call, dep: Deployment, info: ModelInfo | None = None) -> int:
    if call.chat.max_tokens is not None:
        return call.chat.max_tokens
    # protocols that require an output limit (Anthropic) send this one when the call gives
    # none, with the thinking budget on top when thinking is on
    default = dep.endpoint.options.get("default_max_tokens")
    if isinstance(default, int) and not isinstance(default, bool) and default > 0:
        return default + thinking_budget(call.chat, info)
    return 1  # the reply needs at least one token of room


def _trusted(count: TokenCount) -> int:
    """The smallest prompt size the count vouches for (its tolerance taken off)."""
    if count.exact:
        return count.tokens
    kind = "tiktoken" if count.method.startswith("tiktoken:") else "estimate"
    return math.floor(count.tokens * (1 - TOLERANCE[kind]))


def prompt_upper_bound(req: ChatRequest) -> int | None:
    """A cheap ceiling on the prompt's tokens under any byte-level tokenizer, or None.

    BPE and byte-fallback tokenizers never produce more tokens than UTF-8 bytes, and
    UTF-8 spends at most 4 bytes a character; each message gets generous room for its
    role and framing. Images and tool schemas are not covered (an image's tokens do not
    follow its URL's length), so such requests are counted for real.
    """
    if req.tools:
        return None
    chars = 0
    for m in req.messages:
        content = m.content
        if isinstance(content, str):
            chars += len(content)
        elif content:
            for part in content:
                if not isinstance(part, TextPart):
                    return None
                chars += len(part.text)
        for tc in m.tool_calls:
            chars += len(tc.id) + len(tc.name) + len(tc.arguments)
        chars += _FRAMING_CHARS
    return 4 * chars + _FRAMING_TOKENS


def verdict(call: Call, dep: Deployment, catalog: Catalog) -> Verdict:
    ep = dep.endpoint
    info = catalog.lookup(ep.host or ep.provider, ep.model)
    if info is None:
        return Verdict(dep, None, None, None)
    counts = call.setdefault(PromptCounts)
    if not counts.bound_known:
        counts.upper_bound, counts.bound_known = prompt_upper_bound(call.chat), True
    bound = counts.upper_bound
    reserved = _output_reserved(call, dep, info)
    if bound is not None and bound + reserved <= info.context_window:
        return Verdict(dep, info, None, None)  # fits whatever the exact count: skip counting
    count = prompt_count(call, dep, info)
    return Verdict(dep, info, count, _trusted(count) + reserved)


class Preflight(Observer):
    """The preflight layer (see the module docstring)."""

    ops: ClassVar[frozenset[Op]] = frozenset(("chat",))

    def __init__(
        self,
        catalog: Catalog,
        resolve: Callable[[str | None], Route],
        context_fallback: Callable[[str], str | None] | None = None,
    ) -> None:
        self._catalog = catalog
        self._resolve = resolve
        self._context_fallback = context_fallback

    @classmethod
    def from_context(cls, ctx: StackContext) -> Preflight | None:
        if not ctx.settings.catalog.preflight:
            return None

        def context_fallback(alias: str) -> str | None:
            cfg = ctx.settings.models.get(alias)
            target = getattr(cfg, "context_window_fallback", None) if cfg is not None else None
            return target if isinstance(target, str) else None

        return cls(ctx.model_catalog(), ctx.resolve, context_fallback)

    def _routes(self, call: Call) -> Iterator[Route]:
        route = call.route if call.route is not None else self._resolve(call.model)
        yield route
        seen = {route.alias}
        alias = self._context_fallback(route.alias) if self._context_fallback is not None else None
        while alias is not None and alias not in seen and self._context_fallback is not None:
            seen.add(alias)
            try:
                yield self._resolve(alias)
            except LLMRelayError:
                return  # a fallback that cannot resolve here is routing's to report
            alias = self._context_fallback(alias)

    def check(self, call: Call) -> None:
        """Raise ``ContextWindowExceededError`` when no reachable deployment can take the call."""
        refused: list[Verdict] = []
        for route in self._routes(call):
            for dep in route.deployments:
                v = verdict(call, dep, self._catalog)
                if not v.fits:
                    refused.append(v)
                    continue
                if refused:
                    call.ext[TooSmall] = TooSmall(tuple(r.deployment.name for r in refused))
                return
        if refused:
            raise _error(call, refused)

    async def before(self, call: Call) -> None:
        self.check(call)


def _error(call: Call, refused: list[Verdict]) -> ContextWindowExceededError:
    first = refused[0]
    assert first.info is not None and first.count is not None and first.needed is not None
    info, count = first.info, first.count
    output = first.needed - _trusted(count)
    size = f"{count.tokens} tokens" if count.exact else f"about {count.tokens} tokens ({count.method})"
    others = f" (and {len(refused) - 1} other deployments)" if len(refused) > 1 else ""
    return ContextWindowExceededError(
        f"the prompt is {size} and {output} more are reserved for the reply, over the "
        f"{info.context_window}-token context window of {info.provider}/{info.model}{others}; "
        "nothing was sent. Shorten the conversation, lower max_tokens, or configure a "
        "context_window_fallback alias with a larger window",
        provider=first.deployment.endpoint.host or first.deployment.endpoint.provider,
        model=first.deployment.endpoint.model,
        code="context_length_exceeded",
    )
