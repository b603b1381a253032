"""What the simulator's reasoning and prompt-cache emulation cost per request, in process
(ASGI, no network): short and long prompts on each protocol, with the features off and on.
Best of 5 runs of 300 requests. Run: .venv/bin/python benchmarks/bench_simulator_features.py"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2

from llmrelay.simulator import Simulator

LONG = " ".join(f"Section {i} of the handbook says what it says." for i in range(220))  # ~2,400 tokens
ANTHROPIC = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
GEMINI = {"x-goog-api-key": "k"}
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent"


def chat(system: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": "Hi"}],
        **extra,
    }


def claude(system: Any, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 2048,
        "system": system,
        "messages": [{"role": "user", "content": "Hi"}],
        **extra,
    }


def gemini(text: str, **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


CASES: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
    ("openai chat, short prompt", CHAT, chat("Be brief."), {}),
    ("openai chat, 2.4k-token prompt (cached)", CHAT, chat(LONG), {}),
    ("openai chat, o4-mini reasoning", CHAT, chat("Be brief.", model="o4-mini"), {}),
    ("anthropic, short prompt", MESSAGES, claude("Be brief."), ANTHROPIC),
    ("anthropic, 2.4k-token prompt, no breakpoint", MESSAGES, claude(LONG), ANTHROPIC),
    (
        "anthropic, 2.4k-token prompt, breakpoint",
        MESSAGES,
        claude([{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]),
        ANTHROPIC,
    ),
    (
        "anthropic, thinking",
        MESSAGES,
        claude("Be brief.", thinking={"type": "enabled", "budget_tokens": 1024}),
        ANTHROPIC,
    ),
    ("gemini, short prompt", GENERATE, gemini("Hi"), GEMINI),
    ("gemini, 2.4k-token prompt (cached)", GENERATE, gemini(LONG), GEMINI),
    (
        "gemini, thinking",
        GENERATE,
        gemini("Hi", generationConfig={"thinkingConfig": {"includeThoughts": True}}),
        GEMINI,
    ),
]


async def best_us(
    path: str, body: dict[str, Any], headers: dict[str, str], repeat: int = 5, number: int = 300
) -> float:
    sim = Simulator()
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sim.app), base_url="http://sim") as http:
        for _ in range(50):
            await http.post(path, json=body, headers=headers)
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(number):
                r = await http.post(path, json=body, headers=headers)
            runs.append((time.perf_counter() - t0) / number * 1e6)
            assert r.status_code == 200, r.text
    return min(runs)


async def main() -> None:
    for name, path, body, headers in CASES:
        print(f"{name:48s} {await best_us(path, body, headers):8.0f} us/request")


if __name__ == "__main__":
    asyncio.run(main())
