"""Anthropic's Message Batches: ``POST /v1/messages/batches`` with the requests inline,
``GET /v1/messages/batches/{id}`` to poll, and the JSONL at the batch's ``results_url``.

Message Batches keep no metadata, so a batch whose id was lost (the run died between the
provider accepting it and the journal recording it) cannot be found again: ``find`` says
None, and a resumed run submits those items once more. The window is one HTTP round trip.
"""

from __future__ import annotations

import json
from typing import Any

from llmrelay.app.batch.batch_api import BatchHTTP, Outcome, Polled, jsonl
from llmrelay.app.batch.records import BatchItemNotRunError
from llmrelay.errors import LLMRelayError, MalformedResponseError
from llmrelay.types import ChatRequest, Message
from llmrelay.wire import Endpoint

#: the HTTP status each error type of Anthropic's stands for (errored results carry no status)
_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class AnthropicBatches:
    name = "anthropic"
    max_requests = 100_000

    def __init__(self, http: BatchHTTP) -> None:
        self.http = http

    def _url(self, ep: Endpoint, path: str = "") -> str:
        """``…/v1/messages/batches[/path]`` beside the adapter's Messages URL (same query)."""
        probe = self.http.chat(ChatRequest(model=ep.model, messages=(Message.user("."),)), ep).url
        url, _, query = probe.partition("?")
        return f"{url}/batches{'/' + path if path else ''}" + (f"?{query}" if query else "")

    async def submit(self, ep: Endpoint, requests: list[tuple[str, ChatRequest]], token: str) -> str:
        entries = []
        for custom_id, req in requests:
            params = json.loads(self.http.chat(req, ep).body or b"{}")
            params.pop("stream", None)
            entries.append({"custom_id": custom_id, "params": params})
        created = await self.http.json(ep, "POST", self._url(ep), {"requests": entries})
        batch_id = created.get("id") if isinstance(created, dict) else None
        if not isinstance(batch_id, str) or not batch_id:
            raise MalformedResponseError(
                "the created message batch has no 'id'", provider=ep.host or ep.provider
            )
        return batch_id

    async def find(self, ep: Endpoint, token: str) -> str | None:
        return None

    async def poll(self, ep: Endpoint, batch_id: str) -> Polled:
        batch = await self.http.json(ep, "GET", self._url(ep, batch_id))
        counts: dict[str, Any] = batch.get("request_counts") or {}
        total = sum(int(v or 0) for v in counts.values())
        done = total - int(counts.get("processing") or 0)
        status = str(batch.get("processing_status"))
        return Polled(batch_id, status == "ended", done, total, status, batch)

    async def fetch(self, ep: Endpoint, polled: Polled) -> dict[str, Outcome]:
        url = polled.handle.get("results_url")
        if not isinstance(url, str) or not url:
            raise MalformedResponseError(
                f"message batch {polled.batch_id} has ended but gives no results_url",
                provider=ep.host or ep.provider,
            )
        raw = await self.http.send(ep, "GET", url)
        out: dict[str, Outcome] = {}
        for line in jsonl(raw):
            out[str(line.get("custom_id"))] = self._outcome(ep, line.get("result") or {}, polled.batch_id)
        return out

    def refusal(self, polled: Polled) -> LLMRelayError | None:
        return None  # Anthropic refuses a malformed batch when it is submitted

    def _outcome(self, ep: Endpoint, result: dict[str, Any], batch_id: str) -> Outcome:
        kind = result.get("type")
        if kind == "succeeded":
            body = json.dumps(result.get("message"), ensure_ascii=False).encode("utf-8")
            return self.http.adapter.parse_chat(body, ep)
        if kind == "errored":
            error = result.get("error") or {}
            nested = error.get("error")
            inner: dict[str, Any] = nested if isinstance(nested, dict) else error
            status = _STATUS.get(str(inner.get("type")), 400)
            headers = {"request-id": str(error.get("request_id") or "")}
            return self.http.adapter.parse_error(status, headers, json.dumps(error).encode("utf-8"), ep)
        reason = "expired before it ran" if kind == "expired" else "was canceled before it ran"
        return BatchItemNotRunError(
            f"the request {reason} (message batch {batch_id})",
            provider=ep.host or ep.provider,
            code=f"batch_{kind}",
        )
