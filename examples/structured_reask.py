"""What extract does when the model misbehaves, shown with the built-in simulator's scripted replies.

The first reply is fenced, single-quoted JSON with a trailing comma and a wrong type; llmrelay
repairs the JSON, finds the validation error, and re-asks with it. The second reply is cut off
by max_tokens, which is an error that says so, never a silently shortened object.

Run: .venv/bin/python examples/structured_reask.py
"""

import asyncio

from pydantic import BaseModel

import llmrelay
from llmrelay.app.structured import OutputTruncatedError, extract_result
from llmrelay.simulator import Reply, ReplySequence


class City(BaseModel):
    name: str
    population: int


async def main() -> None:
    async with llmrelay.Client() as client:
        client.simulator.replies = ReplySequence(
            [
                Reply("Sure!\n```json\n{'name': 'Oslo', 'population': 'about 700k',}\n```"),
                Reply('{"name": "Oslo", "population": 709000}'),
                Reply('{"name": "Bergen", "population": 291940}'),
            ]
        )
        result = await extract_result(client, City, "What is the largest city in Norway?", model="local")
        print("value:", result.value)
        tokens = result.usage.total_tokens if result.usage else "?"
        print(f"attempts: {result.attempts} | tokens, all calls: {tokens} | cost, all calls: ${result.cost}")
        try:
            await extract_result(client, City, "And the second largest?", model="local", max_tokens=6)
        except OutputTruncatedError as exc:
            print("truncated:", exc.message)
            print("received:", exc.text)


if __name__ == "__main__":
    asyncio.run(main())
