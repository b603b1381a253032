"""Sending a rendered prompt through a Client, with its name and version recorded on the call.

The call goes through the public ``Client.chat`` / ``Client.stream``, so retries, limits,
cost and the ledger apply as for any call. The prompt's name and version travel as request
metadata (``prompt``, ``prompt_version``): the ledger stores them, and ``llmrelay usage
--by prompt`` totals by them. The caller's own metadata is kept; the prompt's two keys win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmrelay.app.prompts.template import RenderedPrompt
from llmrelay.types import ChatResponse, Message, Usage

if TYPE_CHECKING:
    from llmrelay.client import Client
    from llmrelay.stream import ChatStream


@dataclass(frozen=True, slots=True)
class PromptResponse:
    """A chat response together with the prompt version that produced it."""

    response: ChatResponse
    prompt: str
    version: str
    experiment: str | None = None

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def usage(self) -> Usage | None:
        return self.response.usage

    @property
    def cost(self) -> float | None:
        return self.response.cost

    @property
    def message(self) -> Message:
        return self.response.message


def call_arguments(
    prompt: RenderedPrompt,
    *,
    history: Sequence[Message] = (),
    model: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> tuple[list[Message], dict[str, Any]]:
    """The messages and keyword arguments of ``Client.chat`` for ``prompt`` (pure).

    Messages are the system part, then ``history`` (earlier turns), then the user part.
    The template's model and params are defaults; ``model`` and ``params`` override them.
    """
    messages = [Message.system(prompt.system)] if prompt.system else []
    messages.extend(history)
    if prompt.user:
        messages.append(Message.user(prompt.user))
    kwargs: dict[str, Any] = {**prompt.params, **(params or {})}
    caller_meta = kwargs.pop("metadata", None) or {}
    kwargs["metadata"] = {**caller_meta, **prompt.metadata}
    chosen = model or prompt.model
    if chosen is not None:
        kwargs["model"] = chosen
    return messages, kwargs


async def chat_prompt(
    client: Client,
    prompt: RenderedPrompt,
    *,
    history: Sequence[Message] = (),
    model: str | None = None,
    **params: Any,
) -> PromptResponse:
    """Send ``prompt`` with ``client.chat`` and return the reply with the prompt's identity."""
    messages, kwargs = call_arguments(prompt, history=history, model=model, params=params)
    response = await client.chat(messages, **kwargs)
    return PromptResponse(response, prompt.name, prompt.version, prompt.experiment)


def stream_prompt(
    client: Client,
    prompt: RenderedPrompt,
    *,
    history: Sequence[Message] = (),
    model: str | None = None,
    **params: Any,
) -> ChatStream:
    """Stream ``prompt`` with ``client.stream``; the call's metadata names the prompt."""
    messages, kwargs = call_arguments(prompt, history=history, model=model, params=params)
    return client.stream(messages, **kwargs)
