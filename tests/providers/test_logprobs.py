"""Token log probabilities from each protocol's answer land typed in ``details["logprobs"]``;
the service tier that served a call is reported."""

from __future__ import annotations

import json
from typing import Any

from llmrelay.providers import anthropic_response, gemini_response, openai_response, openai_responses_response
from llmrelay.types import TextDelta, TokenLogprob, TopLogprob
from llmrelay.wire import Endpoint, SSEEvent

EXPECTED = (
    TokenLogprob("Hi", -0.25, (TopLogprob("Hi", -0.25), TopLogprob("Hello", -1.5))),
    TokenLogprob("!", -0.01, (TopLogprob("!", -0.01),)),
)


def encoded(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def openai_tokens() -> list[dict[str, Any]]:
    return [
        {
            "token": "Hi",
            "logprob": -0.25,
            "bytes": [72, 105],
            "top_logprobs": [
                {"token": "Hi", "logprob": -0.25, "bytes": [72, 105]},
                {"token": "Hello", "logprob": -1.5, "bytes": None},
            ],
        },
        {"token": "!", "logprob": -0.01, "bytes": [33], "top_logprobs": [{"token": "!", "logprob": -0.01}]},
    ]


def test_chat_completions_logprobs() -> None:
    payload = {
        "id": "c1",
        "model": "gpt-4o",
        "service_tier": "flex",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi!"},
                "finish_reason": "stop",
                "logprobs": {"content": openai_tokens(), "refusal": None},
            }
        ],
    }
    ep = Endpoint("openai", "gpt-4o", "https://api.openai.com/v1", host="openai")
    resp = openai_response.parse_chat(encoded(payload), ep)
    assert resp.details["logprobs"] == EXPECTED
    assert resp.details["service_tier"] == "flex"


def test_chat_completions_without_logprobs_has_none() -> None:
    payload = {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "message": {"content": "x"}, "logprobs": None}],
    }
    ep = Endpoint("openai", "m", "https://x/v1")
    assert "logprobs" not in openai_response.parse_chat(encoded(payload), ep).details


def test_responses_logprobs_and_service_tier() -> None:
    payload = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-5",
        "service_tier": "priority",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Hi!", "annotations": [], "logprobs": openai_tokens()}
                ],
            }
        ],
    }
    ep = Endpoint("responses", "gpt-5", "https://api.openai.com/v1", host="openai-responses")
    resp = openai_responses_response.parse_chat(encoded(payload), ep)
    assert resp.details["logprobs"] == EXPECTED
    assert resp.details["service_tier"] == "priority"


def test_gemini_logprobs() -> None:
    payload = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Hi!"}]},
                "finishReason": "STOP",
                "logprobsResult": {
                    "topCandidates": [
                        {
                            "candidates": [
                                {"token": "Hi", "logProbability": -0.25},
                                {"token": "Hello", "logProbability": -1.5},
                            ]
                        },
                        {"candidates": [{"token": "!", "logProbability": -0.01}]},
                    ],
                    "chosenCandidates": [
                        {"token": "Hi", "logProbability": -0.25},
                        {"token": "!", "logProbability": -0.01},
                    ],
                },
            }
        ],
        "modelVersion": "gemini-2.5-flash",
    }
    ep = Endpoint("gemini", "gemini-2.5-flash", "https://generativelanguage.googleapis.com", host="gemini")
    resp = gemini_response.chat_response(payload, ep, include_raw=False)
    assert resp.details["logprobs"] == EXPECTED


def test_anthropic_reports_the_service_tier_used() -> None:
    payload = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hi!"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 2, "service_tier": "priority"},
    }
    ep = Endpoint("anthropic", "claude-sonnet-4-5", "https://api.anthropic.com", host="anthropic")
    assert anthropic_response.parse_chat(encoded(payload), ep).details["service_tier"] == "priority"


def test_anthropic_stream_reports_the_service_tier_used() -> None:
    from llmrelay.providers.anthropic_stream import AnthropicStreamParser
    from llmrelay.wire import SSEEvent

    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "model": "claude-sonnet-4-5",
            "usage": {"input_tokens": 5, "service_tier": "standard"},
        },
    }
    ep = Endpoint("anthropic", "claude-sonnet-4-5", "https://api.anthropic.com", host="anthropic")
    parser = AnthropicStreamParser(ep)
    parser.feed(SSEEvent(event="message_start", data=json.dumps(start)))
    assert parser.details["service_tier"] == "standard"


def chunk(choice: dict[str, Any], **top: Any) -> SSEEvent:
    return SSEEvent(json.dumps({"id": "c1", "model": "gpt-4o", "choices": [choice], **top}))


def test_chat_completions_stream_collects_logprobs() -> None:
    from llmrelay.providers.openai_stream import OpenAIStreamParser

    tokens = openai_tokens()
    parser = OpenAIStreamParser(Endpoint("openai", "gpt-4o", "https://api.openai.com/v1", host="openai"))
    parser.feed(chunk({"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None}))
    # the hot path (text-only chunks) must not drop a chunk's logprobs
    events = parser.feed(chunk({"index": 0, "delta": {"content": "Hi"}, "logprobs": {"content": tokens[:1]}}))
    events += parser.feed(chunk({"index": 0, "delta": {"content": "!"}, "logprobs": {"content": tokens[1:]}}))
    parser.feed(chunk({"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hi!"
    assert "logprobs" not in parser.details  # complete only once the stream is
    parser.feed(SSEEvent("[DONE]"))
    assert parser.details["logprobs"] == EXPECTED


def test_responses_stream_keeps_the_logprobs_of_the_completed_response() -> None:
    from llmrelay.providers.openai_responses_stream import ResponsesStreamParser

    response = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-5",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Hi!", "annotations": [], "logprobs": openai_tokens()}
                ],
            }
        ],
        "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    }
    ep = Endpoint("responses", "gpt-5", "https://api.openai.com/v1", host="openai-responses")
    parser = ResponsesStreamParser(ep)
    created = {
        "type": "response.created",
        "sequence_number": 0,
        "response": {**response, "status": "in_progress", "output": []},
    }
    parser.feed(SSEEvent(json.dumps(created), event="response.created"))
    done = {"type": "response.completed", "sequence_number": 1, "response": response}
    parser.feed(SSEEvent(json.dumps(done), event="response.completed"))
    assert parser.done and parser.details["logprobs"] == EXPECTED


def test_gemini_stream_collects_the_logprobs_of_every_chunk() -> None:
    from llmrelay.providers.gemini import GeminiStreamParser

    def piece(token: str, lp: float, alts: list[tuple[str, float]], finish: str | None = None) -> SSEEvent:
        cand: dict[str, Any] = {
            "content": {"role": "model", "parts": [{"text": token}]},
            "logprobsResult": {
                "chosenCandidates": [{"token": token, "logProbability": lp}],
                "topCandidates": [{"candidates": [{"token": t, "logProbability": p} for t, p in alts]}],
            },
        }
        if finish:
            cand["finishReason"] = finish
        return SSEEvent(
            json.dumps({"candidates": [cand], "responseId": "r1", "modelVersion": "gemini-2.5-flash"})
        )

    ep = Endpoint("gemini", "gemini-2.5-flash", "https://generativelanguage.googleapis.com", host="gemini")
    parser = GeminiStreamParser(ep)
    parser.feed(piece("Hi", -0.25, [("Hi", -0.25), ("Hello", -1.5)]))
    assert "logprobs" not in parser.details
    parser.feed(piece("!", -0.01, [("!", -0.01)], finish="STOP"))
    assert parser.done and parser.details["logprobs"] == EXPECTED
