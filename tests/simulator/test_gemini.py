"""The simulator's Gemini endpoints, driven over an in-process ASGI transport."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import jsonschema
import pydantic
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from llmrelay.simulator import Fault, FaultSequence, Simulator, SimulatorConfig, expected_text
from llmrelay.simulator.responses import SimulatedReset

MODEL = "gemini-2.5-flash"
GENERATE = f"/v1beta/models/{MODEL}:generateContent"
STREAM = f"/v1beta/models/{MODEL}:streamGenerateContent"
KEY = {"x-goog-api-key": "AIza-test"}
WEATHER = {
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER", "minimum": 1, "maximum": 7}},
        "required": ["city", "days"],
    },
}
WEATHER_JSON_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
    "required": ["city", "days"],
}


def body(text: str = "Hello there", **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


def client_for(sim: Simulator) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sim.app), base_url="http://sim")


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    async with client_for(Simulator()) as c:
        yield c


def sse_chunks(raw: str) -> list[dict[str, Any]]:
    assert raw.endswith("\r\n\r\n")
    blocks = raw[: -len("\r\n\r\n")].split("\r\n\r\n")
    assert all(b.startswith("data: ") for b in blocks)
    return [json.loads(b[len("data: ") :]) for b in blocks]


def assert_error(
    response: httpx2.Response, code: int, status: str, message: str | None = None
) -> dict[str, Any]:
    assert response.status_code == code
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    if message is not None:
        assert error["message"] == message
    return dict(error)


# --------------------------------------------------------------------------- generateContent


async def test_generate_content_is_the_engines_reply(client: httpx2.AsyncClient) -> None:
    response = await client.post(GENERATE, headers=KEY, json=body())
    assert response.status_code == 200
    payload = response.json()
    candidate = payload["candidates"][0]
    assert candidate["content"] == {
        "parts": [{"text": expected_text("Hello there", seed=0)}],
        "role": "model",
    }
    assert (candidate["finishReason"], candidate["index"]) == ("STOP", 0)
    usage = payload["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert usage["promptTokensDetails"] == [{"modality": "TEXT", "tokenCount": usage["promptTokenCount"]}]
    assert payload["modelVersion"] == MODEL and payload["responseId"]


async def test_v1_prefix_and_key_query_parameter_work(client: httpx2.AsyncClient) -> None:
    response = await client.post(f"/v1/models/{MODEL}:generateContent?key=AIza-test", json=body())
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == expected_text(
        "Hello there", seed=0
    )


async def test_snake_case_fields_are_accepted(client: httpx2.AsyncClient) -> None:
    request = body(
        generation_config={"max_output_tokens": 4}, system_instruction={"parts": [{"text": "Be brief"}]}
    )
    payload = (await client.post(GENERATE, headers=KEY, json=request)).json()
    assert payload["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert payload["usageMetadata"]["candidatesTokenCount"] == 4


async def test_max_output_tokens_and_stop_sequences(client: httpx2.AsyncClient) -> None:
    limited = (
        await client.post(GENERATE, headers=KEY, json=body(generationConfig={"maxOutputTokens": 3}))
    ).json()
    assert limited["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert limited["candidates"][0]["content"]["parts"][0]["text"] == expected_text(
        "Hello there", seed=0, max_tokens=3
    )
    full = expected_text("Hello there", seed=0)
    word = full.split()[3]
    stopped = await client.post(GENERATE, headers=KEY, json=body(generationConfig={"stopSequences": [word]}))
    candidate = stopped.json()["candidates"][0]
    assert candidate["finishReason"] == "STOP"
    assert candidate["content"]["parts"][0]["text"] == full[: full.index(word)]


async def test_candidate_count_gives_distinct_candidates(client: httpx2.AsyncClient) -> None:
    payload = (
        await client.post(GENERATE, headers=KEY, json=body(generationConfig={"candidateCount": 3}))
    ).json()
    texts = [c["content"]["parts"][0]["text"] for c in payload["candidates"]]
    assert [c["index"] for c in payload["candidates"]] == [0, 1, 2]
    assert len(set(texts)) == 3 and texts[0] == expected_text("Hello there", seed=0)


async def test_function_call_args_follow_the_declaration(client: httpx2.AsyncClient) -> None:
    request = body(tools=[{"functionDeclarations": [WEATHER]}])
    candidate = (await client.post(GENERATE, headers=KEY, json=request)).json()["candidates"][0]
    calls = [p["functionCall"] for p in candidate["content"]["parts"]]
    assert calls and all(c["name"] == "get_weather" for c in calls)
    for call in calls:
        jsonschema.validate(call["args"], WEATHER_JSON_SCHEMA)
    assert candidate["finishReason"] == "STOP"


async def test_parameters_json_schema_is_used_as_is(client: httpx2.AsyncClient) -> None:
    declaration = {"name": "get_weather", "parametersJsonSchema": WEATHER_JSON_SCHEMA}
    candidate = (
        await client.post(GENERATE, headers=KEY, json=body(tools=[{"functionDeclarations": [declaration]}]))
    ).json()["candidates"][0]
    jsonschema.validate(candidate["content"]["parts"][0]["functionCall"]["args"], WEATHER_JSON_SCHEMA)


async def test_function_calling_modes(client: httpx2.AsyncClient) -> None:
    clock = {"name": "get_time", "parameters": {"type": "OBJECT", "properties": {}}}
    tools = [{"functionDeclarations": [WEATHER, clock]}]
    none = body(tools=tools, toolConfig={"functionCallingConfig": {"mode": "NONE"}})
    parts = (await client.post(GENERATE, headers=KEY, json=none)).json()["candidates"][0]["content"]["parts"]
    assert "text" in parts[0]
    only_clock = body(
        tools=tools,
        toolConfig={"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}},
    )
    parts = (await client.post(GENERATE, headers=KEY, json=only_clock)).json()["candidates"][0]["content"][
        "parts"
    ]
    assert [p["functionCall"]["name"] for p in parts] == ["get_time"]


async def test_function_response_turn_gets_text(client: httpx2.AsyncClient) -> None:
    history = {
        "contents": [
            {"role": "user", "parts": [{"text": "Weather?"}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Oslo", "days": 1}}}],
            },
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "get_weather", "response": {"sky": "clear"}}}],
            },
        ],
        "tools": [{"functionDeclarations": [WEATHER]}],
    }
    parts = (await client.post(GENERATE, headers=KEY, json=history)).json()["candidates"][0]["content"][
        "parts"
    ]
    assert "text" in parts[0]


async def test_response_schema_and_json_schema(client: httpx2.AsyncClient) -> None:
    config = {"responseMimeType": "application/json", "responseSchema": WEATHER["parameters"]}
    text = (await client.post(GENERATE, headers=KEY, json=body(generationConfig=config))).json()[
        "candidates"
    ][0]
    jsonschema.validate(json.loads(text["content"]["parts"][0]["text"]), WEATHER_JSON_SCHEMA)
    config = {"responseMimeType": "application/json", "responseJsonSchema": WEATHER_JSON_SCHEMA}
    text = (await client.post(GENERATE, headers=KEY, json=body(generationConfig=config))).json()[
        "candidates"
    ][0]
    jsonschema.validate(json.loads(text["content"]["parts"][0]["text"]), WEATHER_JSON_SCHEMA)
    plain_json = body(generationConfig={"responseMimeType": "application/json"})
    text = (await client.post(GENERATE, headers=KEY, json=plain_json)).json()["candidates"][0]
    assert isinstance(json.loads(text["content"]["parts"][0]["text"]), dict)


async def test_enum_mime_type_answers_a_bare_value(client: httpx2.AsyncClient) -> None:
    config = {
        "responseMimeType": "text/x.enum",
        "responseSchema": {"type": "STRING", "enum": ["red", "green"]},
    }
    payload = (await client.post(GENERATE, headers=KEY, json=body(generationConfig=config))).json()
    assert payload["candidates"][0]["content"]["parts"][0]["text"] in ("red", "green")


# --------------------------------------------------------------------------- streaming


async def test_sse_stream_chunks_end_with_finish_reason_and_usage(client: httpx2.AsyncClient) -> None:
    response = await client.post(f"{STREAM}?alt=sse", headers=KEY, json=body())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = sse_chunks(response.text)
    assert len(chunks) > 3
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert text == expected_text("Hello there", seed=0)
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    assert all("candidatesTokenCount" not in c["usageMetadata"] for c in chunks[:-1])
    last = chunks[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"]["candidatesTokenCount"] == len(chunks)
    assert len({c["responseId"] for c in chunks}) == 1


async def test_stream_without_alt_sse_is_one_json_array(client: httpx2.AsyncClient) -> None:
    response = await client.post(STREAM, headers=KEY, json=body(generationConfig={"maxOutputTokens": 5}))
    assert response.headers["content-type"].startswith("application/json")
    chunks = response.json()
    assert isinstance(chunks, list) and len(chunks) == 5
    assert chunks[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"


async def test_stream_function_calls_arrive_whole_in_the_last_chunk(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        f"{STREAM}?alt=sse", headers=KEY, json=body(tools=[{"functionDeclarations": [WEATHER]}])
    )
    chunks = sse_chunks(response.text)
    calls = [p["functionCall"] for p in chunks[-1]["candidates"][0]["content"]["parts"]]
    assert calls and chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    for call in calls:
        jsonschema.validate(call["args"], WEATHER_JSON_SCHEMA)


async def test_stream_is_paced() -> None:
    sim = Simulator(SimulatorConfig(tokens_per_second=400.0))
    async with client_for(sim) as c:
        started = time.perf_counter()
        response = await c.post(
            f"{STREAM}?alt=sse", headers=KEY, json=body(generationConfig={"maxOutputTokens": 20})
        )
    assert response.status_code == 200
    assert time.perf_counter() - started >= 19 / 400
    assert sim.stats.streams_completed == 1


# --------------------------------------------------------------------------- other methods


async def test_count_tokens_matches_prompt_usage(client: httpx2.AsyncClient) -> None:
    request = body(systemInstruction={"parts": [{"text": "Be brief"}]})
    used = (await client.post(GENERATE, headers=KEY, json=request)).json()["usageMetadata"][
        "promptTokenCount"
    ]
    wrapped = await client.post(
        f"/v1beta/models/{MODEL}:countTokens",
        headers=KEY,
        json={"generateContentRequest": {"model": f"models/{MODEL}", **request}},
    )
    assert wrapped.json()["totalTokens"] == used
    plain = await client.post(f"/v1beta/models/{MODEL}:countTokens", headers=KEY, json=body())
    assert 0 < plain.json()["totalTokens"] < used
    assert plain.json()["promptTokensDetails"][0]["modality"] == "TEXT"


async def test_inline_media_is_billed_as_prompt_tokens(client: httpx2.AsyncClient) -> None:
    url = f"/v1beta/models/{MODEL}:countTokens"
    plain = (await client.post(url, headers=KEY, json=body())).json()["totalTokens"]
    picture = {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    request = {"contents": [{"role": "user", "parts": [picture, {"text": "Hello there"}]}]}
    assert (await client.post(url, headers=KEY, json=request)).json()["totalTokens"] == plain + 85


async def test_embeddings_are_deterministic_unit_vectors(client: httpx2.AsyncClient) -> None:
    url = "/v1beta/models/text-embedding-004"
    one = await client.post(
        f"{url}:embedContent", headers=KEY, json={"content": {"parts": [{"text": "cat"}]}}
    )
    values = one.json()["embedding"]["values"]
    assert len(values) == 768
    assert sum(v * v for v in values) == pytest.approx(1.0, abs=1e-5)
    requests = [
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": t}]}, "outputDimensionality": 8}
        for t in ("cat", "dog")
    ]
    batch = (await client.post(f"{url}:batchEmbedContents", headers=KEY, json={"requests": requests})).json()
    assert [len(e["values"]) for e in batch["embeddings"]] == [8, 8]
    assert batch["embeddings"][0] != batch["embeddings"][1]
    mismatch = [{**requests[0], "model": "models/other"}]
    refused = await client.post(f"{url}:batchEmbedContents", headers=KEY, json={"requests": mismatch})
    assert_error(refused, 400, "INVALID_ARGUMENT")


async def test_model_listing_and_lookup(client: httpx2.AsyncClient) -> None:
    listed = (await client.get("/v1beta/models", headers=KEY)).json()["models"]
    assert f"models/{MODEL}" in {m["name"] for m in listed}
    one = (await client.get(f"/v1beta/models/{MODEL}", headers=KEY)).json()
    assert "generateContent" in one["supportedGenerationMethods"]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"contents": []}, "* GenerateContentRequest.contents: contents is not specified\n"),
        (
            {"contents": [{"role": "user", "parts": []}]},
            "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n",
        ),
        ({"contents": [{"role": "user", "parts": [{}]}]}, None),
        (
            {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
            "Please use a valid role: user, model.",
        ),
        (body(generationConfig={"temperature": 2.5}), None),
        (body(generationConfig={"stopSequences": ["a", "b", "c", "d", "e", "f"]}), None),
        (body(generationConfig={"candidateCount": 9}), None),
        (body(generationConfig={"responseMimeType": "text/html"}), None),
        (body(generationConfig={"responseSchema": {"type": "OBJECT"}}), None),
        (
            body(
                generationConfig={"responseMimeType": "application/json", "responseSchema": {"type": "THING"}}
            ),
            None,
        ),
        (body(tools=[{"functionDeclarations": [{"name": "9lives"}]}]), None),
        (
            body(
                tools=[{"functionDeclarations": [WEATHER]}],
                toolConfig={
                    "functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["get_weather"]}
                },
            ),
            None,
        ),
    ],
)
async def test_invalid_requests_are_refused_like_the_api(
    client: httpx2.AsyncClient, request_body: dict[str, Any], message: str | None
) -> None:
    assert_error(
        await client.post(GENERATE, headers=KEY, json=request_body), 400, "INVALID_ARGUMENT", message
    )


async def test_function_call_turn_order_is_checked(client: httpx2.AsyncClient) -> None:
    call = {"functionCall": {"name": "get_weather", "args": {}}}
    first = {"contents": [{"role": "model", "parts": [call]}]}
    error = assert_error(await client.post(GENERATE, headers=KEY, json=first), 400, "INVALID_ARGUMENT")
    assert "function call turn comes immediately after a user turn" in error["message"]
    unanswered = {
        "contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [call, call]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {}}}]},
        ]
    }
    error = assert_error(await client.post(GENERATE, headers=KEY, json=unanswered), 400, "INVALID_ARGUMENT")
    assert (
        "number of function response parts is equal to the number of function call parts" in error["message"]
    )


async def test_context_window_and_unknown_model() -> None:
    sim = Simulator(SimulatorConfig(context_window=20, models={MODEL}))
    async with client_for(sim) as c:
        long = await c.post(GENERATE, headers=KEY, json=body("word " * 40))
        error = assert_error(long, 400, "INVALID_ARGUMENT")
        assert error["message"].startswith("The input token count (") and error["message"].endswith(
            "allowed (20)."
        )
        missing = await c.post("/v1beta/models/gemini-nope:generateContent", headers=KEY, json=body())
        assert_error(
            missing,
            404,
            "NOT_FOUND",
            "models/gemini-nope is not found for API version v1beta, or is not supported for "
            "generateContent. Call ListModels to see the list of available models and their supported "
            "methods.",
        )


async def test_bad_paths_and_bodies(client: httpx2.AsyncClient) -> None:
    assert_error(
        await client.post(f"/v1beta/models/{MODEL}:summon", headers=KEY, json=body()), 404, "NOT_FOUND"
    )
    assert_error(await client.get("/v1beta/files/nothing", headers=KEY), 404, "NOT_FOUND")
    assert_error(await client.get(GENERATE, headers=KEY), 404, "NOT_FOUND")
    broken = await client.post(GENERATE, headers=KEY, content=b"{oops")
    assert assert_error(broken, 400, "INVALID_ARGUMENT")["message"].startswith(
        "Invalid JSON payload received."
    )


async def test_keys_are_enforced_when_configured() -> None:
    sim = Simulator(SimulatorConfig(api_keys={"AIza-good"}))
    async with client_for(sim) as c:
        missing = assert_error(await c.post(GENERATE, json=body()), 403, "PERMISSION_DENIED")
        assert "unregistered callers" in missing["message"]
        wrong = await c.post(GENERATE, headers={"x-goog-api-key": "AIza-bad"}, json=body())
        error = assert_error(
            wrong, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."
        )
        assert error["details"][0]["reason"] == "API_KEY_INVALID"
        assert "AIza-bad" not in wrong.text
        assert (
            await c.post(GENERATE, headers={"x-goog-api-key": "AIza-good"}, json=body())
        ).status_code == 200
        assert (await c.post(f"{GENERATE}?key=AIza-good", json=body())).status_code == 200
    assert sim.stats.requests["gemini"] == 2


# --------------------------------------------------------------------------- faults


async def _faulty(
    fault: Fault, path: str, request_body: dict[str, Any], **config: Any
) -> tuple[Simulator, httpx2.Response]:
    sim = Simulator(SimulatorConfig(**config), faults=FaultSequence([fault]))
    async with client_for(sim) as c:
        return sim, await c.post(path, headers=KEY, json=request_body)


async def test_rate_limit_fault_has_retry_info() -> None:
    _, response = await _faulty(Fault.rate_limited(retry_after=14.2), GENERATE, body())
    error = assert_error(response, 429, "RESOURCE_EXHAUSTED")
    retry = [d for d in error["details"] if d["@type"] == "type.googleapis.com/google.rpc.RetryInfo"]
    assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "15s"}]


@pytest.mark.parametrize(
    ("status", "code", "name"), [(503, 503, "UNAVAILABLE"), (529, 503, "UNAVAILABLE"), (500, 500, "INTERNAL")]
)
async def test_status_faults_use_google_rpc_statuses(status: int, code: int, name: str) -> None:
    _, response = await _faulty(Fault.error(status), GENERATE, body())
    assert_error(response, code, name)


async def test_hang_reset_and_malformed_unary_faults() -> None:
    started = time.perf_counter()
    _, hung = await _faulty(Fault("hang"), GENERATE, body(), hang_seconds=0.2)
    assert time.perf_counter() - started >= 0.2 and hung.status_code == 200
    with pytest.raises(SimulatedReset):
        await _faulty(Fault("reset"), GENERATE, body())
    _, garbled = await _faulty(Fault("malformed"), GENERATE, body())
    with pytest.raises(json.JSONDecodeError):
        garbled.json()


async def test_cut_stream_never_sends_the_finish_chunk() -> None:
    sim, response = await _faulty(Fault("cut_stream", after_pieces=3), f"{STREAM}?alt=sse", body())
    chunks = sse_chunks(response.text)
    assert len(chunks) == 3
    assert all("finishReason" not in c["candidates"][0] for c in chunks)
    assert sim.stats.streams_cut == 1


async def test_stream_error_fault_sends_an_error_chunk() -> None:
    _, response = await _faulty(Fault("stream_error", after_pieces=2), f"{STREAM}?alt=sse", body())
    chunks = sse_chunks(response.text)
    assert len(chunks) == 3
    assert chunks[-1]["error"]["code"] == 503 and chunks[-1]["error"]["status"] == "UNAVAILABLE"
    _, array = await _faulty(Fault("stream_error", after_pieces=2), STREAM, body())
    assert array.json()[-1]["error"]["status"] == "UNAVAILABLE"


async def test_malformed_fault_garbles_one_chunk_and_carries_on() -> None:
    _, response = await _faulty(Fault("malformed", after_pieces=1), f"{STREAM}?alt=sse", body())
    blocks = response.text[:-4].split("\r\n\r\n")
    decoded = []
    for block in blocks:
        try:
            decoded.append(json.loads(block[6:]))
        except json.JSONDecodeError:
            decoded.append(None)
    assert decoded.count(None) == 1 and decoded[1] is None
    assert decoded[-1]["candidates"][0]["finishReason"] == "STOP"


# --------------------------------------------------------------------------- the official SDK


def sdk_client(sim: Simulator) -> genai.Client:
    options = types.HttpOptions(base_url="http://sim", httpx_async_client=client_for(sim))
    return genai.Client(api_key="AIza-test", http_options=options)


class Person(pydantic.BaseModel):
    name: str
    age: int


@pytest.mark.sdk
async def test_sdk_parses_generate_and_stream() -> None:
    sdk = sdk_client(Simulator())
    reply = await sdk.aio.models.generate_content(model=MODEL, contents="Hello there")
    assert reply.text == expected_text("Hello there", seed=0)
    assert reply.usage_metadata is not None and reply.usage_metadata.candidates_token_count
    pieces = [
        chunk.text
        async for chunk in await sdk.aio.models.generate_content_stream(model=MODEL, contents="Hello there")
    ]
    assert "".join(p or "" for p in pieces) == reply.text


@pytest.mark.sdk
async def test_sdk_structured_output_tools_embeddings_and_tokens() -> None:
    sdk = sdk_client(Simulator())
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=Person)
    parsed = (await sdk.aio.models.generate_content(model=MODEL, contents="Who?", config=config)).parsed
    assert isinstance(parsed, Person)
    declaration = types.FunctionDeclaration(name="get_weather", parameters_json_schema=WEATHER_JSON_SCHEMA)
    tool_config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])])
    calls = (
        await sdk.aio.models.generate_content(model=MODEL, contents="Weather?", config=tool_config)
    ).function_calls
    assert calls and calls[0].name == "get_weather"
    embedded = await sdk.aio.models.embed_content(model="text-embedding-004", contents=["a", "b"])
    assert embedded.embeddings is not None and len(embedded.embeddings) == 2
    counted = await sdk.aio.models.count_tokens(model=MODEL, contents="Hello there")
    assert counted.total_tokens


@pytest.mark.sdk
async def test_sdk_maps_errors() -> None:
    sdk = sdk_client(Simulator(faults=FaultSequence([Fault.rate_limited()])))
    with pytest.raises(genai_errors.ClientError) as limited:
        await sdk.aio.models.generate_content(model=MODEL, contents="hi")
    assert limited.value.code == 429 and limited.value.status == "RESOURCE_EXHAUSTED"
    bad = types.GenerateContentConfig(temperature=5)
    with pytest.raises(genai_errors.ClientError) as refused:
        await sdk.aio.models.generate_content(model=MODEL, contents="hi", config=bad)
    assert refused.value.code == 400
