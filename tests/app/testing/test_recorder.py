"""The acceptance test: record against a keyed simulator over a socket, find no key in the
cassette, replay with the network blocked and the server gone, fail naming an unknown request."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.app.testing.conftest import GEMINI_KEY, KEYS, Served

from llmrelay import Client
from llmrelay.app.testing import Recorder, RecordingTransport, UnmatchedRequestError
from llmrelay.types import ChatResponse, StreamEnd, StreamStart, Tool
from llmrelay.wire import HttpRequest

ALIASES = ("gpt", "claude", "gemini")
WEATHER = Tool(
    name="weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def view(r: ChatResponse) -> dict[str, Any]:
    """Everything a caller reads from an answer, but the wall-clock latency."""
    return {
        "id": r.id,
        "model": r.model,
        "text": r.text,
        "tool_calls": r.tool_calls,
        "finish_reason": r.finish_reason,
        "usage": r.usage,
        "request_id": r.request_id,
        "cost": r.cost,
    }


async def session(client: Client) -> list[Any]:
    """The traffic of an application: a unary chat, a streamed one and a tool call per protocol."""
    out: list[Any] = []
    for alias in ALIASES:
        out.append(view(await client.chat(f"Say something about {alias}.", model=alias, max_tokens=40)))
        events = [ev async for ev in client.stream(f"Stream a line about {alias}.", model=alias)]
        # Timing fields differ run to run; the events themselves must not.
        out.append([ev for ev in events if not isinstance(ev, (StreamStart, StreamEnd))])
        out.append([(ev.provider, ev.model) for ev in events if isinstance(ev, StreamStart)])
        out.append(view(await client.chat("Weather in Oslo?", model=alias, tools=[WEATHER])))
    return out


def searched_for_keys(text: str) -> list[str]:
    found = [name for name, key in KEYS.items() if key in text]
    # Not even a long piece of one (a key cut in half by a chunk boundary is still a leak).
    for key in KEYS.values():
        found += [key[i : i + 12] for i in range(len(key) - 11) if key[i : i + 12] in text]
    found += re.findall(r"sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}", text)
    return found


async def test_record_then_replay_with_the_network_blocked(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    cassette = tmp_path / "cassettes" / "session.json"
    settings = served.settings()

    recorder = Recorder(cassette, mode="record-new", environ=KEYS)
    async with recorder.client(settings) as client:
        live = await session(client)
    assert served.simulator.stats.total_requests == 9  # the keys were sent and accepted
    assert served.simulator.stats.statuses[200] == 9

    text = cassette.read_text()
    assert searched_for_keys(text) == []
    data = json.loads(text)
    assert len(data["interactions"]) == 9
    headers = [i["request"]["headers"] for i in data["interactions"]]
    assert {h.get("authorization") for h in headers if "authorization" in h} == {"REDACTED"}
    assert {h.get("x-api-key") for h in headers if "x-api-key" in h} == {"REDACTED"}
    assert {h.get("x-goog-api-key") for h in headers if "x-goog-api-key" in h} == {"REDACTED"}
    streamed = [i["response"] for i in data["interactions"] if "chunks" in i["response"]]
    assert len(streamed) == 3 and all(r["complete"] for r in streamed)
    assert all(len(r["chunks"]) > 1 for r in streamed)  # kept as it arrived, not one blob

    # Replay: the server is gone, every connection is refused, no key is set (as in CI).
    served.stop()
    attempts = request.getfixturevalue("no_network")
    replayer = Recorder(cassette, environ={"CI": "true"})
    assert replayer.mode == "replay"
    async with replayer.client(settings) as client:
        replayed = await session(client)
    assert replayed == live
    assert attempts == []
    assert cassette.read_text() == text  # replay writes nothing
    replayer.calls.assert_call_count(9)


async def test_an_unmatched_request_fails_naming_it(
    served: Served, tmp_path: Path, no_network: list[str]
) -> None:
    cassette = tmp_path / "c.json"
    served.stop()
    recorder = Recorder(cassette, mode="replay", environ={})
    async with recorder.client(served.settings()) as client:
        with pytest.raises(UnmatchedRequestError) as caught:
            await client.chat("A question never recorded", model="gpt")
    err = caught.value
    assert f"POST {served.url}/v1/chat/completions" in err.request
    assert "'A question never recorded'" in err.request
    assert "model 'gpt-4o'" in err.request
    assert err.request in str(err)
    assert str(cassette) in str(err) and "record-new" in str(err)
    assert "nothing was recorded" in str(err)
    assert no_network == []


async def test_the_error_names_what_differs_from_the_recording(served: Served, tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    async with Recorder(cassette, mode="record-new", environ=KEYS).client(served.settings()) as client:
        await client.chat("What is 2+2?", model="gpt")
    async with Recorder(cassette, mode="replay", environ={}).client(served.settings()) as client:
        await client.chat("What is 2+2?", model="gpt")  # recorded: answered
        with pytest.raises(UnmatchedRequestError, match="already"):
            await client.chat("What is 2+2?", model="gpt")  # recorded once, asked twice
    async with Recorder(cassette, mode="replay", environ={}).client(served.settings()) as client:
        with pytest.raises(UnmatchedRequestError, match=r"differs in body\.messages\[0\]\.content"):
            await client.chat("What is 3+3?", model="gpt")


async def test_record_new_keeps_old_recordings_and_re_record_replaces_them(
    served: Served, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.json"
    settings = served.settings()
    async with Recorder(cassette, mode="record-new", environ=KEYS).client(settings) as client:
        await client.chat("one", model="gpt")
    async with Recorder(cassette, mode="record-new", environ=KEYS).client(settings) as client:
        await client.chat("one", model="gpt")  # replayed
        await client.chat("two", model="gpt")  # recorded
    assert served.simulator.stats.total_requests == 2
    assert len(json.loads(cassette.read_text())["interactions"]) == 2
    async with Recorder(cassette, mode="re-record", environ=KEYS).client(settings) as client:
        await client.chat("three", model="gpt")
    assert served.simulator.stats.total_requests == 3
    recorded = json.loads(cassette.read_text())["interactions"]
    assert [i["request"]["body"]["messages"][0]["content"] for i in recorded] == ["three"]


async def test_a_query_key_and_configured_patterns_are_scrubbed(served: Served, tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    body = {"contents": [{"role": "user", "parts": [{"text": "mail ada@example.com about it"}]}]}
    url = f"{served.url}/v1beta/models/gemini-2.5-flash:generateContent?key={GEMINI_KEY}&alt=json"
    req = HttpRequest("POST", url, {"content-type": "application/json"}, json.dumps(body).encode())
    async with RecordingTransport(
        cassette, mode="record-new", scrubber=_scrubber(r"[\w.]+@example\.com")
    ) as transport:
        live = await transport.send(req)
    assert live.status == 200
    text = cassette.read_text()
    assert GEMINI_KEY not in text and "ada@example.com" not in text
    recorded = json.loads(text)["interactions"][0]["request"]
    assert recorded["url"].endswith(":generateContent?alt=json&key=REDACTED")
    assert recorded["body"]["contents"][0]["parts"][0]["text"] == "mail REDACTED about it"
    # The live request, scrubbed the same way, matches its scrubbed recording.
    async with RecordingTransport(cassette, mode="replay", scrubber=_scrubber(r"[\w.]+@example\.com")) as t:
        again = await t.send(req)
    assert (again.status, again.body) == (live.status, live.body)


async def test_a_stream_closed_early_is_replayed_stopping_there(served: Served, tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    settings = served.settings()
    async with Recorder(cassette, mode="record-new", environ=KEYS).client(settings) as client:
        stream = client.stream("Tell a long story.", model="gpt", max_tokens=200)
        first = [ev async for ev in _take(stream, 3)]
        await stream.aclose()
    recorded = json.loads(cassette.read_text())["interactions"][0]["response"]
    assert recorded["complete"] is False
    async with Recorder(cassette, mode="replay", environ={}).client(settings) as client:
        stream = client.stream("Tell a long story.", model="gpt", max_tokens=200)
        again = [ev async for ev in _take(stream, 3)]
        await stream.aclose()
    assert [type(e) for e in again] == [type(e) for e in first]


async def _take(stream: Any, n: int) -> Any:
    i = 0
    async for ev in stream:
        yield ev
        i += 1
        if i == n:
            return


def _scrubber(*patterns: str) -> Any:
    from llmrelay.app.testing import Scrubber

    return Scrubber(patterns)


async def test_the_network_block_is_real(served: Served, tmp_path: Path, no_network: list[str]) -> None:
    """The guard the replay test relies on: with it, a request that must go out cannot."""
    from llmrelay.errors import LLMRelayError

    recorder = Recorder(tmp_path / "c.json", mode="record-new", environ=KEYS)
    async with recorder.client(served.settings()) as client:
        with pytest.raises((LLMRelayError, AssertionError)):
            await client.chat("hello", model="gpt")
    assert no_network


async def test_a_key_split_across_stream_chunks_is_scrubbed_and_mounts_are_recorded(tmp_path: Path) -> None:
    """A mounted (in-process) upstream whose SSE stream cuts a key in two: no chunk shows it
    whole, yet it must not reach the file; replay gives the same bytes back."""
    from llmrelay.transport import StreamingASGITransport, Transport

    key = "sk-proj-SplitAcrossTwoChunks0123456789abcdef"
    parts = [b'data: {"echo": "' + key[:15].encode(), key[15:].encode() + b'"}\n\n', b"data: [DONE]\n\n"]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for p in parts:
            await send({"type": "http.response.body", "body": p, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    inner = Transport(mounts={"http://fake.local": StreamingASGITransport(app)})
    req = HttpRequest("POST", "http://fake.local/v1/stream", {}, b'{"stream": true}')
    cassette = tmp_path / "c.json"
    async with RecordingTransport(cassette, mode="record-new", inner=inner) as t, t.stream(req) as resp:
        live = [c async for c in resp.aiter_bytes()]
    await inner.aclose()
    assert b"".join(live) == b"".join(parts)  # the caller saw the stream as sent
    text = cassette.read_text()
    assert key not in text and key[:15] not in text and key[15:] not in text
    async with RecordingTransport(cassette, mode="replay") as t, t.stream(req) as resp:
        events = [e.data async for e in resp.aiter_sse()]
    assert events == ['{"echo": "REDACTED"}', "[DONE]"]
