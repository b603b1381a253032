"""A forced tool choice calls a tool even right after a tool result, on every protocol
(``auto`` answers the result with text). The real APIs always call when forced."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from llmrelay.simulator import Simulator
from llmrelay.simulator.engine import GenerationInput, ToolSpec, generate

PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = (ToolSpec("get_weather", "Weather", PARAMS), ToolSpec("get_time", "Time", PARAMS))


@pytest.mark.parametrize(
    ("choice", "calls"), [("auto", False), ("required", True), (("tool", "get_time"), True), ("none", False)]
)
def test_engine_after_a_tool_result(choice: str | tuple[str, str], calls: bool) -> None:
    inp = GenerationInput("m", "weather?\nsunny", last_is_tool_result=True, tools=TOOLS, tool_choice=choice)
    gen = generate(inp, seed=0)
    assert bool(gen.tool_calls) is calls
    if isinstance(choice, tuple):
        assert [c.name for c in gen.tool_calls] == ["get_time"]


async def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=Simulator().app), base_url="http://sim"
    ) as http:
        r = await http.post(path, json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


OA_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": PARAMS}}]
OA_HISTORY = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
async def test_openai_chat(choice: Any) -> None:
    body = {"model": "gpt-4o", "messages": OA_HISTORY, "tools": OA_TOOLS}
    auto = await post("/v1/chat/completions", body, {})
    assert auto["choices"][0]["finish_reason"] == "stop"
    forced = await post("/v1/chat/completions", {**body, "tool_choice": choice}, {})
    assert forced["choices"][0]["finish_reason"] == "tool_calls"
    assert forced["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("choice", ["required", {"type": "function", "name": "get_weather"}])
async def test_openai_responses(choice: Any) -> None:
    items = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    ]
    tools = [{"type": "function", "name": "get_weather", "parameters": PARAMS}]
    body = {"model": "gpt-4o", "input": items, "tools": tools, "store": False}
    assert [o["type"] for o in (await post("/v1/responses", body, {}))["output"]] == ["message"]
    forced = await post("/v1/responses", {**body, "tool_choice": choice}, {})
    assert [o["type"] for o in forced["output"]] == ["function_call"]


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"}])
async def test_anthropic(choice: dict[str, Any]) -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
    ]
    tools = [{"name": "get_weather", "input_schema": PARAMS}]
    body = {"model": "claude-sonnet-4-5", "max_tokens": 200, "messages": messages, "tools": tools}
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    assert (await post("/v1/messages", body, headers))["stop_reason"] == "end_turn"
    forced = await post("/v1/messages", {**body, "tool_choice": choice}, headers)
    assert forced["stop_reason"] == "tool_use"


async def test_gemini_mode_any() -> None:
    contents = [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get_weather", "response": {"sky": "sunny"}}}],
        },
    ]
    tools = [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}},
                }
            ]
        }
    ]
    body = {"contents": contents, "tools": tools}
    path, headers = "/v1beta/models/gemini-2.5-flash:generateContent", {"x-goog-api-key": "k"}
    auto = await post(path, body, headers)
    assert "text" in auto["candidates"][0]["content"]["parts"][0]
    forced = await post(path, {**body, "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}, headers)
    assert "functionCall" in forced["candidates"][0]["content"]["parts"][0]
