"""OpenAI's Batch API with its Files API: upload a JSONL of requests, create a batch, poll it,
download the output and error files.

``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files[/{id}[/content]]``,
``DELETE /v1/files/{id}``, ``POST /v1/batches``, ``GET /v1/batches[/{id}]`` and
``POST /v1/batches/{id}/cancel``. A batch goes ``validating`` → ``in_progress`` →
``completed`` (or ``failed`` when its input file is invalid, ``cancelling`` → ``cancelled``,
or ``expired``), on the batch clock of ``batch_jobs``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from llmrelay.simulator.batch_jobs import VALIDATION_SHARE, BatchClock, Job, new_id, shuffled
from llmrelay.simulator.batches_openai_input import form_fields, jsonl, read_input
from llmrelay.simulator.core import Simulator
from llmrelay.simulator.openai_checks import BAD_KEY, NO_KEY, OpenAIError, parse_json
from llmrelay.simulator.responses import dumps, json_response

ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings")
_PURPOSES = frozenset(("assistants", "batch", "fine-tune", "vision", "user_data", "evals"))
_BATCH_FIELDS = frozenset(
    ("input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after")
)


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def object(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "expires_at": None,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass(slots=True)
class OpenAIBatch:
    job: Job
    endpoint: str
    input_file_id: str
    metadata: dict[str, str] | None
    errors: list[dict[str, Any]]
    output_file_id: str | None = None
    error_file_id: str | None = None


class OpenAIBatches:
    """The Files and Batch endpoints of one simulator; ``app`` serves the batched requests."""

    def __init__(self, sim: Simulator, clock: BatchClock, app: ASGIApp) -> None:
        self.sim = sim
        self.clock = clock
        self.app = app
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, OpenAIBatch] = {}
        self._made = 0
        self.requests_served = 0

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/files", self.upload, methods=["POST"]),
            Route("/v1/files", self.list_files, methods=["GET"]),
            Route("/v1/files/{file_id}", self.get_file, methods=["GET"]),
            Route("/v1/files/{file_id}", self.delete_file, methods=["DELETE"]),
            Route("/v1/files/{file_id}/content", self.file_content, methods=["GET"]),
            Route("/v1/batches", self.create, methods=["POST"]),
            Route("/v1/batches", self.list_batches, methods=["GET"]),
            Route("/v1/batches/{batch_id}", self.get_batch, methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", self.cancel, methods=["POST"]),
        ]

    # ------------------------------------------------------------------ helpers

    def _id(self, prefix: str, kind: str) -> str:
        self._made += 1
        return new_id(prefix, self.sim.config.seed, kind, self._made)

    def _gate(self, request: Request) -> Response | None:
        value = request.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" else None
        if self.sim.check_key(presented):
            return None
        error = OpenAIError(NO_KEY, status=401) if not presented else OpenAIError(BAD_KEY, status=401)
        return json_response(error.body(), error.status)

    @staticmethod
    def _error(error: OpenAIError) -> Response:
        return json_response(error.body(), error.status)

    def _missing(self, kind: str, name: str) -> Response:
        return self._error(OpenAIError(f"No such {kind}: '{name}'", status=404, param="id"))

    # ------------------------------------------------------------------ files

    async def upload(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            fields = form_fields(request.headers.get("content-type", ""), await request.body())
            purpose, upload = fields.get("purpose"), fields.get("file")
            if purpose is None or not purpose[1]:
                raise OpenAIError("Missing required parameter: 'purpose'.", param="purpose")
            purpose_name = purpose[1].decode("utf-8", "replace")
            if purpose_name not in _PURPOSES:
                raise OpenAIError(f"'{purpose_name}' is not one of {sorted(_PURPOSES)} - 'purpose'")
            if upload is None:
                raise OpenAIError("Missing required parameter: 'file'.", param="file")
            filename = upload[0] or "upload"
            if purpose_name == "batch" and not filename.endswith(".jsonl"):
                raise OpenAIError("Invalid file format for Batch API. Must be .jsonl", param="file")
        except OpenAIError as error:
            return self._error(error)
        stored = StoredFile(
            self._id("file-", "file"), filename, purpose_name, upload[1], int(self.clock.now())
        )
        self.files[stored.id] = stored
        return json_response(stored.object())

    async def list_files(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        purpose = request.query_params.get("purpose")
        data = [f.object() for f in reversed(self.files.values()) if purpose is None or f.purpose == purpose]
        return json_response({"object": "list", "data": data, "has_more": False})

    async def get_file(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        stored = self.files.get(request.path_params["file_id"])
        return (
            json_response(stored.object())
            if stored
            else self._missing("File", request.path_params["file_id"])
        )

    async def file_content(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        stored = self.files.get(request.path_params["file_id"])
        if stored is None:
            return self._missing("File", request.path_params["file_id"])
        return Response(stored.content, media_type="application/octet-stream")

    async def delete_file(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        stored = self.files.pop(request.path_params["file_id"], None)
        if stored is None:
            return self._missing("File", request.path_params["file_id"])
        return json_response({"id": stored.id, "object": "file", "deleted": True})

    # ------------------------------------------------------------------ batches

    async def create(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            body = parse_json(await request.body())
            batch = self._new_batch(body, request)
        except OpenAIError as error:
            return self._error(error)
        self.batches[batch.job.id] = batch
        return json_response(self._object(batch, self.clock.now()))

    def _new_batch(self, body: Mapping[str, Any], request: Request) -> OpenAIBatch:
        for key in body:
            if key not in _BATCH_FIELDS:
                raise OpenAIError(f"Unrecognized request argument supplied: {key}")
        for name in ("input_file_id", "endpoint", "completion_window"):
            if name not in body:
                raise OpenAIError(f"Missing required parameter: '{name}'.", param=name)
        endpoint = body["endpoint"]
        if endpoint not in (*ENDPOINTS, "/v1/completions", "/v1/responses"):
            raise OpenAIError(
                f"Invalid value: '{endpoint}'. Supported values are: {', '.join(ENDPOINTS)}.",
                param="endpoint",
            )
        if endpoint not in ENDPOINTS:
            raise OpenAIError(f"The simulator does not batch {endpoint}", param="endpoint")
        if body["completion_window"] != "24h":
            raise OpenAIError(
                f"Invalid value: '{body['completion_window']}'. Supported values are: '24h'.",
                param="completion_window",
            )
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or len(metadata) > 16
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
        ):
            raise OpenAIError("metadata must map at most 16 string keys to strings", param="metadata")
        file_id = body["input_file_id"]
        stored = self.files.get(file_id) if isinstance(file_id, str) else None
        if stored is None:
            raise OpenAIError(f"No such File object: {file_id}", status=404, param="input_file_id")
        if stored.purpose != "batch":
            raise OpenAIError(
                f"File {file_id} has purpose '{stored.purpose}'; a batch needs purpose 'batch'",
                param="input_file_id",
            )
        items, errors = read_input(stored.content, endpoint)
        headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
        auth = request.headers.get("authorization")
        if auth:
            headers.append((b"authorization", auth.encode("latin-1")))
        cfg = self.sim.config
        job = Job(
            id=self._id("batch_", "batch"),
            items=items,
            headers=tuple(headers),
            created=self.clock.now(),
            turnaround=cfg.batch_turnaround,
            validation=cfg.batch_turnaround * VALIDATION_SHARE,
            invalid=bool(errors),
        )
        return OpenAIBatch(job, endpoint, stored.id, metadata, errors)

    async def _refresh(self, batch: OpenAIBatch) -> float:
        now = self.clock.now()
        before = batch.job.served
        await batch.job.advance(self.app, now)
        self.requests_served += max(0, batch.job.served - before)
        if batch.job.finished_at is not None and not batch.job.invalid and batch.output_file_id is None:
            self._write_results(batch)
        return now

    def _write_results(self, batch: OpenAIBatch) -> None:
        ok: list[bytes] = []
        failed: list[bytes] = []
        for n, item in enumerate(shuffled(batch.job.items, batch.job.id)):
            result = item.result
            assert result is not None  # a finished job has settled every item
            line: dict[str, Any] = {"id": f"batch_req_{batch.job.id[6:]}_{n}", "custom_id": item.custom_id}
            if result.status is None:
                code = "batch_expired" if result.outcome == "expired" else "batch_cancelled"
                text = (
                    "This request could not be executed before the completion window expired."
                    if result.outcome == "expired"
                    else "This request was not executed because the batch was cancelled."
                )
                line |= {"response": None, "error": {"code": code, "message": text}}
                failed.append(dumps(line))
                continue
            try:
                payload: Any = json.loads(result.body)
            except ValueError:
                payload = result.body.decode("utf-8", "replace")
            response = {"status_code": result.status, "request_id": result.request_id, "body": payload}
            line |= {"response": response, "error": None}
            (ok if result.outcome == "succeeded" else failed).append(dumps(line))
        created = int(batch.job.finished_at or self.clock.now())
        output = StoredFile(
            self._id("file-", "file"), "batch_output.jsonl", "batch_output", jsonl(ok), created
        )
        self.files[output.id] = output
        batch.output_file_id = output.id
        if failed:
            errors = StoredFile(
                self._id("file-", "file"), "batch_errors.jsonl", "batch_output", jsonl(failed), created
            )
            self.files[errors.id] = errors
            batch.error_file_id = errors.id

    def _object(self, batch: OpenAIBatch, now: float) -> dict[str, Any]:
        job = batch.job
        phase = job.phase(now)
        counts = job.counts()
        in_progress_at = job.created + job.validation
        status = {
            "validating": "validating",
            "failed": "failed",
            "in_progress": "in_progress",
            "canceling": "cancelling",
        }.get(phase)
        if status is None:  # ended
            if job.cancel_at is not None:
                status = "cancelled"
            elif counts["expired"]:
                status = "expired"
            else:
                status = "completed"
        ended = job.finished_at
        started = not job.invalid and now >= in_progress_at
        return {
            "id": job.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "errors": {"object": "list", "data": batch.errors} if batch.errors else None,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": int(job.created),
            "in_progress_at": int(in_progress_at) if started else None,
            "expires_at": int(job.expires_at),
            "finalizing_at": int(ended) if ended is not None and status == "completed" else None,
            "completed_at": int(ended) if ended is not None and status == "completed" else None,
            "failed_at": int(ended) if status == "failed" and ended is not None else None,
            "expired_at": int(ended) if status == "expired" and ended is not None else None,
            "cancelling_at": int(job.cancel_at) if job.cancel_at is not None else None,
            "cancelled_at": int(ended) if status == "cancelled" and ended is not None else None,
            "request_counts": {
                # the requests are counted once the file has been validated
                "total": 0 if job.invalid or phase == "validating" else len(job.items),
                "completed": counts["succeeded"],
                "failed": counts["errored"] + counts["expired"] + counts["canceled"],
            },
            "metadata": batch.metadata,
        }

    async def get_batch(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self._missing("batch", request.path_params["batch_id"])
        now = await self._refresh(batch)
        return json_response(self._object(batch, now))

    async def list_batches(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            limit = int(request.query_params.get("limit", "20"))
        except ValueError:
            return self._error(OpenAIError("limit must be an integer", param="limit"))
        newest_first = list(reversed(self.batches.values()))
        after = request.query_params.get("after")
        if after is not None:
            ids = [b.job.id for b in newest_first]
            newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
        page = newest_first[: max(1, min(limit, 100))]
        now = self.clock.now()
        data = [self._object(b, now) for b in page]
        return json_response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(newest_first) > len(page),
            }
        )

    async def cancel(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self._missing("batch", request.path_params["batch_id"])
        now = await self._refresh(batch)
        if batch.job.finished_at is not None:
            status = self._object(batch, now)["status"]
            return self._error(OpenAIError(f"Cannot cancel a batch with status '{status}'.", status=409))
        batch.job.cancel(now)
        return json_response(self._object(batch, now))
