"""The Client with its toolkit: ``llmrelay.Client``.

The pipeline's client (``llmrelay.client.Client``) knows nothing of the toolkit above
it; this class adds the toolkit's entry points as methods, each a thin call of the
function of the same name with the client as its first argument, so the toolkit stays
on the public API and inherits retries, limits, budgets, cost and the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from llmrelay.client import Client as PipelineClient
from llmrelay.errors import InvalidRequestError
from llmrelay.messages import MessagesLike
from llmrelay.types import ChatRequest, ChatResponse

if TYPE_CHECKING:  # the toolkit loads on first use: ``import llmrelay`` and Client() stay light
    from llmrelay.app.batch import BatchReport
    from llmrelay.app.structured import Extraction, ExtractStream
    from llmrelay.app.tools import ToolRun

T = TypeVar("T")


class Client(PipelineClient):
    """``llmrelay.client.Client`` plus the toolkit (see ``docs/structured-output.md`` and
    ``docs/tools.md``)."""

    async def chat(
        self,
        messages: MessagesLike | ChatRequest,
        *,
        model: str | None = None,
        response_model: Any = None,
        **params: Any,
    ) -> ChatResponse:
        """``llmrelay.client.Client.chat``; with ``response_model``, the reply is validated
        into it (re-asked on a validation failure, as ``extract`` does) and the accepted
        response comes back with the object as ``parsed``. Its usage and cost are the
        accepted call's; ``extract_result`` sums every attempt's."""
        if response_model is None:
            return await super().chat(messages, model=model, **params)
        if isinstance(messages, ChatRequest):
            raise InvalidRequestError(
                "chat(response_model=...) takes messages, not a prepared ChatRequest; "
                + "give the request's messages and parameters instead"
            )
        result = await self.extract_result(response_model, messages, model=model, **params)
        return replace(result.response, parsed=result.value)

    async def extract(self, response_model: type[T], messages: MessagesLike, **kw: Any) -> T:
        """A validated ``response_model`` from the model's reply (see ``llmrelay.app.structured.extract``)."""
        from llmrelay.app.structured import extract

        value: T = await extract(self, response_model, messages, **kw)
        return value

    async def extract_result(
        self, response_model: type[T], messages: MessagesLike, **kw: Any
    ) -> Extraction[T]:
        """Like ``extract``, with every attempt's usage, cost and responses."""
        from llmrelay.app.structured import extract_result

        result: Extraction[T] = await extract_result(self, response_model, messages, **kw)
        return result

    def extract_stream(self, response_model: type[T], messages: MessagesLike, **kw: Any) -> ExtractStream[T]:
        """Partial objects as the reply streams in, then the validated one."""
        from llmrelay.app.structured import extract_stream

        stream: ExtractStream[T] = extract_stream(self, response_model, messages, **kw)
        return stream

    async def run_tools(self, messages: MessagesLike, *, tools: Sequence[Any], **kw: Any) -> ToolRun:
        """Run the model with ``tools`` until it answers (see ``llmrelay.app.tools.run_tools``)."""
        from llmrelay.app.tools import run_tools

        return await run_tools(self, messages, tools=tools, **kw)

    async def batch(self, requests: Any, **kw: Any) -> BatchReport:
        """Run many requests, resumably, in input order (see ``llmrelay.app.batch.run_batch``)."""
        from llmrelay.app.batch import run_batch

        return await run_batch(self, requests, **kw)
