"""The application under test: it summarizes support tickets with whatever Client it is given."""

from __future__ import annotations

import llmrelay

SYSTEM = "Summarize the support ticket in one sentence. Never repeat email addresses."


async def summarize(client: llmrelay.Client, ticket: str, *, model: str | None = None) -> str:
    reply = await client.chat(
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ticket}],
        model=model,
        max_tokens=60,
    )
    return reply.text.strip()
