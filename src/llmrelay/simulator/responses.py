"""Response helpers shared by the protocol modules: JSON, SSE, and the broken ones faults need."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send


class SimulatedReset(ConnectionResetError):
    """Raised inside the app to drop the connection (a ``reset`` fault).

    Over a real socket the server closes the connection after the status line; over an
    in-process ASGI transport the client sees this exception.
    """


# Built once: json.dumps with options constructs a new encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as the providers send it."""
    return _ENCODER.encode(payload).encode()


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        dumps(payload), status_code=status, headers=dict(headers or {}), media_type="application/json"
    )


def sse_response(
    chunks: AsyncIterator[bytes],
    headers: Mapping[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> StreamingResponse:
    """An event stream; ``chunks`` yields complete, already-framed SSE events."""
    merged = {"cache-control": "no-cache", **(headers or {})}
    return StreamingResponse(chunks, headers=merged, media_type="text/event-stream", background=background)


def sse_data(payload: Any, event: str | None = None) -> bytes:
    """One SSE event carrying ``payload`` as JSON (with an ``event:`` line when named)."""
    body = b"data: " + dumps(payload) + b"\n\n"
    return b"event: " + event.encode() + b"\n" + body if event else body


class ResetResponse(Response):
    """Start a 200 answer, then drop the connection before any body."""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(b"", status_code=200, headers=dict(headers or {}), media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Announce a body that never comes: with "content-length: 0" a client over TCP
        # would see a complete, empty answer instead of a dropped connection.
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        headers.append((b"content-length", b"1024"))
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        raise SimulatedReset("simulated connection reset")


class TruncatedResponse(Response):
    """A 200 answer whose body stops short of its declared length, then a dropped connection."""

    def __init__(self, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(body, status_code=200, headers=dict(headers or {}), media_type="application/json")
        self._partial = body[: max(1, len(body) // 2)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self._partial, "more_body": True})
        raise SimulatedReset("simulated connection drop mid-body")
