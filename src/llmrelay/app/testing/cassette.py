"""Cassette files: recorded request/response pairs, already scrubbed, as readable JSON.

    {"llmrelay_cassette": 1,
     "interactions": [
       {"request":  {"method": "POST", "url": "…", "headers": {…}, "body": {…}},
        "response": {"status": 200, "headers": {…}, "body": "…"}},
       {"request":  {…, "body": {…, "stream": true}},
        "response": {"status": 200, "headers": {…}, "chunks": ["data: …\\n\\n", …], "complete": true}}]}

A unary answer keeps its body (text, or ``{"base64": …}`` when it is not UTF-8); a
streamed one keeps its chunks as they arrived, so replay streams them one by one. Requests
with the same canonical form are answered in the order they were recorded (a retry after a
recorded 429 gets the recorded success next).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmrelay.app.testing.canonical import CanonicalRequest, key_of
from llmrelay.app.testing.errors import CassetteError

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """``body`` for a unary answer; ``chunks`` (and whether the stream reached its end) for a
    streamed one."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: tuple[bytes, ...] | None = None
    complete: bool = True

    @property
    def streamed(self) -> bool:
        return self.chunks is not None


@dataclass(frozen=True, slots=True)
class Interaction:
    request: CanonicalRequest
    response: RecordedResponse


@dataclass(slots=True)
class Cassette:
    """The interactions of one file; ``take`` plays each recorded answer once, in order."""

    path: Path
    interactions: list[Interaction] = field(default_factory=list)
    _queues: dict[str, deque[Interaction]] = field(default_factory=lambda: defaultdict(deque))
    _played: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def load(cls, path: Path) -> Cassette:
        """The cassette at ``path``; an empty one if there is no file yet."""
        cassette = cls(path)
        if not path.exists():
            return cassette
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CassetteError(f"cannot read the cassette {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("llmrelay_cassette") != FORMAT_VERSION:
            raise CassetteError(
                f"{path} is not an llmrelay cassette (version {FORMAT_VERSION}); "
                "delete it and record again (--llmrelay-record=re-record)"
            )
        items = data.get("interactions")
        if not isinstance(items, list):
            raise CassetteError(f"{path}: 'interactions' must be a list")
        for i, item in enumerate(items):
            try:
                cassette.add(_interaction_from(item))
            except (KeyError, TypeError, ValueError) as exc:
                raise CassetteError(
                    f"{path}: interaction {i} is malformed ({exc!r}); record it again"
                ) from None
        return cassette

    def add(self, interaction: Interaction) -> None:
        self.interactions.append(interaction)
        self._queues[interaction.request.key].append(interaction)

    def take(self, request: CanonicalRequest) -> Interaction | None:
        """The next unplayed answer recorded for ``request``, or None."""
        queue = self._queues.get(request.key)
        if not queue:
            return None
        self._played[request.key] += 1
        return queue.popleft()

    def played(self, request: CanonicalRequest) -> int:
        """How many recorded answers for ``request`` have been played already."""
        return self._played.get(request.key, 0)

    def closest(self, request: CanonicalRequest) -> CanonicalRequest | None:
        """A recorded request to the same method and URL, for telling what differs."""
        for interaction in self.interactions:
            rec = interaction.request
            if rec.method == request.method and rec.url == request.url:
                return rec
        return None

    def save(self, final: Callable[[str], str] | None = None) -> None:
        """Write the file atomically (a crash mid-write never leaves half a cassette).

        ``final`` is a last pass over the whole text (the recorder's scrubber), for a secret
        that no single field showed whole."""
        data = {
            "llmrelay_cassette": FORMAT_VERSION,
            "interactions": [_interaction_to(i) for i in self.interactions],
        }
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        if final is not None:
            text = final(text)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def encode_bytes(data: bytes) -> str | dict[str, str]:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def decode_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and isinstance(value.get("base64"), str):
        return base64.b64decode(value["base64"])
    raise ValueError(f"a body must be text or {{'base64': ...}}, got {type(value).__name__}")


def _interaction_to(i: Interaction) -> dict[str, Any]:
    req = i.request
    resp = i.response
    response: dict[str, Any] = {"status": resp.status, "headers": resp.headers}
    if resp.chunks is not None:
        response["chunks"] = [encode_bytes(c) for c in resp.chunks]
        response["complete"] = resp.complete
    else:
        response["body"] = encode_bytes(resp.body)
    return {
        "request": {"method": req.method, "url": req.url, "headers": req.headers, "body": req.body},
        "response": response,
    }


def _interaction_from(item: Any) -> Interaction:
    req = item["request"]
    resp = item["response"]
    method = str(req["method"]).upper()
    url = str(req["url"])
    body = req.get("body")
    request = CanonicalRequest(
        method, url, _str_dict(req.get("headers", {})), body, key_of(method, url, body)
    )
    chunks = resp.get("chunks")
    response = RecordedResponse(
        status=int(resp["status"]),
        headers=_str_dict(resp.get("headers", {})),
        body=decode_bytes(resp.get("body", "")) if chunks is None else b"",
        chunks=None if chunks is None else tuple(decode_bytes(c) for c in chunks),
        complete=bool(resp.get("complete", True)),
    )
    return Interaction(request, response)


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TypeError(f"headers must be an object, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}
