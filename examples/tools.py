"""A tool-calling loop: the model asks for a function, we run it and send the result back.

Run: .venv/bin/python examples/tools.py [model]
"""

import asyncio
import json
import sys

import llmrelay

WEATHER = llmrelay.Tool(
    name="get_weather",
    description="Current weather for a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
)


def get_weather(city: str, unit: str = "celsius") -> str:
    return json.dumps({"city": city, "temperature": 21, "unit": unit})


async def main(model: str) -> None:
    messages: list[llmrelay.Message] = [llmrelay.Message.user("What's the weather in Oslo?")]
    async with llmrelay.Client() as client:
        for _ in range(5):
            reply = await client.chat(messages, model=model, tools=[WEATHER])
            messages.append(reply.message)
            if not reply.tool_calls:
                print(reply.text)
                return
            for call in reply.tool_calls:
                print(f"model called {call.name}({call.arguments})")
                messages.append(llmrelay.Message.tool(call.id, get_weather(**call.parsed_arguments())))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "local"))
