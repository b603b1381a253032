"""A conversation that fits its budget: older turns are summarized, everything is stored.

Run: .venv/bin/python examples/conversation.py
"""

import asyncio
import tempfile

import llmrelay
from llmrelay.app.conversations import Conversation, Summarize, open_store

QUESTIONS = [
    "I am planning a week of hiking in Norway in June. Where should I start?",
    "I prefer huts to tents. Does that change the route?",
    "What should I pack for rain?",
    "How fit do I need to be for the Besseggen ridge?",
    "Remind me: huts or tents, and which month am I going?",
]


async def main() -> None:
    store = open_store(f"sqlite:///{tempfile.mkdtemp()}/conversations.sqlite3")
    async with llmrelay.Client() as client:
        conv = await Conversation.open(
            client,
            "hiking-trip",
            store=store,
            model="local",
            system="You are a travel planner. Keep answers short.",
            budget=220,  # prompt tokens per call; by default the model's window less room for the reply
            strategy=Summarize(max_tokens=60),
        )
        for question in QUESTIONS:
            reply = await conv.send(question)
            window = await conv.window()
            print(f"> {question}\n  {reply.text[:70]}...")
            print(
                f"  [{window.tokens}/{window.budget} tokens next time: {window.kept} turns sent, "
                f"{window.dropped} summarized]"
            )
        print(f"summary so far: {conv.summary}")

        # Later, in another process: the conversation continues where it stopped.
        again = await Conversation.open(client, "hiking-trip", store=store, budget=220, strategy=Summarize())
        print(f"reopened with {len(again.turns)} stored turns")
        branch = await again.fork("hiking-trip-tents", upto=2)
        await branch.send("Actually, what if I camp instead?")
        print(f"the fork has {len(branch.turns)} turns; the original still has {len(again.turns)}")
        print("stored:", ", ".join(f"{i.id} ({i.length} turns)" for i in await store.list()))
    await store.aclose()


if __name__ == "__main__":
    asyncio.run(main())
