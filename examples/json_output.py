"""Ask for JSON that matches a schema and decode it.

Run: .venv/bin/python examples/json_output.py [model]
"""

import asyncio
import json
import sys

import llmrelay

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
        "genres": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["title", "year", "genres"],
    "additionalProperties": False,
}


async def main(model: str) -> None:
    async with llmrelay.Client() as client:
        reply = await client.chat(
            "Describe a film as JSON.",
            model=model,
            response_format=llmrelay.ResponseFormat.json_schema(SCHEMA, name="film"),
        )
        film = json.loads(reply.text)
        print(film["title"], film["year"], ", ".join(film["genres"]))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "local"))
