"""ChatRequest -> Anthropic Messages API request (``POST /v1/messages``).

Pure translation; see ``docs/providers/anthropic.md`` for every mapping and the
choices made where Anthropic's protocol differs from llmrelay's model (system
hoisting, tool results as user turns, JSON mode emulation, unsupported options,
thinking blocks replayed from ``provider_state``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from llmrelay import errors
from llmrelay.providers import anthropic_cache
from llmrelay.providers import anthropic_options as options
from llmrelay.providers.anthropic_options import (
    DEFAULT_MAX_TOKENS as DEFAULT_MAX_TOKENS,
)
from llmrelay.providers.anthropic_options import (
    DEFAULT_VERSION as DEFAULT_VERSION,
)
from llmrelay.providers.anthropic_options import (
    SAMPLING_REMOVED_IN as SAMPLING_REMOVED_IN,
)
from llmrelay.providers.anthropic_options import (
    api_version as api_version,
)
from llmrelay.providers.anthropic_state import replay_blocks
from llmrelay.types import ChatRequest, ContentPart, ForcedTool, ImagePart, Message, TextPart, Tool
from llmrelay.wire import Endpoint, HttpRequest

#: The tool llmrelay adds to emulate ``response_format=json_object`` (and ``json_schema``
#: when ``options["structured_outputs"] == "tool"``). Replies that call it are turned back
#: into JSON text by the response and stream parsers, so the name is reserved.
JSON_TOOL_NAME = "llmrelay_json_response"
_JSON_TOOL_DESCRIPTION = (
    "Give your complete answer to the user by calling this tool exactly once; "
    "its input is the JSON object that is your answer."
)

_TOOL_ID_INVALID = re.compile(r"[^A-Za-z0-9_-]")
_AUTH_STYLES = frozenset(("x-api-key", "bearer"))
_STRUCTURED_MODES = frozenset(("native", "tool"))


def build_chat_request(req: ChatRequest, ep: Endpoint, *, stream: bool) -> HttpRequest:
    body = build_body(req, ep, stream=stream)
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpRequest("POST", messages_url(ep), build_headers(req, ep, stream=stream), payload)


def messages_url(ep: Endpoint) -> str:
    base = ep.base_url.rstrip("/")
    # A base configured as ".../v1" (as for OpenAI-style hosts) must not become /v1/v1/messages.
    url = f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"
    if ep.query:
        url += ("&" if "?" in url else "?") + urlencode(dict(ep.query))
    return url


def build_headers(req: ChatRequest, ep: Endpoint, *, stream: bool) -> dict[str, str]:
    headers: dict[str, str] = {
        "anthropic-version": api_version(ep),
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
    }
    auth = str(ep.options.get("auth", "x-api-key")).lower()
    if auth not in _AUTH_STYLES:
        raise errors.ConfigError(
            f"unknown Anthropic auth style {ep.options.get('auth')!r} in endpoint options; "
            "use 'x-api-key' (the default, api.anthropic.com) or 'bearer' (gateways and proxies)",
            provider=ep.host or "anthropic",
        )
    if ep.api_key:
        key = ep.api_key.reveal()
        if auth == "bearer":
            headers["authorization"] = f"Bearer {key}"
        else:
            headers["x-api-key"] = key
    for extra in (ep.headers, req.extra_headers or {}):
        for name, value in extra.items():
            lname = name.lower()
            # Betas from the deployment and from the call are both wanted: the header is a list.
            if lname == "anthropic-beta" and headers.get(lname) and value:
                merged = [b.strip() for b in f"{headers[lname]},{value}".split(",") if b.strip()]
                headers[lname] = ",".join(dict.fromkeys(merged))
            else:
                headers[lname] = value
    return headers


def build_body(req: ChatRequest, ep: Endpoint, *, stream: bool) -> dict[str, Any]:
    options.reject_unsupported(req, ep)
    system, messages = translate_messages(req.messages)
    thinking, effort = options.thinking(req, ep)
    body: dict[str, Any] = {
        "model": ep.model or req.model,
        "max_tokens": options.max_tokens(req, ep, thinking),
    }
    if system is not None:
        body["system"] = system
    body["messages"] = messages
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.top_k is not None:
        body["top_k"] = req.top_k
    stops = _stop_sequences(req.stop)
    if stops:
        body["stop_sequences"] = stops
    if req.user is not None:
        body["metadata"] = {"user_id": req.user}
    if thinking is not None:
        body["thinking"] = thinking
    _apply_tools(body, req, ep, thinking is not None)
    if effort is not None:
        body["output_config"] = {**body.get("output_config", {}), "effort": effort}
    if req.service_tier is not None:
        body["service_tier"] = options.SERVICE_TIERS[req.service_tier]
    _apply_cache(body, req, ep)
    if stream:
        body["stream"] = True
    return _merge_extra(body, req.extra)


def _apply_cache(body: dict[str, Any], req: ChatRequest, ep: Endpoint) -> None:
    placed = anthropic_cache.check(body, ep)
    pc = req.prompt_cache
    if pc is not None and pc.auto is not None:
        anthropic_cache.place_auto(body, pc.auto, pc.min_tokens, placed)


# --------------------------------------------------------------------------- messages


def translate_messages(
    messages: Sequence[Message],
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """Hoist system messages; turn the rest into alternating user/assistant turns."""
    system_blocks: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, msg in enumerate(messages):
        if msg.role == "system":
            system_blocks.extend(_marked(_system_blocks(msg, i), msg))
            continue
        role, blocks = _turn(msg, i)
        blocks = _marked(blocks, msg)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise errors.InvalidRequestError(
            "the request has no user or assistant message; Anthropic needs at least one user message "
            "besides the system prompt"
        )
    for turn in turns:
        if turn["role"] == "user":
            # Anthropic requires tool_result blocks to open a user turn, before any text.
            turn["content"].sort(key=lambda b: b.get("type") != "tool_result")
    system: str | list[dict[str, Any]] | None
    if not system_blocks:
        system = None
    elif len(system_blocks) == 1 and "cache_control" not in system_blocks[0]:
        system = system_blocks[0]["text"]
    else:
        system = system_blocks
    return system, turns


def _marked(blocks: list[dict[str, Any]], msg: Message) -> list[dict[str, Any]]:
    """``Message.cache`` is a breakpoint on the turn's last block."""
    if msg.cache is not None and blocks:
        blocks[-1]["cache_control"] = anthropic_cache.control(msg.cache)
    return blocks


def _system_blocks(msg: Message, i: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in msg.parts():
        if not isinstance(part, TextPart):
            raise errors.InvalidRequestError(
                f"messages[{i}] is a system message with an image; Anthropic's system prompt takes text "
                "only: move the image into a user message"
            )
        if part.text:
            blocks.append(_content_block(part, i))
    return blocks


def _turn(msg: Message, i: int) -> tuple[str, list[dict[str, Any]]]:
    if msg.role == "user":
        blocks = [_content_block(p, i) for p in msg.parts() if not (isinstance(p, TextPart) and not p.text)]
        if not blocks:
            raise errors.InvalidRequestError(
                f"messages[{i}] is a user message with no content; give it text or an image, or drop it"
            )
        return "user", blocks
    if msg.role == "assistant":
        # Empty text blocks are rejected by Anthropic; an empty assistant turn carries nothing.
        blocks = [_content_block(p, i) for p in msg.parts() if not (isinstance(p, TextPart) and not p.text)]
        for call in msg.tool_calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": tool_id(call.id, i),
                    "name": call.name,
                    "input": _tool_input(call.arguments, call.name, i),
                }
            )
        thinking = replay_blocks(msg.provider_state, i)
        # Thinking alone would be an assistant prefill ending in thinking, which Anthropic refuses.
        if thinking and blocks:
            blocks = thinking + blocks  # Anthropic wants the turn's thinking ahead of text and tool_use
        return "assistant", blocks
    if msg.role == "tool":
        return "user", [_tool_result(msg, i)]
    raise errors.InvalidRequestError(
        f"messages[{i}] has unknown role {msg.role!r}; use system, user, assistant or tool"
    )


def _content_block(part: ContentPart, i: int) -> dict[str, Any]:
    if isinstance(part, TextPart):
        if part.cache is not None:
            return {"type": "text", "text": part.text, "cache_control": anthropic_cache.control(part.cache)}
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        return _image_block(part, i)
    raise errors.InvalidRequestError(
        f"messages[{i}] has a content part of unsupported type {type(part).__name__}; "
        "use TextPart or ImagePart"
    )


def _image_block(part: ImagePart, i: int) -> dict[str, Any]:
    inline = part.as_data()
    if inline is not None:
        media_type, data = inline
        if media_type == "application/octet-stream":  # what as_data() reports when none was given
            raise errors.InvalidRequestError(
                f"messages[{i}] has inline image data without a media type; Anthropic needs one of "
                "image/jpeg, image/png, image/gif or image/webp (ImagePart.from_bytes(raw, 'image/png'))"
            )
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if not part.url:
        raise errors.InvalidRequestError(f"messages[{i}] has an image with neither url nor data")
    return {"type": "image", "source": {"type": "url", "url": part.url}}


def tool_id(raw: str, i: int) -> str:
    """Anthropic only accepts ``[A-Za-z0-9_-]`` in tool-use ids; ids made by other providers
    (after a fallback) are mapped the same way in tool_use and tool_result so they still pair."""
    if not raw:
        raise errors.InvalidRequestError(
            f"messages[{i}] has a tool call or tool result with an empty id; Anthropic pairs tool results "
            "with calls by id"
        )
    return _TOOL_ID_INVALID.sub("_", raw)


def _tool_input(arguments: str, name: str, i: int) -> dict[str, Any]:
    if not arguments or not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise errors.InvalidRequestError(
            f"messages[{i}] has a call to tool {name!r} whose arguments are not valid JSON ({exc.msg} at "
            f"position {exc.pos}); Anthropic needs the arguments as a JSON object"
        ) from None
    if not isinstance(value, dict):
        raise errors.InvalidRequestError(
            f"messages[{i}] has a call to tool {name!r} whose arguments are JSON {type(value).__name__}, "
            "not an object; Anthropic needs the arguments as a JSON object"
        )
    return value


def _tool_result(msg: Message, i: int) -> dict[str, Any]:
    if not msg.tool_call_id:
        raise errors.InvalidRequestError(
            f"messages[{i}] is a tool message without tool_call_id; set it to the id of the call it answers"
        )
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id(msg.tool_call_id, i)}
    if isinstance(msg.content, str):
        if msg.content:
            block["content"] = msg.content
    else:
        parts = [_content_block(p, i) for p in msg.parts() if not (isinstance(p, TextPart) and not p.text)]
        if parts:
            block["content"] = parts
    return block


# --------------------------------------------------------------------------- options


def _stop_sequences(stop: Sequence[str] | None) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):  # a lone string is a Sequence[str] too: do not split it into letters
        return [stop]
    return list(stop)


def _tool_def(tool: Tool) -> dict[str, Any]:
    if tool.name == JSON_TOOL_NAME:
        raise errors.InvalidRequestError(
            f"tool name {JSON_TOOL_NAME!r} is reserved by llmrelay (it emulates JSON mode on Anthropic); "
            "rename the tool"
        )
    out: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    out["input_schema"] = dict(tool.parameters)
    if tool.strict is not None:
        out["strict"] = tool.strict
    if tool.cache is not None:
        out["cache_control"] = anthropic_cache.control(tool.cache)
    return out


def _json_tool(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "name": JSON_TOOL_NAME,
        "description": _JSON_TOOL_DESCRIPTION,
        "input_schema": dict(schema or {"type": "object"}),
    }


def _apply_tools(body: dict[str, Any], req: ChatRequest, ep: Endpoint, thinking: bool = False) -> None:
    tools = [_tool_def(t) for t in req.tools or ()]
    choice = req.tool_choice
    if not tools and (choice == "required" or isinstance(choice, ForcedTool)):
        raise errors.InvalidRequestError(
            f"tool_choice={choice!r} needs tools, but the request has none; add tools or drop tool_choice"
        )
    if isinstance(choice, ForcedTool) and choice.name not in {t["name"] for t in tools}:
        raise errors.InvalidRequestError(
            f"tool_choice forces tool {choice.name!r}, which is not among the request's tools"
        )
    tool_choice = _tool_choice(choice) if tools else None
    if tools and tool_choice is None and req.parallel_tool_calls is False:
        tool_choice = {"type": "auto"}
    emulate = _json_emulation(req, ep)
    if emulate is not None:
        tools, tool_choice = _with_json_tool(tools, tool_choice, emulate, req, ep, thinking)
    if tool_choice is not None and req.parallel_tool_calls is False and tool_choice["type"] != "none":
        tool_choice["disable_parallel_tool_use"] = True
    if tools:
        body["tools"] = tools
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_schema" and emulate is None:
        if fmt.schema is None:
            raise errors.InvalidRequestError("response_format json_schema needs a schema")
        body["output_config"] = {"format": {"type": "json_schema", "schema": dict(fmt.schema)}}


def _tool_choice(choice: str | ForcedTool | None) -> dict[str, Any] | None:
    if choice is None:
        # Anthropic's default is auto; only spell it out when something must be attached to it.
        return None
    if isinstance(choice, ForcedTool):
        return {"type": "tool", "name": choice.name}
    mapped = {"auto": "auto", "required": "any", "none": "none"}.get(choice)
    if mapped is None:
        raise errors.InvalidRequestError(
            f"unknown tool_choice {choice!r}; use 'auto', 'required', 'none' or ForcedTool(name)"
        )
    return {"type": mapped}


def _json_emulation(req: ChatRequest, ep: Endpoint) -> Mapping[str, Any] | None:
    """The schema of the forced JSON tool, or None when no emulation is needed."""
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "object"}
    mode = str(ep.options.get("structured_outputs", "native"))
    if mode not in _STRUCTURED_MODES:
        raise errors.ConfigError(
            f"unknown structured_outputs option {mode!r} for Anthropic; use 'native' (output_config.format) "
            "or 'tool' (a forced tool, for models without structured outputs)"
        )
    if mode == "native":
        return None
    if fmt.schema is None or fmt.schema.get("type") != "object":
        raise options.unsupported_feature(
            "structured_outputs='tool' can only emulate a JSON schema whose root is an object; "
            "wrap the value in an object or use the native structured outputs",
            ep,
        )
    return fmt.schema


def _with_json_tool(
    tools: list[dict[str, Any]],
    tool_choice: dict[str, Any] | None,
    schema: Mapping[str, Any],
    req: ChatRequest,
    ep: Endpoint,
    thinking_on: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    if tool_choice is not None and tool_choice["type"] == "tool":
        return tools, tool_choice  # the caller forces one of its own tools: the reply is that call
    thinking = (req.extra or {}).get("thinking")
    if thinking_on or (isinstance(thinking, Mapping) and thinking.get("type") not in (None, "disabled")):
        raise options.unsupported_feature(
            "JSON mode is emulated on Anthropic by forcing a tool, and Anthropic does not allow forcing a "
            "tool while extended thinking is on; use response_format=ResponseFormat.json_schema(...) "
            "(native structured outputs) or turn thinking off",
            ep,
        )
    json_tool = _json_tool(schema)
    if tools and (tool_choice is None or tool_choice["type"] in ("auto", "any")):
        # The model must either call one of the caller's tools or answer through the JSON tool.
        return [*tools, json_tool], {"type": "any"}
    return [*tools, json_tool], {"type": "tool", "name": JSON_TOOL_NAME}


def _merge_extra(body: dict[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """Top-level keys of ``extra`` win; where both sides hold an object (``output_config``,
    ``metadata``, ``tool_choice``) they are merged one level deep so that e.g.
    ``extra={"output_config": {"effort": "low"}}`` keeps a structured-output format."""
    for key, value in (extra or {}).items():
        current = body.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            body[key] = {**current, **value}
        else:
            body[key] = value
    return body
