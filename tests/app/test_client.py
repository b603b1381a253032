"""``llmrelay.Client`` carries the toolkit as methods over the pipeline's client."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

import llmrelay
from llmrelay.app.client import Client
from llmrelay.client import Client as PipelineClient


class City(BaseModel):
    name: str
    country: str


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def test_the_public_client_is_the_pipeline_client_with_the_toolkit() -> None:
    assert llmrelay.Client is Client and issubclass(Client, PipelineClient)
    async with llmrelay.Client() as client:
        result = await client.extract_result(City, "Paris is the capital of France.")
        assert isinstance(result.value, City) and result.usage is not None
        run = await client.run_tools("What is 2 + 3?", tools=[add])
        assert run.text is not None


async def test_batch_is_a_method_too(tmp_path) -> None:
    async with llmrelay.Client() as client:
        report = await client.batch(["one", "two", "three"], output=tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 3 and report is not None


async def test_chat_with_a_response_model_returns_the_validated_object() -> None:
    async with llmrelay.Client() as client:
        reply = await client.chat("Paris is the capital of France.", response_model=City)
        plain = await client.chat("Paris is the capital of France.")
        request = llmrelay.ChatRequest(model="local", messages=(llmrelay.Message.user("hi"),))
        with pytest.raises(llmrelay.InvalidRequestError, match="not a prepared ChatRequest"):
            await client.chat(request, response_model=City)
    assert isinstance(reply.parsed, City) and reply.text
    assert City.model_validate_json(reply.text) == reply.parsed  # the reply it was validated from
    assert plain.parsed is None
