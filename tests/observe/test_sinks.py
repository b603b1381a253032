"""The JSON-lines file and Unix socket sinks: what they write, and that they never fail a call."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

import pytest

from llmrelay.errors import ConfigError
from llmrelay.observe.sinks import RECHECK, Fanout, FileLog, SocketLog, encode


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_encode_adds_time_and_level_and_can_leave_fields_out() -> None:
    doc = json.loads(encode(logging.WARNING, {"event": "llm.call", "prompt": "p"}, drop=("prompt",)))
    assert doc["level"] == "warning" and doc["event"] == "llm.call" and "prompt" not in doc
    assert isinstance(doc["ts"], float)


def test_file_log_appends_lines_and_follows_rotation(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    clock = Clock()
    log = FileLog(str(path), clock=clock)
    assert os.stat(path).st_mode & 0o777 == 0o600
    log(logging.INFO, {"event": "llm.call", "n": 1})
    log(logging.DEBUG, {"event": "llm.attempt"})  # attempts are not written
    os.rename(path, tmp_path / "calls.jsonl.1")
    log(logging.INFO, {"event": "llm.call", "n": 2})  # within a second of the last check: old file
    clock.now += RECHECK
    log(logging.INFO, {"event": "llm.call", "n": 3})  # noticed: a new file at the path
    log.close()
    old = [json.loads(x)["n"] for x in (tmp_path / "calls.jsonl.1").read_text().splitlines()]
    new = [json.loads(x)["n"] for x in path.read_text().splitlines()]
    assert (old, new) == ([1, 2], [3])


def test_file_log_that_cannot_be_opened_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"observe\.log_file"):
        FileLog(str(tmp_path / "missing-dir" / "calls.jsonl"))


def test_socket_log_goes_quiet_while_nobody_listens(tmp_path: Path) -> None:
    path = tmp_path / "calls.sock"
    clock = Clock()
    log = SocketLog(str(path), clock=clock)
    assert log.enabled(logging.INFO)
    log(logging.INFO, {"event": "llm.call"})
    assert log.dropped == 1 and not log.enabled(logging.INFO)  # the event is not even built now
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    try:
        clock.now += RECHECK
        assert log.enabled(logging.INFO)
        log(logging.INFO, {"event": "llm.call", "prompt": "secret words", "n": 7})
        doc = json.loads(listener.recv(65536))
        assert doc["n"] == 7 and "prompt" not in doc
    finally:
        listener.close()
        log.close()


def test_a_full_listener_drops_events_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "calls.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    log = SocketLog(str(path))
    try:
        for _ in range(5000):  # nobody reads: the queue fills, sends fail with EAGAIN
            log(logging.INFO, {"event": "llm.call", "pad": "x" * 200})
        assert log.dropped > 0
    finally:
        listener.close()
        log.close()


def test_fanout_asks_each_sink() -> None:
    got: list[str] = []

    class Sink:
        def __init__(self, name: str, level: int) -> None:
            self.name, self.level = name, level

        def enabled(self, level: int) -> bool:
            return level >= self.level

        def __call__(self, level: int, event: dict[str, object]) -> None:
            got.append(self.name)

    fan = Fanout([Sink("debug", logging.DEBUG), Sink("info", logging.INFO)])
    assert fan.enabled(logging.DEBUG)
    fan(logging.DEBUG, {})
    fan(logging.INFO, {})
    assert got == ["debug", "debug", "info"]


def test_a_socket_path_too_long_names_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"observe\.log_socket.*shorter"):
        SocketLog("/tmp/" + "x" * 200 + ".sock")


def test_a_sink_that_fails_closes_what_was_opened_before_it(tmp_path: Path) -> None:
    from llmrelay.observe import LabelBounds, Telemetry
    from llmrelay.settings.observe import ObserveSettings

    settings = ObserveSettings(log_file=str(tmp_path / "calls.jsonl"), log_socket="/tmp/" + "x" * 200)
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(ConfigError, match=r"observe\.log_socket"):
        Telemetry.from_settings(settings, LabelBounds())
    assert (tmp_path / "calls.jsonl").exists()  # the file was opened first…
    assert set(os.listdir("/proc/self/fd")) == before  # …and closed again
