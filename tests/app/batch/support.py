"""Helpers for the batch tests: a simulator over TCP that counts the calls each prompt got."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from starlette.types import Message, Receive, Scope, Send
from tests.simulator.test_server import running

from llmrelay.simulator import Simulator


class PromptCounter:
    """ASGI middleware: counts upstream chat calls by the text of their last message."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(("/chat/completions", "/messages")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            messages = json.loads(body).get("messages") or []
            content = messages[-1].get("content") if messages else None
            if isinstance(content, str):
                with self._lock:
                    self.calls[content] += 1
        except (ValueError, AttributeError):
            pass
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields ``http://127.0.0.1:PORT``."""
    config = uvicorn.Config(app, host="127.0.0.1", log_level="error", lifespan="off", access_log=False)
    with running(uvicorn.Server(config)) as port:
        yield f"http://127.0.0.1:{port}"


def write_config(path: Path, base: str, **extra: Any) -> Path:
    """A config whose default model ``sim`` is the simulator at ``base`` (OpenAI protocol)."""
    cfg = {
        "default_model": "sim",
        "models": {
            "sim": {"deployments": [{"provider": "simulator", "model": "sim-1", "base_url": f"{base}/v1"}]}
        },
        "ledger": {"enabled": False},
        **extra,
    }
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def write_input(path: Path, n: int) -> list[str]:
    """``n`` requests with distinct prompts; returns the prompts in order."""
    prompts = [f"Item {i}: say something about the number {i}" for i in range(n)]
    with path.open("w", encoding="utf-8") as f:
        for i, prompt in enumerate(prompts):
            f.write(json.dumps({"id": f"item-{i:04d}", "prompt": prompt}) + "\n")
    return prompts


def read_output(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


__all__ = ["PromptCounter", "Simulator", "read_output", "served", "write_config", "write_input"]
