"""A guard classifier behind an HTTP endpoint (``observe.guards.classifier_url``).

The guard POSTs the prompt's user and tool text as JSON, ``{"text": "..."}``, and reads
``{"verdict": "allow" | "flag" | "block"}`` back (other fields are ignored, so a service
can add a score or a reason). Anything else — a status other than 2xx, a body that is
not that JSON, a verdict not among the three, a connection that fails — is the
classifier failing, and the guard's ``fail`` setting decides (open: allow; closed:
block). Its time is bounded by ``classifier_timeout`` by the guard.

With ``classifier_key_env``, the named environment variable's value is sent as
``Authorization: Bearer …``; it never appears in an error or a log line, and neither
does the prompt's text. The request goes through the client's transport, so proxies,
connection pooling and in-process mounts (tests) apply as for the providers.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from llmrelay.transport.http import Timeouts, Transport
from llmrelay.wire import HttpRequest

VERDICTS = ("allow", "flag", "block")


class ClassifierError(Exception):
    """The classifier endpoint did not give a verdict (the guard's ``fail`` decides)."""


class HttpClassifier:
    """An async classifier ``(text) -> verdict`` that asks ``url``."""

    def __init__(self, url: str, transport: Transport, *, api_key: str | None = None, timeout: float) -> None:
        self.url = url
        self.transport = transport
        self.timeouts = Timeouts(connect=timeout, read=timeout, total=timeout, write=timeout, pool=timeout)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._headers = headers
        parts = urlsplit(url)
        #: the endpoint as errors name it: no credentials, no query
        self.where = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def __repr__(self) -> str:
        return f"HttpClassifier({self.where})"

    async def __call__(self, text: str) -> str:
        body = json.dumps({"text": text}, ensure_ascii=False).encode()
        resp = await self.transport.send(
            HttpRequest("POST", self.url, self._headers, body), timeout=self.timeouts
        )
        if not 200 <= resp.status < 300:
            raise ClassifierError(f"the guard classifier at {self.where} answered HTTP {resp.status}")
        try:
            data = json.loads(resp.body)
        except ValueError:
            raise ClassifierError(f"the guard classifier at {self.where} did not answer JSON") from None
        verdict = data.get("verdict") if isinstance(data, dict) else None
        if verdict not in VERDICTS:
            raise ClassifierError(
                f"the guard classifier at {self.where} answered no verdict among {', '.join(VERDICTS)}"
            )
        return str(verdict)
