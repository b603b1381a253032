"""OpenAI's Batch API: the requests go up as a JSONL file (``POST /files``, purpose ``batch``),
``POST /batches`` runs it, ``GET /batches/{id}`` polls it, and its output and error files
hold the answers by ``custom_id``.

The submission token goes in the batch's ``metadata``, so a run that died between
submitting and journaling the batch id finds its batch again instead of paying twice.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from llmrelay.app.batch.batch_api import BatchHTTP, Outcome, Polled, jsonl, multipart
from llmrelay.app.batch.records import BatchItemNotRunError
from llmrelay.errors import InvalidRequestError, MalformedResponseError
from llmrelay.types import ChatRequest, ChatResponse, Message
from llmrelay.wire import Endpoint

ENDPOINT = "/v1/chat/completions"
_ENDED = frozenset(("completed", "failed", "expired", "cancelled"))
_TOKEN_KEY = "llmrelay_token"


class OpenAIBatches:
    name = "openai"
    max_requests = 50_000

    def __init__(self, http: BatchHTTP) -> None:
        self.http = http

    def _url(self, ep: Endpoint, path: str, query: str = "") -> str:
        """A Batch/Files API URL beside the chat URL the adapter builds (same root and query)."""
        probe = self.http.chat(ChatRequest(model=ep.model, messages=(Message.user("."),)), ep).url
        url, _, configured = probe.partition("?")
        root = url.removesuffix("/chat/completions")
        params = "&".join(q for q in (configured, query) if q)
        return f"{root}/{path}" + (f"?{params}" if params else "")

    async def submit(self, ep: Endpoint, requests: list[tuple[str, ChatRequest]], token: str) -> str:
        lines: list[bytes] = []
        for custom_id, req in requests:
            body = json.loads(self.http.chat(req, ep).body or b"{}")
            line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
            lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
        data, content_type = multipart(
            {"purpose": "batch"}, {"file": ("llmrelay-batch.jsonl", b"".join(lines), "application/jsonl")}
        )
        raw = await self.http.send(ep, "POST", self._url(ep, "files"), body=data, content_type=content_type)
        file_id = _field(json.loads(raw), "id", "the uploaded file")
        created = await self.http.json(
            ep,
            "POST",
            self._url(ep, "batches"),
            {
                "input_file_id": file_id,
                "endpoint": ENDPOINT,
                "completion_window": "24h",
                "metadata": {_TOKEN_KEY: token},
            },
        )
        return _field(created, "id", "the created batch")

    async def find(self, ep: Endpoint, token: str) -> str | None:
        listing = await self.http.json(ep, "GET", self._url(ep, "batches", "limit=100"))
        for batch in listing.get("data") or ():
            if (batch.get("metadata") or {}).get(_TOKEN_KEY) == token:
                return str(batch["id"])
        return None

    async def poll(self, ep: Endpoint, batch_id: str) -> Polled:
        batch = await self.http.json(ep, "GET", self._url(ep, f"batches/{batch_id}"))
        status = str(batch.get("status"))
        counts = batch.get("request_counts") or {}
        done = int(counts.get("completed") or 0) + int(counts.get("failed") or 0)
        return Polled(batch_id, status in _ENDED, done, int(counts.get("total") or 0), status, batch)

    async def fetch(self, ep: Endpoint, polled: Polled) -> dict[str, Outcome]:
        batch = polled.handle
        if polled.state == "failed":
            return {}  # refused as a whole: the caller reports every request with the reason below
        out: dict[str, Outcome] = {}
        for key in ("output_file_id", "error_file_id"):
            file_id = batch.get(key)
            if not file_id:
                continue
            raw = await self.http.send(ep, "GET", self._url(ep, f"files/{file_id}/content"))
            for line in jsonl(raw):
                out[str(line.get("custom_id"))] = self._outcome(ep, line)
        return out

    def refusal(self, polled: Polled) -> InvalidRequestError | None:
        """Why the provider refused a whole batch (its input file did not validate)."""
        if polled.state != "failed":
            return None
        errors: list[Any] = ((polled.handle.get("errors") or {}).get("data")) or []
        detail = (
            "; ".join(f"line {e.get('line')}: {e.get('message')}" for e in errors[:3]) or "no reason given"
        )
        return InvalidRequestError(f"the provider refused the whole batch {polled.batch_id}: {detail}")

    def _outcome(self, ep: Endpoint, line: dict[str, Any]) -> Outcome:
        response = line.get("response")
        if not response:
            error = line.get("error") or {}
            return BatchItemNotRunError(
                str(error.get("message") or "the batch ended without running this request"),
                provider=ep.host or ep.provider,
                code=error.get("code"),
            )
        status = int(response.get("status_code") or 0)
        body = json.dumps(response.get("body"), ensure_ascii=False).encode("utf-8")
        request_id = response.get("request_id")
        if 200 <= status < 300:
            parsed = self.http.adapter.parse_chat(body, ep)
            return _with_request_id(parsed, request_id)
        return self.http.adapter.parse_error(status, {"x-request-id": request_id or ""}, body, ep)


def _with_request_id(resp: ChatResponse, request_id: Any) -> ChatResponse:
    return replace(resp, request_id=str(request_id)) if request_id else resp


def _field(obj: Any, name: str, what: str) -> str:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, str) or not value:
        raise MalformedResponseError(f"{what} has no {name!r} in the batch API's answer")
    return value
