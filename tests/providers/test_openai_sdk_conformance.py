"""Our requests against the official ``openai`` SDK's: for the same call, the same URL,
auth header and JSON body. The SDK is driven through an in-memory transport (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from llmrelay.hosts import HOSTS
from llmrelay.providers.openai import OpenAIAdapter
from llmrelay.secrets import Secret
from llmrelay.types import (
    ChatRequest,
    EmbeddingRequest,
    ForcedTool,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
)
from llmrelay.wire import Endpoint, HttpRequest

pytestmark = pytest.mark.sdk

ADAPTER = OpenAIAdapter()
COMPLETION = {
    "id": "x",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
}
EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "embedding": [0.0], "index": 0}],
    "model": "m",
}


def capture(reply: dict[str, Any]) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=reply)

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def sdk_request(
    make: Callable[[httpx.Client], Any], call: Callable[[Any], Any], reply: dict[str, Any]
) -> httpx.Request:
    client, seen = capture(reply)
    call(make(client))
    assert len(seen) == 1
    return seen[0]


def assert_same(ours: HttpRequest, theirs: httpx.Request, auth_header: str) -> None:
    assert ours.url == str(theirs.url)
    assert ours.body is not None
    assert json.loads(ours.body) == json.loads(theirs.content)
    ours_headers = {k.lower(): v for k, v in ours.headers.items()}
    assert ours_headers[auth_header] == theirs.headers[auth_header]
    assert ours_headers["content-type"] == theirs.headers["content-type"]


WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def test_full_chat_request_matches_the_sdk() -> None:
    # as the resolver builds it: the "openai" host row's options included
    ep = Endpoint(
        "openai",
        "gpt-4o",
        "https://api.openai.com/v1",
        api_key=Secret("sk-conf-123456"),
        host="openai",
        options=HOSTS["openai"].options,
    )
    call_ = ToolCall(id="call_1", name="weather", arguments='{"city":"Paris"}')
    req = ChatRequest(
        model="alias",
        messages=[
            Message.system("Be brief."),
            Message.user([TextPart("What is this?"), ImagePart(url="https://e.x/a.png", detail="low")]),
            Message.assistant(tool_calls=[call_]),
            Message.tool("call_1", "18C"),
        ],
        temperature=0.3,
        top_p=0.8,
        max_tokens=64,
        stop=["END"],
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        tools=[Tool("weather", "Weather by city", WEATHER, strict=True)],
        tool_choice=ForcedTool("weather"),
        parallel_tool_calls=False,
        response_format=ResponseFormat.json_schema(WEATHER, name="w"),
        user="u-1",
    )
    ours = ADAPTER.chat_request(req, ep, stream=False)
    theirs = sdk_request(
        lambda http: openai.OpenAI(api_key="sk-conf-123456", base_url=ep.base_url, http_client=http),
        lambda client: client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": "Be brief."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "https://e.x/a.png", "detail": "low"}},
                    ],
                },
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            ],
            temperature=0.3,
            top_p=0.8,
            max_completion_tokens=64,
            stop=["END"],
            seed=7,
            presence_penalty=0.1,
            frequency_penalty=0.2,
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "weather",
                        "description": "Weather by city",
                        "parameters": WEATHER,
                        "strict": True,
                    },
                }
            ],
            tool_choice={"type": "function", "function": {"name": "weather"}},
            parallel_tool_calls=False,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "w", "schema": WEATHER, "strict": True},
            },
            user="u-1",
        ),
        COMPLETION,
    )
    assert_same(ours, theirs, "authorization")


def test_stream_request_matches_the_sdk() -> None:
    ep = Endpoint(
        "openai", "gpt-4o-mini", "https://api.openai.com/v1", api_key=Secret("sk-conf-123456"), host="openai"
    )
    ours = ADAPTER.chat_request(ChatRequest(model="a", messages=[Message.user("hi")]), ep, stream=True)
    stream_reply = (
        b'data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"m","choices":[]}\n\n'
        b"data: [DONE]\n\n"
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=stream_reply, headers={"content-type": "text/event-stream"})

    client = openai.OpenAI(
        api_key="sk-conf-123456",
        base_url=ep.base_url,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    for _ in client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    ):
        pass
    assert_same(ours, seen[0], "authorization")


@pytest.mark.parametrize("kind", ["chat", "embeddings"])
def test_azure_deployment_requests_match_the_sdk(kind: str) -> None:
    ep = Endpoint(
        "openai",
        "my-deployment",
        "https://contoso.openai.azure.com",
        api_key=Secret("0123456789abcdef0123456789abcdef"),
        host="azure",
        options={"azure": True, "api_version": "2024-10-21"},
    )

    def make(http: httpx.Client) -> openai.AzureOpenAI:
        return openai.AzureOpenAI(
            api_key="0123456789abcdef0123456789abcdef",
            api_version="2024-10-21",
            azure_endpoint=ep.base_url,
            http_client=http,
        )

    if kind == "chat":
        ours = ADAPTER.chat_request(
            ChatRequest(model="a", messages=[Message.user("hi")], max_tokens=5), ep, stream=False
        )
        theirs = sdk_request(
            make,
            lambda c: c.chat.completions.create(
                model="my-deployment", messages=[{"role": "user", "content": "hi"}], max_completion_tokens=5
            ),
            COMPLETION,
        )
    else:
        ours = ADAPTER.embed_request(EmbeddingRequest(model="a", inputs=["x", "y"], dimensions=8), ep)
        theirs = sdk_request(
            make,
            lambda c: c.embeddings.create(
                model="my-deployment", input=["x", "y"], dimensions=8, encoding_format="float"
            ),
            EMBEDDINGS,
        )
    assert_same(ours, theirs, "api-key")


def test_embeddings_request_matches_the_sdk() -> None:
    ep = Endpoint(
        "openai",
        "text-embedding-3-small",
        "https://api.openai.com/v1",
        api_key=Secret("sk-conf-1234"),
        host="openai",
    )
    ours = ADAPTER.embed_request(EmbeddingRequest(model="a", inputs=["hello"], user="u"), ep)
    theirs = sdk_request(
        lambda http: openai.OpenAI(api_key="sk-conf-1234", base_url=ep.base_url, http_client=http),
        lambda c: c.embeddings.create(
            model="text-embedding-3-small", input=["hello"], user="u", encoding_format="float"
        ),
        EMBEDDINGS,
    )
    assert_same(ours, theirs, "authorization")
