"""A batch's input: what each item asks, and the id its result carries.

Items come as ``BatchRequest``s, ``ChatRequest``s, prompts (strings) or dicts — the lines of
a JSONL file. A dict is either llmrelay's own shape::

    {"id": "q1", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 50}
    {"id": "q2", "prompt": "Name three primes.", "system": "Be brief.", "model": "fast"}

or a line of an OpenAI batch input file, so existing files work as they are::

    {"custom_id": "q3", "method": "POST", "url": "/v1/chat/completions",
     "body": {"model": "…", "messages": […]}}

Each becomes one ``ChatRequest``, built here once, which both modes send: the synchronous
path through ``Client.chat`` and the provider batch APIs through the adapters' translation.
An item that cannot become a request (a broken line, an unknown field, a bad value) is
kept with its problem and recorded as that item's error; the rest of the batch runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmrelay.errors import ConfigError, InvalidRequestError, LLMRelayError
from llmrelay.messages import coerce_messages
from llmrelay.types import ChatRequest, ForcedTool, Message, ResponseFormat, Tool
from llmrelay.validation import validate_request

#: ChatRequest fields an input item may give (``max_completion_tokens`` is read as max_tokens)
PARAMS: frozenset[str] = frozenset(
    (
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "user",
        "metadata",
        "tags",
        "extra",
    )
)
_OWN = frozenset(("id", "model", "messages", "prompt", "system", "max_completion_tokens"))
_OPENAI_LINE = frozenset(("custom_id", "method", "url", "body"))


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One item of a batch: the request, and the id its result carries (default: its position)."""

    request: ChatRequest
    id: str | None = None


@dataclass(frozen=True, slots=True)
class BatchItem:
    """An input item as the runner sees it: its position, id, request (None when the input
    could not become one: ``problem`` says why) and a fingerprint of what it asks, so that
    a resumed run can tell that its input is the one the journal was written for."""

    index: int
    id: str
    request: ChatRequest | None
    fingerprint: str
    problem: LLMRelayError | None = None


def load_items(
    requests: Iterable[BatchRequest | ChatRequest | Mapping[str, Any] | str], *, model: str | None = None
) -> list[BatchItem]:
    """Every input item, in order. ``model`` is used where an item names none.

    Raises ``ConfigError`` when two items carry the same id (results are found by it).
    """
    items: list[BatchItem] = []
    for index, raw in enumerate(requests):
        items.append(to_item(raw, index, model))
    _unique_ids(items)
    return items


def read_jsonl(path: str | Path, *, model: str | None = None) -> list[BatchItem]:
    """The items of a JSONL file, one per non-blank line. A line that is not a JSON object
    becomes an item whose ``problem`` names the line; ids default to the line number."""
    items: list[BatchItem] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the batch input {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the batch input {path} is not UTF-8 text (JSON Lines expected)") from None
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        index = len(items)
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = InvalidRequestError(f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})")
            items.append(BatchItem(index, f"line-{number}", None, _digest(text), problem))
            continue
        if not isinstance(raw, Mapping):
            problem = InvalidRequestError(f"line {number} must be a JSON object, got {type(raw).__name__}")
            items.append(BatchItem(index, f"line-{number}", None, _digest(text), problem))
            continue
        item = to_item(raw, index, model, default_id=f"line-{number}")
        items.append(item)
    _unique_ids(items)
    return items


def to_item(
    raw: BatchRequest | ChatRequest | Mapping[str, Any] | str,
    index: int,
    model: str | None,
    *,
    default_id: str | None = None,
) -> BatchItem:
    """One input item; a problem with it is kept on the item, never raised."""
    fallback = default_id or str(index)
    if isinstance(raw, BatchRequest):
        return _finish(index, raw.id or fallback, raw.request, model)
    if isinstance(raw, ChatRequest):
        return _finish(index, fallback, raw, model)
    if isinstance(raw, str):
        return _from_params(index, fallback, {"prompt": raw}, model)
    if isinstance(raw, Mapping):
        if "custom_id" in raw or "body" in raw:
            return _from_openai_line(index, fallback, raw, model)
        item_id = raw.get("id", fallback)
        return _from_params(index, _id_text(item_id, fallback), raw, model)
    # the annotation promises one of the above, but callers hand in whatever their file held
    problem = InvalidRequestError(  # type: ignore[unreachable]
        f"batch item {index} is a {type(raw).__name__}; give a prompt string, a dict, a ChatRequest "
        "or a BatchRequest"
    )
    return BatchItem(index, fallback, None, _digest(repr(raw)), problem)


def _id_text(value: Any, fallback: str) -> str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return fallback


def _from_openai_line(index: int, fallback: str, raw: Mapping[str, Any], model: str | None) -> BatchItem:
    item_id = _id_text(raw.get("custom_id"), fallback)
    unknown = sorted(set(raw) - _OPENAI_LINE)
    url = raw.get("url", "/v1/chat/completions")
    body = raw.get("body")
    problem: str | None = None
    if unknown:
        problem = f"unknown fields {unknown} in an OpenAI batch line (custom_id, method, url, body)"
    elif raw.get("method", "POST") != "POST" or url not in ("/v1/chat/completions", "/chat/completions"):
        problem = f"only POST /v1/chat/completions lines can be batched, got {raw.get('method')} {url}"
    elif not isinstance(body, Mapping):
        problem = "an OpenAI batch line needs its request in 'body' (a JSON object)"
    if problem is not None:
        return BatchItem(index, item_id, None, _digest(_canonical(raw)), InvalidRequestError(problem))
    assert isinstance(body, Mapping)
    params = {k: v for k, v in body.items() if k not in ("stream", "stream_options", "n")}
    if body.get("stream") or body.get("n", 1) != 1:
        problem = "batched requests cannot stream or ask for several choices (stream, n)"
        return BatchItem(index, item_id, None, _digest(_canonical(raw)), InvalidRequestError(problem))
    return _from_params(index, item_id, params, model)


def _from_params(index: int, item_id: str, raw: Mapping[str, Any], model: str | None) -> BatchItem:
    # what the item asks is its JSON and the model it falls back on: cheaper to digest than the request
    digest = _digest(_canonical(raw) + "\x00" + (model or ""))
    try:
        request = _request(raw, model)
    except LLMRelayError as exc:
        return BatchItem(index, item_id, None, digest, exc)
    except (TypeError, ValueError) as exc:  # a value of the wrong shape deep inside a field
        return BatchItem(index, item_id, None, digest, InvalidRequestError(f"batch item {item_id!r}: {exc}"))
    return _finish(index, item_id, request, None, digest)


def _finish(
    index: int, item_id: str, request: ChatRequest, model: str | None, digest: str | None = None
) -> BatchItem:
    if not request.model and model:
        request = dataclasses.replace(request, model=model)
    fp = digest or fingerprint(request)
    try:
        validate_request(request)
    except LLMRelayError as exc:
        return BatchItem(index, item_id, None, fp, exc)
    return BatchItem(index, item_id, request, fp)


def _request(raw: Mapping[str, Any], model: str | None) -> ChatRequest:
    unknown = sorted(set(raw) - PARAMS - _OWN)
    if unknown:
        raise InvalidRequestError(
            f"unknown fields {unknown}; an item gives messages or prompt, and may give id, model, "
            f"system and {', '.join(sorted(PARAMS))}"
        )
    if ("messages" in raw) == ("prompt" in raw):
        raise InvalidRequestError("an item needs exactly one of 'messages' (a list) and 'prompt' (a string)")
    if "prompt" in raw:
        prompt = raw["prompt"]
        if not isinstance(prompt, str):
            raise InvalidRequestError(f"prompt must be a string, got {type(prompt).__name__}")
        messages: tuple[Message, ...] = (Message.user(prompt),)
    else:
        if isinstance(raw["messages"], str | Mapping):
            raise InvalidRequestError("messages must be a list of {'role', 'content'} objects")
        messages = coerce_messages(raw["messages"])
    system = raw.get("system")
    if system is not None:
        if not isinstance(system, str):
            raise InvalidRequestError(f"system must be a string, got {type(system).__name__}")
        messages = (Message.system(system), *messages)
    name = raw.get("model") or model
    if not isinstance(name, str) or not name:
        raise InvalidRequestError("no model: give 'model' in the item or a default model for the batch")
    params = {k: raw[k] for k in PARAMS if k in raw and raw[k] is not None}
    if "max_completion_tokens" in raw and "max_tokens" not in params:
        params["max_tokens"] = raw["max_completion_tokens"]
    return ChatRequest(model=name, messages=messages, **_normalized(params))


def _normalized(params: dict[str, Any]) -> dict[str, Any]:
    """JSON spellings of the structured fields, as the OpenAI API takes them."""
    out = dict(params)
    if isinstance(out.get("stop"), str):
        out["stop"] = (out["stop"],)
    elif "stop" in out:
        out["stop"] = tuple(out["stop"])
    if "tools" in out:
        out["tools"] = tuple(_tool(t, i) for i, t in enumerate(out["tools"]))
    rf = out.get("response_format")
    if isinstance(rf, str):
        out["response_format"] = ResponseFormat(type=rf)  # type: ignore[arg-type]  # validated after
    elif isinstance(rf, Mapping):
        kind = rf.get("type", "text")
        js = rf.get("json_schema", rf) if kind == "json_schema" else {}
        out["response_format"] = ResponseFormat(
            type=kind, schema=js.get("schema"), name=js.get("name"), strict=js.get("strict")
        )
    tc = out.get("tool_choice")
    if isinstance(tc, Mapping):
        name = tc.get("name") or (tc.get("function") or {}).get("name")
        out["tool_choice"] = ForcedTool(str(name))
    if "tags" in out:
        out["tags"] = tuple(out["tags"])
    return out


def _tool(t: Any, i: int) -> Tool:
    if isinstance(t, Tool):
        return t
    if not isinstance(t, Mapping):
        raise InvalidRequestError(
            f"tools[{i}] must be an object with a 'function' (or a name and parameters)"
        )
    fn = t.get("function", t)
    return Tool(
        name=fn.get("name", ""),
        description=fn.get("description"),
        parameters=fn.get("parameters") or {"type": "object", "properties": {}},
        strict=fn.get("strict"),
    )


def _unique_ids(items: list[BatchItem]) -> None:
    seen: dict[str, int] = {}
    for item in items:
        first = seen.setdefault(item.id, item.index)
        if first != item.index:
            raise ConfigError(
                f"batch items {first} and {item.index} both have the id {item.id!r}; "
                "ids name the results, so each must be unique"
            )


# --------------------------------------------------------------------------- fingerprints


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def _canonical(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def fingerprint(request: ChatRequest) -> str:
    """A digest of everything a request asks (headers excluded: they may hold credentials)."""
    return _digest(_canonical(dataclasses.replace(request, extra_headers=None)))
