"""Checks a ChatRequest before anything is sent.

Every provider would reject these requests anyway, after a network round trip and with
a message in its own dialect; catching them here gives one clear, typed error that
names the field and the fix. Provider-specific limits (stop-sequence counts, Anthropic's
temperature ceiling) are left to the provider.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from numbers import Real

from llmrelay.errors import InvalidRequestError
from llmrelay.types import ROLES, ChatRequest, EmbeddingRequest, ForcedTool, ImagePart, Message, TextPart
from llmrelay.types.fields import (
    CACHE_RETENTIONS,
    CACHE_TTLS,
    HARM_CATEGORIES,
    HARM_THRESHOLDS,
    REASONING_EFFORTS,
    REASONING_SUMMARIES,
    SERVICE_TIERS,
    VERBOSITIES,
    PromptCache,
    Reasoning,
    SafetySetting,
)

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_TOOL_CHOICES = frozenset(("auto", "none", "required"))


def _bad(msg: str) -> InvalidRequestError:
    return InvalidRequestError(msg)


def _number(name: str, value: object, lo: float, hi: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, Real):
        raise _bad(f"{name} must be a number between {lo:g} and {hi:g}, got {value!r}")
    if not lo <= float(value) <= hi:
        raise _bad(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")


def validate_request(req: ChatRequest) -> None:
    """Raise ``InvalidRequestError`` naming the first problem found."""
    if not isinstance(req.model, str) or not req.model:
        raise _bad("model must be a non-empty string such as 'openai/gpt-4o-mini' or a configured alias")
    _number("temperature", req.temperature, 0.0, 2.0)
    _number("top_p", req.top_p, 0.0, 1.0)
    _number("presence_penalty", req.presence_penalty, -2.0, 2.0)
    _number("frequency_penalty", req.frequency_penalty, -2.0, 2.0)
    if req.max_tokens is not None and (
        isinstance(req.max_tokens, bool) or not isinstance(req.max_tokens, int) or req.max_tokens < 1
    ):
        raise _bad(f"max_tokens must be a positive integer, got {req.max_tokens!r}")
    if req.seed is not None and (isinstance(req.seed, bool) or not isinstance(req.seed, int)):
        raise _bad(f"seed must be an integer, got {req.seed!r}")
    if req.stop is not None:
        if isinstance(req.stop, str):
            raise _bad("stop must be a list of strings, e.g. stop=['\\n\\n']")
        for s in req.stop:
            if not isinstance(s, str) or not s:
                raise _bad(f"stop sequences must be non-empty strings, got {s!r}")
    _validate_tools(req)
    _validate_messages(req.messages)
    _validate_fields(req)
    if req.response_format is not None:
        rf = req.response_format
        if rf.type not in ("text", "json_object", "json_schema"):
            raise _bad(f"response_format.type must be text, json_object or json_schema, got {rf.type!r}")
        if rf.type == "json_schema" and not isinstance(rf.schema, Mapping):
            raise _bad("response_format json_schema needs a JSON Schema dict in 'schema'")


def _integer(name: str, value: object, lo: int, hi: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        span = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise _bad(f"{name} must be an integer {span}, got {value!r}")


def _choice(name: str, value: object, allowed: frozenset[str] | tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise _bad(f"{name} must be one of {', '.join(sorted(allowed))}, got {value!r}")


def _validate_fields(req: ChatRequest) -> None:
    if req.n is not None and (isinstance(req.n, bool) or req.n != 1):
        raise _bad(
            f"n={req.n!r}: llmrelay returns one choice per call, so n must be 1 (or unset); "
            "to get several answers, make several calls (with different seeds or temperature > 0)"
        )
    _integer("top_k", req.top_k, 1)
    _integer("top_logprobs", req.top_logprobs, 0, 20)
    if req.logprobs is not None and not isinstance(req.logprobs, bool):
        raise _bad(f"logprobs must be True or False, got {req.logprobs!r}")
    if req.top_logprobs is not None and req.logprobs is False:
        raise _bad("top_logprobs needs logprobs=True (it says how many alternatives to return per token)")
    _choice("service_tier", req.service_tier, SERVICE_TIERS)
    _choice("verbosity", req.verbosity, VERBOSITIES)
    if req.reasoning is not None:
        _validate_reasoning(req.reasoning)
    if req.prompt_cache is not None:
        _validate_prompt_cache(req.prompt_cache)
    if req.safety_settings is not None:
        _validate_safety(req.safety_settings)
    for i, tool in enumerate(req.tools or ()):
        _choice(f"tools[{i}].cache", tool.cache, CACHE_TTLS)


def _validate_reasoning(r: object) -> None:
    if not isinstance(r, Reasoning):
        raise _bad(f"reasoning must be a llmrelay.Reasoning, e.g. Reasoning(effort='low'), got {r!r}")
    _choice("reasoning.effort", r.effort, REASONING_EFFORTS)
    _integer("reasoning.budget_tokens", r.budget_tokens, 0)
    if r.summary is not None and not isinstance(r.summary, bool):
        _choice("reasoning.summary", r.summary, REASONING_SUMMARIES)


def _validate_prompt_cache(pc: object) -> None:
    if not isinstance(pc, PromptCache):
        raise _bad(f"prompt_cache must be a llmrelay.PromptCache, e.g. PromptCache(auto='5m'), got {pc!r}")
    _choice("prompt_cache.auto", pc.auto, CACHE_TTLS)
    _choice("prompt_cache.retention", pc.retention, CACHE_RETENTIONS)
    _integer("prompt_cache.min_tokens", pc.min_tokens, 1)
    for name in ("key", "cached_content"):
        value = getattr(pc, name)
        if value is not None and (not isinstance(value, str) or not value):
            raise _bad(f"prompt_cache.{name} must be a non-empty string, got {value!r}")


def _validate_safety(settings: object) -> None:
    if isinstance(settings, str | SafetySetting) or not isinstance(settings, tuple | list):
        raise _bad("safety_settings must be a list of llmrelay.SafetySetting(category, threshold)")
    seen: set[str] = set()
    for i, s in enumerate(settings):
        if not isinstance(s, SafetySetting):
            raise _bad(
                f"safety_settings[{i}] must be a llmrelay.SafetySetting(category, threshold), got {s!r}"
            )
        _choice(f"safety_settings[{i}].category", s.category, HARM_CATEGORIES)
        _choice(f"safety_settings[{i}].threshold", s.threshold, HARM_THRESHOLDS)
        if s.category in seen:
            raise _bad(f"safety_settings[{i}]: category {s.category} is given twice")
        seen.add(s.category)


def _validate_tools(req: ChatRequest) -> None:
    names: set[str] = set()
    for i, tool in enumerate(req.tools or ()):
        if not isinstance(tool.name, str) or not _TOOL_NAME.match(tool.name):
            raise _bad(
                f"tools[{i}].name {tool.name!r} is invalid: use 1-64 letters, digits, '_' or '-' "
                "(providers reject other characters)"
            )
        if tool.name in names:
            raise _bad(f"tools[{i}].name {tool.name!r} is declared twice; tool names must be unique")
        names.add(tool.name)
        params = tool.parameters
        if not isinstance(params, Mapping) or params.get("type", "object") != "object":
            raise _bad(f"tools[{i}] ({tool.name}).parameters must be a JSON Schema with type 'object'")
    choice = req.tool_choice
    if choice is not None:
        if isinstance(choice, ForcedTool):
            if choice.name not in names:
                raise _bad(
                    f"tool_choice forces tool {choice.name!r}, which is not among the tools offered "
                    f"({', '.join(sorted(names)) or 'none'})"
                )
        elif choice not in _TOOL_CHOICES:
            raise _bad(f"tool_choice must be 'auto', 'none', 'required' or ForcedTool(name), got {choice!r}")
        elif choice == "required" and not names:
            raise _bad("tool_choice='required' needs at least one tool in tools")


def _validate_messages(messages: object) -> None:
    if not isinstance(messages, tuple | list) or not messages:
        raise _bad("messages must be a non-empty list; e.g. messages=[Message.user('Hello')]")
    open_calls: set[str] = set()
    seen_non_system = False
    for i, m in enumerate(messages):
        if not isinstance(m, Message):
            raise _bad(f"messages[{i}] must be a llmrelay.Message (or a dict passed to Client.chat)")
        if m.role not in ROLES:
            raise _bad(f"messages[{i}].role is {m.role!r}; use system, user, assistant or tool")
        _choice(f"messages[{i}].cache", m.cache, CACHE_TTLS)
        parts = m.parts()
        for j, p in enumerate(parts):
            if isinstance(p, ImagePart):
                _validate_image(p, i, j)
            elif not isinstance(p, TextPart):
                raise _bad(f"messages[{i}].content[{j}] must be a TextPart or ImagePart")
            else:
                _choice(f"messages[{i}].content[{j}].cache", p.cache, CACHE_TTLS)
        has_text = any(isinstance(p, ImagePart) or p.text.strip() for p in parts)
        if m.role == "system":
            if not has_text:
                raise _bad(f"messages[{i}] (system) has empty content")
            if any(isinstance(p, ImagePart) for p in parts):
                raise _bad(f"messages[{i}] (system) cannot contain images")
            continue
        if m.role == "user" and not has_text:
            raise _bad(f"messages[{i}] (user) has empty content; give some text or an image")
        if m.role == "assistant":
            if not has_text and not m.tool_calls:
                raise _bad(f"messages[{i}] (assistant) has neither content nor tool_calls")
            for call in m.tool_calls:
                if not call.id or not call.name:
                    raise _bad(f"messages[{i}] has a tool call without id or name")
                open_calls.add(call.id)
        elif m.tool_calls:
            raise _bad(f"messages[{i}] ({m.role}) carries tool_calls; only assistant messages can")
        if m.role == "tool":
            if not m.tool_call_id:
                raise _bad(f"messages[{i}] (tool) needs tool_call_id naming the call it answers")
            if m.tool_call_id not in open_calls:
                raise _bad(
                    f"messages[{i}] is a tool result for call {m.tool_call_id!r}, but no earlier assistant "
                    "message made that call; include the assistant message with its tool_calls first"
                )
            if not isinstance(m.content, str) and any(isinstance(p, ImagePart) for p in parts):
                raise _bad(f"messages[{i}] (tool) content must be text")
        seen_non_system = True
    if not seen_non_system:
        raise _bad("messages hold only system instructions; add at least one user message")


def _validate_image(p: ImagePart, i: int, j: int) -> None:
    if (p.url is None) == (p.data is None):
        raise _bad(f"messages[{i}].content[{j}]: an image needs exactly one of url or data")
    if p.data is not None and not p.media_type:
        raise _bad(f"messages[{i}].content[{j}]: inline image data needs media_type, e.g. 'image/png'")
    if p.url is not None and not p.url.startswith(("http://", "https://", "data:", "gs://")):
        raise _bad(f"messages[{i}].content[{j}]: image url must be http(s), gs:// or a data: URL")


def validate_embedding(req: EmbeddingRequest) -> None:
    if isinstance(req.inputs, str) or not req.inputs:
        raise _bad("inputs must be a non-empty list of strings")
    for i, s in enumerate(req.inputs):
        if not isinstance(s, str) or not s:
            raise _bad(f"inputs[{i}] must be a non-empty string")
    if req.dimensions is not None and (
        isinstance(req.dimensions, bool) or not isinstance(req.dimensions, int) or req.dimensions < 1
    ):
        raise _bad(f"dimensions must be a positive integer, got {req.dimensions!r}")
