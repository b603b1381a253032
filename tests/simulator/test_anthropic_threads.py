"""The Anthropic message-threads beta in the simulator, on the wire and through the SDK's tool runner."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic import beta_async_tool
from tests.simulator.test_anthropic import HEADERS, WEATHER, client_for

from llmrelay.simulator import Simulator

BETA = {**HEADERS, "anthropic-beta": "message-threads-2026-08-12"}
QUESTION = {"role": "user", "content": "What is the weather in Paris?"}


def ask(messages: list[Any], thread: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 300, "messages": messages, "thread": thread, **extra}


def results(reply: dict[str, Any]) -> dict[str, Any]:
    blocks = [
        {"type": "tool_result", "tool_use_id": b["id"], "content": "sunny"}
        for b in reply["content"]
        if b["type"] == "tool_use"
    ]
    return {"role": "user", "content": blocks}


async def test_a_continued_thread_answers_as_if_the_history_were_sent() -> None:
    sim = Simulator()
    async with client_for(sim) as http:
        first = await http.post(
            "/v1/messages",
            json=ask([QUESTION], {"type": "create"}, tools=[WEATHER], system="Be brief."),
            headers=BETA,
        )
        assert first.status_code == 200 and first.json()["stop_reason"] == "tool_use"
        reply = first.json()
        cont = {"type": "continue", "previous_message_id": reply["id"]}
        threaded = await http.post("/v1/messages", json=ask([results(reply)], cont), headers=BETA)
        assert threaded.status_code == 200, threaded.text
        # the same conversation sent whole, without a thread, gets the same answer
        whole = [QUESTION, {"role": "assistant", "content": reply["content"]}, results(reply)]
        body = {k: v for k, v in ask(whole, {}, tools=[WEATHER], system="Be brief.").items() if k != "thread"}
        plain = await http.post("/v1/messages", json=body, headers=HEADERS)
        assert threaded.json()["content"] == plain.json()["content"]
        assert threaded.json()["usage"]["input_tokens"] == plain.json()["usage"]["input_tokens"]
        # a thread position is continued once; a second continue from it is refused
        again = await http.post("/v1/messages", json=ask([results(reply)], cont), headers=BETA)
        assert again.status_code == 409
        assert again.json()["error"]["details"] == {"error_code": "thread_already_continued"}


async def test_thread_refusals() -> None:
    sim = Simulator()
    async with client_for(sim) as http:
        unknown = await http.post(
            "/v1/messages",
            json=ask([QUESTION], {"type": "continue", "previous_message_id": "msg_nope"}),
            headers=BETA,
        )
        assert (
            unknown.status_code == 404
            and unknown.json()["error"]["details"]["error_code"] == "thread_not_found"
        )
        no_beta = await http.post("/v1/messages", json=ask([QUESTION], {"type": "create"}), headers=HEADERS)
        assert (
            no_beta.status_code == 400
            and no_beta.json()["error"]["message"] == "thread: Extra inputs are not permitted"
        )
        first = (
            await http.post("/v1/messages", json=ask([QUESTION], {"type": "create"}), headers=BETA)
        ).json()
        cont = {"type": "continue", "previous_message_id": first["id"]}
        repeated = await http.post(
            "/v1/messages", json=ask([{"role": "user", "content": "More?"}], cont, system="x"), headers=BETA
        )
        assert repeated.status_code == 400 and "system" in repeated.json()["error"]["message"]


@pytest.mark.parametrize(
    "thinking", [None, {"type": "enabled", "budget_tokens": 1024}], ids=["plain", "thinking"]
)
async def test_the_sdk_tool_runner_runs_on_a_thread(thinking: dict[str, Any] | None) -> None:
    sim = Simulator()
    sent: list[dict[str, Any]] = []

    async def record(request: httpx2.Request) -> None:
        sent.append(json.loads(request.content))

    @beta_async_tool
    async def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"sunny in {city}"

    http = httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=sim.app), base_url="http://sim", event_hooks={"request": [record]}
    )
    async with http:
        sdk = anthropic.AsyncAnthropic(api_key="k", base_url="http://sim", http_client=http, max_retries=0)
        extra: dict[str, Any] = {"thinking": thinking} if thinking else {}
        runner = sdk.beta.messages.tool_runner(
            model="claude-sonnet-4-5", max_tokens=3000, tools=[get_weather], messages=[QUESTION], **extra
        )
        replies = [message async for message in runner]
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    assert sent[0]["thread"] == {"type": "create"}
    assert sent[1]["thread"] == {"type": "continue", "previous_message_id": replies[0].id}
    assert [m["role"] for m in sent[1]["messages"]] == ["user"]  # only the new turn travelled
    if thinking:  # the thread held the signed thinking of the tool turn, and it verified
        assert replies[0].content[0].type == "thinking"
    assert sim.stats.statuses[200] == 2 and sum(sim.stats.statuses.values()) == 2
