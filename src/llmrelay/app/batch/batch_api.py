"""What provider mode needs of a batch API, and the HTTP plumbing the APIs share.

A ``BatchAPI`` submits requests under ``custom_id``s, polls the batch, finds a batch again
by the token it was submitted with (when the provider keeps metadata), and fetches the
results as ``ChatResponse``s or typed errors by ``custom_id``. Requests are translated by
the provider adapter exactly as for a direct call, and the adapter also supplies the
credentials and maps error answers; this module only sends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from llmrelay.errors import LLMRelayError, MalformedResponseError
from llmrelay.providers import Adapter
from llmrelay.transport.http import Transport
from llmrelay.types import ChatRequest, ChatResponse, Message
from llmrelay.wire import Endpoint, HttpRequest

Outcome = ChatResponse | LLMRelayError


@dataclass(frozen=True, slots=True)
class Polled:
    """A batch's state: ``ended`` once every request is settled; ``done`` of ``total`` are.
    ``handle`` is the provider's batch object, which ``fetch`` reads."""

    batch_id: str
    ended: bool
    done: int
    total: int
    state: str
    handle: Mapping[str, Any] = field(default_factory=dict)


class BatchAPI(Protocol):
    name: str
    max_requests: int

    async def submit(self, ep: Endpoint, requests: list[tuple[str, ChatRequest]], token: str) -> str:
        """Submit the requests under their custom ids; the batch's id."""
        ...

    async def find(self, ep: Endpoint, token: str) -> str | None:
        """The id of a batch submitted with ``token`` (None when there is none, or the
        provider cannot tell)."""
        ...

    async def poll(self, ep: Endpoint, batch_id: str) -> Polled: ...

    async def fetch(self, ep: Endpoint, polled: Polled) -> dict[str, Outcome]:
        """Results of an ended batch by custom id (a request missing from them has none)."""
        ...

    def refusal(self, polled: Polled) -> LLMRelayError | None:
        """Why the provider refused an ended batch as a whole, if it did."""
        ...


class BatchHTTP:
    """Sends batch-API calls with a deployment's credentials; errors come back typed.
    ``fit`` fits each request to the deployment's model as a direct call does
    (``llmrelay.catalog.fit``: refusals, efforts turned into budgets)."""

    def __init__(
        self,
        transport: Transport,
        adapter: Adapter,
        fit: Callable[[ChatRequest, Endpoint], ChatRequest] | None = None,
    ) -> None:
        self.transport = transport
        self.adapter = adapter
        self.fit = fit

    def chat(self, req: ChatRequest, ep: Endpoint) -> HttpRequest:
        """The request a direct call would send: its body is what a batch carries."""
        if self.fit is not None:
            req = self.fit(req, ep)
        return self.adapter.chat_request(req, ep, stream=False)

    def credentials(self, ep: Endpoint) -> dict[str, str]:
        """The headers a direct call to ``ep`` carries (auth, API version, configured
        headers), without its content negotiation."""
        probe = ChatRequest(model=ep.model, messages=(Message.user("."),))
        headers = self.chat(probe, ep).headers
        return {k: v for k, v in headers.items() if k.lower() not in ("content-type", "accept")}

    async def send(
        self,
        ep: Endpoint,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        headers = {**self.credentials(ep), "accept": "application/json"}
        if body is not None:
            headers["content-type"] = content_type
        resp = await self.transport.send(HttpRequest(method, url, headers, body))
        if resp.status >= 300:
            raise self.adapter.parse_error(resp.status, resp.headers, resp.body, ep)
        return resp.body

    async def json(self, ep: Endpoint, method: str, url: str, payload: Any = None) -> Any:
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        raw = await self.send(ep, method, url, body=body)
        try:
            return json.loads(raw)
        except ValueError:
            raise MalformedResponseError(
                f"the batch API answered {method} {_path(url)} with something other than JSON",
                provider=ep.host or ep.provider,
            ) from None


def jsonl(raw: bytes) -> list[Any]:
    """The JSON values of a JSON Lines body (blank lines skipped)."""
    out = []
    for line in raw.decode("utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def multipart(fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its content type."""
    boundary = "llmrelay-" + uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, data, media_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {media_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _path(url: str) -> str:
    # errors name the path only: a query string may carry a key (Gemini)
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1].split("?", 1)[0] if "/" in rest else "/"
