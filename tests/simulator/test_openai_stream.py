from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay.simulator import Fault, Simulator, SimulatorConfig
from llmrelay.simulator.engine import Generation, SimToolCall
from llmrelay.simulator.openai_stream import stream_chunks

TEXT = Generation(("Hello", " there", ",", " world", "."), (), "stop", 7, 5)
CALLS = Generation(
    (), (SimToolCall("call_a", "f", '{"x":1}'), SimToolCall("call_b", "g", '{"y":"z"}')), "tool_calls", 7, 9
)


async def run(gens: list[Generation], **kw: Any) -> tuple[list[str], Simulator]:
    sim = Simulator()
    raw = b"".join([c async for c in stream_chunks(sim, "gpt-4o", gens, "chatcmpl-x", **kw)]).decode()
    events = raw.split("\n\n")
    assert events[-1] == ""
    assert all(e.startswith("data: ") for e in events[:-1])
    return [e[6:] for e in events[:-1]], sim


async def test_text_stream() -> None:
    data, sim = await run([TEXT], include_usage=False)
    assert data[-1] == "[DONE]"
    events = [json.loads(d) for d in data[:-1]]
    assert all(
        set(e) == {"id", "object", "created", "model", "service_tier", "system_fingerprint", "choices"}
        for e in events
    )
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert [e["choices"][0]["delta"]["content"] for e in events[1:-1]] == list(TEXT.pieces)
    assert events[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert sim.stats.streams_completed == 1


async def test_usage_chunk() -> None:
    data, _ = await run([TEXT], include_usage=True)
    events = [json.loads(d) for d in data[:-1]]
    assert all(e["usage"] is None for e in events[:-1])
    assert events[-1]["choices"] == []
    assert events[-1]["usage"]["completion_tokens"] == 5
    assert events[-1]["usage"]["prompt_tokens"] == 7


async def test_tool_call_stream_reassembles() -> None:
    data, _ = await run([CALLS], include_usage=False)
    events = [json.loads(d) for d in data[:-1]]
    assert events[0]["choices"][0]["delta"]["content"] is None
    calls: dict[int, dict[str, str]] = {}
    for e in events[1:-1]:
        [part] = e["choices"][0]["delta"]["tool_calls"]
        slot = calls.setdefault(part["index"], {"id": "", "name": "", "arguments": ""})
        if "id" in part:
            assert part["type"] == "function" and part["function"]["arguments"] == ""
            slot["id"], slot["name"] = part["id"], part["function"]["name"]
        slot["arguments"] += part["function"]["arguments"]
    assert calls == {
        0: {"id": "call_a", "name": "f", "arguments": '{"x":1}'},
        1: {"id": "call_b", "name": "g", "arguments": '{"y":"z"}'},
    }
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_several_choices_each_finish() -> None:
    data, _ = await run([TEXT, CALLS], include_usage=True)
    events = [json.loads(d) for d in data[:-1]]
    finished = [c["index"] for e in events for c in e["choices"] if c["finish_reason"]]
    assert finished == [0, 1]
    assert events[-1]["usage"]["completion_tokens"] == 14


async def test_cut_stream() -> None:
    data, sim = await run([TEXT], include_usage=True, fault=Fault("cut_stream", after_pieces=2))
    assert "[DONE]" not in data
    events = [json.loads(d) for d in data]
    assert [e["choices"][0]["delta"].get("content") for e in events[1:]] == ["Hello", " there"]
    assert (sim.stats.streams_cut, sim.stats.streams_completed) == (1, 0)


async def test_cut_at_zero_leaves_only_the_role_chunk() -> None:
    data, _ = await run([TEXT], include_usage=False, fault=Fault("cut_stream"))
    assert len(data) == 1


async def test_stream_error() -> None:
    data, sim = await run([TEXT], include_usage=False, fault=Fault("stream_error", after_pieces=4))
    assert json.loads(data[-1])["error"]["type"] == "server_error"
    assert len(data) == 1 + 4 + 1
    assert sim.stats.streams_cut == 1


async def test_malformed_chunk_then_the_rest() -> None:
    data, sim = await run([TEXT], include_usage=False, fault=Fault("malformed", after_pieces=1))
    assert data[-1] == "[DONE]"
    assert len(data) == 1 + 5 + 1 + 1 + 1  # role, pieces, broken chunk, finish, done
    broken = data[2]
    assert broken.startswith('{"id":"chatcmpl-x"')
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken)
    assert sim.stats.streams_completed == 1


async def test_fault_after_the_last_piece_drops_the_ending() -> None:
    data, _ = await run([TEXT], include_usage=False, fault=Fault("cut_stream", after_pieces=99))
    assert len(data) == 1 + 5


async def test_azure_stream() -> None:
    data, _ = await run([TEXT], include_usage=False, azure=True)
    first = json.loads(data[0])
    assert first["choices"] == [] and first["prompt_filter_results"][0]["prompt_index"] == 0
    assert json.loads(data[-2])["choices"][0]["content_filter_results"] == {}


async def test_unpaced_streams_go_out_in_one_write_paced_ones_per_token() -> None:
    fast = [c async for c in stream_chunks(Simulator(), "m", [TEXT], "c", include_usage=False)]
    paced_sim = Simulator(SimulatorConfig(tokens_per_second=10_000))
    paced = [c async for c in stream_chunks(paced_sim, "m", [TEXT], "c", include_usage=False)]
    assert len(fast) == 1
    assert len(paced) == 1 + 5 + 1 + 1
    assert fast[0].replace(b"\n\n", b"").count(b"data: ") == len(paced)
