"""Test helpers: a Client over several in-process simulators, one deployment each, and an
ASGI wrapper that answers the first requests with canned responses (headers the simulator
does not send, such as an HTTP-date Retry-After or a content-filter refusal)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import llmrelay
from llmrelay.middleware.retry import RetryMiddleware
from llmrelay.resilience.router import Router
from llmrelay.settings import Settings
from llmrelay.simulator import Simulator
from llmrelay.transport.asgi import StreamingASGITransport
from llmrelay.transport.http import Timeouts, Transport

MODEL = "gpt-4o-mini"


@dataclass
class Canned:
    """ASGI app: the next ``responses`` (status, headers, JSON body) in turn, then ``app``.
    ``arrivals`` has the (monotonic, wall-clock) time of every request."""

    app: Any
    responses: list[tuple[int, dict[str, str], Any]]
    arrivals: list[tuple[float, float]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.arrivals.append((time.monotonic(), time.time()))
        if scope["type"] != "http" or not self.responses:
            await self.app(scope, receive, send)
            return
        status, headers, body = self.responses.pop(0)
        raw = json.dumps(body).encode()
        hdrs = [(k.encode(), v.encode()) for k, v in {"content-type": "application/json", **headers}.items()]
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": raw})


def deployment(name: str, *, model: str = MODEL, **extra: Any) -> dict[str, Any]:
    return {
        "provider": "simulator",
        "model": model,
        "base_url": f"http://{name}.sim/v1",
        "name": name,
        **extra,
    }


@asynccontextmanager
async def relay(
    apps: Mapping[str, Any],
    *,
    models: Mapping[str, Any] | None = None,
    deployments: Sequence[dict[str, Any]] | None = None,
    timeouts: Timeouts | None = None,
    environ: Mapping[str, str] | None = None,
    **settings: Any,
) -> AsyncIterator[llmrelay.Client]:
    """A Client whose ``chat`` alias spreads over ``apps`` (name -> Simulator or ASGI app),
    each mounted at ``http://<name>.sim``. ``models`` replaces the alias table."""
    mounts = {
        f"http://{name}.sim": StreamingASGITransport(app.app if isinstance(app, Simulator) else app)
        for name, app in apps.items()
    }
    transport = Transport(timeouts=timeouts or Timeouts(connect=2, read=5), mounts=mounts)
    if models is None:
        models = {"chat": {"deployments": list(deployments or [deployment(n) for n in apps])}}
    # only the resilience layers: no ledger, no preflight check (its own tests cover it)
    config = {
        "default_model": next(iter(models)),
        "ledger": {"enabled": False},
        "catalog": {"preflight": False},
        **settings,
    }
    client = llmrelay.Client(
        Settings.load(models=dict(models), **config), environ=dict(environ or {}), transport=transport
    )
    try:
        yield client
    finally:
        await client.aclose()
        await transport.aclose()


def router_of(client: llmrelay.Client) -> Router:
    for mw in client._middleware:
        if isinstance(mw, RetryMiddleware):
            return mw.router
    raise AssertionError("no retry middleware in this client")
