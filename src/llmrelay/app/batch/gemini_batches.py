"""Gemini's batch mode, with the requests inline: ``POST …/models/{m}:batchGenerateContent``
starts a long-running operation, ``GET …/batches/{id}`` polls it, and once it is done its
``metadata.output`` holds one inlined response (or ``google.rpc.Status`` error) per request,
each with the ``metadata`` it was sent with.

The submission token is the batch's display name, so a run that died between submitting
and journaling the batch name finds it again.
"""

from __future__ import annotations

import json
from typing import Any

from llmrelay.app.batch.batch_api import BatchHTTP, Outcome, Polled
from llmrelay.app.batch.records import BatchItemNotRunError
from llmrelay.errors import InvalidRequestError, LLMRelayError, MalformedResponseError
from llmrelay.types import ChatRequest, Message
from llmrelay.wire import Endpoint

_ENDED = frozenset(
    ("BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED")
)
#: the HTTP status of each google.rpc.Code an inlined error can carry (with its name)
_HTTP = {
    1: (499, "CANCELLED"),
    3: (400, "INVALID_ARGUMENT"),
    4: (504, "DEADLINE_EXCEEDED"),
    5: (404, "NOT_FOUND"),
    7: (403, "PERMISSION_DENIED"),
    8: (429, "RESOURCE_EXHAUSTED"),
    9: (400, "FAILED_PRECONDITION"),
    13: (500, "INTERNAL"),
    14: (503, "UNAVAILABLE"),
    16: (401, "UNAUTHENTICATED"),
}
_PREFIX = "llmrelay-"


class GeminiBatches:
    name = "gemini"
    max_requests = 10_000  # inline requests must stay under the API's 20 MB request limit

    def __init__(self, http: BatchHTTP) -> None:
        self.http = http

    def _urls(self, ep: Endpoint) -> tuple[str, str, str]:
        """The adapter's ``:generateContent`` URL split into its API root (``…/v1beta``), its
        model path and its query string."""
        probe = self.http.chat(ChatRequest(model=ep.model, messages=(Message.user("."),)), ep).url
        url, _, query = probe.partition("?")
        root, _, model = url.rpartition("/models/")
        return root, "models/" + model.removesuffix(":generateContent"), ("?" + query if query else "")

    async def submit(self, ep: Endpoint, requests: list[tuple[str, ChatRequest]], token: str) -> str:
        inlined = [
            {"request": json.loads(self.http.chat(req, ep).body or b"{}"), "metadata": {"key": custom_id}}
            for custom_id, req in requests
        ]
        root, model, query = self._urls(ep)
        payload = {
            "batch": {"displayName": _PREFIX + token, "inputConfig": {"requests": {"requests": inlined}}}
        }
        created = await self.http.json(ep, "POST", f"{root}/{model}:batchGenerateContent{query}", payload)
        name = created.get("name") if isinstance(created, dict) else None
        if not isinstance(name, str) or not name.startswith("batches/"):
            raise MalformedResponseError("the created Gemini batch has no 'batches/…' name", provider=ep.host)
        return name

    async def find(self, ep: Endpoint, token: str) -> str | None:
        root, _, query = self._urls(ep)
        listing = await self.http.json(
            ep, "GET", f"{root}/batches{query or '?'}{'&' if query else ''}pageSize=100"
        )
        for operation in listing.get("operations") or ():
            if (operation.get("metadata") or {}).get("displayName") == _PREFIX + token:
                return str(operation["name"])
        return None

    async def poll(self, ep: Endpoint, batch_id: str) -> Polled:
        root, _, query = self._urls(ep)
        operation = await self.http.json(ep, "GET", f"{root}/{batch_id}{query}")
        metadata: dict[str, Any] = operation.get("metadata") or {}
        stats: dict[str, Any] = metadata.get("batchStats") or {}
        total = int(stats.get("requestCount") or 0)
        done = int(stats.get("successfulRequestCount") or 0) + int(stats.get("failedRequestCount") or 0)
        state = str(metadata.get("state"))
        ended = state in _ENDED or bool(operation.get("done"))
        return Polled(batch_id, ended, done, total, state, operation)

    async def fetch(self, ep: Endpoint, polled: Polled) -> dict[str, Outcome]:
        operation = polled.handle
        output = (operation.get("metadata") or {}).get("output") or operation.get("response") or {}
        inlined = (output.get("inlinedResponses") or {}).get("inlinedResponses") or []
        out: dict[str, Outcome] = {}
        for entry in inlined:
            key = (entry.get("metadata") or {}).get("key")
            if isinstance(key, str):
                out[key] = self._outcome(ep, entry, polled)
        return out

    def refusal(self, polled: Polled) -> LLMRelayError | None:
        if polled.state != "BATCH_STATE_FAILED":
            return None
        error = polled.handle.get("error") or {}
        reason = error.get("message") or "no reason given"
        return InvalidRequestError(f"the provider refused the whole batch {polled.batch_id}: {reason}")

    def _outcome(self, ep: Endpoint, entry: dict[str, Any], polled: Polled) -> Outcome:
        if isinstance(entry.get("response"), dict):
            return self.http.adapter.parse_chat(json.dumps(entry["response"]).encode("utf-8"), ep)
        error = entry.get("error") or {}
        code = int(error.get("code") or 2)
        message = str(error.get("message") or "the request failed in the batch")
        if code in (1, 4) and polled.state in ("BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"):
            return BatchItemNotRunError(
                f"{message} (Gemini batch {polled.batch_id})",
                provider=ep.host or ep.provider,
                code="batch_expired" if code == 4 else "batch_cancelled",
            )
        status, name = _HTTP.get(code, (500, "UNKNOWN"))
        body = json.dumps({"error": {"code": status, "message": message, "status": name}}).encode("utf-8")
        return self.http.adapter.parse_error(status, {}, body, ep)
