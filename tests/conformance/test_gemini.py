"""The official google-genai SDK (retries off) parses the simulator, and llmrelay's
Gemini adapter gets the same answers from it over real TCP."""

from __future__ import annotations

import json

import jsonschema
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from tests.conformance.conftest import SECRET_KEY, Server, read_as_llmrelay, relay_settings, sse_json
from tests.conformance.test_openai import FILM, WEATHER

import llmrelay
from llmrelay.simulator import Fault, FaultSequence

pytestmark = pytest.mark.sdk

MODEL = "gemini-2.5-flash"
PROMPT = "Hello there, simulator"


def make_sdk(base: str, key: str = "test-gemini-key") -> genai.Client:
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(base_url=base, retry_options=types.HttpRetryOptions(attempts=1)),
    )


@pytest.fixture
def sdk(server: Server) -> genai.Client:
    return make_sdk(server.base)


@pytest.fixture
async def relay(server: Server):
    async with llmrelay.Client(relay_settings(server.base)) as client:
        yield client


def cfg(**kw) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(**kw)


async def test_non_streaming_text(sdk, relay, server: Server) -> None:
    r = await sdk.aio.models.generate_content(
        model=MODEL, contents=PROMPT, config=cfg(max_output_tokens=60, system_instruction="Be brief.")
    )
    sdk_call = server.last()
    assert r.text
    assert r.candidates[0].finish_reason in (types.FinishReason.STOP, types.FinishReason.MAX_TOKENS)
    assert r.usage_metadata.prompt_token_count > 0 and r.usage_metadata.candidates_token_count > 0

    # The SDK's very answer, read by llmrelay's adapter: the same response id as the SDK read
    # (Gemini's simulator, like the API, sends no request-id header: there is none to compare).
    ours, _ = read_as_llmrelay("gemini", sdk_call, MODEL)
    assert r.response_id and ours.id == r.response_id and ours.text == r.text

    mine = await relay.chat(
        [llmrelay.Message.system("Be brief."), llmrelay.Message.user(PROMPT)], model="ge", max_tokens=60
    )
    assert mine.id == server.last().json()["responseId"] != r.response_id
    assert mine.text == r.text
    assert mine.usage is not None
    assert mine.usage.input_tokens == r.usage_metadata.prompt_token_count
    assert mine.usage.output_tokens == r.usage_metadata.candidates_token_count
    assert mine.native_finish_reason == r.candidates[0].finish_reason.value


async def test_streaming_matches_non_streaming(sdk, relay, server: Server) -> None:
    full = await sdk.aio.models.generate_content(
        model=MODEL, contents=PROMPT, config=cfg(max_output_tokens=60)
    )
    chunks = [
        chunk
        async for chunk in await sdk.aio.models.generate_content_stream(
            model=MODEL, contents=PROMPT, config=cfg(max_output_tokens=60)
        )
    ]
    parts = [chunk.text for chunk in chunks if chunk.text]
    assert "".join(parts) == full.text and len(parts) > 1
    parser, _ = read_as_llmrelay("gemini", server.last(), MODEL)
    assert parser.done and {c.response_id for c in chunks} == {parser.response_id}

    s = relay.stream(PROMPT, model="ge", max_tokens=60)
    assert "".join([t async for t in s.text_stream()]) == full.text
    assert s.response is not None and s.response.usage is not None
    sent_ids = {c["responseId"] for c in sse_json(server.last())}
    assert sent_ids == {s.response.id} and s.response.id != parser.response_id
    assert s.response.usage.output_tokens == full.usage_metadata.candidates_token_count


async def test_function_calling_round_trip(sdk, relay) -> None:
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather", description="Weather", parameters_json_schema=WEATHER
            )
        ]
    )
    config = cfg(
        tools=[tool],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    r = await sdk.aio.models.generate_content(model=MODEL, contents="Weather in Oslo?", config=config)
    calls = r.function_calls
    assert calls
    for call in calls:
        assert call.name == "get_weather"
        jsonschema.validate(call.args, WEATHER)

    oa_tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    mine = await relay.chat("Weather in Oslo?", model="ge", tools=oa_tools, tool_choice="required")
    assert mine.finish_reason == "tool_calls"
    assert [json.loads(c.arguments) for c in mine.tool_calls] == [c.args for c in calls]

    follow = [
        llmrelay.Message.user("Weather in Oslo?"),
        mine.message,
        *(llmrelay.Message.tool(c.id, '{"temperature": 21}') for c in mine.tool_calls),
    ]
    answer = await relay.chat(follow, model="ge", tools=oa_tools)
    assert answer.finish_reason == "stop" and answer.text


async def test_json_schema_output(sdk, relay) -> None:
    r = await sdk.aio.models.generate_content(
        model=MODEL,
        contents=PROMPT,
        config=cfg(response_mime_type="application/json", response_json_schema=FILM),
    )
    jsonschema.validate(json.loads(r.text), FILM)
    mine = await relay.chat(PROMPT, model="ge", response_format=llmrelay.ResponseFormat.json_schema(FILM))
    jsonschema.validate(json.loads(mine.text), FILM)


async def test_errors(server: Server, sdk, relay) -> None:
    with pytest.raises(genai_errors.ClientError) as bad:
        await sdk.aio.models.generate_content(model=MODEL, contents=PROMPT, config=cfg(temperature=3.0))
    assert bad.value.code == 400
    server.sim.faults = FaultSequence([Fault.rate_limited(retry_after=4), Fault.error(503)] * 2)
    with pytest.raises(genai_errors.ClientError) as rl:
        await sdk.aio.models.generate_content(model=MODEL, contents=PROMPT)
    assert rl.value.code == 429
    with pytest.raises(genai_errors.ServerError) as unavailable:
        await sdk.aio.models.generate_content(model=MODEL, contents=PROMPT)
    assert unavailable.value.code == 503
    with pytest.raises(llmrelay.RateLimitError) as mine_rl:
        await relay.chat(PROMPT, model="ge")
    assert mine_rl.value.retry_after == pytest.approx(4.0)
    with pytest.raises(llmrelay.ServiceUnavailableError) as mine_503:
        await relay.chat(PROMPT, model="ge")
    assert mine_503.value.status == 503


async def test_cut_stream_is_an_error(server: Server, relay) -> None:
    server.sim.faults = FaultSequence([Fault(kind="cut_stream", after_pieces=4)])
    with pytest.raises(llmrelay.StreamTruncatedError) as cut:
        await relay.stream(PROMPT, model="ge", max_tokens=60).final()
    full = await relay.chat(PROMPT, model="ge", max_tokens=60)
    assert cut.value.partial_text and full.text.startswith(cut.value.partial_text)


async def test_embeddings(sdk, relay) -> None:
    r = await sdk.aio.models.embed_content(model="text-embedding-004", contents=["alpha", "beta"])
    assert len(r.embeddings) == 2
    mine = await relay.embed(["alpha", "beta"], model="ge-embed")
    for mine_vec, theirs in zip(mine.vectors, r.embeddings, strict=True):
        assert list(mine_vec) == pytest.approx(theirs.values)


async def test_authentication(keyed_server: Server) -> None:
    with pytest.raises(genai_errors.APIError) as bad:
        await make_sdk(keyed_server.base, "wrong-key-123456").aio.models.generate_content(
            model=MODEL, contents=PROMPT
        )
    assert bad.value.code in (400, 401, 403)
    ok = await make_sdk(keyed_server.base, SECRET_KEY).aio.models.generate_content(
        model=MODEL, contents=PROMPT
    )
    assert ok.text
