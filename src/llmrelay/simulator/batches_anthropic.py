"""Anthropic's Message Batches API: ``POST /v1/messages/batches``, ``GET …/batches[/{id}]``,
``GET …/{id}/results`` (JSONL, once the batch has ended), ``POST …/{id}/cancel`` and
``DELETE …/{id}``.

A batch is ``in_progress`` until every request is settled, then ``ended``; a cancelled one
goes through ``canceling``. Results come in an order of their own, one line per request:
``succeeded`` (the Message), ``errored`` (the error answer), ``canceled`` or ``expired``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from llmrelay.simulator.anthropic import error_type
from llmrelay.simulator.anthropic_response import error_body
from llmrelay.simulator.batch_jobs import BatchClock, BatchItem, ItemResult, Job, new_id, shuffled
from llmrelay.simulator.core import Simulator
from llmrelay.simulator.responses import dumps, json_response

MAX_REQUESTS = 100_000
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Invalid(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(slots=True)
class AnthropicBatch:
    job: Job
    results_base: str  # scheme://host of the submitting request, for results_url


def _rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AnthropicBatches:
    """The Message Batches endpoints of one simulator; ``app`` serves the batched requests."""

    def __init__(self, sim: Simulator, clock: BatchClock, app: ASGIApp) -> None:
        self.sim = sim
        self.clock = clock
        self.app = app
        self.batches: dict[str, AnthropicBatch] = {}
        self._made = 0
        self.requests_served = 0

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/messages/batches", self.create, methods=["POST"]),
            Route("/v1/messages/batches", self.list_batches, methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}", self.get_batch, methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}", self.delete, methods=["DELETE"]),
            Route("/v1/messages/batches/{batch_id}/results", self.results, methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}/cancel", self.cancel, methods=["POST"]),
        ]

    # ------------------------------------------------------------------ helpers

    def _gate(self, request: Request) -> Response | None:
        presented = request.headers.get("x-api-key")
        if not presented:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            presented = token.strip() if scheme.lower() == "bearer" and token.strip() else None
        if not self.sim.check_key(presented):
            message = "x-api-key header is required" if presented is None else "invalid x-api-key"
            return self._error(_Invalid(message, 401))
        version = request.headers.get("anthropic-version")
        if version is None:
            return self._error(_Invalid("anthropic-version: header is required"))
        if not _VERSION.match(version):
            return self._error(_Invalid(f'anthropic-version: "{version}" is not a valid version'))
        return None

    def _error(self, error: _Invalid) -> Response:
        self._made += 1
        request_id = new_id("req_", self.sim.config.seed, "anthropic-batch-error", self._made)
        body = error_body(error_type(error.status), error.message, request_id)
        return json_response(body, error.status, {"request-id": request_id})

    def _find(self, request: Request) -> AnthropicBatch | Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self._error(_Invalid(f"Batch {request.path_params['batch_id']} not found", 404))
        return batch

    async def _refresh(self, batch: AnthropicBatch) -> float:
        now = self.clock.now()
        before = batch.job.served
        await batch.job.advance(self.app, now)
        self.requests_served += max(0, batch.job.served - before)
        return now

    def _object(self, batch: AnthropicBatch, now: float) -> dict[str, Any]:
        job = batch.job
        phase = job.phase(now)
        counts = job.counts()
        ended = phase == "ended"
        return {
            "id": job.id,
            "type": "message_batch",
            "processing_status": {"canceling": "canceling", "ended": "ended"}.get(phase, "in_progress"),
            "request_counts": {
                "processing": len(job.items) - sum(counts.values()),
                "succeeded": counts["succeeded"],
                "errored": counts["errored"],
                "canceled": counts["canceled"],
                "expired": counts["expired"],
            },
            "ended_at": _rfc3339(job.finished_at),
            "created_at": _rfc3339(job.created),
            "expires_at": _rfc3339(job.expires_at),
            "archived_at": None,
            "cancel_initiated_at": _rfc3339(job.cancel_at),
            "results_url": f"{batch.results_base}/v1/messages/batches/{job.id}/results" if ended else None,
        }

    # ------------------------------------------------------------------ endpoints

    async def create(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            try:
                body = json.loads(await request.body())
            except (ValueError, UnicodeDecodeError):
                raise _Invalid("There was an error parsing the body of your request") from None
            items = _read_requests(body)
        except _Invalid as error:
            return self._error(error)
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"anthropic-version", request.headers["anthropic-version"].encode("latin-1")),
        ]
        for name in ("x-api-key", "authorization", "anthropic-beta"):
            value = request.headers.get(name)
            if value:
                headers.append((name.encode(), value.encode("latin-1")))
        self._made += 1
        job = Job(
            id=new_id("msgbatch_", self.sim.config.seed, "anthropic-batch", self._made),
            items=items,
            headers=tuple(headers),
            created=self.clock.now(),
            turnaround=self.sim.config.batch_turnaround,
        )
        base = f"{request.url.scheme}://{request.url.netloc}"
        batch = AnthropicBatch(job, base)
        self.batches[job.id] = batch
        return json_response(self._object(batch, job.created))

    async def get_batch(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        found = self._find(request)
        if isinstance(found, Response):
            return found
        now = await self._refresh(found)
        return json_response(self._object(found, now))

    async def list_batches(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            limit = max(1, min(int(request.query_params.get("limit", "20")), 1000))
        except ValueError:
            return self._error(_Invalid("limit: Input should be a valid integer"))
        newest_first = list(reversed(self.batches.values()))
        after = request.query_params.get("after_id")
        if after is not None:
            ids = [b.job.id for b in newest_first]
            newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
        page = newest_first[:limit]
        now = self.clock.now()
        data = [self._object(b, now) for b in page]
        return json_response(
            {
                "data": data,
                "has_more": len(newest_first) > len(page),
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    async def results(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        found = self._find(request)
        if isinstance(found, Response):
            return found
        await self._refresh(found)
        if found.job.finished_at is None:
            return self._error(_Invalid(f"Batch {found.job.id} has not ended yet; its results are not ready"))
        lines = [
            dumps({"custom_id": i.custom_id, "result": _result(i)})
            for i in shuffled(found.job.items, found.job.id)
        ]
        return Response(b"".join(line + b"\n" for line in lines), media_type="application/x-jsonl")

    async def cancel(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        found = self._find(request)
        if isinstance(found, Response):
            return found
        now = await self._refresh(found)
        found.job.cancel(now)
        return json_response(self._object(found, now))

    async def delete(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        found = self._find(request)
        if isinstance(found, Response):
            return found
        await self._refresh(found)
        if found.job.finished_at is None:
            return self._error(
                _Invalid(f"Batch {found.job.id} cannot be deleted while it is processing; cancel it first")
            )
        del self.batches[found.job.id]
        return json_response({"id": found.job.id, "type": "message_batch_deleted"})


def _read_requests(body: Any) -> list[BatchItem]:
    if not isinstance(body, dict):
        raise _Invalid("Request body must be a JSON object")
    unknown = sorted(set(body) - {"requests"})
    if unknown:
        raise _Invalid(f"{unknown[0]}: Extra inputs are not permitted")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _Invalid("requests: Field required and must be a non-empty list")
    if len(requests) > MAX_REQUESTS:
        raise _Invalid(f"requests: a batch may hold at most {MAX_REQUESTS} requests")
    items: list[BatchItem] = []
    seen: set[str] = set()
    for n, entry in enumerate(requests):
        if not isinstance(entry, dict) or set(entry) != {"custom_id", "params"}:
            raise _Invalid(f"requests.{n}: each request needs exactly 'custom_id' and 'params'")
        custom_id, params = entry["custom_id"], entry["params"]
        if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
            raise _Invalid(f"requests.{n}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if custom_id in seen:
            raise _Invalid(f"Duplicate custom_id: {custom_id}. Each request must have a unique custom_id.")
        seen.add(custom_id)
        if not isinstance(params, dict):
            raise _Invalid(f"requests.{n}.params: Input should be a valid dictionary")
        item = BatchItem(custom_id, "/v1/messages", dumps(params))
        if params.get("stream") is True:
            refusal = error_body("invalid_request_error", "stream: batch requests cannot be streamed", "")
            item.refusal = ItemResult("errored", 400, dumps(refusal))
        items.append(item)
    return items


def _result(item: BatchItem) -> dict[str, Any]:
    result = item.result
    assert result is not None  # results are served only once the batch has ended
    if result.outcome == "succeeded":
        return {"type": "succeeded", "message": json.loads(result.body)}
    if result.outcome == "errored":
        try:
            error = json.loads(result.body)
        except ValueError:
            error = error_body("api_error", "Internal server error", result.request_id or "")
        return {"type": "errored", "error": error}
    return {"type": result.outcome}
