"""Anthropic thinking blocks: kept in provider_state by both parsers, replayed by the request side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx2 as httpx
import pytest

from llmrelay import errors
from llmrelay.providers.anthropic import AnthropicAdapter
from llmrelay.secrets import Secret
from llmrelay.types import ChatRequest, ChatResponse, Message, ReasoningDelta, StreamEvent, Tool, ToolCall
from llmrelay.wire import Endpoint, SSEEvent

FIXTURES = Path(__file__).parent.parent / "fixtures" / "anthropic"
KEY = "sk-ant-api03-state-test-000000"
EP = Endpoint(
    provider="anthropic",
    model="claude-sonnet-4-5",
    base_url="https://api.anthropic.com",
    api_key=Secret(KEY),
    host="anthropic",
)
WEATHER = Tool(
    "get_weather",
    "Weather for a place",
    {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
)
THINKING_ON = {"thinking": {"type": "enabled", "budget_tokens": 2048}}


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())["body"]
    return body


def parse(body: dict[str, Any]) -> ChatResponse:
    return AnthropicAdapter().parse_chat(json.dumps(body).encode(), EP)


def load_sse(name: str) -> list[SSEEvent]:
    events: list[SSEEvent] = []
    for chunk in (FIXTURES / name).read_text().split("\n\n"):
        event, data = "message", []
        for line in chunk.splitlines():
            field, _, value = line.partition(":")
            if field == "event":
                event = value.strip()
            elif field == "data":
                data.append(value.removeprefix(" "))
        if data:
            events.append(SSEEvent(data="\n".join(data), event=event))
    return events


def stream(name: str) -> tuple[list[StreamEvent], Any]:
    parser = AnthropicAdapter().stream_parser(EP)
    out = [ev for e in load_sse(name) for ev in parser.feed(e)]
    return out, parser


def request_body(*messages: Message, **kw: Any) -> dict[str, Any]:
    req = ChatRequest(model="m", messages=messages, tools=[WEATHER], extra=THINKING_ON, **kw)
    http = AnthropicAdapter().chat_request(req, EP, stream=False)
    assert http.body is not None
    out: dict[str, Any] = json.loads(http.body)
    return out


def loop(reply: Message) -> tuple[Message, ...]:
    """The next request of a tool loop: the question, the reply replayed, the tool's answer."""
    return (
        Message.user("What's the weather in Paris?"),
        reply,
        *(Message.tool(c.id, "15 degrees, rainy") for c in reply.tool_calls),
    )


# --------------------------------------------------------------------------- capture


def test_unary_keeps_thinking_and_redacted_blocks_verbatim_in_order() -> None:
    body = fixture("message_thinking.json")
    r = parse(body)
    assert r.provider_state == {"anthropic": {"content": body["content"][:2]}}
    assert [b["type"] for b in r.provider_state["anthropic"]["content"]] == ["thinking", "redacted_thinking"]
    assert r.reasoning == "Let me analyze this step by step..."  # unchanged: redacted data is no reasoning
    assert r.message.provider_state == r.provider_state


def test_unary_tool_use_turn_keeps_its_signed_thinking() -> None:
    body = fixture("message_thinking_tool_use.json")
    r = parse(body)
    (thinking,) = r.provider_state["anthropic"]["content"]
    assert thinking == body["content"][0]
    assert thinking["signature"].startswith("BDaL4VrbR2Oj0hO4")
    assert [c.name for c in r.tool_calls] == ["get_weather"]


@pytest.mark.parametrize("name", ["message_basic.json", "message_tool_use.json", "message_refusal.json"])
def test_unary_without_thinking_has_no_state(name: str) -> None:
    r = parse(fixture(name))
    assert r.provider_state is None
    assert r.message.provider_state is None


def test_stream_rebuilds_blocks_from_deltas_and_signature_delta() -> None:
    out, parser = stream("stream_thinking_tool_use.sse")
    assert parser.done
    assert parser.provider_state == {
        "anthropic": {
            "content": [
                {
                    "type": "thinking",
                    "thinking": "The user asks for the weather in Paris. I should call get_weather.",
                    "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...",
                },
                {
                    "type": "redacted_thinking",
                    "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP...",
                },
            ]
        }
    }
    # The events themselves are unchanged: reasoning text only, nothing for signature or redacted data.
    reasoning = [e.text for e in out if isinstance(e, ReasoningDelta)]
    assert reasoning == ["The user asks for the weather in Paris.", " I should call get_weather."]


def test_stream_state_appears_when_a_thinking_block_is_finished() -> None:
    parser = AnthropicAdapter().stream_parser(EP)
    events = load_sse("stream_thinking_tool_use.sse")
    stop = next(i for i, e in enumerate(events) if e.event == "content_block_stop")
    for e in events[:stop]:
        parser.feed(e)
    assert parser.provider_state is None  # the signature is complete only at content_block_stop
    parser.feed(events[stop])
    assert [b["type"] for b in parser.provider_state["anthropic"]["content"]] == ["thinking"]


def test_stream_thinking_block_started_without_a_signature_field() -> None:
    _, parser = stream("stream_thinking.sse")
    (block,) = parser.provider_state["anthropic"]["content"]
    assert block["type"] == "thinking"
    assert block["thinking"].endswith("So GCD(1071, 462) = 21")
    assert block["signature"] == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."


@pytest.mark.parametrize("name", ["stream_basic.sse", "stream_tool_use.sse"])
def test_stream_without_thinking_has_no_state(name: str) -> None:
    _, parser = stream(name)
    assert parser.done
    assert parser.provider_state is None


@pytest.mark.sdk
def test_streamed_state_equals_the_blocks_the_sdk_accumulates() -> None:
    raw = (FIXTURES / "stream_thinking_tool_use.sse").read_bytes()
    sdk = anthropic.Anthropic(
        api_key=KEY,
        http_client=httpx.Client(
            transport=httpx.MockTransport(
                lambda _: httpx.Response(200, content=raw, headers={"content-type": "text/event-stream"})
            )
        ),
        max_retries=0,
    )
    with sdk.messages.stream(
        model=EP.model, max_tokens=100, messages=[{"role": "user", "content": "?"}]
    ) as s:
        final = s.get_final_message()
    expected = [
        b.model_dump(exclude_none=True) for b in final.content if b.type in ("thinking", "redacted_thinking")
    ]
    _, parser = stream("stream_thinking_tool_use.sse")
    assert parser.provider_state["anthropic"]["content"] == expected


# --------------------------------------------------------------------------- replay


def test_replay_puts_the_blocks_first_byte_for_byte() -> None:
    body = fixture("message_thinking_tool_use.json")
    reply = parse(body).message
    sent = request_body(*loop(reply))
    assistant = sent["messages"][1]
    assert assistant == {"role": "assistant", "content": body["content"]}  # thinking, text, tool_use
    http = AnthropicAdapter().chat_request(
        ChatRequest(model="m", messages=loop(reply), tools=[WEATHER], extra=THINKING_ON), EP, stream=False
    )
    assert http.body is not None
    signature = json.dumps(body["content"][0]["signature"]).encode()
    assert signature in http.body


def test_replay_of_a_streamed_turn_keeps_thinking_then_redacted_then_text_and_tool_use() -> None:
    _, parser = stream("stream_thinking_tool_use.sse")
    reply = Message(
        role="assistant",
        content="Let me check the weather in Paris.",
        tool_calls=(ToolCall("toolu_01CswdEQBMshySk6Y9DFKrfq", "get_weather", '{"location": "Paris"}'),),
        provider_state=parser.provider_state,
    )
    assistant = request_body(*loop(reply))["messages"][1]["content"]
    assert [b["type"] for b in assistant] == ["thinking", "redacted_thinking", "text", "tool_use"]
    assert assistant[:2] == parser.provider_state["anthropic"]["content"]


@pytest.mark.sdk
def test_replayed_request_equals_the_one_the_sdk_sends_with_the_content_passed_back() -> None:
    """Anthropic's documented way is to pass response.content back unchanged; we must match it."""
    body = fixture("message_thinking_tool_use.json")
    captured: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json=fixture("message_basic.json"))

    sdk = anthropic.Anthropic(
        api_key=KEY, http_client=httpx.Client(transport=httpx.MockTransport(answer)), max_retries=0
    )
    sdk_reply = anthropic.types.Message.model_validate(body)
    sdk.messages.create(
        model=EP.model,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        tools=[
            {"name": WEATHER.name, "description": WEATHER.description, "input_schema": WEATHER.parameters}
        ],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "What's the weather in Paris?"}]},
            {"role": "assistant", "content": sdk_reply.content},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01CswdEQBMshySk6Y9DFKrfq",
                        "content": "15 degrees, rainy",
                    }
                ],
            },
        ],
    )
    ours = request_body(*loop(parse(body).message))
    assert ours["messages"] == json.loads(captured[0].content)["messages"]


def test_every_replayed_turn_gets_its_own_blocks() -> None:
    first = parse(fixture("message_thinking_tool_use.json")).message
    second_body = fixture("message_thinking_tool_use.json")
    second_body["content"][0] = {"type": "thinking", "thinking": "Now Lyon.", "signature": "c2Vjb25k"}
    second_body["content"][2] = {**second_body["content"][2], "id": "toolu_2", "input": {"location": "Lyon"}}
    second = parse(second_body).message
    sent = request_body(*loop(first), second, Message.tool("toolu_2", "12 degrees"))
    turns = [m["content"] for m in sent["messages"] if m["role"] == "assistant"]
    assert [t[0]["signature"] for t in turns] == [
        fixture("message_thinking_tool_use.json")["content"][0]["signature"],
        "c2Vjb25k",
    ]


def test_no_state_and_another_protocols_state_replay_as_before() -> None:
    call = ToolCall("toolu_1", "get_weather", '{"location": "Paris"}')
    plain = Message.assistant("Checking.", [call])
    foreign = Message(
        role="assistant",
        content="Checking.",
        tool_calls=(call,),
        provider_state={"gemini": {"calls": {"toolu_1": "c2ln"}}, "openai": {"anything": 1}},
    )
    expected = [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}},
    ]
    assert request_body(*loop(plain))["messages"][1]["content"] == expected
    assert request_body(*loop(foreign))["messages"][1]["content"] == expected


def test_thinking_alone_is_not_replayed_as_a_turn() -> None:
    """A reply cut during thinking has nothing else; as before, the empty turn is left out."""
    state = {"anthropic": {"content": [{"type": "thinking", "thinking": "hmm", "signature": "c2ln"}]}}
    sent = request_body(
        Message.user("hi"), Message(role="assistant", provider_state=state), Message.user("still there?")
    )
    assert [m["role"] for m in sent["messages"]] == ["user"]
    assert all(b["type"] == "text" for b in sent["messages"][0]["content"])


def test_the_request_does_not_alias_the_stored_blocks() -> None:
    reply = parse(fixture("message_thinking_tool_use.json")).message
    assert reply.provider_state is not None
    before = json.dumps(reply.provider_state, sort_keys=True)
    sent = request_body(*loop(reply))
    sent["messages"][1]["content"][0]["signature"] = "tampered"
    assert json.dumps(reply.provider_state, sort_keys=True) == before


@pytest.mark.parametrize(
    ("own", "needle"),
    [
        ("junk", "content"),
        ({"content": "junk"}, "content"),
        ({"content": [{"type": "text", "text": "x"}]}, "content[0]"),
        ({"content": ["x"]}, "content[0]"),
    ],
)
def test_malformed_own_state_is_a_clear_error(own: Any, needle: str) -> None:
    bad = Message(
        role="assistant",
        content="x",
        tool_calls=(ToolCall("toolu_1", "get_weather", "{}"),),
        provider_state={"anthropic": own},
    )
    with pytest.raises(errors.InvalidRequestError) as info:
        request_body(*loop(bad))
    assert 'messages[1].provider_state["anthropic"]' in info.value.message
    assert needle in info.value.message
    assert "ChatResponse.message" in info.value.message
