"""``SimulatedLLM``: Clients over the in-process simulator, with scripted replies and faults.

    sim = SimulatedLLM()
    sim.reply("Paris.", Reply.calls(("search", {"q": "louvre"})))
    sim.fail(Fault.rate_limited(), None)          # the first request gets a 429
    async with sim.client() as client:
        await my_app(client)
    sim.calls.assert_called_with(messages="What is the capital of France?")

Replies and faults are queues: each ``reply``/``fail`` call appends, each generated reply
(each request) takes the next; when a queue is empty the simulator generates its usual
deterministic answer and injects no fault. Every Client made here shares the queues and
the ``calls`` log, and has its own simulator (``client.simulator``: its ``stats`` count
requests, tokens and faults).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from llmrelay.app.testing.calls import CallLog
from llmrelay.simulator import Fault, Reply, RequestInfo
from llmrelay.simulator.engine import GenerationInput

if TYPE_CHECKING:
    from llmrelay.app.client import Client
    from llmrelay.settings import Settings


class ScriptedReplies:
    """A reply plan fed by ``SimulatedLLM.reply``; ``seen`` is the simulator's view of every
    request it answered (model, prompt text, tools, JSON mode), in order."""

    def __init__(self) -> None:
        self._queue: deque[Reply | None] = deque()
        self.seen: list[GenerationInput] = []

    def push(self, reply: Reply | None) -> None:
        self._queue.append(reply)

    @property
    def remaining(self) -> int:
        return len(self._queue)

    def next_reply(self, inp: GenerationInput) -> Reply | None:
        self.seen.append(inp)
        return self._queue.popleft() if self._queue else None


class ScriptedFaults:
    """A fault plan fed by ``SimulatedLLM.fail``; ``seen`` is every request it was asked about."""

    def __init__(self) -> None:
        self._queue: deque[Fault | None] = deque()
        self.seen: list[RequestInfo] = []

    def push(self, fault: Fault | None) -> None:
        self._queue.append(fault)

    @property
    def remaining(self) -> int:
        return len(self._queue)

    def next_fault(self, info: RequestInfo) -> Fault | None:
        self.seen.append(info)
        return self._queue.popleft() if self._queue else None


class SimulatedLLM:
    """Builds Clients wired to the in-process simulator (see the module doc).

    ``settings`` default to the built-in ones with the ledger off (no file written) and
    ``model`` ``local``; ``environ`` defaults to none at all, so no real key is ever read
    and nothing can reach a real provider by accident.
    """

    def __init__(self, settings: Settings | None = None, *, environ: dict[str, str] | None = None) -> None:
        from llmrelay.settings import Settings

        self.settings = settings if settings is not None else Settings.load(ledger={"enabled": False})
        self._environ = dict(environ or {})
        self.replies = ScriptedReplies()
        self.faults = ScriptedFaults()
        self.calls = CallLog()
        self.clients: list[Client] = []

    def reply(self, *replies: Reply | str | None) -> SimulatedLLM:
        """Queue what the model answers next: a ``Reply``, plain text, or None (generated)."""
        for r in replies:
            self.replies.push(Reply(r) if isinstance(r, str) else r)
        return self

    def fail(self, *faults: Fault | None) -> SimulatedLLM:
        """Queue what goes wrong with the next requests: a ``Fault``, or None (nothing)."""
        for f in faults:
            if f is not None and not isinstance(f, Fault):
                raise TypeError(f"fail() takes Fault or None, got {type(f).__name__}")
            self.faults.push(f)
        return self

    def make_client(self, **kwargs: Any) -> Client:
        """A Client over the simulator (``kwargs`` go to ``Client``); the caller closes it."""
        from llmrelay.app.client import Client

        client = Client(self.settings, environ=self._environ, **kwargs)
        sim = client.simulator
        sim.replies = self.replies
        sim.faults = self.faults
        self.calls.attach_to(client)
        self.clients.append(client)
        return client

    @contextlib.asynccontextmanager
    async def client(self, **kwargs: Any) -> AsyncIterator[Client]:
        """``async with sim.client() as client:`` — a Client over the simulator, closed after."""
        client = self.make_client(**kwargs)
        async with client:
            yield client
