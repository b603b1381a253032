"""How many tokens a turn takes on the conversation's model, and how many the model has.

Per-turn sizes come from the offline counter (``llmrelay.tokens``) with the model's catalog
entry: exact for models with a known encoding (OpenAI's), a high-leaning estimate for the
others. A request is the sum of its turns plus a fixed part (reply priming, tool
definitions), so turns are counted once and added up. Where the provider can count exactly
(Anthropic, Gemini), ``Client.count_tokens`` checks the assembled window (see
``Conversation``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmrelay.errors import ConfigError
from llmrelay.tokens import count_for
from llmrelay.types import ChatRequest, Message, ResponseFormat, Tool

if TYPE_CHECKING:
    from llmrelay.catalog import ModelInfo
    from llmrelay.client import Client

#: output reserved when neither max_tokens nor the catalog's max_output says how much
DEFAULT_OUTPUT_RESERVE = 4096


@dataclass(frozen=True, slots=True)
class ModelCounter:
    """Token sizes on one deployment: ``protocol`` and ``model`` as the endpoint names
    them, ``info`` its catalog entry (None when the catalog does not know it)."""

    protocol: str
    model: str
    info: ModelInfo | None = None

    @classmethod
    def for_model(cls, client: Client, model: str | None) -> ModelCounter:
        """The counter for ``model`` as ``client`` routes it (its first deployment)."""
        ep = client.route(model).deployments[0].endpoint
        info = client.catalog.lookup(ep.host or ep.provider, ep.model)
        return cls(ep.provider, ep.model, info)

    @property
    def exact(self) -> bool:
        """Whether text turns are counted exactly (the model's encoding is known and installed)."""
        return self.request([Message.user("x")])[1]

    def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] | None = None,
        response_format: ResponseFormat | None = None,
    ) -> tuple[int, bool]:
        """(tokens, exact) of a whole request."""
        req = ChatRequest(
            model=self.model, messages=tuple(messages), tools=tools, response_format=response_format
        )
        count = count_for(req, self.info, self.protocol, self.model)
        return count.tokens, count.exact

    def message(self, message: Message) -> int:
        """Tokens ``message`` adds to a request, its framing included."""
        return self.request([message])[0] - self.request(())[0]

    def overhead(
        self, tools: Sequence[Tool] | None = None, response_format: ResponseFormat | None = None
    ) -> int:
        """Tokens a request costs besides its turns: reply priming, tool definitions, schema."""
        return self.request((), tools, response_format)[0]

    def budget(self, max_tokens: int | None = None) -> int:
        """Prompt tokens the model's window leaves after reserving room for the reply:
        ``max_tokens`` when given, else the model's max output (at most a quarter of
        the window, at most ``DEFAULT_OUTPUT_RESERVE`` when unknown)."""
        if self.info is None:
            raise ConfigError(
                f"the catalog does not know the context window of {self.protocol} model {self.model!r}; "
                "give the conversation a budget (Conversation(..., budget=8000))"
            )
        window = self.info.context_window
        if max_tokens is not None:
            reserve = max_tokens
        else:
            reserve = min(self.info.max_output or DEFAULT_OUTPUT_RESERVE, window // 4)
        if reserve >= window:
            raise ConfigError(
                f"max_tokens {reserve} leaves no room for a prompt in {self.model}'s window "
                f"of {window} tokens"
            )
        return window - reserve


def request_params(params: Mapping[str, Any]) -> tuple[tuple[Tool, ...] | None, ResponseFormat | None]:
    """The tools and response format among chat params, typed, so their size can be
    counted (the client accepts OpenAI-style dicts for both)."""
    tools = params.get("tools")
    typed = tuple(t if isinstance(t, Tool) else _tool(t) for t in tools) if tools else None
    return typed, _format(params.get("response_format"))


def _tool(t: Any) -> Tool:
    fn = t.get("function", t) if isinstance(t, Mapping) else {}
    return Tool(
        name=str(fn.get("name", "")),
        description=fn.get("description"),
        parameters=fn.get("parameters") or {"type": "object", "properties": {}},
    )


def _format(rf: Any) -> ResponseFormat | None:
    if isinstance(rf, ResponseFormat) or rf is None:
        return rf
    if isinstance(rf, Mapping) and rf.get("type") == "json_schema":
        js = rf.get("json_schema", rf)
        return ResponseFormat(type="json_schema", schema=js.get("schema"), name=js.get("name"))
    return None
