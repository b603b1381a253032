"""The call contract: one ``Call`` object travels the pipeline from the face to the wire.

A face (the library's ``chat``/``stream``/``embed``/``count_tokens``, the CLI, the
gateway) builds a ``Call`` with its request, its subject and its deadline, and hands it
to ``Client.send`` or ``Client.send_stream``. The client resolves the route once; the
layers read and write the typed fields below and nothing else:

* ``route``: the alias's deployments and fallbacks (the route layer moves it along
  the fallbacks);
* ``attempt``: the deployment the current upstream request goes to and its number
  (set by the retry layer, read by the layers inside it and by the terminal);
* ``outcome``: what came back (usage, cost, time to first token, text…), computed
  once by the terminal handler and read by every layer's ``after``;
* ``trace_headers``: the trace propagation headers (``traceparent``…) of the current
  attempt, set by the observe layer around it and added to the HTTP request by the
  terminal (not to the request object: copying a request per attempt costs more);
* ``report``: the output-only account of what the pipeline did, which becomes
  ``response.meta``;
* ``ext``: a private area keyed by type, for facts one layer leaves for another
  (preflight's token counts for budget and rate limits, the resilience layers'
  shared state). No string keys.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

from llmrelay.pipeline.outcome import Outcome
from llmrelay.types import NOBODY, ChatRequest, CountRequest, EmbeddingRequest, Subject
from llmrelay.types.report import Report

if TYPE_CHECKING:
    from llmrelay.resolve import Deployment, Route

Request: TypeAlias = ChatRequest | EmbeddingRequest | CountRequest
Op: TypeAlias = Literal["chat", "embed", "count"]
#: when a stream that broke after delivering content may be resumed (see docs/resilience.md)
Resume: TypeAlias = Literal["off", "deterministic", "always"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One upstream request of a call: where it goes and its number (1-based, across
    retries, fallbacks, hedges and resumes)."""

    deployment: Deployment
    number: int


@dataclass(slots=True, eq=False)
class Call:
    """One logical call as it travels the pipeline (see the module docstring).

    Build it with the request and, from a face that knows them, ``subject`` (who pays
    and is limited), ``deadline`` (seconds for the whole call, retries included;
    None: the configured ``retry.deadline``) and ``resume`` (None: the configured
    ``retry.resume``). Everything else is the pipeline's.
    """

    request: Request
    stream: bool = False
    subject: Subject = NOBODY
    deadline: float | None = None
    include_raw: bool = False
    resume: Resume | None = None
    route: Route | None = None
    attempt: Attempt | None = None
    #: ``time.perf_counter()`` when the call was sent
    started: float = 0.0
    outcome: Outcome = field(default_factory=Outcome)
    report: Report = field(default_factory=Report)
    ext: dict[type[Any], Any] = field(default_factory=dict)
    #: the current attempt's propagation headers (see the module docstring); a branch
    #: for a concurrent attempt starts without them
    trace_headers: Mapping[str, str] | None = None

    @property
    def op(self) -> Op:
        req = self.request
        if type(req) is ChatRequest:
            return "chat"
        if type(req) is EmbeddingRequest:
            return "embed"
        return "count"

    @property
    def chat(self) -> ChatRequest:
        """The chat request of a chat or count call (``TypeError`` for embeddings)."""
        req = self.request
        if type(req) is ChatRequest:
            return req
        if type(req) is CountRequest:
            return req.chat
        raise TypeError("an embedding call has no chat request")

    @property
    def model(self) -> str:
        return self.request.model

    def get(self, kind: type[_T]) -> _T | None:
        """The extension of type ``kind``, if a layer has set one."""
        value: _T | None = self.ext.get(kind)
        return value

    def setdefault(self, kind: type[_T]) -> _T:
        """The extension of type ``kind``, made with ``kind()`` on first use."""
        value: _T | None = self.ext.get(kind)
        if value is None:
            value = self.ext[kind] = kind()
        return value

    def branch(self, attempt: Attempt) -> Call:
        """A copy for a concurrent attempt (a hedge): same request, route, report and
        extensions; its own attempt and outcome."""
        return Call(
            self.request,
            self.stream,
            self.subject,
            self.deadline,
            self.include_raw,
            self.resume,
            self.route,
            attempt,
            self.started,
            Outcome(),
            self.report,
            self.ext,
        )

    def deployment(self) -> Deployment:
        """The deployment of the current attempt, else the route's first."""
        if self.attempt is not None:
            return self.attempt.deployment
        if self.route is None:
            raise RuntimeError("the call has no route yet: send it through Client.send")
        return self.route.deployments[0]

    def elapsed(self) -> float:
        return time.perf_counter() - self.started
