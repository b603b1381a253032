"""ChatRequest / EmbeddingRequest -> Gemini ``generateContent`` wire JSON (pure functions).

Reference: https://ai.google.dev/api/generate-content (v1beta). Gemini differs from the
OpenAI shape in ways that matter here:

* roles are ``user`` and ``model``; system text goes to ``systemInstruction``;
* tool results are ``functionResponse`` parts inside a *user* turn, matched to the call
  by function name (the request side rejects the ``id`` field on many deployments, so it
  is only sent when ``ep.options["send_call_ids"]`` is true);
* Gemini 3+ rejects a replayed ``functionCall`` without its ``thoughtSignature``.
  The signatures of a Gemini reply travel in ``Message.provider_state["gemini"]`` (see
  ``gemini_state``) and are put back on their parts; the first call of a replayed step
  that has no real signature (history from another provider) gets Google's documented
  validator-skip value instead.
"""

from __future__ import annotations

import json
import mimetypes
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from llmrelay.errors import ConfigError, InvalidRequestError
from llmrelay.providers.gemini_state import signatures_of
from llmrelay.providers.request_fields import refuse_cache_fields, refuse_set, unsupported, wants_logprobs
from llmrelay.types import (
    ChatRequest,
    ContentPart,
    EmbeddingRequest,
    ForcedTool,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolChoice,
)
from llmrelay.wire import Endpoint

DEFAULT_API_VERSION = "v1beta"
# Google documents this value for replaying function calls that have no real signature
# (history from another model, or rebuilt by the caller).
SKIP_SIGNATURE = "skip_thought_signature_validator"

_VERSION_SEGMENT = re.compile(r"^v\d+(?:(?:alpha|beta)\d*)?$")
# Models that predate thought-signature validation; sending them a signature is pointless.
_NO_SIGNATURE_MODELS = re.compile(r"^(?:models/)?(?:gemini-(?:1|2)(?:\.|-)|gemma)", re.IGNORECASE)
_TOOL_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_EMPTY_SCHEMA_KEYS = frozenset(("type", "properties", "required", "additionalProperties", "$schema"))
PROTOCOL = "gemini"
#: ThinkingConfig.thinkingLevel values (Gemini 3 models; which ones a model takes is in the catalog)
_THINKING_LEVELS = frozenset(("minimal", "low", "medium", "high"))
_NO_SUCH_FIELD = (
    ("service_tier", "the Gemini API has no per-request service tier"),
    ("verbosity", "the Gemini API has no verbosity parameter; say how long to answer in the prompt"),
)


# --------------------------------------------------------------------------- addressing


def resource_name(model: str) -> str:
    """``gemini-2.5-flash`` -> ``models/gemini-2.5-flash``; resource names pass through."""
    if not model:
        raise ConfigError("the Gemini endpoint has no model; set Endpoint.model, e.g. 'gemini-2.5-flash'")
    return model if "/" in model else f"models/{model}"


def method_url(ep: Endpoint, method: str, query: Mapping[str, str] | None = None) -> str:
    """``{base}/{version}/models/{model}:{method}?{query}``.

    A base URL that already ends in a version segment (``…/v1beta``) keeps it unless
    ``ep.options["api_version"]`` says otherwise.
    """
    base = ep.base_url.rstrip("/")
    if not base:
        raise ConfigError(
            "the Gemini endpoint has no base_url; use https://generativelanguage.googleapis.com"
        )
    version = ep.options.get("api_version")
    head, _, last = base.rpartition("/")
    if urllib.parse.urlsplit(base).path.strip("/") and _VERSION_SEGMENT.match(last):
        base, version = head, version or last
    params = dict(query or {})
    params.update(ep.query)
    if any(k.lower() == "key" for k in params):
        raise ConfigError(
            "the Gemini API key must not be put in the URL query (it would leak into logs); "
            "set Endpoint.api_key instead, it is sent as the x-goog-api-key header"
        )
    path = urllib.parse.quote(resource_name(ep.model), safe="/._-~")
    url = f"{base}/{version or DEFAULT_API_VERSION}/{path}:{method}"
    return f"{url}?{urllib.parse.urlencode(params)}" if params else url


def request_headers(ep: Endpoint, extra: Mapping[str, str] | None) -> dict[str, str]:
    """Key header, then endpoint headers, then per-call headers (names lower-cased so
    a later layer really replaces an earlier one)."""
    headers = {"content-type": "application/json"}
    if ep.api_key is not None and ep.api_key:
        headers["x-goog-api-key"] = ep.api_key.reveal()
    for layer in (ep.headers, extra or {}):
        for name, value in layer.items():
            headers[name.lower()] = value
    return headers


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` wins; nested objects merge so ``{"generationConfig": {"thinkingConfig": …}}``
    adds to the generated config instead of replacing it."""
    out = dict(base)
    for key, value in extra.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            out[key] = deep_merge(current, value)
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------- chat body


def chat_body(req: ChatRequest, ep: Endpoint) -> dict[str, Any]:
    _refuse_unsupported(req, ep)
    system_parts, contents = _contents(req.messages, ep)
    body: dict[str, Any] = {"contents": contents}
    if system_parts:
        body["systemInstruction"] = {"parts": system_parts}
    if req.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(t) for t in req.tools]}]
    if req.tool_choice is not None:
        body["toolConfig"] = {"functionCallingConfig": _calling_config(req.tool_choice, req.tools)}
    if req.safety_settings:
        body["safetySettings"] = [
            {"category": s.category, "threshold": s.threshold} for s in req.safety_settings
        ]
    config = _generation_config(req, ep)
    if config:
        body["generationConfig"] = config
    _cached_content(body, req, ep)
    if req.extra:
        body = deep_merge(body, req.extra)
    return body


def _refuse_unsupported(req: ChatRequest, ep: Endpoint) -> None:
    refuse_set(req, _NO_SUCH_FIELD, ep, PROTOCOL)
    refuse_cache_fields(
        req,
        ("key", "retention"),
        "prompt_cache_key and prompt_cache_retention are OpenAI's; Gemini caches implicitly, or reads "
        "an explicit cache named by prompt_cache.cached_content",
        ep,
        PROTOCOL,
    )


def _cached_content(body: dict[str, Any], req: ChatRequest, ep: Endpoint) -> None:
    """``cachedContent``: the system instruction, tools and tool config live in the cache
    then, and Gemini refuses a request that sets them again."""
    name = req.prompt_cache.cached_content if req.prompt_cache is not None else None
    if name is None:
        return
    clash = [k for k in ("systemInstruction", "tools", "toolConfig") if k in body]
    if clash:
        raise unsupported(
            "prompt_cache.cached_content",
            f"a request that reads cached content cannot also set {', '.join(clash)} (Gemini keeps them in "
            "the cache): put the system prompt and tools in the cache, or drop cached_content",
            ep,
            PROTOCOL,
        )
    body["cachedContent"] = name


def _generation_config(req: ChatRequest, ep: Endpoint) -> dict[str, Any]:
    config: dict[str, Any] = {
        "temperature": req.temperature,
        "topP": req.top_p,
        "topK": req.top_k,
        "maxOutputTokens": req.max_tokens,
        "stopSequences": list(req.stop) if req.stop else None,
        "seed": req.seed,
        "presencePenalty": req.presence_penalty,
        "frequencyPenalty": req.frequency_penalty,
        "thinkingConfig": _thinking_config(req, ep),
    }
    if wants_logprobs(req):
        # GenerationConfig.responseLogprobs / logprobs; the answer's logprobsResult holds
        # chosenCandidates and topCandidates ({token, tokenId, logProbability})
        config["responseLogprobs"] = True
        config["logprobs"] = req.top_logprobs
    if req.response_format is not None:
        config.update(_response_format(req.response_format))
    return {k: v for k, v in config.items() if v is not None}


def _thinking_config(req: ChatRequest, ep: Endpoint) -> dict[str, Any] | None:
    """ThinkingConfig (thinking guide): a budget is ``thinkingBudget`` (Gemini 2.5; 0 turns
    thinking off where the model allows it), an effort ``thinkingLevel`` (Gemini 3; the
    catalog turns efforts into budgets for 2.5 models), and the summary ``includeThoughts``."""
    r = req.reasoning
    if r is None:
        return None
    if r.summary_mode not in (None, "auto"):
        raise unsupported(
            "reasoning.summary",
            "Gemini returns thought summaries with no choice of style; use summary=True or leave it unset",
            ep,
            PROTOCOL,
        )
    config: dict[str, Any] = {}
    if r.budget_tokens is not None and r.effort is not None:
        raise unsupported(
            "reasoning",
            "Gemini takes a thinking budget or a thinking level, not both: give budget_tokens or effort",
            ep,
            PROTOCOL,
        )
    if r.budget_tokens is not None:
        config["thinkingBudget"] = r.budget_tokens
    elif r.effort is not None:
        if r.effort not in _THINKING_LEVELS:
            raise unsupported(
                "reasoning.effort",
                f"Gemini's thinking levels are minimal, low, medium and high, not {r.effort!r}"
                + (" (Gemini 3 models cannot turn thinking off)" if r.effort == "none" else ""),
                ep,
                PROTOCOL,
            )
        config["thinkingLevel"] = r.effort
    if r.summary is not None:
        config["includeThoughts"] = r.summary_mode is not None
    return config or None


def _response_format(fmt: ResponseFormat) -> dict[str, Any]:
    if fmt.type == "text":
        return {}
    if fmt.type == "json_object":
        return {"responseMimeType": "application/json"}
    if fmt.schema is None:
        raise InvalidRequestError(
            "response_format is json_schema but has no schema; use ResponseFormat.json_schema(schema)"
        )
    # responseJsonSchema takes standard JSON Schema ($ref, anyOf, additionalProperties…),
    # unlike the older OpenAPI-subset responseSchema, so no conversion is needed.
    return {"responseMimeType": "application/json", "responseJsonSchema": dict(fmt.schema)}


def _declaration(tool: Tool) -> dict[str, Any]:
    decl: dict[str, Any] = {"name": tool.name}
    if tool.description:
        decl["description"] = tool.description
    params = tool.parameters
    if not _is_empty_object_schema(params):
        # parametersJsonSchema accepts standard JSON Schema; `parameters` would reject
        # keywords such as const or $ref.
        decl["parametersJsonSchema"] = dict(params)
    return decl


def _is_empty_object_schema(schema: Mapping[str, Any]) -> bool:
    """A no-argument function: Gemini wants the schema left unset rather than an empty object."""
    return (
        set(schema) <= _EMPTY_SCHEMA_KEYS
        and schema.get("type", "object") == "object"
        and not schema.get("properties")
        and not schema.get("required")
    )


def _calling_config(choice: ToolChoice, tools: Sequence[Tool] | None) -> dict[str, Any]:
    if isinstance(choice, ForcedTool):
        if tools and choice.name not in {t.name for t in tools}:
            known = ", ".join(t.name for t in tools)
            raise InvalidRequestError(
                f"tool_choice forces tool {choice.name!r}, which is not among the request's tools ({known})"
            )
        return {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    try:
        return {"mode": _TOOL_CHOICE_MODES[choice]}
    except KeyError:
        raise InvalidRequestError(
            f"tool_choice is {choice!r}; use 'auto', 'none', 'required' or ForcedTool(name)"
        ) from None


# --------------------------------------------------------------------------- contents


def _contents(messages: Sequence[Message], ep: Endpoint) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(systemInstruction parts, contents) with same-role neighbours merged."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}  # tool_call_id -> function name, latest call wins
    send_ids = bool(ep.options.get("send_call_ids", False))
    for i, msg in enumerate(messages):
        if msg.role == "system":
            system.extend(_parts(msg.parts(), i))
            continue
        if msg.role == "user":
            role, parts = "user", _parts(msg.parts(), i)
        elif msg.role == "assistant":
            role, parts = "model", _model_parts(msg, i, ep, send_ids)
            call_names.update((call.id, call.name) for call in msg.tool_calls)
        elif msg.role == "tool":
            role, parts = "user", [_function_response(msg, i, call_names, send_ids)]
        else:
            raise InvalidRequestError(
                f"messages[{i}].role is {msg.role!r}; Gemini takes system/user/assistant/tool"
            )
        if not parts:
            continue  # Gemini rejects a turn with no parts
        if turns and turns[-1]["role"] == role:
            turns[-1]["parts"].extend(parts)
        else:
            turns.append({"role": role, "parts": parts})
    return system, turns


def _model_parts(msg: Message, i: int, ep: Endpoint, send_ids: bool) -> list[dict[str, Any]]:
    """An assistant turn: its text, then one ``functionCall`` part per call, with each
    thought signature back on its part."""
    opt = ep.options.get("thought_signatures")
    # Real signatures go back unless the endpoint turns signatures off altogether; the
    # skip value only where the model validates signatures (or the option forces it).
    real = signatures_of(msg.provider_state, i) if opt is not False else None
    skip = bool(opt) if opt is not None else not _NO_SIGNATURE_MODELS.match(ep.model)
    parts = _parts(msg.parts(), i)
    if real is not None and real.text:
        texts = [p for p in parts if "text" in p]
        if texts:  # the reply's text parts were joined into one Message text: it carries the signature
            texts[-1]["thoughtSignature"] = real.text
    for j, call in enumerate(msg.tool_calls):
        fc: dict[str, Any] = {"name": call.name, "args": _call_args(call.arguments, i, call.id)}
        if send_ids:
            fc["id"] = call.id
        part: dict[str, Any] = {"functionCall": fc}
        signature = real.calls.get(call.id) if real is not None else None
        if signature:
            part["thoughtSignature"] = signature
        elif skip and j == 0:
            # Gemini validates the first call of each step; this one has no signature of its own.
            part["thoughtSignature"] = SKIP_SIGNATURE
        parts.append(part)
    return parts


def _parts(parts: Sequence[ContentPart], i: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for j, part in enumerate(parts):
        if isinstance(part, TextPart):
            if part.text:  # an empty text part is a 400 on Gemini
                out.append({"text": part.text})
        elif isinstance(part, ImagePart):
            out.append(_image(part, i, j))
        else:
            raise InvalidRequestError(
                f"messages[{i}].content[{j}] is a {type(part).__name__}; use TextPart or ImagePart"
            )
    return out


def _image(part: ImagePart, i: int, j: int) -> dict[str, Any]:
    if part.data is not None and not part.media_type:
        raise InvalidRequestError(
            f"messages[{i}].content[{j}] has image data without media_type; set e.g. media_type='image/png'"
        )
    inline = part.as_data()
    if inline is not None:
        return {"inlineData": {"mimeType": inline[0], "data": inline[1]}}
    if not part.url:
        raise InvalidRequestError(f"messages[{i}].content[{j}] is an image with neither url nor data")
    return {"fileData": {"mimeType": guess_mime(part.url), "fileUri": part.url}}


def guess_mime(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "image/jpeg"


def _call_args(arguments: str, i: int, call_id: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        args = json.loads(arguments)
    except json.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        raise InvalidRequestError(
            f"messages[{i}] tool call {call_id!r} has arguments that are not a JSON object; "
            "Gemini needs functionCall.args to be an object"
        )
    return args


def _function_response(msg: Message, i: int, call_names: Mapping[str, str], send_ids: bool) -> dict[str, Any]:
    name = call_names.get(msg.tool_call_id or "") or msg.name
    if not name:
        raise InvalidRequestError(
            f"messages[{i}] is a tool result for tool_call_id {msg.tool_call_id!r}, but no earlier assistant "
            "message made that call; Gemini matches results by function name, so set Message.name"
        )
    text = msg.text()
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    response = parsed if isinstance(parsed, dict) else {"result": text}
    fr: dict[str, Any] = {"name": name, "response": response}
    if send_ids and msg.tool_call_id:
        fr["id"] = msg.tool_call_id
    return {"functionResponse": fr}


# --------------------------------------------------------------------------- embeddings


def embed_body(req: EmbeddingRequest, ep: Endpoint) -> dict[str, Any]:
    if not req.inputs:
        raise InvalidRequestError("embedding inputs are empty; give at least one string")
    resource = resource_name(ep.model)
    requests = []
    for text in req.inputs:
        item: dict[str, Any] = {"model": resource, "content": {"parts": [{"text": text}]}}
        if req.dimensions is not None:
            item["outputDimensionality"] = req.dimensions
        # Gemini's embedding options (taskType, title…) live on each item, not the batch.
        if req.extra:
            item = deep_merge(item, req.extra)
        requests.append(item)
    return {"requests": requests}
