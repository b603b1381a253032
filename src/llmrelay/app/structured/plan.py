"""How to ask for a structure, and how to judge a reply: shared by ``extract`` and
``extract_stream``.

The mode is chosen from the catalog: a model whose every deployment (fallbacks
included) has the ``json_schema`` capability gets the provider's own structured outputs
(OpenAI ``json_schema`` strict, Anthropic ``output_config``, Gemini
``responseJsonSchema`` — the adapters translate ``ResponseFormat.json_schema``);
anything else gets JSON mode plus the schema in a system message. ``tool`` (a forced
tool call) and ``prompt`` (instructions only, for servers that refuse
``response_format``) are there to be chosen by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from llmrelay.app.structured.errors import OutputTruncatedError
from llmrelay.app.structured.parse import JSONNotFoundError, parse_json
from llmrelay.app.structured.result import MODES, Mode, ResolvedMode
from llmrelay.app.structured.schema import Target, format_validation_error, strict_schema, target_for
from llmrelay.errors import ConfigError, ContentFilterError, LLMRelayError
from llmrelay.messages import MessagesLike, coerce_messages
from llmrelay.types import ChatResponse, ForcedTool, Message, ResponseFormat, Tool

if TYPE_CHECKING:
    from llmrelay.client import Client

#: chat() parameters the structured call sets itself
_RESERVED = ("response_format", "tools", "tool_choice", "parallel_tool_calls")
#: the capability (catalog) that means "the provider enforces a JSON Schema"
NATIVE_CAPABILITY = "json_schema"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A reply judged: the value, or why it was refused."""

    ok: bool
    value: Any = None
    repaired: bool = False
    problem: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """One structured call's settings: the target, the mode, and the chat parameters."""

    target: Target[Any]
    mode: ResolvedMode
    params: Mapping[str, Any]
    tool_name: str | None = None

    # ------------------------------------------------------------------ messages

    def first_messages(self, messages: MessagesLike) -> list[Message]:
        convo = list(coerce_messages(messages))
        if self.mode not in ("json", "prompt"):
            return convo  # the schema travels in response_format or the tool definition
        # after the caller's own leading system messages, so theirs keep coming first
        at = 0
        while at < len(convo) and convo[at].role == "system":
            at += 1
        convo.insert(at, Message.system(self.instructions()))
        return convo

    def instructions(self) -> str:
        schema = json.dumps(self.target.schema, separators=(",", ":"), ensure_ascii=False)
        return (
            "Reply with one JSON object and nothing else: no prose before or after it, no code fences. "
            f"It must be valid JSON that matches this JSON Schema:\n{schema}"
        )

    def reask(self, convo: Sequence[Message], response: ChatResponse, problem: str) -> list[Message]:
        """The conversation for the next attempt: the refused reply, then what was wrong."""
        out = [*convo, response.message]
        if response.tool_calls:
            # every call must be answered before the model speaks again
            note = f"Error: {problem}\nCall {self.tool_name or 'the tool'} again with corrected arguments."
            out.extend(Message.tool(c.id, note, name=c.name) for c in response.tool_calls)
            return out
        out.append(
            Message.user(
                f"Your previous reply could not be used: {problem}\n"
                "Reply again with only the corrected JSON object."
            )
        )
        return out

    # ------------------------------------------------------------------ replies

    def reply_text(self, response: ChatResponse) -> str:
        """The text holding the JSON: the forced tool's arguments, or the reply's text."""
        if self.tool_name is not None:
            for call in response.tool_calls:
                if call.name == self.tool_name:
                    return call.arguments
        return response.text

    def judge(self, response: ChatResponse, responses: Sequence[ChatResponse]) -> Verdict:
        """Accept or refuse one reply. Truncation and refusals raise: no re-ask can help."""
        text = self.reply_text(response)
        if response.finish_reason == "length":
            raise OutputTruncatedError(
                f"the model's reply was cut off at its output limit (finish reason 'length') after "
                f"{len(text)} characters, before the {self.target.name} object was complete; "
                "raise max_tokens or ask for a smaller object",
                text=text,
                responses=responses,
                provider=response.provider or None,
                model=response.model or None,
                request_id=response.request_id,
            )
        if response.finish_reason == "content_filter":
            raise ContentFilterError(
                f"the provider's content filter stopped the reply before a {self.target.name} object "
                "was produced",
                provider=response.provider or None,
                model=response.model or None,
                request_id=response.request_id,
            )
        return self.judge_text(text)

    def judge_text(self, text: str) -> Verdict:
        try:
            parsed = parse_json(text)
        except JSONNotFoundError as exc:
            return Verdict(False, problem=f"{exc}; a JSON object was expected.", text=text)
        try:
            value = self.target.validate(parsed.value)
        except ValidationError as exc:
            problem = f"the JSON does not match the schema:\n{format_validation_error(exc)}"
            return Verdict(False, problem=problem, text=text)
        return Verdict(True, value=value, repaired=parsed.repaired, text=text)


def make_plan(
    client: Client,
    response_model: Any,
    model: str | None,
    mode: Mode,
    strict: bool | None,
    params: Mapping[str, Any],
    max_retries: int,
) -> Plan:
    """Check the arguments and decide how to ask. Raises ``ConfigError`` naming the problem."""
    if mode not in MODES:
        raise ConfigError(f"unknown structured-output mode {mode!r}; use one of {', '.join(sorted(MODES))}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigError(
            f"max_retries must be an integer >= 0 (re-asks after the first call), got {max_retries!r}"
        )
    clash = [k for k in _RESERVED if k in params]
    if clash:
        raise ConfigError(
            f"{', '.join(clash)} cannot be given to a structured call: it sets them itself from the "
            "response model and mode (choose mode='native', 'json', 'tool' or 'prompt' instead)"
        )
    target = target_for(response_model)
    resolved: ResolvedMode = (
        mode if mode != "auto" else ("native" if supports_native(client, model) else "json")
    )
    closed = strict_schema(target.schema) if strict is not False else None
    if strict is True and closed is None:
        raise ConfigError(
            f"strict=True, but the schema of {target.name} has an open object (dict[str, ...] or "
            "extra fields allowed), which strict structured outputs cannot express; use strict=None"
        )
    schema = closed if closed is not None else dict(target.schema)
    if resolved == "native":
        fmt = ResponseFormat.json_schema(schema, name=target.name, strict=closed is not None)
        return Plan(target, resolved, {"response_format": fmt})
    if resolved == "json":
        return Plan(target, resolved, {"response_format": ResponseFormat(type="json_object")})
    if resolved == "tool":
        tool = Tool(
            name=target.name,
            description=target.description or f"Give the answer as a {target.name} object.",
            parameters=schema,
            strict=True if closed is not None else None,
        )
        return Plan(target, resolved, {"tools": (tool,), "tool_choice": ForcedTool(target.name)}, target.name)
    return Plan(target, resolved, {})


def supports_native(client: Client, model: str | None) -> bool:
    """Whether every deployment a call to ``model`` may reach (fallbacks included) has
    structured outputs according to the catalog; an unknown model is assumed not to."""
    route = client.route(model)
    routes = [route]
    for name in route.fallbacks:
        try:
            routes.append(client.route(name))
        except LLMRelayError:
            continue  # a fallback that cannot resolve is never reached either
    for r in routes:
        for dep in r.deployments:
            ep = dep.endpoint
            info = client.catalog.lookup(ep.host or ep.provider, ep.model)
            if info is None or not info.supports(NATIVE_CAPABILITY):
                return False
    return True


__all__ = ["NATIVE_CAPABILITY", "Plan", "Verdict", "make_plan", "supports_native"]
