"""The simulator object: configuration, fault plan, counters, pacing, and the ASGI app.

One ``Simulator`` serves all three protocols. Protocol modules (``openai``,
``anthropic``, ``gemini``) each expose ``routes(sim)``; they call ``sim.begin`` once per
request to get its index and fault, ``sim.generate`` for the reply, ``sim.delay`` before
answering and ``sim.pace`` to stream pieces at the configured speed.

All state lives on the instance; two simulators in one process never share anything.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llmrelay.errors import ConfigError
from llmrelay.simulator.clock import SimClock
from llmrelay.simulator.engine import Generation, GenerationInput, generate, scripted_generation
from llmrelay.simulator.faults import Fault, FaultPlan, NoFaults, RequestInfo
from llmrelay.simulator.prompt_cache import PromptCache
from llmrelay.simulator.script import NoReplies, ReplyPlan

# "batches" goes before "gemini", whose catch-all route would otherwise answer Gemini's batch paths
PROTOCOL_MODULES = ("openai", "responses_api", "anthropic", "batches", "gemini")

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o4-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "claude-opus-4-1",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "text-embedding-004",
    "sim-1",
)

# base64 minus its two symbols: ids stay alphanumeric like the providers' own.
_ALNUM = bytes.maketrans(b"+/", b"xY")


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Knobs of a simulator.

    ``latency``: seconds before the response headers; ``ttft``: extra seconds before the
    first streamed piece; ``tokens_per_second``: streaming speed (None: as fast as
    possible); ``api_keys``: None accepts any key or none, otherwise a request must
    present one of them (401 otherwise); ``context_window``: prompt tokens beyond this
    are refused; ``models``: None accepts any model name, otherwise others get 404;
    ``hang_seconds``: how long a ``hang`` fault stalls; ``rpm_limit``: requests accepted per
    ``rate_window`` seconds (a sliding window, like a provider's per-minute limit; None: no
    limit), beyond which requests get a 429 with the Retry-After of the next free slot.
    ``batch_turnaround``: simulated seconds a batch job (OpenAI Batch, Anthropic Message
    Batches) takes from submission to its last result; ``batch_speed``: simulated seconds
    per real second on the batch clock (3600: an hour a second).
    """

    seed: int = 0
    latency: float = 0.0
    ttft: float = 0.0
    tokens_per_second: float | None = None
    api_keys: frozenset[str] | None = field(default=None, repr=False)
    context_window: int = 128_000
    models: frozenset[str] | None = None
    hang_seconds: float = 3600.0
    rpm_limit: int | None = None
    rate_window: float = 60.0
    batch_turnaround: float = 600.0
    batch_speed: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("latency", "ttft"):
            value = getattr(self, name)
            if value < 0:
                raise ConfigError(f"SimulatorConfig.{name} must be >= 0 seconds, got {value}")
        if self.tokens_per_second is not None and self.tokens_per_second <= 0:
            raise ConfigError(
                "SimulatorConfig.tokens_per_second must be > 0 (or None for no pacing), "
                f"got {self.tokens_per_second}"
            )
        if self.context_window < 1:
            raise ConfigError(f"SimulatorConfig.context_window must be >= 1 token, got {self.context_window}")
        if self.hang_seconds <= 0:
            raise ConfigError(f"SimulatorConfig.hang_seconds must be > 0, got {self.hang_seconds}")
        if self.rpm_limit is not None and self.rpm_limit < 1:
            raise ConfigError(f"SimulatorConfig.rpm_limit must be >= 1 (or None), got {self.rpm_limit}")
        if self.rate_window <= 0:
            raise ConfigError(f"SimulatorConfig.rate_window must be > 0 seconds, got {self.rate_window}")
        if not self.batch_turnaround > 0 or not self.batch_speed > 0:
            raise ConfigError(
                "SimulatorConfig.batch_turnaround and batch_speed must be > 0, "
                f"got {self.batch_turnaround} and {self.batch_speed}"
            )
        # Accept any iterable of keys/models for convenience; store frozensets.
        keys: Any = self.api_keys
        if keys is not None and not isinstance(keys, frozenset):
            object.__setattr__(self, "api_keys", frozenset(keys))
        models: Any = self.models
        if models is not None and not isinstance(models, frozenset):
            object.__setattr__(self, "models", frozenset(models))

    def __repr__(self) -> str:
        keys = "any" if self.api_keys is None else f"{len(self.api_keys)} keys"
        return (
            f"SimulatorConfig(seed={self.seed}, latency={self.latency}, ttft={self.ttft}, "
            f"tokens_per_second={self.tokens_per_second}, api_keys=<{keys}>, "
            f"context_window={self.context_window})"
        )


@dataclass(slots=True)
class SimulatorStats:
    """What a simulator has served, for tests and benchmarks to assert on."""

    requests: Counter[str] = field(default_factory=Counter)  # by protocol
    statuses: Counter[int] = field(default_factory=Counter)  # by HTTP status sent
    faults: Counter[str] = field(default_factory=Counter)  # by fault kind injected
    # by what exactly was injected into which kind of request: "status:429/unary", "cut_stream@3/stream"
    fault_detail: Counter[str] = field(default_factory=Counter)
    streams_completed: int = 0
    streams_cut: int = 0
    rate_limited: int = 0  # requests refused by rpm_limit
    peak_window_requests: int = 0  # most requests accepted within one rate_window
    prompt_tokens: int = 0
    completion_tokens: int = 0
    replies_scripted: int = 0  # replies taken from the reply plan instead of generated

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "requests": dict(self.requests),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "faults": dict(self.faults),
            "fault_detail": dict(self.fault_detail),
            "streams_completed": self.streams_completed,
            "streams_cut": self.streams_cut,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "rate_limited": self.rate_limited,
            "peak_window_requests": self.peak_window_requests,
            "replies_scripted": self.replies_scripted,
        }


class Simulator:
    """An in-process LLM provider: mount ``sim.app`` on an ASGI transport or serve it."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        faults: FaultPlan | None = None,
        replies: ReplyPlan | None = None,
    ) -> None:
        self.config = config if config is not None else SimulatorConfig()
        self.faults: FaultPlan = faults if faults is not None else NoFaults()
        #: scripted replies (see ``simulator.script``); asked before each reply is generated
        self.replies: ReplyPlan = replies if replies is not None else NoReplies()
        self.stats = SimulatorStats()
        self._next_index = 0
        self._accepted: deque[float] = deque()  # arrival times within the rate window
        self._app: ASGIApp | None = None
        #: the clock prompt-cache entries expire on; ``sim.clock.advance(s)`` moves it forward
        self.clock = SimClock()
        #: what the providers' prompt caches remember (digests of prompt prefixes, bounded)
        self.prompt_cache = PromptCache(self.clock)

    def __repr__(self) -> str:
        return f"Simulator({self.config!r}, faults={self.faults!r})"

    # ------------------------------------------------------------------ per request

    def begin(self, protocol: str, model: str, stream: bool) -> tuple[RequestInfo, Fault | None]:
        """Count a request that passed validation and ask the fault plan about it."""
        info = RequestInfo(protocol, model, stream, self._next_index)
        self._next_index += 1
        self.stats.requests[protocol] += 1
        limited = self._over_rate_limit()
        if limited is not None:
            return info, limited
        fault = self.faults.next_fault(info)
        if fault is not None:
            self.stats.faults[fault.kind] += 1
            self.stats.fault_detail[f"{fault.label}/{'stream' if stream else 'unary'}"] += 1
        return info, fault

    def _over_rate_limit(self) -> Fault | None:
        """A 429 when ``rpm_limit`` requests already arrived within the window, else None
        (and the request is counted in the window)."""
        limit = self.config.rpm_limit
        if limit is None:
            return None
        now, window, accepted = self.clock.now(), self.config.rate_window, self._accepted
        while accepted and accepted[0] <= now - window:
            accepted.popleft()
        if len(accepted) >= limit:
            self.stats.rate_limited += 1
            return Fault.rate_limited(retry_after=max(accepted[0] + window - now, 0.0))
        accepted.append(now)
        self.stats.peak_window_requests = max(self.stats.peak_window_requests, len(accepted))
        return None

    def generate(self, inp: GenerationInput, *, prompt: int | None = None) -> Generation:
        """The engine's reply with this simulator's seed (or the reply plan's scripted one),
        counted in the stats.

        ``prompt`` passes in ``engine.prompt_tokens(inp)`` when the caller already counted it.
        """
        reply = self.replies.next_reply(inp)
        if reply is None:
            generation = generate(inp, seed=self.config.seed, prompt=prompt)
        else:
            self.stats.replies_scripted += 1
            calls = [(c.name, c.arguments_json) for c in reply.tool_calls]
            generation = scripted_generation(inp, reply.text, calls, seed=self.config.seed, prompt=prompt)
        self.stats.prompt_tokens += generation.prompt_tokens
        self.stats.completion_tokens += generation.completion_tokens
        return generation

    def generate_many(self, inp: GenerationInput, n: int, *, prompt: int | None = None) -> list[Generation]:
        """``n`` alternative replies (OpenAI ``n``, Gemini ``candidateCount``); the first is ``generate``'s.

        The prompt is counted once, as providers bill it.
        """
        first = self.generate(inp, prompt=prompt)
        out = [first]
        base = self.config.seed if inp.seed is None else inp.seed
        for i in range(1, n):
            other = generate(replace(inp, seed=base + i * 7919), seed=base, prompt=first.prompt_tokens)
            self.stats.completion_tokens += other.completion_tokens
            out.append(other)
        return out

    def check_key(self, presented: str | None) -> bool:
        keys = self.config.api_keys
        if keys is None:
            return True
        if not presented:
            return False
        # Constant-time comparison: cheap, and the gateway reuses this for real keys.
        candidate = presented.encode()
        return any(hmac.compare_digest(candidate, k.encode()) for k in keys)

    def knows_model(self, model: str) -> bool:
        return self.config.models is None or model in self.config.models

    def new_id(self, prefix: str, info: RequestInfo, length: int = 24) -> str:
        """A provider-looking id, deterministic in the seed and the request index."""
        digest = hashlib.blake2b(
            f"{self.config.seed}:{info.index}:{prefix}".encode(), digest_size=48
        ).digest()
        return prefix + base64.b64encode(digest).translate(_ALNUM)[:length].decode("ascii")

    def stream_finished(self, *, cut: bool = False) -> None:
        if cut:
            self.stats.streams_cut += 1
        else:
            self.stats.streams_completed += 1

    # ------------------------------------------------------------------ timing

    async def delay(self) -> None:
        """Wait the configured latency (call before sending headers)."""
        if self.config.latency > 0:
            await asyncio.sleep(self.config.latency)

    async def hang(self) -> None:
        """Stall far beyond any sensible client timeout (a ``hang`` fault)."""
        await asyncio.sleep(self.config.hang_seconds)

    @property
    def paces(self) -> bool:
        """Whether streams are slowed down (``ttft`` or ``tokens_per_second`` set)."""
        return self.config.ttft > 0 or self.config.tokens_per_second is not None

    async def pace(self, pieces: Sequence[str]) -> AsyncIterator[tuple[int, str]]:
        """Yield ``(index, piece)`` after ``ttft``, at ``tokens_per_second``.

        Pieces are scheduled against the clock rather than slept one by one, so at high
        rates the stream keeps its average speed despite coarse timer resolution.
        """
        ttft, tps = self.config.ttft, self.config.tokens_per_second
        if ttft <= 0 and tps is None:
            for i, piece in enumerate(pieces):
                yield i, piece
            return
        if ttft > 0:
            await asyncio.sleep(ttft)
        start = time.monotonic()
        for i, piece in enumerate(pieces):
            if tps is not None and i > 0:
                ahead = start + i / tps - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            yield i, piece

    # ------------------------------------------------------------------ app

    @property
    def app(self) -> ASGIApp:
        """The ASGI app with every protocol's routes (built once)."""
        if self._app is None:
            self._app = _StatusCounter(self._build_app(), self.stats)
        return self._app

    def _build_app(self) -> Starlette:
        routes: list[BaseRoute] = []
        for name in PROTOCOL_MODULES:
            # Imported here, not at the top: the protocol modules import this one.
            module = importlib.import_module(f"llmrelay.simulator.{name}")
            routes.extend(module.routes(self))
        routes.append(Route("/_simulator/stats", self._stats_endpoint, methods=["GET"]))
        routes.append(Route("/_simulator/health", _health_endpoint, methods=["GET"]))
        return Starlette(routes=routes)

    async def _stats_endpoint(self, request: Request) -> Response:
        return JSONResponse(self.stats.snapshot())


async def _health_endpoint(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class _StatusCounter:
    """ASGI wrapper counting the status of every response sent (including Starlette's own 404s)."""

    __slots__ = ("_app", "_stats")

    def __init__(self, app: ASGIApp, stats: SimulatorStats) -> None:
        self._app = app
        self._stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        stats = self._stats

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats.statuses[int(message["status"])] += 1
            await send(message)

        await self._app(scope, receive, counting_send)
