"""Ask for a validated Pydantic object, then stream one as it is written.

Run: .venv/bin/python examples/structured_output.py [model]
"""

import asyncio
import sys

from pydantic import BaseModel, Field

import llmrelay
from llmrelay.app.structured import extract_result, extract_stream


class Film(BaseModel):
    """A film, as a critic would file it."""

    title: str
    year: int = Field(ge=1888, le=2100)
    genres: list[str]


async def main(model: str) -> None:
    async with llmrelay.Client() as client:
        result = await extract_result(client, Film, "Describe a film as a record.", model=model)
        film = result.value  # a validated Film
        print(f"{film.title} ({film.year}): {', '.join(film.genres)}")
        tokens = result.usage.total_tokens if result.usage else "?"
        cost = f"${result.cost:.6f}" if result.cost is not None else "unknown"
        print(f"mode {result.mode}, {result.attempts} call(s), {tokens} tokens, cost {cost}")

        # Partial objects while the reply streams: fields fill in as they arrive.
        stream = extract_stream(client, Film, "Describe another film.", model=model)
        async for partial in stream:  # PartialFilm objects, then the validated Film
            print(f"  {type(partial).__name__}: {partial}")
        final = await stream.final()
        print("streamed:", final.value.title)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "local"))
