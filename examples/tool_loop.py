"""Let the model call Python functions until it answers: validation, parallel calls,
timeouts and approval are handled by run_tools.

Run: .venv/bin/python examples/tool_loop.py [model]
"""

import asyncio
import sys
from typing import Literal

import llmrelay
from llmrelay.app.tools import PendingCall, run_tools, tool


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, object]:
    """Current weather for a city.

    Args:
        city: the city name, e.g. "Oslo"
        unit: the temperature unit
    """
    return {"city": city, "temperature": 21 if unit == "celsius" else 70, "unit": unit}


@tool(timeout=5)
async def local_time(city: str) -> str:
    """The local time in a city.

    Args:
        city: the city name
    """
    await asyncio.sleep(0)  # stands in for an API call
    return f"14:05 in {city}"


@tool(dangerous=True)
def book_table(restaurant: str, people: int) -> str:
    """Book a restaurant table (spends money, so it needs approval).

    Args:
        restaurant: where
        people: how many
    """
    return f"booked {restaurant} for {people}"


def approve(pending: PendingCall) -> bool:
    print(f"  approve {pending.name}({pending.arguments})? yes")
    return True


async def main(model: str) -> None:
    async with llmrelay.Client() as client:
        run = await run_tools(
            client,
            "What's the weather and the time in Oslo? Book a table for two if it is warm.",
            tools=[get_weather, local_time, book_table],
            approve=approve,
            model=model,
        )
        for result in run.results:
            status = result.error or "ok"
            print(f"  {result.name}({result.call.arguments}) -> {status}: {result.content}")
        print(run.text)
        tokens = run.usage.total_tokens if run.usage else "?"
        cost = f"${run.cost:.6f}" if run.cost is not None else "unknown"
        print(f"{run.turns} model calls, {tokens} tokens, cost {cost}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "local"))
