"""Gemini thought signatures: kept in provider_state by both parsers, put back on their parts on replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay.errors import InvalidRequestError
from llmrelay.providers.gemini import GeminiAdapter
from llmrelay.providers.gemini_contents import SKIP_SIGNATURE
from llmrelay.providers.gemini_request import chat_body
from llmrelay.types import ChatRequest, ChatResponse, Message, StreamEvent, TextDelta, ToolCall, ToolCallDelta
from llmrelay.wire import Endpoint, SSEEvent

FIXTURES = Path(__file__).parent.parent / "fixtures" / "gemini"
SIG = "CiQBVKhc7sDa1XPVXV0Rm5WfAg=="  # generate_content_function_call.json
TEXT_SIG = "EpYCCpMCAdHtim9xTcQkUbV6dJ2Yy0sK7g=="  # the text-signature fixtures


def ep(model: str = "gemini-3-flash-preview", **options: Any) -> Endpoint:
    return Endpoint(
        provider="gemini",
        model=model,
        base_url="https://generativelanguage.googleapis.com",
        host="gemini",
        options=options,
    )


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())["body"]
    return body


def parse(name: str) -> ChatResponse:
    return GeminiAdapter().parse_chat(json.dumps(fixture(name)).encode(), ep())


def stream(name: str) -> tuple[list[StreamEvent], Any]:
    parser = GeminiAdapter().stream_parser(ep())
    out: list[StreamEvent] = []
    for block in (FIXTURES / name).read_text().split("\n\n"):
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if data:
            out.extend(parser.feed(SSEEvent(data="\n".join(data))))
    return out, parser


def model_turns(*messages: Message, endpoint: Endpoint | None = None) -> list[list[dict[str, Any]]]:
    body = chat_body(ChatRequest(model="m", messages=messages), endpoint or ep())
    return [c["parts"] for c in body["contents"] if c["role"] == "model"]


def loop(reply: Message) -> tuple[Message, ...]:
    return (
        Message.user("Go on."),
        reply,
        *(Message.tool(c.id, '{"ok": true}') for c in reply.tool_calls),
    )


def signed_call(call_id: str, sig: str | None = None) -> Message:
    state = {"gemini": {"calls": {call_id: sig}}} if sig else None
    return Message(role="assistant", tool_calls=(ToolCall(call_id, "f", "{}"),), provider_state=state)


# --------------------------------------------------------------------------- capture


def test_unary_function_call_signature_is_kept_by_call_id() -> None:
    r = parse("generate_content_function_call.json")
    assert r.provider_state == {"gemini": {"calls": {"call_fc-resp-7Qx_0": SIG}}}
    assert r.message.provider_state == r.provider_state
    assert "thought_signatures" not in r.details


def test_unary_text_signature_is_kept_and_reasoning_is_unchanged() -> None:
    r = parse("generate_content_text_signature.json")
    assert r.provider_state == {"gemini": {"text": TEXT_SIG}}
    assert r.text == "The sum of the primes below 10 is 17."
    assert r.reasoning == "**Adding the primes** 2 + 3 + 5 + 7."


@pytest.mark.parametrize("name", ["generate_content_text.json", "generate_content_thinking.json"])
def test_unary_without_signatures_has_no_state(name: str) -> None:
    assert parse(name).provider_state is None


def test_a_signature_on_a_part_without_text_is_kept() -> None:
    body = fixture("generate_content_text.json")
    body["candidates"][0]["content"]["parts"].append({"text": "", "thoughtSignature": "bGFzdA=="})
    r = GeminiAdapter().parse_chat(json.dumps(body).encode(), ep())
    assert r.provider_state == {"gemini": {"text": "bGFzdA=="}}


def test_stream_gathers_call_signatures_across_chunks() -> None:
    _, parser = stream("stream_function_call.sse")
    assert parser.done
    # Only the first call of the parallel step is signed, as Gemini documents.
    assert parser.provider_state == {"gemini": {"calls": {"call_pArTy02_0": "CiQBVKhc7sDa"}}}


def test_stream_text_signature_in_a_last_empty_part() -> None:
    events, parser = stream("stream_text_signature.sse")
    assert parser.provider_state == {"gemini": {"text": TEXT_SIG}}
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta("The sum of the primes"),
        TextDelta(" below 10 is 17."),
    ]  # the signature-only part yields no empty delta


def test_stream_without_signatures_has_no_state() -> None:
    _, parser = stream("stream_text.sse")
    assert parser.done
    assert parser.provider_state is None


def test_stream_and_unary_keep_the_same_state() -> None:
    _, parser = stream("stream_text_signature.sse")
    assert parser.provider_state == parse("generate_content_text_signature.json").provider_state


# --------------------------------------------------------------------------- replay


@pytest.mark.parametrize(
    "name", ["generate_content_function_call.json", "generate_content_parallel_calls.json"]
)
def test_replayed_model_turn_equals_the_sdks_content_passed_back(name: str) -> None:
    """Google's documented way is to append the response's content unchanged: we send the same."""
    from google.genai import types

    body = fixture(name)
    parts = body["candidates"][0]["content"]["parts"]
    parts[0].setdefault("thoughtSignature", "Zmlyc3Qgb2YgdGhlIHN0ZXA=")  # Gemini 3 signs a step's first call
    for part in parts:
        part["functionCall"].pop("id", None)  # ids are only sent with send_call_ids (see test_gemini_request)
    sdk = types.GenerateContentResponse.model_validate(body)
    assert sdk.candidates and sdk.candidates[0].content
    expected = sdk.candidates[0].content.model_dump(mode="json", by_alias=True, exclude_none=True)["parts"]
    reply = GeminiAdapter().parse_chat(json.dumps(body).encode(), ep()).message
    (turn,) = model_turns(*loop(reply))
    assert turn == expected


def test_real_signature_replaces_the_skip_value() -> None:
    reply = parse("generate_content_function_call.json").message
    (turn,) = model_turns(*loop(reply))
    assert turn[0]["thoughtSignature"] == SIG
    assert SKIP_SIGNATURE not in json.dumps(turn)


def test_streamed_parallel_step_signs_only_the_first_call() -> None:
    events, parser = stream("stream_function_call.sse")
    calls = tuple(
        ToolCall(e.id or "", e.name or "", e.arguments) for e in events if isinstance(e, ToolCallDelta)
    )
    reply = Message(role="assistant", tool_calls=calls, provider_state=parser.provider_state)
    (turn,) = model_turns(*loop(reply))
    assert [p.get("thoughtSignature") for p in turn] == ["CiQBVKhc7sDa", None, None]


def test_text_signature_goes_back_on_the_text_part() -> None:
    reply = parse("generate_content_text_signature.json").message
    (turn,) = model_turns(reply, Message.user("And below 20?"))
    assert turn == [{"text": "The sum of the primes below 10 is 17.", "thoughtSignature": TEXT_SIG}]


def test_text_signature_without_text_to_carry_it_is_dropped() -> None:
    reply = Message(
        role="assistant",
        tool_calls=(ToolCall("c1", "f", "{}"),),
        provider_state={"gemini": {"text": TEXT_SIG, "calls": {"c1": SIG}}},
    )
    (turn,) = model_turns(*loop(reply))
    assert turn == [{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": SIG}]


def test_each_sequential_step_gets_its_own_signature() -> None:
    turns = model_turns(
        Message.user("Plan my day."),
        signed_call("c1", "c3RlcDE="),
        Message.tool("c1", "{}"),
        signed_call("c2", "c3RlcDI="),
        Message.tool("c2", "{}"),
    )
    assert [t[0]["thoughtSignature"] for t in turns] == ["c3RlcDE=", "c3RlcDI="]


def test_a_step_whose_first_call_has_no_real_signature_still_gets_the_skip_value() -> None:
    reply = Message(
        role="assistant",
        tool_calls=(ToolCall("a", "f", "{}"), ToolCall("b", "g", "{}")),
        provider_state={"gemini": {"calls": {"b": "b25seSBi"}}},
    )
    (turn,) = model_turns(*loop(reply))
    assert [p.get("thoughtSignature") for p in turn] == [SKIP_SIGNATURE, "b25seSBi"]


@pytest.mark.parametrize(
    "state",
    [None, {"anthropic": {"content": [{"type": "thinking", "thinking": "x", "signature": "s"}]}}, {}],
)
def test_no_state_or_another_protocols_state_keeps_the_skip_workaround(state: Any) -> None:
    reply = Message(
        role="assistant", content="ok", tool_calls=(ToolCall("c1", "f", "{}"),), provider_state=state
    )
    (turn,) = model_turns(*loop(reply))
    assert turn == [
        {"text": "ok"},
        {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": SKIP_SIGNATURE},
    ]


def test_real_signatures_go_to_older_models_too_without_the_skip_value() -> None:
    older = ep("gemini-2.5-flash")
    assert [
        p.get("thoughtSignature") for p in model_turns(signed_call("c1", "cmVhbA=="), endpoint=older)[0]
    ] == ["cmVhbA=="]
    assert "thoughtSignature" not in model_turns(signed_call("c1"), endpoint=older)[0][0]


def test_thought_signatures_false_suppresses_real_ones_too() -> None:
    off = ep(thought_signatures=False)
    reply = parse("generate_content_text_signature.json").message
    assert "thoughtSignature" not in json.dumps(
        model_turns(signed_call("c1", "cmVhbA=="), reply, endpoint=off)
    )


def test_signed_parts_are_valid_for_the_official_sdk() -> None:
    from google.genai import types

    body = chat_body(
        ChatRequest(model="m", messages=loop(parse("generate_content_function_call.json").message)), ep()
    )
    content = types.Content.model_validate_json(json.dumps(body["contents"][1]))
    assert content.parts and content.parts[0].thought_signature is not None


@pytest.mark.parametrize(
    ("own", "needle"),
    [
        ("junk", "object"),
        ({"calls": ["x"]}, '"calls"'),
        ({"calls": {"c1": 1}}, '"calls"'),
        ({"text": 5}, '"text"'),
    ],
)
def test_malformed_own_state_is_a_clear_error(own: Any, needle: str) -> None:
    bad = Message(role="assistant", content="x", provider_state={"gemini": own})
    with pytest.raises(InvalidRequestError) as info:
        model_turns(Message.user("hi"), bad)
    assert 'messages[1].provider_state["gemini"]' in info.value.message
    assert needle in info.value.message
    assert "ChatResponse.message" in info.value.message
