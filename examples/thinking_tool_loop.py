"""A tool loop with reasoning on, over Anthropic (extended thinking) and Gemini 3 (thought
signatures): each reply's signed reasoning rides in ``provider_state``, and appending
``reply.message`` to the conversation replays it byte-identical, which both providers
require (they refuse a changed or missing signature with a 400).

Runs against the built-in simulator, which signs the reasoning and checks it the same
way; pass ``anthropic/claude-sonnet-4-5`` or ``gemini/gemini-3-flash-preview`` (with the
provider's key set) to run it for real.

Run: .venv/bin/python examples/thinking_tool_loop.py [model ...]
"""

import asyncio
import sys
from typing import Any

import llmrelay

WEATHER = llmrelay.Tool(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def reasoning_on(model: str) -> dict[str, Any]:
    """Provider settings travel in `extra` (top-level keys of the request body)."""
    if "claude" in model:
        return {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    return {"generationConfig": {"thinkingConfig": {"includeThoughts": True}}}


async def loop(client: llmrelay.Client, model: str) -> None:
    options = reasoning_on(model)
    conversation = [llmrelay.Message.user("What is the weather in Oslo and in Bergen?")]
    reply = await client.chat(conversation, model=model, tools=[WEATHER], extra=options, max_tokens=4096)
    while reply.tool_calls:
        conversation.append(reply.message)  # carries the signed reasoning
        for call in reply.tool_calls:
            print(f"  -> {call.name}({call.arguments})")
            conversation.append(llmrelay.Message.tool(call.id, "12 °C and clear"))
        reply = await client.chat(conversation, model=model, tools=[WEATHER], extra=options, max_tokens=4096)
    usage = reply.usage or llmrelay.Usage()
    print(f"[{model}] {reply.text}")
    print(f"  {usage.output_tokens} output tokens ({usage.reasoning_tokens} reported as reasoning)")


async def main(models: list[str]) -> None:
    async with llmrelay.Client() as client:
        for model in models:
            await loop(client, model)


if __name__ == "__main__":
    default = ["simulator-anthropic/claude-sonnet-4-5", "simulator-gemini/gemini-3-flash-preview"]
    asyncio.run(main(sys.argv[1:] or default))
