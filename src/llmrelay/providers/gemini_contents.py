"""llmrelay Messages -> Gemini ``systemInstruction`` parts and ``contents`` (pure functions).

Reference: https://ai.google.dev/api/generate-content (v1beta). Where Gemini differs from
the OpenAI shape:

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

from llmrelay.errors import InvalidRequestError
from llmrelay.providers.gemini_state import signatures_of
from llmrelay.types import ContentPart, ImagePart, Message, TextPart
from llmrelay.wire import Endpoint

# Google documents this value for replaying function calls that have no real signature
# (history from another model, or rebuilt by the caller).
SKIP_SIGNATURE = "skip_thought_signature_validator"
# Models that predate thought-signature validation; sending them a signature is pointless.
_NO_SIGNATURE_MODELS = re.compile(r"^(?:models/)?(?:gemini-(?:1|2)(?:\.|-)|gemma)", re.IGNORECASE)


def contents(messages: Sequence[Message], ep: Endpoint) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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
