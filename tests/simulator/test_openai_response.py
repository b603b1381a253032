from __future__ import annotations

from llmrelay.simulator.engine import Generation, SimToolCall
from llmrelay.simulator.openai_response import AZURE_FILTER, FINGERPRINT, completion_payload, total_usage

TEXT = Generation(("Hello", " world", "."), (), "stop", 10, 3)
CUT = Generation(("Hello",), (), "length", 10, 1)
STOPPED = Generation(("Hel",), (), "stop_sequence", 10, 2, stop_sequence="lo")
CALLS = Generation((), (SimToolCall("call_1", "f", '{"a":1}'),), "tool_calls", 10, 5)


def test_text_completion() -> None:
    payload = completion_payload("gpt-4o", [TEXT], "chatcmpl-1", azure=False)
    assert payload["id"] == "chatcmpl-1"
    assert payload["object"] == "chat.completion"
    assert payload["system_fingerprint"] == FINGERPRINT
    assert payload["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello world.", "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert payload["usage"]["total_tokens"] == 13
    assert "prompt_filter_results" not in payload


def test_finish_reasons_map_to_openai_values() -> None:
    payload = completion_payload("m", [CUT, STOPPED, CALLS], "c", azure=False)
    assert [c["finish_reason"] for c in payload["choices"]] == ["length", "stop", "tool_calls"]


def test_tool_calls() -> None:
    message = completion_payload("m", [CALLS], "c", azure=False)["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    ]


def test_usage_counts_the_prompt_once() -> None:
    usage = total_usage([TEXT, CUT])
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (10, 4, 14)


def test_azure_adds_content_filter_results() -> None:
    payload = completion_payload("dep", [TEXT], "c", azure=True)
    assert payload["prompt_filter_results"] == [{"prompt_index": 0, "content_filter_results": AZURE_FILTER}]
    assert payload["choices"][0]["content_filter_results"] == AZURE_FILTER
