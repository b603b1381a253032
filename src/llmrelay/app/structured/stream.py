"""``extract_stream``: partial objects while the reply streams, then the validated one.

    stream = extract_stream(client, Report, "Summarize the incident.")
    async for partial in stream:       # PartialReport objects, fields filled as they arrive,
        render(partial)                # then the validated Report as the last item
    result = await stream.final()      # Extraction[Report]: value, usage, cost, attempts

When a reply fails validation, the model is re-asked on a new stream and the partial
objects start again from empty (``stream.attempt`` counts the attempts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from llmrelay.app.structured.errors import OutputValidationError
from llmrelay.app.structured.extract import DEFAULT_MAX_RETRIES
from llmrelay.app.structured.parse import partial_json
from llmrelay.app.structured.partial import PartialBuilder
from llmrelay.app.structured.plan import Plan, make_plan
from llmrelay.app.structured.result import Extraction, Mode
from llmrelay.messages import MessagesLike
from llmrelay.types import ChatResponse, Message, TextDelta, ToolCallDelta

if TYPE_CHECKING:
    from llmrelay.client import Client
    from llmrelay.stream import ChatStream

T = TypeVar("T")


class ExtractStream(Generic[T]):
    """An async iterator of partial objects; the last item is the validated value.

    For a Pydantic model (or a list of them) the partial objects are instances of a
    lenient copy of the model (``PartialPerson``: the same fields, each None until it
    arrives, no validators); for other types they are the JSON value so far. A new
    partial is yielded only when something changed. ``await final()`` drains the stream
    and returns the ``Extraction``; leaving ``async with`` or ``aclose()`` stops it.
    """

    def __init__(
        self,
        client: Client,
        plan: Plan,
        messages: list[Message],
        *,
        model: str | None,
        max_retries: int,
        params: dict[str, Any],
    ) -> None:
        self._client = client
        self._plan = plan
        self._messages = messages
        self._model = model
        self._max_retries = max_retries
        self._params = params
        self._builder = PartialBuilder(plan.target.type, wrapped=plan.target.wrapped)
        self._current: ChatStream | None = None
        self._iterator: AsyncIterator[Any] | None = None
        self._done = False
        #: 1 while the first reply streams, 2 during the first re-ask, ...
        self.attempt = 0
        self.result: Extraction[T] | None = None

    def __aiter__(self) -> ExtractStream[T]:
        return self

    async def __anext__(self) -> Any:
        if self._iterator is None:
            self._iterator = self._run()
        return await self._iterator.__anext__()

    async def final(self) -> Extraction[T]:
        """Consume what is left and return the validated value with every call's usage and cost."""
        async for _ in self:
            pass
        if self.result is None:
            raise RuntimeError("the extraction stream was closed before it completed; there is no result")
        return self.result

    async def aclose(self) -> None:
        """Stop reading (the open provider stream is closed, which stops generation)."""
        if self._current is not None:
            await self._current.aclose()
        if self._iterator is not None and hasattr(self._iterator, "aclose"):
            await self._iterator.aclose()
        self._done = True

    async def __aenter__(self) -> ExtractStream[T]:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ internals

    async def _run(self) -> AsyncIterator[Any]:
        plan = self._plan
        convo = self._messages
        responses: list[ChatResponse] = []
        problems: list[str] = []
        for _ in range(self._max_retries + 1):
            if self._done:
                return
            self.attempt += 1
            stream = self._client.stream(convo, model=self._model, **plan.params, **self._params)
            self._current = stream
            async with stream:
                async for partial in self._partials(stream):
                    yield partial
                response = stream.response
            self._current = None
            if response is None:  # closed by the caller while streaming
                return
            responses.append(response)
            verdict = plan.judge(response, responses)
            if verdict.ok:
                self.result = Extraction(verdict.value, tuple(responses), plan.mode, verdict.repaired)
                yield verdict.value
                return
            problems.append(verdict.problem)
            convo = plan.reask(convo, response, verdict.problem)
        raise OutputValidationError(
            f"no valid {plan.target.name} after {len(responses)} attempt(s); the last reply was refused "
            f"because {problems[-1]}",
            text=plan.reply_text(responses[-1]),
            problems=problems,
            responses=responses,
            provider=responses[-1].provider or None,
            model=responses[-1].model or None,
        )

    async def _partials(self, stream: ChatStream) -> AsyncIterator[Any]:
        """Partial objects from one provider stream, each different from the one before."""
        tool_name = self._plan.tool_name
        tool_index: int | None = None  # the index of the call to the forced tool, once named
        pieces: list[str] = []
        last: Any = None
        async for event in stream:
            # other event kinds (reasoning, usage, finish, start/end markers) carry no JSON
            if tool_name is not None and isinstance(event, ToolCallDelta):
                if tool_index is None and event.name == tool_name:
                    tool_index = event.index
                if event.index != tool_index or not event.arguments:
                    continue
                pieces.append(event.arguments)
            elif tool_name is None and isinstance(event, TextDelta):
                pieces.append(event.text)
            else:
                continue
            data = partial_json("".join(pieces))
            if data is None or data == last:
                continue
            partial = self._builder.build(data)
            if partial is None:
                continue
            last = data
            yield partial


@overload
def extract_stream(
    client: Client,
    response_model: type[T],
    messages: MessagesLike,
    *,
    model: str | None = ...,
    mode: Mode = ...,
    max_retries: int = ...,
    strict: bool | None = ...,
    **params: Any,
) -> ExtractStream[T]: ...
@overload
def extract_stream(
    client: Client,
    response_model: Any,
    messages: MessagesLike,
    *,
    model: str | None = ...,
    mode: Mode = ...,
    max_retries: int = ...,
    strict: bool | None = ...,
    **params: Any,
) -> ExtractStream[Any]: ...
def extract_stream(
    client: Client,
    response_model: Any,
    messages: MessagesLike,
    *,
    model: str | None = None,
    mode: Mode = "auto",
    max_retries: int = DEFAULT_MAX_RETRIES,
    strict: bool | None = None,
    **params: Any,
) -> ExtractStream[Any]:
    """Stream a ``response_model``: partial objects as the reply arrives, then the validated
    value. Arguments, modes, re-asks and errors are those of ``extract_result``; the
    arguments are checked now, and the first request is sent on first iteration."""
    plan = make_plan(client, response_model, model, mode, strict, params, max_retries)
    return ExtractStream(
        client,
        plan,
        plan.first_messages(messages),
        model=model,
        max_retries=max_retries,
        params=dict(params),
    )


__all__ = ["ExtractStream", "extract_stream"]
