"""The guard's classifier behind an HTTP endpoint (``classifier_url``): what it is sent,
its verdicts, its failures under both fail modes, its bearer token — and that neither
the token nor the prompt reaches an error or a log line."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.middleware.test_guard import MODELS, Echo, everything, guards, sim
from tests.observe.kit import rig

from llmrelay.errors import ConfigError
from llmrelay.observe.guard import GuardBlockedError
from llmrelay.settings import Settings

URL = "http://classifier.test/v1/check"
TOKEN = "guard-token-0123456789abcdef"


@dataclass
class ClassifierApp:
    """An ASGI classifier: answers each request with ``answer(text)`` -> (status, body)."""

    answer: Any
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    delay: float = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        payload = json.loads(body)
        self.requests.append((headers, payload))
        if self.delay:
            await asyncio.sleep(self.delay)
        status, out = self.answer(payload["text"])
        raw = out if isinstance(out, bytes) else json.dumps(out).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": raw})


def verdicts(text: str) -> tuple[int, Any]:
    if "forbidden" in text:
        return 200, {"verdict": "block", "score": 0.97}
    if "dubious" in text:
        return 200, {"verdict": "flag"}
    return 200, {"verdict": "allow"}


def policy(**extra: Any) -> dict[str, Any]:
    return guards(**{"classifier_url": URL, "classifier_timeout": 1.0, **extra})


@pytest.mark.parametrize(
    ("prompt", "decision"),
    [("a fine question", None), ("a dubious question", "input.classifier:flag")],
)
async def test_allow_and_flag_let_the_call_through(
    prompt: str, decision: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    app = ClassifierApp(verdicts)
    caplog.set_level(logging.INFO, logger="llmrelay.calls")
    async with rig(sim(Echo()), MODELS, observe=policy(), mounts={"http://classifier.test": app}) as r:
        reply = await r.client.chat(prompt)
    assert prompt in reply.text  # it went upstream
    ((headers, payload),) = app.requests
    assert payload == {"text": prompt} and headers["content-type"] == "application/json"
    assert "authorization" not in headers
    (event,) = [rec.llmrelay for rec in caplog.records if hasattr(rec, "llmrelay")]
    assert event.get("guards", []) == ([decision] if decision else [])


async def test_block_refuses_the_call_before_anything_is_sent() -> None:
    app = ClassifierApp(verdicts)
    async with rig(sim(Echo()), MODELS, observe=policy(), mounts={"http://classifier.test": app}) as r:
        with pytest.raises(GuardBlockedError) as info:
            await r.client.chat("a forbidden question")
    assert info.value.policy == "classifier"
    assert r.recorders["a"].bodies == []  # the provider never heard of it
    assert r.samples("llmrelay_guard_decisions_total", kind="classifier", action="block") == 1
    assert len(app.requests) == 1


async def test_only_user_and_tool_text_is_sent() -> None:
    app = ClassifierApp(verdicts)
    async with rig(sim(Echo()), MODELS, observe=policy(), mounts={"http://classifier.test": app}) as r:
        await r.client.chat([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second"},
        ])  # fmt: skip
    assert app.requests[0][1] == {"text": "first\nsecond"}


def _failing(status: int, body: Any) -> Any:
    return lambda text: (status, body)


FAILURES = [
    pytest.param(_failing(503, {"error": "down"}), 0.0, "answered HTTP 503", id="http-503"),
    pytest.param(_failing(200, b"<html>not json"), 0.0, "did not answer JSON", id="not-json"),
    pytest.param(_failing(200, {"verdict": "maybe"}), 0.0, "no verdict among", id="unknown-verdict"),
    pytest.param(_failing(200, ["allow"]), 0.0, "no verdict among", id="not-an-object"),
    pytest.param(verdicts, 5.0, "TimeoutError", id="timeout"),
]


@pytest.mark.parametrize(("answer", "delay", "logged"), FAILURES)
@pytest.mark.parametrize("fail", ["open", "closed"])
async def test_a_failing_endpoint_fails_as_configured(
    answer: Any, delay: float, logged: str, fail: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = ClassifierApp(answer, delay=delay)
    settings = policy(fail=fail, classifier_timeout=0.2)
    caplog.set_level(logging.INFO)
    async with rig(sim(Echo()), MODELS, observe=settings, mounts={"http://classifier.test": app}) as r:
        if fail == "closed":
            with pytest.raises(GuardBlockedError, match="classifier"):
                await r.client.chat("a secret plan")
            assert r.recorders["a"].bodies == []
        else:
            reply = await r.client.chat("a secret plan")
            assert "a secret plan" in reply.text
    warning = [rec for rec in caplog.records if rec.name == "llmrelay.guard"]
    assert len(warning) == 1 and logged in warning[0].getMessage()
    assert f"failing {fail}" in warning[0].getMessage()
    event = next(rec.llmrelay for rec in caplog.records if hasattr(rec, "llmrelay"))
    verdict = "block" if fail == "closed" else "allow"
    assert f"input.classifier_error:{verdict}" in event["guards"]
    assert "a secret plan" not in "".join(rec.getMessage() for rec in warning)


async def test_the_bearer_token_comes_from_the_environment_and_is_never_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = ClassifierApp(_failing(401, {"error": "bad token"}))
    caplog.set_level(logging.DEBUG)
    settings = policy(classifier_key_env="GUARD_TOKEN", fail="closed")
    async with rig(
        sim(Echo()), MODELS, observe=settings, environ={"GUARD_TOKEN": TOKEN},
        mounts={"http://classifier.test": app},
    ) as r:  # fmt: skip
        with pytest.raises(GuardBlockedError) as info:
            await r.client.chat("hello")
        shown = everything(r, caplog.records) + str(info.value) + repr(info.value)
    assert app.requests[0][0]["authorization"] == f"Bearer {TOKEN}"
    assert "answered HTTP 401" in caplog.text
    assert TOKEN not in shown and TOKEN not in caplog.text


async def test_a_missing_token_variable_is_named_when_the_client_is_built() -> None:
    settings = policy(classifier_key_env="GUARD_TOKEN")
    with pytest.raises(ConfigError, match="GUARD_TOKEN, which is not set"):
        async with rig(sim(Echo()), MODELS, observe=settings, environ={}):
            pass


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"classifier_url": "guard.internal/v1"}, "classifier_url"),
        ({"classifier_url": URL, "classifier": "pkg.mod:fn"}, "not both"),
        ({"classifier_key_env": "GUARD_TOKEN"}, "classifier_url, which is not set"),
        ({"classifier_url": URL, "classifier_key_env": "not a name"}, "classifier_key_env"),
    ],
)
def test_bad_settings_are_named(section: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.load(observe={"guards": {"enabled": True, **section}})


def test_the_endpoint_is_shown_without_credentials() -> None:
    from llmrelay.observe.classifier import HttpClassifier
    from llmrelay.transport.http import Transport

    c = HttpClassifier("https://user:pw@guard.internal:8443/v1/check?key=abc", Transport(), timeout=1.0)
    assert c.where == "https://guard.internal:8443/v1/check"
    assert "pw" not in repr(c) and "abc" not in repr(c)
