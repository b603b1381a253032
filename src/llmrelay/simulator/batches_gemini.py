"""Gemini's batch mode with inline requests: ``POST /v1beta/models/{m}:batchGenerateContent``,
``GET /v1beta/batches[/{id}]``, ``POST /v1beta/batches/{id}:cancel`` and
``DELETE /v1beta/batches/{id}``.

A batch is a long-running operation: ``metadata`` (a ``GenerateContentBatch``) carries its
``state`` (``BATCH_STATE_PENDING`` → ``RUNNING`` → ``SUCCEEDED``, or ``CANCELLED`` /
``EXPIRED``) and ``batchStats``; once it is done, ``metadata.output`` and ``response`` hold
the inlined responses in request order, each with the request's ``metadata``, and an
``error`` (a ``google.rpc.Status``) instead of a ``response`` for a request that failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from llmrelay.simulator.batch_jobs import VALIDATION_SHARE, BatchClock, BatchItem, Job, new_id
from llmrelay.simulator.core import Simulator
from llmrelay.simulator.gemini_response import error_body
from llmrelay.simulator.responses import json_response

#: Gemini batches stay pending or running for up to 48 hours before they expire
WINDOW = 48 * 3600.0
_BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
_OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
#: google.rpc.Code of each HTTP status an inlined error can come with
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 429: 8, 499: 1, 500: 13, 503: 14, 504: 4}


class _Invalid(Exception):
    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class GeminiBatch:
    job: Job
    model: str
    display_name: str
    metadata: list[Any]  # each request's own metadata, returned with its response


class GeminiBatches:
    """The batch-mode endpoints of one simulator; ``app`` serves the batched requests."""

    def __init__(self, sim: Simulator, clock: BatchClock, app: ASGIApp) -> None:
        self.sim = sim
        self.clock = clock
        self.app = app
        self.batches: dict[str, GeminiBatch] = {}
        self._made = 0
        self.requests_served = 0

    def routes(self) -> list[BaseRoute]:
        # before the Gemini module's own routes, whose catch-all would answer these with 404
        return [
            Route("/v1beta/models/{model}:batchGenerateContent", self.create, methods=["POST"]),
            Route("/v1beta/batches", self.list_batches, methods=["GET"]),
            Route("/v1beta/batches/{batch_id}:cancel", self.cancel, methods=["POST"]),
            Route("/v1beta/batches/{batch_id}", self.get_batch, methods=["GET"]),
            Route("/v1beta/batches/{batch_id}", self.delete, methods=["DELETE"]),
        ]

    # ------------------------------------------------------------------ helpers

    def _gate(self, request: Request) -> Response | None:
        presented = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if self.sim.check_key(presented):
            return None
        if presented:
            return self._error(_Invalid("API key not valid. Please pass a valid API key."))
        return self._error(_Invalid("Method doesn't allow unregistered callers.", 403))

    @staticmethod
    def _error(error: _Invalid) -> Response:
        return json_response(error_body(error.code, error.message), error.code)

    def _find(self, request: Request) -> GeminiBatch | Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self._error(_Invalid(f"Batch batches/{request.path_params['batch_id']} not found.", 404))
        return batch

    async def _refresh(self, batch: GeminiBatch) -> float:
        now = self.clock.now()
        before = batch.job.served
        await batch.job.advance(self.app, now)
        self.requests_served += max(0, batch.job.served - before)
        return now

    def _operation(self, batch: GeminiBatch, now: float) -> dict[str, Any]:
        job = batch.job
        counts = job.counts()
        phase = job.phase(now)
        if phase == "ended":
            if job.cancel_at is not None:
                state = "BATCH_STATE_CANCELLED"
            elif counts["expired"]:
                state = "BATCH_STATE_EXPIRED"
            else:
                state = "BATCH_STATE_SUCCEEDED"
        else:
            state = "BATCH_STATE_PENDING" if phase == "validating" else "BATCH_STATE_RUNNING"
        name = f"batches/{job.id}"
        metadata: dict[str, Any] = {
            "@type": _BATCH_TYPE,
            "model": f"models/{batch.model}",
            "displayName": batch.display_name,
            "createTime": _rfc3339(job.created),
            "updateTime": _rfc3339(job.finished_at if job.finished_at is not None else now),
            "state": state,
            "batchStats": {
                "requestCount": str(len(job.items)),
                "successfulRequestCount": str(counts["succeeded"]),
                "failedRequestCount": str(counts["errored"] + counts["expired"] + counts["canceled"]),
                "pendingRequestCount": str(len(job.items) - sum(counts.values())),
            },
            "name": name,
        }
        operation: dict[str, Any] = {"name": name, "metadata": metadata, "done": job.finished_at is not None}
        if job.finished_at is not None:
            metadata["endTime"] = _rfc3339(job.finished_at)
            inlined = {
                "inlinedResponses": [
                    self._inlined(item, meta) for item, meta in zip(job.items, batch.metadata, strict=True)
                ]
            }
            metadata["output"] = {"inlinedResponses": inlined}
            operation["response"] = {"@type": _OUTPUT_TYPE, "inlinedResponses": inlined}
        return operation

    @staticmethod
    def _inlined(item: BatchItem, metadata: Any) -> dict[str, Any]:
        result = item.result
        assert result is not None  # the batch has ended
        out: dict[str, Any] = {}
        if metadata is not None:
            out["metadata"] = metadata
        if result.outcome == "succeeded":
            out["response"] = json.loads(result.body)
        elif result.outcome == "errored":
            try:
                error = json.loads(result.body).get("error") or {}
            except (ValueError, AttributeError):
                error = {}
            status = result.status or 500
            out["error"] = {
                "code": _RPC_CODES.get(status, 2),
                "message": str(error.get("message", "Request failed.")),
            }
        elif result.outcome == "expired":
            out["error"] = {"code": 4, "message": "The batch expired before this request was processed."}
        else:
            out["error"] = {
                "code": 1,
                "message": "The batch was cancelled before this request was processed.",
            }
        return out

    # ------------------------------------------------------------------ endpoints

    async def create(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        model = request.path_params["model"]
        try:
            try:
                body = json.loads(await request.body())
            except (ValueError, UnicodeDecodeError):
                raise _Invalid("Invalid JSON payload received.") from None
            display, requests = _read_batch(body)
        except _Invalid as error:
            return self._error(error)
        if not self.sim.knows_model(model):
            return self._error(_Invalid(f"models/{model} is not found for API version v1beta", 404))
        items: list[BatchItem] = []
        metadata: list[Any] = []
        for n, entry in enumerate(requests):
            inner = {k: v for k, v in entry["request"].items() if k != "model"}
            items.append(
                BatchItem(str(n), f"/v1beta/models/{model}:generateContent", json.dumps(inner).encode())
            )
            metadata.append(entry.get("metadata"))
        headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if key:
            headers.append((b"x-goog-api-key", key.encode("latin-1")))
        self._made += 1
        cfg = self.sim.config
        job = Job(
            id=new_id("", cfg.seed, "gemini-batch", self._made, 20),
            items=items,
            headers=tuple(headers),
            created=self.clock.now(),
            turnaround=cfg.batch_turnaround,
            validation=cfg.batch_turnaround * VALIDATION_SHARE,
            window=WINDOW,
        )
        batch = GeminiBatch(job, model, display or job.id, metadata)
        self.batches[job.id] = batch
        return json_response(self._operation(batch, job.created))

    async def get_batch(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        found = self._find(request)
        if isinstance(found, Response):
            return found
        now = await self._refresh(found)
        return json_response(self._operation(found, now))

    async def list_batches(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            size = max(1, min(int(request.query_params.get("pageSize", "50")), 1000))
        except ValueError:
            return self._error(_Invalid("Invalid value at 'page_size' (TYPE_INT32)"))
        newest_first = list(reversed(self.batches.values()))
        token = request.query_params.get("pageToken")
        if token:
            ids = [b.job.id for b in newest_first]
            newest_first = newest_first[ids.index(token) :] if token in ids else []
        page = newest_first[:size]
        now = self.clock.now()
        body: dict[str, Any] = {"operations": [self._operation(b, now) for b in page]}
        if len(newest_first) > size:
            body["nextPageToken"] = newest_first[size].job.id
        return json_response(body)

    async def cancel(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        found = self._find(request)
        if isinstance(found, Response):
            return found
        now = await self._refresh(found)
        if found.job.finished_at is not None:
            return self._error(_Invalid("The batch has already finished and cannot be cancelled.", 400))
        found.job.cancel(now)
        return json_response({})

    async def delete(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        found = self._find(request)
        if isinstance(found, Response):
            return found
        del self.batches[found.job.id]
        return json_response({})


def _read_batch(body: Any) -> tuple[str | None, list[dict[str, Any]]]:
    batch = body.get("batch") if isinstance(body, dict) else None
    if not isinstance(batch, dict):
        raise _Invalid("* GenerateContentBatch: batch is required")
    config = batch.get("inputConfig")
    if not isinstance(config, dict):
        raise _Invalid("* GenerateContentBatch.input_config: input_config is required")
    if "fileName" in config:
        raise _Invalid("the simulator's batch mode takes inline requests only (inputConfig.requests)")
    requests = (
        (config.get("requests") or {}).get("requests") if isinstance(config.get("requests"), dict) else None
    )
    if not isinstance(requests, list) or not requests:
        raise _Invalid("* GenerateContentBatch.input_config.requests: requests must not be empty")
    for n, entry in enumerate(requests):
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
            raise _Invalid(f"* InlinedRequests.requests[{n}].request: request is required")
    display = batch.get("displayName")
    return (display if isinstance(display, str) else None), requests
