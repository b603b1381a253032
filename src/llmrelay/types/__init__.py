"""The provider-neutral request and response model.

Everything here is a plain frozen dataclass: cheap to build on the hot path (a call's
whole overhead budget is ~100 µs), hashable-ish for cache keys, and free of any import
beyond the standard library. Validation of values lives in ``llmrelay.validation``.

Token accounting convention (the same for every provider):

* ``Usage.input_tokens`` counts *all* prompt tokens, including those read from a
  provider cache (``cached_input_tokens``) and those written to it
  (``cache_write_tokens``, of which ``cache_write_1h_tokens`` were written with a one-hour
  lifetime and the rest with the default five minutes). Anthropic reports its
  ``input_tokens`` without the cached and written ones; its adapter adds them back.
* ``Usage.output_tokens`` counts *all* generated tokens, including hidden reasoning
  tokens (``reasoning_tokens``). Gemini reports thoughts apart from its candidates; its
  adapter adds them in, since they are billed as output.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from llmrelay.types.events import (
    CONTENT_EVENTS as CONTENT_EVENTS,
)
from llmrelay.types.events import (
    FINISH_REASONS as FINISH_REASONS,
)
from llmrelay.types.events import (
    FinishEvent as FinishEvent,
)
from llmrelay.types.events import (
    FinishReason as FinishReason,
)
from llmrelay.types.events import (
    ReasoningDelta as ReasoningDelta,
)
from llmrelay.types.events import (
    StreamEnd as StreamEnd,
)
from llmrelay.types.events import (
    StreamEvent as StreamEvent,
)
from llmrelay.types.events import (
    StreamStart as StreamStart,
)
from llmrelay.types.events import (
    TextDelta as TextDelta,
)
from llmrelay.types.events import (
    ToolCallDelta as ToolCallDelta,
)
from llmrelay.types.events import (
    UsageEvent as UsageEvent,
)
from llmrelay.types.fields import (
    CacheTTL as CacheTTL,
)
from llmrelay.types.fields import (
    PromptCache as PromptCache,
)
from llmrelay.types.fields import (
    Reasoning as Reasoning,
)
from llmrelay.types.fields import (
    SafetySetting as SafetySetting,
)
from llmrelay.types.fields import (
    ServiceTier as ServiceTier,
)
from llmrelay.types.fields import (
    TokenLogprob as TokenLogprob,
)
from llmrelay.types.fields import (
    TopLogprob as TopLogprob,
)
from llmrelay.types.fields import (
    Verbosity as Verbosity,
)
from llmrelay.types.report import Report
from llmrelay.types.usage import Usage as Usage

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]
ToolChoiceMode: TypeAlias = Literal["auto", "none", "required"]
ImageDetail: TypeAlias = Literal["auto", "low", "high"]

ROLES: frozenset[str] = frozenset(("system", "user", "assistant", "tool"))


# --------------------------------------------------------------------------- content


@dataclass(frozen=True, slots=True)
class TextPart:
    """Text. ``cache`` marks a prompt-cache breakpoint after this part (Anthropic's
    ``cache_control``; see ``PromptCache``)."""

    text: str
    type: Literal["text"] = "text"
    cache: CacheTTL | None = None


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given by URL (``https://…`` or ``data:…;base64,…``) or by base64 data.

    Exactly one of ``url`` and ``data`` is set; ``media_type`` is required with ``data``.
    """

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: ImageDetail | None = None
    type: Literal["image"] = "image"

    @classmethod
    def from_bytes(cls, raw: bytes, media_type: str, detail: ImageDetail | None = None) -> ImagePart:
        return cls(data=base64.b64encode(raw).decode("ascii"), media_type=media_type, detail=detail)

    def as_data(self) -> tuple[str, str] | None:
        """(media_type, base64 data) when the image is inline (data or a data: URL)."""
        if self.data is not None:
            return (self.media_type or "application/octet-stream", self.data)
        if self.url is not None and self.url.startswith("data:"):
            header, _, payload = self.url.partition(",")
            media_type = header[5:].split(";", 1)[0] or "application/octet-stream"
            return (media_type, payload)
        return None

    def as_url(self) -> str:
        """A URL for the image, building a data: URL for inline data."""
        if self.url is not None:
            return self.url
        return f"data:{self.media_type};base64,{self.data}"


ContentPart: TypeAlias = TextPart | ImagePart


# --------------------------------------------------------------------------- tools


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call; ``parameters`` is a JSON Schema object. ``cache``
    marks a prompt-cache breakpoint after this tool's definition (Anthropic)."""

    name: str
    description: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None
    cache: CacheTTL | None = None


@dataclass(frozen=True, slots=True)
class ForcedTool:
    """``tool_choice`` that forces one named tool."""

    name: str


ToolChoice: TypeAlias = ToolChoiceMode | ForcedTool


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model made. ``arguments`` is the raw JSON text, as providers stream it."""

    id: str
    name: str
    arguments: str = "{}"

    def parsed_arguments(self) -> Any:
        """The arguments decoded from JSON (raises ``json.JSONDecodeError`` if invalid)."""
        return json.loads(self.arguments) if self.arguments else {}


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn.

    ``content`` is a string or a sequence of parts. An assistant turn may carry
    ``tool_calls``; a ``tool`` turn answers the call named by ``tool_call_id``.

    ``provider_state`` is opaque data a provider needs to see again when this assistant
    turn is replayed (Anthropic thinking blocks with their signatures, Gemini thought
    signatures). It is keyed by wire protocol (``{"anthropic": ...}``) so an adapter only
    reads its own and a fallback to another provider ignores it. ``ChatResponse.message``
    fills it; callers never need to build it.

    ``cache`` (``"5m"`` or ``"1h"``) marks a prompt-cache breakpoint at the end of this
    turn: Anthropic caches the prompt up to here (``cache_control`` on its last block).
    OpenAI and Gemini cache prefixes by themselves and ignore the marker.
    """

    role: Role
    content: str | Sequence[ContentPart] | None = None
    tool_calls: Sequence[ToolCall] = ()
    tool_call_id: str | None = None
    name: str | None = None
    provider_state: Mapping[str, Any] | None = None
    cache: CacheTTL | None = None

    @classmethod
    def system(cls, text: str) -> Message:
        return cls(role="system", content=text)

    @classmethod
    def user(cls, content: str | Sequence[ContentPart]) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(
        cls, content: str | Sequence[ContentPart] | None = None, tool_calls: Sequence[ToolCall] = ()
    ) -> Message:
        return cls(role="assistant", content=content, tool_calls=tuple(tool_calls))

    @classmethod
    def tool(cls, tool_call_id: str, content: str, name: str | None = None) -> Message:
        return cls(role="tool", content=content, tool_call_id=tool_call_id, name=name)

    def parts(self) -> tuple[ContentPart, ...]:
        """The content as a tuple of parts (a string becomes one TextPart)."""
        if self.content is None:
            return ()
        if isinstance(self.content, str):
            return (TextPart(self.content),) if self.content else ()
        return tuple(self.content)

    def text(self) -> str:
        """All text parts joined (images dropped)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.parts() if isinstance(p, TextPart))


# --------------------------------------------------------------------------- request


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """Plain text, any JSON object, or JSON matching ``schema``."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    schema: Mapping[str, Any] | None = None
    name: str | None = None
    strict: bool | None = None

    @classmethod
    def json_schema(
        cls, schema: Mapping[str, Any], name: str = "response", strict: bool | None = True
    ) -> ResponseFormat:
        return cls(type="json_schema", schema=schema, name=name, strict=strict)


JSON_OBJECT = ResponseFormat(type="json_object")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat call, independent of provider.

    ``extra`` is merged into the provider's JSON body as-is (top-level keys), for
    options llmrelay does not model; ``extra_headers`` are added to the HTTP request.
    ``metadata`` and ``tags`` are llmrelay's own (logs, ledger, budgets) and are not
    sent to the provider; ``user`` is sent where the provider supports it.

    ``reasoning``, ``prompt_cache``, ``service_tier``, ``top_k``, ``safety_settings``,
    ``logprobs``/``top_logprobs``, ``verbosity`` and ``n`` are mapped to each protocol's
    own parameter, and refused before sending (``UnsupportedFeatureError`` naming the
    field and the provider or model) where the chosen deployment cannot honour them; the
    table is in docs/library.md. ``n`` must be 1 (or unset): a call returns one choice.
    """

    model: str
    messages: Sequence[Message]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: Sequence[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    tools: Sequence[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    user: str | None = None
    metadata: Mapping[str, str] | None = None
    tags: Sequence[str] = ()
    extra: Mapping[str, Any] | None = None
    extra_headers: Mapping[str, str] | None = None
    reasoning: Reasoning | None = None
    prompt_cache: PromptCache | None = None
    service_tier: ServiceTier | None = None
    top_k: int | None = None
    safety_settings: Sequence[SafetySetting] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    verbosity: Verbosity | None = None
    n: int | None = None


@dataclass(frozen=True, slots=True)
class CountRequest:
    """Count the prompt tokens of ``chat`` without sending it (``Client.count_tokens``)."""

    chat: ChatRequest

    @property
    def model(self) -> str:
        return self.chat.model


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a call is for: who pays for it and whose limits it counts against.

    Set by the face that knows it — the gateway from the virtual key it authenticated,
    the library caller for its own calls — and never read from request metadata, which
    the caller controls. ``key_id`` is an identifier (a virtual key's id or a label),
    never a secret.
    """

    key_id: str | None = None
    user: str | None = None
    team: str | None = None
    tags: tuple[str, ...] = ()


NOBODY = Subject()


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    model: str
    inputs: Sequence[str]
    dimensions: int | None = None
    user: str | None = None
    extra: Mapping[str, Any] | None = None
    extra_headers: Mapping[str, str] | None = None


# --------------------------------------------------------------------------- response


@dataclass(frozen=True, slots=True)
class ChatResponse:
    """A completed chat call.

    ``latency`` is wall-clock seconds from sending to the last byte (filled by the
    client). ``raw`` holds the decoded provider payload only when asked for
    (``include_raw=True``): keeping it costs memory on every call. ``provider_state`` is
    what the provider needs replayed with this turn (see ``Message.provider_state``).
    ``cost`` is in US dollars from actual usage; None means unknown (no price for the
    model), never a silent zero. ``details`` holds what the provider reported beyond the
    common model (``refusal``, ``stop_sequence``, ``system_fingerprint``, ``finish_message``,
    ``service_tier``: the tier that served the call as OpenAI and Anthropic report it, which
    the cost is priced under, and ``logprobs``: a tuple of ``TokenLogprob`` when asked for);
    ``meta`` is llmrelay's report of how the call was served.
    """

    id: str
    model: str
    provider: str
    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    finish_reason: FinishReason = "stop"
    native_finish_reason: str | None = None
    usage: Usage | None = None
    reasoning: str | None = None
    request_id: str | None = None
    latency: float | None = None
    time_to_first_token: float | None = None
    raw: Any = None
    cost: float | None = None
    provider_state: Mapping[str, Any] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    meta: Report = field(default_factory=Report)
    #: the validated object when the call asked for one (``chat(..., response_model=...)``)
    parsed: Any = None

    @property
    def message(self) -> Message:
        """The reply as an assistant Message, to append to a conversation."""
        return Message(
            role="assistant",
            content=self.text or None,
            tool_calls=tuple(self.tool_calls),
            provider_state=self.provider_state,
        )


@dataclass(frozen=True, slots=True)
class Embedding:
    index: int
    vector: Sequence[float]


@dataclass(frozen=True, slots=True)
class EmbeddingResponse:
    model: str
    provider: str
    embeddings: Sequence[Embedding]
    usage: Usage | None = None
    request_id: str | None = None
    latency: float | None = None
    cost: float | None = None
    meta: Report = field(default_factory=Report)

    @property
    def vectors(self) -> list[Sequence[float]]:
        return [e.vector for e in sorted(self.embeddings, key=lambda e: e.index)]
