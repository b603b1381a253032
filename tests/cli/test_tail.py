"""``llmrelay tail``: a Client's call log (file and socket) followed into one line per call."""

from __future__ import annotations

import asyncio
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import llmrelay
from llmrelay.cli.main import app
from llmrelay.cli.tail import TailError, follow_file, listen
from llmrelay.errors import BudgetExceededError

PROMPT = "my private question about the weather"


def settings(**observe: Any) -> llmrelay.Settings:
    # a budget of $0 for team "broke": its calls are refused inside the pipeline (and logged)
    return llmrelay.Settings.load(
        observe=observe,
        ledger={"enabled": False},
        budgets={"rules": [{"scope": "team", "name": "broke", "period": "day", "hard": 0}]},
    )


async def some_calls(s: llmrelay.Settings) -> list[Any]:
    """A unary call, a stream and a refusal; the unary response and the stream's end."""
    async with llmrelay.Client(s, environ={}) as client:
        resp = await client.chat(PROMPT, max_tokens=8)
        stream = client.stream("count to three", max_tokens=5)
        async for _ in stream:
            pass
        with pytest.raises(BudgetExceededError):
            await client.chat("refused", max_tokens=8, subject=llmrelay.Subject(team="broke"))
    return [resp, stream]


def lines(output: str) -> list[str]:
    return [x for x in output.splitlines() if x.strip()]


def test_a_clients_log_file_becomes_one_line_per_call(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    resp, _ = asyncio.run(some_calls(settings(log_file=str(log), content=True)))
    assert PROMPT in log.read_text()  # content capture is on: the file has it…
    result = CliRunner().invoke(app, ["tail", "--once", "--no-color", str(log)])
    assert result.exit_code == 0, result.output
    out = lines(result.stdout)
    assert len(out) == 3
    first, second, third = out
    u = resp.usage
    assert " ok " in first and "local → simulator/" in first
    assert f"in {u.input_tokens} out {u.output_tokens}" in first and f"${resp.cost:.6f}" in first
    assert " ok " in second and "stream" in second and "ttft" in second
    assert " error " in third and "BudgetExceededError" in third and "0 attempts" in third
    assert PROMPT not in result.stdout  # …the tail never shows it


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--outcome", "error"], 1),
        (["--outcome", "ok"], 2),
        (["--alias", "local"], 3),
        (["--alias", "nosuch"], 0),
        (["--min-latency", "100000000"], 0),
        (["--max-lines", "2"], 2),
    ],
)
def test_filters(tmp_path: Path, args: list[str], expected: int) -> None:
    log = tmp_path / "calls.jsonl"
    asyncio.run(some_calls(settings(log_file=str(log))))
    result = CliRunner().invoke(app, ["tail", "--once", "--no-color", *args, str(log)])
    assert result.exit_code == 0, result.output
    assert len(lines(result.stdout)) == expected


def test_bad_arguments_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LLMRELAY_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    nothing = runner.invoke(app, ["tail"])
    assert nothing.exit_code == 2 and "observe.log_file" in nothing.stderr
    assert runner.invoke(app, ["tail", "x.jsonl", "--socket", "/tmp/x"]).exit_code == 2
    bad = runner.invoke(app, ["tail", "x.jsonl", "--outcome", "fine"])
    assert bad.exit_code == 2 and "ok, error or cancelled" in bad.stderr
    missing = runner.invoke(app, ["tail", "--once", "/nonexistent/calls.jsonl"])
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_the_configured_log_file_is_followed(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    asyncio.run(some_calls(settings(log_file=str(log))))
    config = tmp_path / "llmrelay.yaml"
    config.write_text(f"observe:\n  log_file: {log}\n")
    result = CliRunner().invoke(app, ["tail", "--once", "--no-color", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert len(lines(result.stdout)) == 3


# ------------------------------------------------------------------ following


def event(n: int) -> str:
    return f'{{"event":"llm.call","outcome":"ok","alias":"a{n}","latency_ms":{n}}}\n'


class Follower:
    """``follow_file`` in a thread, its events in a queue."""

    def __init__(self, path: Path, **kw: Any) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stop = threading.Event()
        self.caught_up = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(path,), kwargs=kw, daemon=True)
        self.thread.start()
        assert self.caught_up.wait(5)  # it has looked at the path (and read what was there)

    def _run(self, path: Path, **kw: Any) -> None:
        for e in follow_file(path, until=self.stop.is_set, poll=0.01, idle=self.caught_up.set, **kw):
            self.events.put(e)

    def next(self) -> str:
        return str(self.events.get(timeout=5)["alias"])

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def follower(tmp_path: Path) -> Iterator[Any]:
    made: list[Follower] = []

    def make(path: Path, **kw: Any) -> Follower:
        f = Follower(path, **kw)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def test_starts_at_the_end_and_survives_rotation_and_truncation(tmp_path: Path, follower: Any) -> None:
    log = tmp_path / "calls.jsonl"
    log.write_text(event(0) + "not json\n" + '{"event":"llm.attempt"}\n')
    f = follower(log)  # has opened the file and gone to its end
    append(log, event(1))
    assert f.next() == "a1"  # the line already there was skipped
    append(log, event(2)[:20])  # half a line: held until its newline arrives
    time.sleep(0.05)
    assert f.events.empty()
    append(log, event(2)[20:])
    assert f.next() == "a2"
    os.rename(log, tmp_path / "calls.jsonl.1")  # rotated, as logrotate does
    time.sleep(0.05)
    log.write_text(event(3))  # the new file is read from its start
    assert f.next() == "a3"
    with log.open("w"):  # truncated (copytruncate)
        pass
    # a line shorter than what was read: the file is seen to have shrunk however late the
    # follower looks (a longer one written before it looks is tail -F's own blind spot)
    append(log, '{"event":"llm.call","alias":"a4"}\n')
    assert f.next() == "a4"


def test_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path, follower: Any) -> None:
    log = tmp_path / "later.jsonl"
    f = follower(log)
    log.write_text(event(5))  # read from its start: it was not there when the tail began
    assert f.next() == "a5"


def test_a_client_writing_while_tail_follows(tmp_path: Path, follower: Any) -> None:
    log = tmp_path / "calls.jsonl"
    log.touch()
    f = follower(log)
    asyncio.run(some_calls(settings(log_file=str(log))))
    assert [f.next(), f.next(), f.next()] == ["local", "local", "local"]


# --------------------------------------------------------------------- socket


def test_tail_socket_prints_what_a_client_sends(tmp_path: Path) -> None:
    path = tmp_path / "calls.sock"
    result: list[Any] = []
    runner = CliRunner()
    args = ["tail", "--no-color", "--socket", str(path), "--max-lines", "3", "--seconds", "20"]
    thread = threading.Thread(target=lambda: result.append(runner.invoke(app, args)))
    thread.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (path.exists() and os.stat(path).st_mode & 0o777 == 0o600):
        time.sleep(0.01)  # bound, then made this user's only
    assert os.stat(path).st_mode & 0o777 == 0o600
    asyncio.run(some_calls(settings(log_socket=str(path), content=True)))
    thread.join(20)
    assert not thread.is_alive()
    out = result[0]
    assert out.exit_code == 0, out.output
    shown = lines(out.stdout)
    assert len(shown) == 3 and "BudgetExceededError" in shown[2]
    assert PROMPT not in out.stdout
    assert not path.exists()  # the listener removed its socket


def test_the_socket_carries_no_captured_content(tmp_path: Path) -> None:
    path = tmp_path / "calls.sock"
    got: list[dict[str, Any]] = []
    ready = threading.Event()
    stop = threading.Event()

    def run() -> None:
        for e in listen(path, until=stop.is_set, ready=ready.set, poll=0.01):
            got.append(e)
            if len(got) == 3:
                stop.set()

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(5)
    asyncio.run(some_calls(settings(log_socket=str(path), content=True)))
    thread.join(5)
    stop.set()
    assert len(got) == 3
    assert all("prompt" not in e and "completion" not in e for e in got)
    assert got[0]["input_tokens"] > 0 and "ts" in got[0] and got[2]["level"] == "warning"


def test_calls_go_on_when_nobody_listens(tmp_path: Path) -> None:
    path = tmp_path / "nobody.sock"
    resp, _ = asyncio.run(some_calls(settings(log_socket=str(path))))
    assert resp.text
    # a socket file whose listener is gone: the same
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(path))
    dead.close()
    resp, _ = asyncio.run(some_calls(settings(log_socket=str(path))))
    assert resp.text


def test_a_stale_socket_is_replaced_and_a_live_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "calls.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(path))
    stale.close()
    assert list(listen(path, until=lambda: True)) == []  # bound over the stale file, then stopped
    live = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    live.bind(str(path))
    try:
        with pytest.raises(TailError, match="another listener"):
            list(listen(path, until=lambda: True))
    finally:
        live.close()
    path.unlink()
    path.write_text("x")
    with pytest.raises(TailError, match="not a socket"):
        list(listen(path, until=lambda: True))


# ---------------------------------------------------------------- one line


def test_a_line_shows_what_the_pipeline_did_and_never_the_content() -> None:
    from llmrelay.cli.tail import line, parse

    e = parse(
        '{"event":"llm.call","ts":1700000000.25,"op":"chat","stream":true,"outcome":"ok","alias":"fast",'
        '"deployment":"east","response_model":"gpt-4o","input_tokens":900,"output_tokens":50,'
        '"cached_tokens":512,"cache_write_tokens":64,"reasoning_tokens":20,"cost":0.0123,"latency_ms":15300,'
        '"ttft_ms":420.4,"cache":"miss","attempts":3,"fallbacks":["fast->spare"],'
        '"guards":["input.email:mask"],"prompt":"tell nobody","completion":"secret answer",'
        '"error":"provider said: tell nobody"}'
    )
    assert e is not None
    text = line(e).plain
    for part in (
        "fast → east (gpt-4o)", "in 900 out 50 (cached 512, cache-write 64, reasoning 20)", "$0.012300",
        "15.30 s", "ttft 420 ms", "cache miss", "3 attempts", "fallback fast->spare",
        "guard input.email:mask", "chat/stream",
    ):  # fmt: skip
        assert part in text, (part, text)
    assert "tell nobody" not in text and "secret answer" not in text


def test_parse_takes_call_events_only() -> None:
    from llmrelay.cli.tail import parse

    assert parse(b'{"event":"llm.attempt"}') is None
    assert parse(b"plain text") is None
    assert parse(b"[1, 2]") is None
    nested = parse(b'{"ts": 5, "message": "x", "llmrelay": {"event": "llm.call", "outcome": "ok"}}')
    assert nested == {"event": "llm.call", "outcome": "ok", "ts": 5}


def test_control_characters_in_a_log_never_reach_the_terminal() -> None:
    from llmrelay.cli.tail import line

    e = {
        "event": "llm.call", "ts": 1e300, "outcome": "ok\x1b[2J", "alias": "fast\x1b]0;owned\x07",
        "deployment": "a\x9bb", "error_type": "X\rY", "fallbacks": ["a->\x1bb"], "input_tokens": "1\x1b[A",
    }  # fmt: skip
    text = line(e).plain
    assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text), repr(text)
    assert "fast]0;owned" in text and "ab" in text
