"""The Anthropic adapter as a whole: registry, embeddings, and parity with the official SDK.

The SDK tests hold llmrelay's wire format against Anthropic's own client: the golden
fixtures must validate as the SDK's models, a request built by llmrelay must equal the
one the SDK sends for the same call, and a stream must aggregate to what the SDK builds.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import httpx2 as httpx
import pydantic
import pytest

from llmrelay import errors
from llmrelay.providers import Adapter, load_adapter
from llmrelay.providers.anthropic import AnthropicAdapter
from llmrelay.secrets import Secret
from llmrelay.types import (
    ChatRequest,
    EmbeddingRequest,
    ForcedTool,
    ImagePart,
    Message,
    ResponseFormat,
    TextDelta,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
)
from llmrelay.wire import Endpoint, SSEEvent

FIXTURES = Path(__file__).parent.parent / "fixtures" / "anthropic"
KEY = "sk-ant-api03-parity-test-000000"
EP = Endpoint(
    provider="anthropic",
    model="claude-sonnet-5-5",
    base_url="https://api.anthropic.com",
    api_key=Secret(KEY),
    host="anthropic",
)


def load_sse(path: Path) -> list[SSEEvent]:
    """Split a transcript on blank lines into events; ':' lines are comments."""
    events: list[SSEEvent] = []
    for chunk in path.read_text().split("\n\n"):
        name, data = "message", []
        for line in chunk.splitlines():
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                data.append(value.removeprefix(" "))
        if data:
            events.append(SSEEvent(data="\n".join(data), event=name))
    return events


def test_registry_loads_the_adapter() -> None:
    adapter: Adapter = load_adapter("anthropic")
    assert isinstance(adapter, AnthropicAdapter)
    assert adapter.name == "anthropic"


def test_embeddings_are_unsupported_with_a_way_out() -> None:
    adapter = AnthropicAdapter()
    with pytest.raises(errors.UnsupportedFeatureError) as info:
        adapter.embed_request(EmbeddingRequest(model="x", inputs=["a"]), EP)
    assert "no embeddings" in info.value.message
    assert "openai/" in info.value.message
    assert info.value.provider == "anthropic"
    with pytest.raises(errors.UnsupportedFeatureError):
        adapter.parse_embed(b"{}", EP)


def test_the_key_appears_only_in_its_auth_header() -> None:
    http = AnthropicAdapter().chat_request(
        ChatRequest(model="m", messages=[Message.user("hi")]), EP, stream=False
    )
    assert http.headers["x-api-key"] == KEY
    assert http.body is not None
    assert KEY.encode() not in http.body
    assert KEY not in repr(http)
    assert KEY not in repr(EP)


# --------------------------------------------------------------------------- fixtures vs the SDK's models


@pytest.mark.sdk
@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("message_*.json")))
def test_message_fixtures_are_valid_sdk_messages(name: str) -> None:
    body = json.loads((FIXTURES / name).read_text())["body"]
    body.setdefault("usage", {"input_tokens": 0, "output_tokens": 0})  # some doc examples omit it
    message = anthropic.types.Message.model_validate(body)
    assert message.id == body["id"]


@pytest.mark.sdk
@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("stream_*.sse")))
def test_stream_fixtures_are_valid_sdk_events(name: str) -> None:
    events = load_sse(FIXTURES / name)
    adapter_types = pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent)
    for e in events:
        payload = json.loads(e.data)
        assert payload["type"] == e.event
        if payload["type"] in ("ping", "error"):
            continue
        # Some doc transcripts leave usage out; the SDK's models require it.
        if payload["type"] == "message_start":
            payload["message"].setdefault("usage", {"input_tokens": 0, "output_tokens": 0})
        if payload["type"] == "message_delta":
            payload.setdefault("usage", {"output_tokens": 0})
        if payload["type"] == "content_block_start" and payload["content_block"]["type"] == "thinking":
            payload["content_block"].setdefault("signature", "")
        adapter_types.validate_python(payload)


# --------------------------------------------------------------------------- request parity with the SDK


class _Capture:
    def __init__(self, response: httpx.Response) -> None:
        self.request: httpx.Request | None = None
        self._response = response

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.request = request
        return self._response


def _sdk_client(capture: _Capture) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=KEY,
        base_url="https://api.anthropic.com",
        http_client=httpx.Client(transport=httpx.MockTransport(capture)),
        max_retries=0,
    )


def _message_response() -> httpx.Response:
    body = json.loads((FIXTURES / "message_tool_use.json").read_text())["body"]
    return httpx.Response(200, json=body, headers={"request-id": "req_parity"})


@pytest.mark.sdk
def test_request_body_and_headers_match_the_official_sdk() -> None:
    schema = {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
    ours = ChatRequest(
        model="alias",
        messages=[
            Message.system("You are a weather bot."),
            Message.user([TextPart("Weather here?"), ImagePart(url="https://example.com/sky.jpg")]),
            Message.assistant(
                "Checking.", tool_calls=[ToolCall("toolu_1", "get_weather", '{"location": "SF"}')]
            ),
            Message.tool("toolu_1", "15 degrees"),
            Message.user("Thanks! And tomorrow?"),
        ],
        max_tokens=512,
        stop=["END"],
        tools=[Tool("get_weather", "Weather for a place", schema)],
        tool_choice=ForcedTool("get_weather"),
        parallel_tool_calls=False,
        user="user-1",
        response_format=ResponseFormat.json_schema({"type": "object", "properties": {}}),
    )
    # The SDK speaks API version 2026-10-21 and sends the key as a bearer token.
    ep = Endpoint(
        provider="anthropic",
        model="claude-sonnet-5-5",
        base_url="https://api.anthropic.com",
        api_key=Secret(KEY),
        options={"auth": "bearer", "version": anthropic._constants.ANTHROPIC_API_VERSION},
    )
    http = AnthropicAdapter().chat_request(ours, ep, stream=False)

    capture = _Capture(_message_response())
    sdk_message = _sdk_client(capture).messages.create(
        model="claude-sonnet-5-5",
        max_tokens=512,
        system="You are a weather bot.",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/sky.jpg"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "SF"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "15 degrees"},
                    {"type": "text", "text": "Thanks! And tomorrow?"},
                ],
            },
        ],
        stop_sequences=["END"],
        metadata={"user_id": "user-1"},
        tools=[{"name": "get_weather", "description": "Weather for a place", "input_schema": schema}],
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        output_config={"format": {"type": "json_schema", "schema": {"type": "object", "properties": {}}}},
    )
    sent = capture.request
    assert sent is not None
    assert http.url == str(sent.url)
    assert http.method == sent.method
    assert http.body is not None
    assert json.loads(http.body) == json.loads(sent.content)
    for name in ("authorization", "anthropic-version", "content-type"):
        assert http.headers[name] == sent.headers[name], name

    # ...and both read the answer the same way.
    ours_parsed = AnthropicAdapter().parse_chat(sent_response_body(), EP)
    assert ours_parsed.id == sdk_message.id
    assert ours_parsed.text == "".join(b.text for b in sdk_message.content if b.type == "text")
    sdk_tool = next(b for b in sdk_message.content if b.type == "tool_use")
    assert ours_parsed.tool_calls[0].parsed_arguments() == sdk_tool.input


def sent_response_body() -> bytes:
    return json.dumps(json.loads((FIXTURES / "message_tool_use.json").read_text())["body"]).encode()


@pytest.mark.sdk
def test_stream_aggregates_to_what_the_sdk_accumulates() -> None:
    raw = (FIXTURES / "stream_tool_use.sse").read_text()
    capture = _Capture(
        httpx.Response(200, content=raw.encode(), headers={"content-type": "text/event-stream"})
    )
    with _sdk_client(capture).messages.stream(
        model="claude-sonnet-5-5", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
    ) as stream:
        final = stream.get_final_message()

    parser = AnthropicAdapter().stream_parser(EP)
    events = [out for e in load_sse(FIXTURES / "stream_tool_use.sse") for out in parser.feed(e)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    args = "".join(e.arguments for e in events if isinstance(e, ToolCallDelta))
    assert parser.response_id == final.id
    assert text == "".join(b.text for b in final.content if b.type == "text")
    sdk_tool = next(b for b in final.content if b.type == "tool_use")
    assert json.loads(args) == sdk_tool.input
