"""First-class request fields: one reasoning setting and prompt caching across providers,
and a field a provider cannot honour refused before anything is sent.

Runs against the built-in simulator (its Anthropic, Gemini and Responses faces); name real
models (``anthropic/claude-sonnet-4-5``, ``gemini/gemini-2.5-flash``, ``openai/gpt-5-mini``)
with their keys set to run it against the providers.

Run: .venv/bin/python examples/request_fields.py
"""

import asyncio

import llmrelay
from llmrelay import Message, PromptCache, Reasoning

MODELS = (
    "simulator-anthropic/claude-sonnet-4-5",  # a budget-only model: effort low -> 2,048 tokens
    "simulator-gemini/gemini-2.5-flash",  # thinkingBudget too
    "simulator-responses/o4-mini",  # reasoning.effort
)
HANDBOOK = "Every answer cites the handbook section it relies on. " * 200  # long enough to cache


async def main() -> None:
    async with llmrelay.Client() as client:
        conversation = [Message.system(HANDBOOK), Message.user("How many vacation days do I get?")]
        for model in MODELS:
            reply = await client.chat(
                conversation,
                model=model,
                reasoning=Reasoning(effort="low"),
                prompt_cache=PromptCache(auto="5m"),  # Anthropic: breakpoints; others cache by themselves
            )
            usage = reply.usage or llmrelay.Usage()
            print(f"{model}: {len(reply.text)} chars, {usage.reasoning_tokens} reasoning tokens")
        try:
            await client.chat(conversation, model=MODELS[-1], top_k=40)
        except llmrelay.UnsupportedFeatureError as exc:
            print(f"refused before sending: {exc.message}")


if __name__ == "__main__":
    asyncio.run(main())
