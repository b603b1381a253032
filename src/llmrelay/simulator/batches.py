"""The batch APIs of the simulator: OpenAI's Batch (with Files), Anthropic's Message Batches
and Gemini's batch mode (inline requests).

Each batched request is served by the simulator's own endpoints (the ``openai``,
``anthropic`` and ``gemini`` modules) as if sent on its own, so its reply is the same one a direct call
gets; it counts in ``SimulatorStats`` like any request, and meets the same faults and
``rpm_limit`` (a request refused with 429 or 5xx is tried again later, as the providers do
inside their batch systems). Batches run on an accelerated clock: ``batch_turnaround``
simulated seconds, ``batch_speed`` times faster than real time (see ``SimulatorConfig``).

``GET /_simulator/batches`` reports what the batch APIs have done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmrelay.simulator import anthropic, gemini, openai
from llmrelay.simulator.batch_jobs import BatchClock
from llmrelay.simulator.batches_anthropic import AnthropicBatches
from llmrelay.simulator.batches_gemini import GeminiBatches
from llmrelay.simulator.batches_openai import OpenAIBatches
from llmrelay.simulator.core import Simulator
from llmrelay.simulator.responses import json_response

Handler = Callable[[Request], Awaitable[Response]]


def routes(sim: Simulator) -> list[BaseRoute]:
    clock = BatchClock.start(sim.config.batch_speed)
    # The batched requests go to an app of their own made of the same endpoints, bound to the
    # same simulator: their replies and counters are those of direct calls, and the status
    # counter of the outer app sees only what clients really sent.
    inner = Starlette(routes=[*openai.routes(sim), *anthropic.routes(sim), *gemini.routes(sim)])
    oa = OpenAIBatches(sim, clock, inner)
    an = AnthropicBatches(sim, clock, inner)
    ge = GeminiBatches(sim, clock, inner)

    async def stats(request: Request) -> Response:
        return json_response(
            {
                "openai": {
                    "batches": len(oa.batches),
                    "files": len(oa.files),
                    "requests_served": oa.requests_served,
                },
                "anthropic": {"batches": len(an.batches), "requests_served": an.requests_served},
                "gemini": {"batches": len(ge.batches), "requests_served": ge.requests_served},
            }
        )

    # OpenAI's batches live under /v1/batches, and so do Gemini's for clients of its v1 API (the
    # google-genai SDK's default): a Gemini request is the one that presents a Gemini key.
    shared = [
        Route("/v1/models/{model}:batchGenerateContent", ge.create, methods=["POST"]),
        Route("/v1/batches", _either(oa.list_batches, ge.list_batches), methods=["GET"]),
        Route("/v1/batches/{batch_id}:cancel", ge.cancel, methods=["POST"]),
        Route("/v1/batches/{batch_id}", _either(oa.get_batch, ge.get_batch), methods=["GET"]),
        Route("/v1/batches/{batch_id}", ge.delete, methods=["DELETE"]),
    ]
    own = Route("/_simulator/batches", stats, methods=["GET"])
    return [*shared, *oa.routes(), *an.routes(), *ge.routes(), own]


def _either(openai_handler: Handler, gemini_handler: Handler) -> Handler:
    async def handler(request: Request) -> Response:
        gemini = bool(request.headers.get("x-goog-api-key") or request.query_params.get("key"))
        return await (gemini_handler if gemini else openai_handler)(request)

    return handler


__all__ = ["routes"]
