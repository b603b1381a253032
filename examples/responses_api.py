"""A tool loop with a reasoning model over OpenAI's Responses API, stateless (``store: false``).

The reasoning items of each turn come back encrypted and ride in ``provider_state``;
appending ``reply.message`` to the conversation replays them exactly on the next turn.
Runs against the built-in simulator; pass ``openai-responses/gpt-5-mini`` (with
OPENAI_API_KEY set) to run it against OpenAI.

Run: .venv/bin/python examples/responses_api.py [model]
"""

import asyncio
import sys

import llmrelay

WEATHER = llmrelay.Tool(
    "get_weather",
    "Current weather for a city",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    strict=True,
)
# `store` travels in `extra`; with store=False and reasoning set, the adapter asks for
# include=["reasoning.encrypted_content"] by itself.
REASONING = llmrelay.Reasoning(effort="low", summary="auto")
OPTIONS = {"store": False}


async def main(model: str) -> None:
    async with llmrelay.Client() as client:
        conversation = [llmrelay.Message.user("What is the weather in Oslo?")]
        reply = await client.chat(
            conversation, model=model, tools=[WEATHER], reasoning=REASONING, extra=OPTIONS
        )
        print(f"reasoning summary: {reply.reasoning}")
        while reply.tool_calls:
            conversation.append(reply.message)  # carries the encrypted reasoning items
            for call in reply.tool_calls:
                print(f"  -> {call.name}({call.arguments})")
                conversation.append(llmrelay.Message.tool(call.id, "12 °C and clear"))
            reply = await client.chat(
                conversation, model=model, tools=[WEATHER], reasoning=REASONING, extra=OPTIONS
            )
        print(reply.text)
        usage = reply.usage or llmrelay.Usage()
        spent = f"{usage.output_tokens} output tokens, {usage.reasoning_tokens} of them reasoning"
        print(f"  [{reply.provider}] {spent}")
        count = await client.count_tokens(conversation, model=model, tools=[WEATHER])
        print(f"  the last prompt: {count.tokens} tokens ({count.method})")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "simulator-responses/gpt-5-mini"))
