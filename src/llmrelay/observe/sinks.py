"""Log sinks of llmrelay's own: call events as JSON lines to a file, or as datagrams to a
local socket (``observe.log_file``, ``observe.log_socket``), both read by ``llmrelay tail``.

Both write call events only (INFO and above; attempts are DEBUG), each as one JSON
object with ``ts`` (epoch seconds) and ``level`` added. Neither ever fails or blocks a
call: a write that cannot be made is dropped and counted in ``dropped``.

* ``FileLog`` appends one line per event with a single ``write`` on an ``O_APPEND``
  descriptor (lines from several processes do not interleave) and reopens the path
  when it was rotated away or deleted (checked at most once a second).
* ``SocketLog`` sends each event as one Unix datagram, non-blocking, to whoever is
  bound at the path (``llmrelay tail --socket PATH``). When nobody is, it stops trying
  for a second, so a client whose listener is gone pays neither the encoding nor the
  system call. Captured prompts and completions are never sent: a terminal that
  follows calls has no use for them.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

from llmrelay.errors import ConfigError
from llmrelay.observe.logs import LogSink

#: fields a socket listener is never sent
_NOT_SENT = ("prompt", "completion")
#: seconds between checks that the log file is still the one at its path, and between
#: attempts to reach an absent socket listener
RECHECK = 1.0
#: sun_path's size on Linux (104 on the BSDs and macOS: the kernel refuses longer ones)
_MAX_SOCKET_PATH = 108
_LEVELS = {logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error"}


def encode(level: int, event: dict[str, Any], *, drop: Sequence[str] = ()) -> bytes:
    """One event as a JSON object (no newline) with its time and level first."""
    doc: dict[str, Any] = {"ts": round(time.time(), 3), "level": _LEVELS.get(level, str(level))}
    if drop:
        doc.update((k, v) for k, v in event.items() if k not in drop)
    else:
        doc.update(event)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str).encode()


class FileLog:
    """Call events appended to ``path`` as JSON lines."""

    def __init__(self, path: str, *, clock: Any = time.monotonic) -> None:
        self.path = path
        self.dropped = 0
        self._clock = clock
        self._fd = self._open()
        self._checked = clock()

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"observe.log_file: cannot open {self.path!r} for appending ({exc.strerror}); "
                "check the directory exists and is writable"
            ) from None

    def enabled(self, level: int) -> bool:
        return level >= logging.INFO

    def __call__(self, level: int, event: dict[str, Any]) -> None:
        if level < logging.INFO:
            return
        now = self._clock()
        if now - self._checked >= RECHECK:
            self._checked = now
            self._reopen_if_moved()
        try:
            os.write(self._fd, encode(level, event) + b"\n")
        except OSError:
            self.dropped += 1

    def _reopen_if_moved(self) -> None:
        try:
            here = os.stat(self.path)
            mine = os.fstat(self._fd)
            if (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino):
                return
        except OSError:
            pass  # gone: start a new file at the path
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return  # keep writing where we were; try again later
        os.close(self._fd)
        self._fd = fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class SocketLog:
    """Call events as datagrams to a Unix socket at ``path``, when someone listens there."""

    def __init__(self, path: str, *, clock: Any = time.monotonic) -> None:
        if not hasattr(socket, "AF_UNIX"):
            raise ConfigError("observe.log_socket needs Unix domain sockets, which this platform lacks")
        if len(os.fsencode(path)) >= _MAX_SOCKET_PATH:
            raise ConfigError(
                f"observe.log_socket: {path!r} is longer than a Unix socket path may be "
                f"({_MAX_SOCKET_PATH - 1} bytes); choose a shorter one, e.g. /tmp/llmrelay.sock"
            )
        self.path = path
        self.dropped = 0
        self._clock = clock
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._quiet_until = 0.0

    def enabled(self, level: int) -> bool:
        return level >= logging.INFO and self._clock() >= self._quiet_until

    def __call__(self, level: int, event: dict[str, Any]) -> None:
        if not self.enabled(level):
            return
        try:
            self._sock.sendto(encode(level, event, drop=_NOT_SENT), self.path)
        except (FileNotFoundError, ConnectionRefusedError):
            self.dropped += 1
            self._quiet_until = self._clock() + RECHECK  # nobody listens: stop trying for a while
        except OSError:  # the listener's queue is full (EAGAIN), or the event is too large
            self.dropped += 1

    def close(self) -> None:
        self._sock.close()


class Fanout:
    """Several sinks as one; each gets the events its ``enabled`` accepts."""

    def __init__(self, sinks: Sequence[LogSink]) -> None:
        self.sinks = tuple(sinks)

    def enabled(self, level: int) -> bool:
        return any(s.enabled(level) for s in self.sinks)

    def __call__(self, level: int, event: dict[str, Any]) -> None:
        for s in self.sinks:
            if s.enabled(level):
                s(level, event)

    def close(self) -> None:
        for s in self.sinks:
            close = getattr(s, "close", None)
            if close is not None:
                close()
