"""The smallest useful program: one call and one stream against the built-in simulator.

Run: .venv/bin/python examples/quickstart.py   (set --model-style names to use a real provider)
"""

import asyncio
import sys

import llmrelay


async def main(model: str) -> None:
    async with llmrelay.Client() as client:
        reply = await client.chat("Name three prime numbers.", model=model)
        print(reply.text)
        print(f"  [{reply.provider}/{reply.model}] {reply.usage} finish={reply.finish_reason}")
        async for text in client.stream("Tell me a short story.", model=model).text_stream():
            print(text, end="", flush=True)
        print()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "local"))
