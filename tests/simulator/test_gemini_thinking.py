"""Gemini thinking, thought signatures and implicit caching in the simulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.simulator.test_gemini import KEY, WEATHER, body, client_for

from llmrelay.simulator import Simulator
from llmrelay.simulator.thinking import thought_text

G3 = "gemini-3-flash-preview"
QUESTION = "What is the weather in Paris for three days?"


async def generate(sim: Simulator, model: str, payload: dict[str, Any], stream: bool = False) -> Any:
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    async with client_for(sim) as http:
        return await http.post(f"/v1beta/models/{model}:{method}", json=payload, headers=KEY)


def thinking(**config: Any) -> dict[str, Any]:
    return {"generationConfig": {"thinkingConfig": config}}


async def test_thought_parts_signatures_and_usage() -> None:
    sim = Simulator()
    plain = (await generate(sim, "gemini-2.5-flash", body(QUESTION))).json()
    assert "thoughtsTokenCount" not in plain["usageMetadata"]  # 2.5 thinks only when asked here
    r = (await generate(sim, "gemini-2.5-flash", body(QUESTION, **thinking(includeThoughts=True)))).json()
    thought, answer = r["candidates"][0]["content"]["parts"]
    assert thought == {"text": thought_text(QUESTION, 0), "thought": True}
    assert answer["text"] == plain["candidates"][0]["content"]["parts"][0]["text"]
    assert len(answer["thoughtSignature"]) > 100
    meta = r["usageMetadata"]
    assert (
        meta["thoughtsTokenCount"] > 0
        and meta["candidatesTokenCount"] == plain["usageMetadata"]["candidatesTokenCount"]
    )
    assert (
        meta["totalTokenCount"]
        == meta["promptTokenCount"] + meta["candidatesTokenCount"] + meta["thoughtsTokenCount"]
    )
    hidden = (await generate(sim, "gemini-2.5-flash", body(QUESTION, **thinking(thinkingBudget=64)))).json()
    assert [p.get("thought") for p in hidden["candidates"][0]["content"]["parts"]] == [
        None
    ]  # no summary asked
    assert hidden["usageMetadata"]["thoughtsTokenCount"] == 64  # within the budget


async def test_the_stream_carries_the_thought_first_and_the_same_usage() -> None:
    sim = Simulator()
    payload = body(QUESTION, **thinking(includeThoughts=True))
    unary = (await generate(sim, G3, payload)).json()
    streamed = await generate(sim, G3, payload, stream=True)
    chunks = [json.loads(line[6:]) for line in streamed.text.split("\r\n\r\n") if line.startswith("data: ")]
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert parts[0] == {"text": thought_text(QUESTION, 0), "thought": True}
    signed = [p for p in parts if "thoughtSignature" in p]
    assert len(signed) == 1 and signed[0] is parts[1]  # the first part after the thought
    assert signed[0]["thoughtSignature"] == unary["candidates"][0]["content"]["parts"][1]["thoughtSignature"]
    assert chunks[-1]["usageMetadata"] == unary["usageMetadata"]


async def _call_turn(sim: Simulator) -> list[dict[str, Any]]:
    tools = [{"functionDeclarations": [WEATHER]}]
    first = (await generate(sim, G3, body(QUESTION, tools=tools))).json()
    model_turn = first["candidates"][0]["content"]
    calls = [p for p in model_turn["parts"] if "functionCall" in p]
    assert calls and "thoughtSignature" in calls[0]
    assert all("thoughtSignature" not in p for p in calls[1:])  # parallel calls: only the first is signed
    answers = [
        {"functionResponse": {"name": p["functionCall"]["name"], "response": {"temp": 21}}} for p in calls
    ]
    return [body(QUESTION)["contents"][0], model_turn, {"role": "user", "parts": answers}]


async def test_gemini3_checks_the_signatures_of_the_current_turn() -> None:
    sim = Simulator()
    contents = await _call_turn(sim)
    tools = [{"functionDeclarations": [WEATHER]}]
    ok = await generate(sim, G3, {"contents": contents, "tools": tools})
    assert ok.status_code == 200

    def with_signature(value: str | None) -> list[dict[str, Any]]:
        part = dict(contents[1]["parts"][0])
        part.pop("thoughtSignature")
        if value is not None:
            part["thoughtSignature"] = value
        return [contents[0], {**contents[1], "parts": [part, *contents[1]["parts"][1:]]}, contents[2]]

    missing = await generate(sim, G3, {"contents": with_signature(None), "tools": tools})
    assert missing.status_code == 400 and missing.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert missing.json()["error"]["message"].startswith("Function call is missing a thought_signature")
    changed = await generate(sim, G3, {"contents": with_signature("QUJD" * 30), "tools": tools})
    assert changed.status_code == 400 and changed.json()["error"]["message"] == "Invalid thought signature."
    garbage = await generate(sim, G3, {"contents": with_signature("not base64!"), "tools": tools})
    assert garbage.json()["error"]["message"] == "Corrupted thought signature."
    skip = await generate(
        sim, G3, {"contents": with_signature("skip_thought_signature_validator"), "tools": tools}
    )
    assert skip.status_code == 200
    # an earlier turn (before a new user message) is not checked, and neither are 2.5 models
    later = [
        *with_signature(None),
        {"role": "model", "parts": [{"text": "Sunny."}]},
        {"role": "user", "parts": [{"text": "Thanks"}]},
    ]
    assert (await generate(sim, G3, {"contents": later, "tools": tools})).status_code == 200
    assert (
        await generate(sim, "gemini-2.5-flash", {"contents": with_signature(None), "tools": tools})
    ).status_code == 200


@pytest.mark.parametrize(
    ("model", "config", "message"),
    [
        (
            "gemini-2.5-pro",
            {"thinkingBudget": 0},
            "Budget 0 is invalid. This model only works in thinking mode.",
        ),
        ("gemini-2.5-flash", {"thinkingBudget": 50_000}, "The thinking budget 50000 is invalid."),
        ("gemini-2.5-flash", {"thinkingLevel": "low"}, "Thinking level is not supported for this model."),
        (
            G3,
            {"thinkingLevel": "low", "thinkingBudget": 1024},
            "only one of thinking budget and thinking level",
        ),
        (G3, {"thinkingLevel": "extreme"}, "thinking_level"),
    ],
)
async def test_thinking_config_rules(model: str, config: dict[str, Any], message: str) -> None:
    r = await generate(Simulator(), model, body(QUESTION, **thinking(**config)))
    assert r.status_code == 400 and message in r.json()["error"]["message"]


async def test_thinking_levels_and_a_budget_of_zero() -> None:
    sim = Simulator()
    low = (await generate(sim, G3, body(QUESTION, **thinking(thinkingLevel="low")))).json()["usageMetadata"]
    high = (await generate(sim, G3, body(QUESTION, **thinking(thinkingLevel="HIGH")))).json()["usageMetadata"]
    assert 0 < low["thoughtsTokenCount"] < high["thoughtsTokenCount"]
    off = (await generate(sim, "gemini-2.5-flash", body(QUESTION, **thinking(thinkingBudget=0)))).json()
    assert "thoughtsTokenCount" not in off["usageMetadata"]


async def test_implicit_caching_reports_a_repeated_prefix() -> None:
    sim = Simulator()
    long = " ".join(f"rule{i} applies here." for i in range(600))
    first = (await generate(sim, "gemini-2.5-flash", body(long + " First question?"))).json()["usageMetadata"]
    assert "cachedContentTokenCount" not in first
    second = (await generate(sim, "gemini-2.5-flash", body(long + " Second question?"))).json()[
        "usageMetadata"
    ]
    cached = second["cachedContentTokenCount"]
    assert 1024 <= cached <= second["promptTokenCount"] and cached % 128 == 0
    assert second["cacheTokensDetails"] == [{"modality": "TEXT", "tokenCount": cached}]
    pro = (await generate(sim, "gemini-2.5-pro", body(long + " Third?"))).json()["usageMetadata"]
    assert "cachedContentTokenCount" not in pro  # another model, another cache (and Pro needs 4,096)
    sim.clock.advance(301)
    expired = (await generate(sim, "gemini-2.5-flash", body(long + " Fourth?"))).json()["usageMetadata"]
    assert "cachedContentTokenCount" not in expired
