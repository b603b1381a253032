"""Translate a ``ChatRequest`` into an OpenAI Responses API body (pure, no I/O).

Reference: https://platform.openai.com/docs/api-reference/responses/create and the
"Conversation state", "Function calling", "Structured Outputs" and "Reasoning" guides;
docs/providers/responses.md has the mapping table and the sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmrelay import errors
from llmrelay.providers.openai_common import format_spec, tool_mode
from llmrelay.providers.openai_responses_state import replay_items
from llmrelay.providers.request_fields import openai_cache_params, openai_effort, refuse_set, wants_logprobs
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

PROTOCOL = "responses"
ENCRYPTED_REASONING = "reasoning.encrypted_content"
#: the include that returns the log probabilities of output text (Responses API reference)
OUTPUT_LOGPROBS = "message.output_text.logprobs"

_CHAT_ONLY = "leave it unset, or use a deployment of the 'openai' (Chat Completions) protocol"
#: ChatRequest fields the Responses API has no parameter for: refused before sending
_NO_SUCH_FIELD = (
    ("stop", f"the OpenAI Responses API has no stop sequences; {_CHAT_ONLY}"),
    ("seed", f"the OpenAI Responses API takes no seed; {_CHAT_ONLY}"),
    ("presence_penalty", f"the OpenAI Responses API has no presence_penalty; {_CHAT_ONLY}"),
    ("frequency_penalty", f"the OpenAI Responses API has no frequency_penalty; {_CHAT_ONLY}"),
    ("top_k", "OpenAI's APIs have no top_k; use top_p or temperature"),
    ("safety_settings", "safety settings are Gemini's; OpenAI has no per-request safety filters"),
)
#: fields of a create body that ``POST /responses/input_tokens`` accepts
COUNT_FIELDS = (
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "text",
    "reasoning",
    "previous_response_id",
    "conversation",
    "truncation",
)


def provider_name(ep: Endpoint) -> str:
    return ep.host or PROTOCOL


def build_body(req: ChatRequest, ep: Endpoint, *, stream: bool) -> dict[str, Any]:
    """The JSON body of ``POST /responses``. ``req`` is not changed; caller mappings
    (schemas, ``extra``) are referenced, not copied."""
    _refuse_unsupported(req, ep)
    system_role = str(ep.options.get("system_role") or "system")
    instructions, items = input_items(req.messages, system_role)
    body: dict[str, Any] = {"model": ep.model or req.model}
    if instructions is not None:
        body["instructions"] = instructions
    body["input"] = items
    _put(body, "temperature", req.temperature)
    _put(body, "top_p", req.top_p)
    _put(body, "max_output_tokens", req.max_tokens)
    if req.tools is not None:
        body["tools"] = [_tool(t) for t in req.tools]
    if req.tool_choice is not None:
        body["tool_choice"] = _tool_choice(req.tool_choice)
    _put(body, "parallel_tool_calls", req.parallel_tool_calls)
    if req.response_format is not None:
        body["text"] = {"format": _text_format(req.response_format)}
    _put(body, "user", req.user)
    _fields(body, req, ep)
    if stream:
        body["stream"] = True
    if req.extra:
        _merge_extra(body, req.extra)
    _include_encrypted_reasoning(body)
    return body


def _fields(body: dict[str, Any], req: ChatRequest, ep: Endpoint) -> None:
    """reasoning, prompt caching, service_tier, logprobs and verbosity as the Responses
    API names them (``reasoning: {effort, summary}``, ``text.verbosity``, the
    ``message.output_text.logprobs`` include with ``top_logprobs``)."""
    r = req.reasoning
    if r is not None:
        reasoning: dict[str, Any] = {}
        _put(reasoning, "effort", openai_effort(r, ep, PROTOCOL))
        _put(reasoning, "summary", r.summary_mode)
        if reasoning:
            body["reasoning"] = reasoning
    openai_cache_params(body, req, ep, PROTOCOL)
    _put(body, "service_tier", req.service_tier)
    if wants_logprobs(req):
        body["include"] = [OUTPUT_LOGPROBS]
        _put(body, "top_logprobs", req.top_logprobs)
    if req.verbosity is not None:
        body.setdefault("text", {})["verbosity"] = req.verbosity


def _put(body: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        body[key] = value


def _refuse_unsupported(req: ChatRequest, ep: Endpoint) -> None:
    refuse_set(req, _NO_SUCH_FIELD, ep, PROTOCOL)


def _merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """``extra`` wins at the top level, except that a ``text`` object is merged into the
    one ``response_format`` built (``extra={"text": {"verbosity": "low"}}`` keeps the format)."""
    for key, value in extra.items():
        current = body.get(key)
        if key == "text" and isinstance(current, dict) and isinstance(value, Mapping):
            body[key] = {**current, **value}
        else:
            body[key] = value


def _include_encrypted_reasoning(body: dict[str, Any]) -> None:
    """With ``store: false`` and ``reasoning`` set, ask for the encrypted reasoning: without
    it the reasoning items cannot be replayed on the next turn (nothing is stored to look
    them up by id). Only then: models without reasoning refuse the include."""
    if body.get("store") is not False or not body.get("reasoning"):
        return
    include = body.get("include")
    if include is None:
        body["include"] = [ENCRYPTED_REASONING]
    elif (
        isinstance(include, Sequence) and not isinstance(include, str) and ENCRYPTED_REASONING not in include
    ):
        body["include"] = [*include, ENCRYPTED_REASONING]


# --------------------------------------------------------------------------- input items


def input_items(messages: Sequence[Message], system_role: str) -> tuple[str | None, list[dict[str, Any]]]:
    """(``instructions``, ``input``): the leading system messages become the instructions
    (joined by a blank line); every later message becomes input items."""
    leading: list[str] = []
    start = 0
    for position, m in enumerate(messages):
        if m.role != "system":
            break
        leading.append(_text_only(m, position))
        start = position + 1
    items: list[dict[str, Any]] = []
    for position in range(start, len(messages)):
        items.extend(_items(messages[position], position, system_role))
    return ("\n\n".join(leading) if leading else None), items


def _items(m: Message, position: int, system_role: str) -> list[dict[str, Any]]:
    if m.role == "user":
        return [{"type": "message", "role": "user", "content": _user_content(m)}]
    if m.role == "system":
        return [{"type": "message", "role": system_role, "content": _text_only(m, position)}]
    if m.role == "assistant":
        return _assistant(m, position)
    if m.role == "tool":
        if not m.tool_call_id:
            raise errors.InvalidRequestError(
                f"messages[{position}] has role 'tool' but no tool_call_id; set it to the id of the "
                "assistant tool call it answers (Message.tool(tool_call_id, content))"
            )
        return [
            {"type": "function_call_output", "call_id": m.tool_call_id, "output": _text_only(m, position)}
        ]
    raise errors.InvalidRequestError(
        f"messages[{position}] has unknown role {m.role!r}; use system, user, assistant or tool"
    )


def _assistant(m: Message, position: int) -> list[dict[str, Any]]:
    """An assistant turn as output items. With Responses state the turn is rebuilt in
    the order it was produced, reasoning items verbatim and the others with their ids
    (OpenAI pairs a reasoning item with the items that followed it by id); without, a
    message item for the text and one ``function_call`` item per call."""
    text = _text_only(m, position)
    calls = list(m.tool_calls)
    stored = replay_items(m.provider_state, position)
    if not text and not calls:
        # an empty turn (say, one cut off while reasoning) adds nothing, and a reasoning
        # item sent without the item that followed it is refused
        return []
    out: list[dict[str, Any]] = []
    text_sent = False
    sent: set[str] = set()
    for item in stored or ():
        kind = item.get("type")
        if kind == "reasoning":
            out.append(dict(item))
        elif kind == "message" and text and not text_sent:
            out.append(_output_message(text, item.get("id")))
            text_sent = True
        elif kind == "function_call":
            call = next((c for c in calls if c.id == item.get("call_id") and c.id not in sent), None)
            if call is not None:
                out.append(_function_call(call, item.get("id")))
                sent.add(call.id)
    if text and not text_sent:
        out.insert(_after_reasoning(out), {"type": "message", "role": "assistant", "content": text})
    out.extend(_function_call(c, None) for c in calls if c.id not in sent)
    return out


def _after_reasoning(items: list[dict[str, Any]]) -> int:
    """Where a message without a stored id goes: after the leading reasoning items."""
    index = 0
    while index < len(items) and items[index].get("type") == "reasoning":
        index += 1
    return index


def _output_message(text: str, item_id: Any) -> dict[str, Any]:
    if not isinstance(item_id, str):
        return {"type": "message", "role": "assistant", "content": text}
    return {
        "type": "message",
        "role": "assistant",
        "id": item_id,
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _function_call(c: ToolCall, item_id: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "function_call",
        "call_id": c.id,
        "name": c.name,
        "arguments": c.arguments or "{}",
    }
    if isinstance(item_id, str):
        item["id"] = item_id
    return item


def _text_only(m: Message, position: int) -> str:
    """System, assistant and tool turns carry text only."""
    if any(not isinstance(p, TextPart) for p in m.parts()):
        raise errors.InvalidRequestError(
            f"messages[{position}] ({m.role}) contains an image; the Responses API accepts images "
            "only in user messages, so move it to a user turn"
        )
    return m.text() if m.content is not None else ""


def _user_content(m: Message) -> str | list[dict[str, Any]]:
    if isinstance(m.content, str) or m.content is None:
        return m.content or ""
    return [_part(p) for p in m.content]


def _part(p: ContentPart) -> dict[str, Any]:
    if isinstance(p, TextPart):
        return {"type": "input_text", "text": p.text}
    if isinstance(p, ImagePart):
        if p.url is None and p.data is None:
            raise errors.InvalidRequestError("ImagePart needs a url or base64 data; both are empty")
        if p.url is None and not p.media_type:
            raise errors.InvalidRequestError(
                "ImagePart with base64 data needs media_type (e.g. 'image/png'); "
                "ImagePart.from_bytes(raw, media_type) sets both"
            )
        # ``detail`` is required on input_image; "auto" is the API's own default
        return {"type": "input_image", "image_url": p.as_url(), "detail": p.detail or "auto"}
    raise errors.InvalidRequestError(
        f"unsupported content part {type(p).__name__}; use TextPart or ImagePart"
    )


# --------------------------------------------------------------------------- tools and formats


def _tool(t: Tool) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "function", "name": t.name}
    if t.description is not None:
        tool["description"] = t.description
    tool["parameters"] = t.parameters
    # With ``strict`` omitted the Responses API normalises the schema into strict mode
    # (closed objects, every field required: optional fields become mandatory), where
    # Chat Completions stays non-strict. Tool.strict=None keeps Chat Completions'
    # meaning, so one Tool behaves alike on both protocols.
    tool["strict"] = bool(t.strict)
    return tool


def _tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if isinstance(choice, ForcedTool):
        return {"type": "function", "name": choice.name}
    return tool_mode(choice)


def _text_format(rf: ResponseFormat) -> dict[str, Any]:
    spec = format_spec(rf)
    return {"type": rf.type} if spec is None else {"type": "json_schema", **spec}


def count_body(req: ChatRequest, ep: Endpoint) -> dict[str, Any]:
    """The body of ``POST /responses/input_tokens``: the create body's prompt fields
    (sampling, output limits and streaming do not change the prompt and are not accepted)."""
    body = build_body(req, ep, stream=False)
    return {k: body[k] for k in COUNT_FIELDS if k in body}
