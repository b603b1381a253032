"""The canonical form of a request: what a recorded and a live request are matched on.

Method, URL (credentials replaced, query sorted) and body (credentials and patterns
replaced; JSON re-serialized with sorted keys and no spaces, so key order and formatting
never decide a match). Headers are not matched: they carry keys, versions and user agents
that differ between the recording machine and CI without changing the answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from llmrelay.app.testing.scrub import Scrubber
from llmrelay.wire import HttpRequest

# How much of the last user message an error quotes to name a request.
_QUOTE = 60


@dataclass(frozen=True, slots=True)
class CanonicalRequest:
    """A scrubbed request. ``body`` is the parsed JSON (or text, or ``{"base64": …}`` for a
    body that is not UTF-8); ``key`` is what matching compares."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    key: str

    def describe(self) -> str:
        """A one-line name for the request, safe to print: ``POST http://h/v1/chat/completions
        (model 'gpt-4o', last user message 'What is…', body sha256 1a2b3c4d)``."""
        facts = []
        if isinstance(self.body, dict):
            model = self.body.get("model")
            if isinstance(model, str):
                facts.append(f"model {model!r}")
            said = last_user_text(self.body)
            if said is not None:
                quoted = said if len(said) <= _QUOTE else said[: _QUOTE - 1] + "…"
                facts.append(f"last user message {quoted!r}")
            if self.body.get("stream") is True:
                facts.append("streamed")
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:8]
        facts.append(f"request sha256 {digest}")
        return f"{self.method} {self.url} ({', '.join(facts)})"


def canonical(req: HttpRequest, scrubber: Scrubber) -> CanonicalRequest:
    """Scrub ``req`` and put it in canonical form (headers first: they teach the scrubber
    the keys, which are then removed from the URL and body too)."""
    headers = scrubber.headers(req.headers)
    url = scrubber.url(req.url)
    body = canonical_body(req.body, scrubber)
    method = req.method.upper()
    return CanonicalRequest(method, url, headers, body, key_of(method, url, body))


def canonical_body(body: bytes | None, scrubber: Scrubber) -> Any:
    if not body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}
    text = scrubber.text(text)
    try:
        return json.loads(text)
    except ValueError:
        return text


def key_of(method: str, url: str, body: Any) -> str:
    """The match key of a request read back from a cassette."""
    return json.dumps([method, url, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def last_user_text(body: dict[str, Any]) -> str | None:
    """The last user turn's text in an OpenAI, Anthropic or Gemini request body."""
    turns = body.get("messages") or body.get("contents") or body.get("input")
    if isinstance(turns, str):
        return turns
    if not isinstance(turns, list):
        return None
    for turn in reversed(turns):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", None):
            continue
        content = turn.get("content", turn.get("parts"))
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = [
                str(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
            ]
            if texts:
                return " ".join(texts)
    return None


def differences(live: Any, recorded: Any, path: str = "body") -> list[str]:
    """Where two canonical bodies differ, as paths (``body.messages[0].content``), at most a few."""
    out: list[str] = []
    _diff(live, recorded, path, out)
    return out[:5]


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if len(out) >= 5 or a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k} ({'only recorded' if k not in a else 'only live'})")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out)
        return
    out.append(path)
