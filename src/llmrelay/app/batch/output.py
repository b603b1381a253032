"""Results in input order: a reorder buffer, and the JSONL file it writes to.

An item's line is released as soon as it and every item before it are done, so the output
grows in input order while calls finish in any order. The journal, not this file, is what
makes results durable: when a run starts, the output is rebuilt from the journal
(written beside it and renamed over it, so it is never seen half-written) and then
appended to, one whole line per ``write``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmrelay.errors import ConfigError


def _line(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class OrderedOutput:
    """Releases records in index order; writes them to ``path`` when one is given."""

    def __init__(
        self, path: Path | None, fd: int | None, next_index: int, held: dict[int, dict[str, Any]]
    ) -> None:
        self.path = path
        self._fd = fd
        self.next_index = next_index
        self._held = held

    @classmethod
    def open(cls, path: str | Path | None, ready: Mapping[int, dict[str, Any]]) -> OrderedOutput:
        """Start from the results already ``ready`` (by index): those without a gap before
        them are (re)written to ``path`` now; the others wait for the gap to fill."""
        held = dict(ready)
        start = 0
        prefix: list[bytes] = []
        while start in held:
            prefix.append(_line(held.pop(start)))
            start += 1
        if path is None:
            return cls(None, None, start, held)
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as f:
                f.writelines(prefix)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            fd = os.open(target, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise ConfigError(f"cannot write the batch output {target}: {exc.strerror}") from None
        return cls(target, fd, start, held)

    @property
    def held(self) -> int:
        """Results done but waiting for an earlier item."""
        return len(self._held)

    def add(self, index: int, record: dict[str, Any]) -> list[dict[str, Any]]:
        """Hand in a finished item; returns the records released (and written), in order."""
        if index < self.next_index:
            return []
        self._held[index] = record
        released: list[dict[str, Any]] = []
        while self.next_index in self._held:
            released.append(self._held.pop(self.next_index))
            self.next_index += 1
        if released and self._fd is not None:
            data = b"".join(_line(r) for r in released)
            view = memoryview(data)
            while view:  # a regular file takes it in one write; loop in case it does not
                written = os.write(self._fd, view)
                view = view[written:]
        return released

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None
