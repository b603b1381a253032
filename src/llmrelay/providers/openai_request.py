"""Translate a ``ChatRequest`` into an OpenAI Chat Completions JSON body (pure, no I/O).

Field reference: https://platform.openai.com/docs/api-reference/chat/create
"""

from __future__ import annotations

from typing import Any

from llmrelay import errors
from llmrelay.providers.openai_common import format_spec, tool_mode
from llmrelay.providers.request_fields import (
    openai_cache_params,
    openai_effort,
    refuse_set,
    unsupported,
    wants_logprobs,
)
from llmrelay.types import (
    ChatRequest,
    ContentPart,
    ForcedTool,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from llmrelay.wire import Endpoint

MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")
PROTOCOL = "openai"

#: first-class fields Chat Completions has no parameter for
_NO_SUCH_FIELD = (
    ("top_k", "the OpenAI Chat Completions API has no top_k; use top_p or temperature"),
    ("safety_settings", "safety settings are Gemini's; OpenAI has no per-request safety filters"),
)


def max_tokens_field(ep: Endpoint) -> str:
    """The body field for ``max_tokens``: ``options["max_tokens_field"]`` (the ``openai`` and
    ``azure`` host rows set ``max_completion_tokens``, as OpenAI and Azure reject
    ``max_tokens`` for reasoning models); else ``max_completion_tokens`` for any Azure
    endpoint, and ``max_tokens`` elsewhere, the field every compatible server (vLLM,
    Ollama, llama.cpp, older proxies) knows."""
    configured = ep.options.get("max_tokens_field")
    if configured:
        if configured not in MAX_TOKENS_FIELDS:
            raise errors.ConfigError(
                f"endpoint option max_tokens_field must be one of {', '.join(MAX_TOKENS_FIELDS)}, "
                f"got {configured!r}",
                provider=ep.host or "openai",
            )
        return str(configured)
    return "max_completion_tokens" if ep.options.get("azure") else "max_tokens"


def chat_body(req: ChatRequest, ep: Endpoint, *, stream: bool) -> dict[str, Any]:
    """The JSON body. Caller mappings (tool schemas, ``extra``) are referenced, not copied: serialise
    it with ``json_default`` for mapping types other than dict. ``req`` is not changed."""
    body: dict[str, Any] = {"model": ep.model or req.model}
    system_role = str(ep.options.get("system_role") or "system")
    body["messages"] = [_message(m, i, system_role) for i, m in enumerate(req.messages)]
    _put(body, "temperature", req.temperature)
    _put(body, "top_p", req.top_p)
    _put(body, max_tokens_field(ep), req.max_tokens)
    if req.stop is not None:
        body["stop"] = list(req.stop)
    _put(body, "seed", req.seed)
    _put(body, "presence_penalty", req.presence_penalty)
    _put(body, "frequency_penalty", req.frequency_penalty)
    if req.tools is not None:
        body["tools"] = [_tool(t) for t in req.tools]
    if req.tool_choice is not None:
        body["tool_choice"] = _tool_choice(req.tool_choice)
    _put(body, "parallel_tool_calls", req.parallel_tool_calls)
    if req.response_format is not None:
        body["response_format"] = _response_format(req.response_format)
    _put(body, "user", req.user)
    _fields(body, req, ep)
    if stream:
        body["stream"] = True
        if ep.options.get("stream_usage") is not False:
            # Without this OpenAI sends no usage at all on streams, and cost tracking goes blind.
            body["stream_options"] = {"include_usage": True}
    if req.extra:
        body.update(req.extra)
    return body


def _put(body: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        body[key] = value


def _fields(body: dict[str, Any], req: ChatRequest, ep: Endpoint) -> None:
    """reasoning_effort, prompt caching, service_tier, logprobs and verbosity, as the
    Chat Completions reference names them; what it has no parameter for is refused."""
    refuse_set(req, _NO_SUCH_FIELD, ep, PROTOCOL)
    r = req.reasoning
    if r is not None:
        effort = openai_effort(r, ep, PROTOCOL)
        if r.summary_mode is not None:
            raise unsupported(
                "reasoning.summary",
                "Chat Completions returns no reasoning summary; use the Responses API "
                "(host openai-responses) for summaries",
                ep,
                PROTOCOL,
            )
        _put(body, "reasoning_effort", effort)
    openai_cache_params(body, req, ep, PROTOCOL)
    _put(body, "service_tier", req.service_tier)
    if wants_logprobs(req):
        body["logprobs"] = True
        _put(body, "top_logprobs", req.top_logprobs)
    elif req.logprobs is False:
        body["logprobs"] = False
    _put(body, "verbosity", req.verbosity)


# --------------------------------------------------------------------------- messages


def _message(m: Message, position: int, system_role: str) -> dict[str, Any]:
    if m.role == "system":
        out: dict[str, Any] = {"role": system_role, "content": _text_only(m, position)}
    elif m.role == "user":
        out = {"role": "user", "content": _user_content(m)}
    elif m.role == "assistant":
        out = {"role": "assistant"}
        if m.content is not None and (m.parts() or not m.tool_calls):
            out["content"] = _text_only(m, position)
        elif not m.tool_calls:
            out["content"] = ""
        if m.tool_calls:
            out["tool_calls"] = [_tool_call(c) for c in m.tool_calls]
    elif m.role == "tool":
        if not m.tool_call_id:
            raise errors.InvalidRequestError(
                f"messages[{position}] has role 'tool' but no tool_call_id; set it to the id of the "
                "assistant tool call it answers (Message.tool(tool_call_id, content))"
            )
        # OpenAI's tool message has no ``name`` field; the call id identifies the tool.
        return {"role": "tool", "tool_call_id": m.tool_call_id, "content": _text_only(m, position)}
    else:
        raise errors.InvalidRequestError(
            f"messages[{position}] has unknown role {m.role!r}; use system, user, assistant or tool"
        )
    if m.name is not None:
        out["name"] = m.name
    return out


def _text_only(m: Message, position: int) -> str | list[dict[str, Any]]:
    """System, assistant and tool turns accept text only (a string or text parts)."""
    if isinstance(m.content, str) or m.content is None:
        return m.content or ""
    parts = m.parts()
    if any(not isinstance(p, TextPart) for p in parts):
        raise errors.InvalidRequestError(
            f"messages[{position}] ({m.role}) contains an image; OpenAI accepts images only in "
            "user messages, so move it to a user turn"
        )
    return [{"type": "text", "text": p.text} for p in parts if isinstance(p, TextPart)]


def _user_content(m: Message) -> str | list[dict[str, Any]]:
    if isinstance(m.content, str) or m.content is None:
        return m.content or ""
    return [_part(p) for p in m.content]


def _part(p: ContentPart) -> dict[str, Any]:
    if isinstance(p, TextPart):
        return {"type": "text", "text": p.text}
    if isinstance(p, ImagePart):
        return {"type": "image_url", "image_url": _image_url(p)}
    raise errors.InvalidRequestError(
        f"unsupported content part {type(p).__name__}; use TextPart or ImagePart"
    )


def _image_url(p: ImagePart) -> dict[str, Any]:
    if p.url is None and p.data is None:
        raise errors.InvalidRequestError("ImagePart needs a url or base64 data; both are empty")
    if p.url is None and not p.media_type:
        raise errors.InvalidRequestError(
            "ImagePart with base64 data needs media_type (e.g. 'image/png'); "
            "ImagePart.from_bytes(raw, media_type) sets both"
        )
    out: dict[str, Any] = {"url": p.as_url()}
    if p.detail is not None:
        out["detail"] = p.detail
    return out


def _tool_call(c: ToolCall) -> dict[str, Any]:
    return {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}


# --------------------------------------------------------------------------- tools and formats


def _tool(t: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": t.name}
    if t.description is not None:
        function["description"] = t.description
    function["parameters"] = t.parameters
    if t.strict is not None:
        function["strict"] = t.strict
    return {"type": "function", "function": function}


def _tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if isinstance(choice, ForcedTool):
        return {"type": "function", "function": {"name": choice.name}}
    return tool_mode(choice)


def _response_format(rf: ResponseFormat) -> dict[str, Any]:
    spec = format_spec(rf)
    return {"type": rf.type} if spec is None else {"type": "json_schema", "json_schema": spec}
