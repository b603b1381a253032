"""The batch APIs of the simulator: OpenAI's Batch (with Files) and Anthropic's Message Batches.

Each batched request is served by the simulator's own endpoints (``openai`` and
``anthropic`` modules) as if sent on its own, so its reply is the same one a direct call
gets; it counts in ``SimulatorStats`` like any request, and meets the same faults and
``rpm_limit`` (a request refused with 429 or 5xx is tried again later, as the providers do
inside their batch systems). Batches run on an accelerated clock: ``batch_turnaround``
simulated seconds, ``batch_speed`` times faster than real time (see ``SimulatorConfig``).

``GET /_simulator/batches`` reports what the batch APIs have done.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmrelay.simulator import anthropic, openai
from llmrelay.simulator.batch_jobs import BatchClock
from llmrelay.simulator.batches_anthropic import AnthropicBatches
from llmrelay.simulator.batches_openai import OpenAIBatches
from llmrelay.simulator.core import Simulator
from llmrelay.simulator.responses import json_response


def routes(sim: Simulator) -> list[BaseRoute]:
    clock = BatchClock.start(sim.config.batch_speed)
    # The batched requests go to an app of their own made of the same endpoints, bound to the
    # same simulator: their replies and counters are those of direct calls, and the status
    # counter of the outer app sees only what clients really sent.
    inner = Starlette(routes=[*openai.routes(sim), *anthropic.routes(sim)])
    oa = OpenAIBatches(sim, clock, inner)
    an = AnthropicBatches(sim, clock, inner)

    async def stats(request: Request) -> Response:
        return json_response(
            {
                "openai": {
                    "batches": len(oa.batches),
                    "files": len(oa.files),
                    "requests_served": oa.requests_served,
                },
                "anthropic": {"batches": len(an.batches), "requests_served": an.requests_served},
            }
        )

    return [*oa.routes(), *an.routes(), Route("/_simulator/batches", stats, methods=["GET"])]


__all__ = ["routes"]
