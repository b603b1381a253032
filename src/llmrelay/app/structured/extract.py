"""``extract``: a validated object from a model, re-asking with the errors when it is wrong.

    person = await extract(client, Person, "Ada Lovelace was born in 1815.")
    result = await extract_result(client, list[Person], messages, max_retries=3)
    result.value, result.usage, result.cost, result.attempts

Every call goes through ``client.chat``, so the pipeline's retries, limits, cache, cost
and ledger apply to each attempt, re-asks included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

from llmrelay.app.structured.errors import OutputValidationError
from llmrelay.app.structured.plan import make_plan
from llmrelay.app.structured.result import Extraction, Mode
from llmrelay.messages import MessagesLike
from llmrelay.types import ChatResponse

if TYPE_CHECKING:
    from llmrelay.client import Client

T = TypeVar("T")

#: re-asks after the first call when the reply does not parse or validate
DEFAULT_MAX_RETRIES = 2


@overload
async def extract(
    client: Client,
    response_model: type[T],
    messages: MessagesLike,
    *,
    model: str | None = ...,
    mode: Mode = ...,
    max_retries: int = ...,
    strict: bool | None = ...,
    **params: Any,
) -> T: ...
@overload
async def extract(
    client: Client,
    response_model: Any,
    messages: MessagesLike,
    *,
    model: str | None = ...,
    mode: Mode = ...,
    max_retries: int = ...,
    strict: bool | None = ...,
    **params: Any,
) -> Any: ...
async def extract(
    client: Client,
    response_model: Any,
    messages: MessagesLike,
    *,
    model: str | None = None,
    mode: Mode = "auto",
    max_retries: int = DEFAULT_MAX_RETRIES,
    strict: bool | None = None,
    **params: Any,
) -> Any:
    """The reply as a validated ``response_model`` (see ``extract_result`` for the details,
    usage and cost)."""
    result = await extract_result(
        client,
        response_model,
        messages,
        model=model,
        mode=mode,
        max_retries=max_retries,
        strict=strict,
        **params,
    )
    return result.value


@overload
async def extract_result(
    client: Client,
    response_model: type[T],
    messages: MessagesLike,
    *,
    model: str | None = ...,
    mode: Mode = ...,
    max_retries: int = ...,
    strict: bool | None = ...,
    **params: Any,
) -> Extraction[T]: ...
@overload
async def extract_result(
    client: Client,
    response_model: Any,
    messages: MessagesLike,
    *,
    model: str | None = ...,
    mode: Mode = ...,
    max_retries: int = ...,
    strict: bool | None = ...,
    **params: Any,
) -> Extraction[Any]: ...
async def extract_result(
    client: Client,
    response_model: Any,
    messages: MessagesLike,
    *,
    model: str | None = None,
    mode: Mode = "auto",
    max_retries: int = DEFAULT_MAX_RETRIES,
    strict: bool | None = None,
    **params: Any,
) -> Extraction[Any]:
    """Ask ``model`` for a ``response_model`` and return it validated, with every call made.

    ``response_model`` is any type Pydantic validates: a model, dataclass, TypedDict,
    ``list[Model]``, ``Literal[...]``, an Enum. ``mode`` is ``"auto"`` (the provider's
    structured outputs when the catalog says the model has them, else JSON mode with the
    schema in a system message), ``"native"``, ``"json"``, ``"tool"`` (a forced tool call)
    or ``"prompt"`` (instructions only). ``strict``: None closes the schema for strict
    structured outputs when it can be, False never, True insists. ``params`` go to
    ``client.chat`` (temperature, max_tokens, user, tags, metadata...).

    A reply that is not valid JSON is repaired when it can be (fences, prose, trailing
    commas, single quotes, Python literals); one that still fails is sent back with the
    errors, up to ``max_retries`` times. Raises ``OutputTruncatedError`` when the reply
    was cut by the output limit, ``OutputValidationError`` when no attempt succeeded
    (both carry every call's usage and cost), ``ConfigError`` for bad arguments.
    """
    plan = make_plan(client, response_model, model, mode, strict, params, max_retries)
    convo = plan.first_messages(messages)
    responses: list[ChatResponse] = []
    problems: list[str] = []
    for _ in range(max_retries + 1):
        response = await client.chat(convo, model=model, **plan.params, **params)
        responses.append(response)
        verdict = plan.judge(response, responses)
        if verdict.ok:
            return Extraction(verdict.value, tuple(responses), plan.mode, verdict.repaired)
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


__all__ = ["DEFAULT_MAX_RETRIES", "extract", "extract_result"]
