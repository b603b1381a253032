"""Summarize a document several times longer than the model's context window.

Run: .venv/bin/python examples/long_document.py [model]   (default: the built-in simulator)
"""

import asyncio
import sys

import llmrelay
from llmrelay.app.documents import split_text, summarize, token_counter

SECTION = """## Part {n}

The river carries the signal across the valley, and every village along it keeps a record of
what passed. Engineers measured the flow each morning. They wrote the numbers in a ledger.

```python
flow = measure(river, day={n})
ledger.append(flow)
```

| day | flow |
|-----|------|
| {n} | {flow} |
"""


async def main(model: str) -> None:
    text = "\n".join(SECTION.format(n=n, flow=100 + n % 17) for n in range(4000))
    async with llmrelay.Client() as client:
        counter = token_counter(client, model)
        window = counter.info.context_window if counter.info else 0
        print(
            f"document: {counter.count(text):,} tokens ({'exact' if counter.exact else 'estimated'}); "
            f"the model's window: {window:,}"
        )

        chunks = split_text(text, max_tokens=400, overlap=40, count=counter.count)
        print(f"split for a 400-token budget: {len(chunks)} chunks; the first ends with:")
        print("   ", chunks[0].text.splitlines()[-1])

        result = await summarize(client, text, model=model, budget=1.00, concurrency=4, max_tokens=300)
        print(
            f"{result.chunks} chunks of up to {result.chunk_tokens:,} tokens, "
            f"{result.levels} reduce level(s), {result.calls} calls, "
            f"{result.usage.input_tokens:,} tokens in, cost ${result.cost or 0:.4f}"
        )
        print("summary:", result.answer[:200])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "local"))
