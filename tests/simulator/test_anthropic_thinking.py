"""Anthropic extended thinking in the simulator: blocks, stream events, rules, replay checks."""

from __future__ import annotations

from typing import Any

import pytest
from tests.simulator.test_anthropic import HEADERS, WEATHER, client_for, sse_events

from llmrelay.simulator import Simulator
from llmrelay.simulator.thinking import thought_text

THINK = {"type": "enabled", "budget_tokens": 1024}


def ask(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "thinking": THINK,
        **extra,
    }


async def post(sim: Simulator, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    async with client_for(sim) as http:
        return await http.post("/v1/messages", json=body, headers={**HEADERS, **(headers or {})})


async def test_the_reply_starts_with_a_signed_thinking_block() -> None:
    sim = Simulator()
    plain = (await post(sim, {k: v for k, v in ask().items() if k != "thinking"})).json()
    r = (await post(sim, ask())).json()
    thinking, text = r["content"]
    assert thinking["type"] == "thinking" and text["type"] == "text"
    assert thinking["thinking"] == thought_text("What is the weather in Paris?", 0)
    assert len(thinking["signature"]) > 100
    assert text["text"] == plain["content"][0]["text"]  # the same answer, thought through first
    # thinking tokens are output tokens, within the budget
    assert (
        plain["usage"]["output_tokens"]
        < r["usage"]["output_tokens"]
        <= plain["usage"]["output_tokens"] + 1024
    )


async def test_stream_events_carry_the_thought_and_its_signature() -> None:
    sim = Simulator()
    unary = (await post(sim, ask())).json()
    streamed = await post(sim, ask(stream=True))
    events = sse_events(streamed.text)
    starts = [d["content_block"] for e, d in events if e == "content_block_start"]
    assert starts[0] == {"type": "thinking", "thinking": "", "signature": ""}
    deltas = [d["delta"] for e, d in events if e == "content_block_delta" and d["index"] == 0]
    assert {d["type"] for d in deltas[:-1]} == {"thinking_delta"} and deltas[-1]["type"] == "signature_delta"
    assert "".join(d["thinking"] for d in deltas[:-1]) == unary["content"][0]["thinking"]
    assert deltas[-1]["signature"] == unary["content"][0]["signature"]
    stops = [d["index"] for e, d in events if e == "content_block_stop"]
    assert stops == [0, 1]
    final = next(d for e, d in events if e == "message_delta")
    assert final["usage"]["output_tokens"] == unary["usage"]["output_tokens"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1000}}, "greater than or equal to 1024"),
        ({"thinking": {"type": "enabled", "budget_tokens": 4096}}, "`max_tokens` must be greater than"),
        ({"thinking": {"type": "enabled"}}, "budget_tokens: Field required"),
        ({"temperature": 0.5}, "`temperature` may only be set to 1"),
        ({"top_k": 5}, "`top_k` is not supported when thinking"),
        ({"top_p": 0.5}, "`top_p` must be greater than or equal to 0.95"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "any"}},
            "Thinking may not be enabled when tool_choice",
        ),
        ({"thinking": {"type": "adaptive"}}, "adaptive is not supported"),
        ({"thinking": {"type": "sometimes"}}, "does not match any of the expected tags"),
    ],
)
async def test_thinking_rules(change: dict[str, Any], message: str) -> None:
    r = await post(Simulator(), ask(**change))
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert message in r.json()["error"]["message"]


async def test_adaptive_thinking_on_models_that_take_it() -> None:
    sim = Simulator()
    body = ask(model="claude-opus-4-7", thinking={"type": "adaptive"}, output_config={"effort": "low"})
    r = await post(sim, body)
    assert r.status_code == 200 and r.json()["content"][0]["type"] == "thinking"
    refused = await post(sim, ask(model="claude-opus-4-7"))  # a fixed budget: not on 4.7
    assert refused.status_code == 400 and "thinking.type.enabled is not supported" in refused.text
    low = r.json()["usage"]["output_tokens"]
    high = (await post(sim, {**body, "output_config": {"effort": "high"}})).json()["usage"]["output_tokens"]
    assert high > low  # more effort, more thinking tokens


async def _tool_turn(sim: Simulator) -> list[dict[str, Any]]:
    first = (await post(sim, ask(tools=[WEATHER]))).json()
    assert first["content"][0]["type"] == "thinking" and first["stop_reason"] == "tool_use"
    results = [
        {"type": "tool_result", "tool_use_id": b["id"], "content": "sunny"}
        for b in first["content"]
        if b["type"] == "tool_use"
    ]
    return [
        ask()["messages"][0],
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": results},
    ]


async def test_replayed_thinking_is_verified() -> None:
    sim = Simulator()
    messages = await _tool_turn(sim)
    ok = await post(sim, ask(tools=[WEATHER], messages=messages))
    assert ok.status_code == 200 and ok.json()["stop_reason"] == "end_turn"

    edited = "`thinking` or `redacted_thinking` blocks in the latest assistant message cannot be modified."
    forged = "Invalid `signature` in `thinking` block"
    for field, value, refusal in (
        ("signature", "QUJD" * 30, forged),
        ("thinking", "I changed my mind.", edited),
    ):
        changed = [dict(m) for m in messages]
        block = {**messages[1]["content"][0], field: value}
        changed[1] = {"role": "assistant", "content": [block, *messages[1]["content"][1:]]}
        r = await post(sim, ask(tools=[WEATHER], messages=changed))
        assert r.status_code == 400
        message = r.json()["error"]["message"]
        assert message.startswith(f"messages.1.content.0: {refusal}")

    other_seed = await post(Simulator(), ask(tools=[WEATHER], messages=messages))
    assert other_seed.status_code == 200  # same seed, same key: another instance accepts it too


async def test_a_tool_turn_without_its_thinking_is_refused_while_thinking_is_on() -> None:
    sim = Simulator()
    messages = await _tool_turn(sim)
    stripped = [messages[0], {"role": "assistant", "content": messages[1]["content"][1:]}, messages[2]]
    r = await post(sim, ask(tools=[WEATHER], messages=stripped))
    assert r.status_code == 400 and "must start with a thinking block" in r.json()["error"]["message"]
    without = {k: v for k, v in ask(tools=[WEATHER], messages=stripped).items() if k != "thinking"}
    assert (await post(sim, without)).status_code == 200


@pytest.mark.parametrize(
    ("version", "model", "sampling", "refusal"),
    [
        (
            "2026-10-21",
            "claude-sonnet-4-5",
            {"temperature": 1.0},
            "temperature: Extra inputs are not permitted",
        ),
        (
            "2023-06-01",
            "claude-opus-4-7",
            {"temperature": 0.3},
            "`temperature` is deprecated for this model.",
        ),
        ("2023-06-01", "claude-opus-4-7", {"top_k": 3}, "`top_k` is deprecated for this model."),
        ("2023-06-01", "claude-sonnet-4-5", {"temperature": 0.3, "top_p": 0.9}, "cannot both be specified"),
        ("2023-06-01", "claude-opus-4-7", {"temperature": 1}, None),
        ("2023-06-01", "claude-sonnet-4-5", {"temperature": 0.3}, None),
        ("2023-06-01", "claude-3-7-sonnet-latest", {"temperature": 0.3, "top_p": 0.9}, None),
    ],
)
async def test_sampling_rules_per_version_and_model(
    version: str, model: str, sampling: dict[str, Any], refusal: str | None
) -> None:
    body = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}], **sampling}
    r = await post(Simulator(), body, {"anthropic-version": version})
    if refusal is None:
        assert r.status_code == 200
    else:
        assert r.status_code == 400 and refusal in r.json()["error"]["message"]


REDACT = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253"


async def test_the_documented_trigger_redacts_the_thinking() -> None:
    sim = Simulator()
    question = {"role": "user", "content": f"{REDACT} What is the weather in Paris?"}
    first = await post(sim, ask(tools=[WEATHER], messages=[question]))
    block = first.json()["content"][0]
    assert block["type"] == "redacted_thinking" and set(block) == {"type", "data"}
    assert thought_text(question["content"], 0) not in first.text  # the thought itself is not shown
    streamed = sse_events((await post(sim, ask(tools=[WEATHER], messages=[question], stream=True))).text)
    starts = [d["content_block"] for e, d in streamed if e == "content_block_start"]
    assert starts[0] == block  # whole in its start event, no deltas
    assert not [d for e, d in streamed if e == "content_block_delta" and d["index"] == 0]
    results = [
        {"type": "tool_result", "tool_use_id": b["id"], "content": "sunny"}
        for b in first.json()["content"]
        if b["type"] == "tool_use"
    ]
    history = [
        question,
        {"role": "assistant", "content": first.json()["content"]},
        {"role": "user", "content": results},
    ]
    assert (await post(sim, ask(tools=[WEATHER], messages=history))).status_code == 200
    broken = {**block, "data": block["data"][:-6] + "AAAAAA"}
    history[1] = {"role": "assistant", "content": [broken, *first.json()["content"][1:]]}
    refused = await post(sim, ask(tools=[WEATHER], messages=history))
    assert refused.status_code == 400 and "cannot be modified" in refused.json()["error"]["message"]
