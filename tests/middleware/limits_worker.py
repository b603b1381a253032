"""One of the processes of the distributed budget + rate-limit test (run as a script).

argv: a JSON object {settings, callers}. Once its client is built it prints ``ready`` and
waits for a line on stdin (so that both processes start together), then runs ``callers``
concurrent callers that each call until the shared budget refuses for good, and prints a
JSON summary on stdout.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from typing import Any

import llmrelay
from llmrelay import Settings
from llmrelay.errors import BudgetExceededError
from llmrelay.middleware.budget import BudgetMiddleware
from llmrelay.pipeline import Call
from llmrelay.types import ChatRequest, Message


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    settings = Settings.load(**spec["settings"])
    out: dict[str, Any] = {"ok": 0, "cost": 0.0, "max_reserved": 0.0, "errors": [], "retries": 0}
    async with llmrelay.Client(settings, environ={}) as client:
        budget = next(m for m in client._middleware if isinstance(m, BudgetMiddleware))

        async def caller(n: int) -> None:
            i = 0
            while True:
                i += 1
                req = ChatRequest(
                    model="shared", messages=(Message.user(f"caller {n} question {i}"),), max_tokens=20
                )
                cost, _ = budget.max_cost(Call(req))
                assert cost is not None
                out["max_reserved"] = max(out["max_reserved"], cost)
                try:
                    reply = await client.chat(req)
                except BudgetExceededError as e:
                    if e.code == "budget_reserved":  # calls in flight hold the rest: try again
                        out["retries"] += 1
                        await asyncio.sleep(0.02 + random.random() * 0.03)
                        continue
                    return
                except Exception as e:
                    out["errors"].append(f"{type(e).__name__}: {e}")
                    return
                out["ok"] += 1
                out["cost"] += reply.cost or 0.0

        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await asyncio.gather(*(caller(n) for n in range(spec["callers"])))
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
