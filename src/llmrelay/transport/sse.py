"""An incremental Server-Sent Events decoder (WHATWG HTML, "Interpreting an event stream").

Bytes arrive in reads of any size, cut anywhere: inside a line, inside a multi-byte
UTF-8 character, between the ``\\r`` and ``\\n`` of a CRLF. The decoder only ever
splits on complete lines, with C-level ``bytes`` methods; no per-byte Python loop.

Two deliberate readings of the spec:

* ``flush()`` dispatches an event whose final blank line never came. The spec says to
  discard it, but some servers end the body right after the last ``data:`` line and
  that event is usually the one that matters (a final chunk or ``[DONE]``).
* ``SSEEvent.id`` is the stream's *last event ID*, which persists across events as the
  spec defines it; ``SSEEvent.retry`` is the ``retry:`` value announced in the event's
  own block (the persistent reconnection time is ``SSEDecoder.retry``).
"""

from __future__ import annotations

from llmrelay.errors import MalformedResponseError
from llmrelay.wire import SSEEvent

_BOM = b"\xef\xbb\xbf"
_LF = 0x0A
_CR = 0x0D
_COLON = 0x3A
# Large enough for an event carrying an inline image; small enough that a server which
# never ends a line cannot exhaust memory.
DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events that became complete.

    An event (or a single line) growing past ``max_event_bytes`` raises
    ``MalformedResponseError``; ``None`` lifts the limit.
    """

    __slots__ = (
        "_data",
        "_data_size",
        "_event",
        "_last_id",
        "_max",
        "_pending",
        "_pending_size",
        "_retry",
        "_skip_lf",
        "_started",
        "retry",
    )

    def __init__(self, *, max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max = max_event_bytes
        self._pending: list[bytes] = []  # an unterminated line, in pieces, to join once
        self._pending_size = 0
        self._data: list[bytes] = []
        self._data_size = 0
        self._event: bytes = b""
        self._last_id: str | None = None
        self._retry: int | None = None  # announced in the current block
        self._skip_lf = False  # the previous read ended in CR: a leading LF belongs to it
        self._started = False
        self.retry: int | None = None  # the stream's reconnection time, in milliseconds

    @property
    def last_event_id(self) -> str | None:
        return self._last_id

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        # Hot paths: a read of whole "data: …\n\n" events, one or many, with nothing
        # buffered before it (LF only). Anything else takes the general path.
        if (
            chunk[:6] == b"data: "
            and self._started
            and b"\r" not in chunk
            and not (self._pending or self._data or self._event or self._skip_lf)
            and (self._max is None or len(chunk) <= self._max)
        ):
            if chunk[-2:] == b"\n\n" and chunk.count(b"\n") == 2:
                retry, self._retry = self._retry, None
                return [SSEEvent(data=chunk[6:-2].decode("utf-8", "replace"), id=self._last_id, retry=retry)]
            return self._feed_blocks(chunk)
        return self._feed_lines(chunk)

    def _feed_blocks(self, chunk: bytes) -> list[SSEEvent]:
        """Split at blank lines; single-line ``data:`` blocks become events directly."""
        blocks = chunk.split(b"\n\n")
        rest = blocks.pop()  # after the last blank line: nothing, or an unfinished event
        events: list[SSEEvent] = []
        for block in blocks:
            if block[:6] == b"data: " and b"\n" not in block:
                retry, self._retry = self._retry, None
                events.append(
                    SSEEvent(data=block[6:].decode("utf-8", "replace"), id=self._last_id, retry=retry)
                )
            else:  # comments, several fields, multi-line data, stray blank lines
                lines = block.split(b"\n")
                lines.append(b"")
                events.extend(self._process(lines))
        if rest:
            events.extend(self._feed_lines(rest))
        return events

    def _feed_lines(self, chunk: bytes) -> list[SSEEvent]:
        if self._skip_lf:
            if not chunk:
                return []
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._pending.append(chunk)
                self._pending_size += len(chunk)
                if self._max is not None and self._pending_size > self._max:
                    self._too_big()
            return []
        if self._pending:
            self._pending.append(chunk)
            chunk = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
        if not self._started:
            chunk = self._strip_bom(chunk)
        lines = chunk.splitlines()
        last = chunk[-1]
        if last == _CR:
            self._skip_lf = True
        elif last != _LF:
            tail = lines.pop()
            self._pending.append(tail)
            self._pending_size = len(tail)
        return self._process(lines)

    def flush(self) -> list[SSEEvent]:
        """End of stream: interpret an unterminated last line and dispatch what is buffered."""
        events: list[SSEEvent] = []
        if self._pending:
            line = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            if not self._started:
                line = self._strip_bom(line)
            events = self._process([line])
        self._skip_lf = False
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def _strip_bom(self, buf: bytes) -> bytes:
        self._started = True
        return buf[3:] if buf.startswith(_BOM) else buf

    def _process(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
                data = self._data
            elif line.startswith(b"data:"):  # the overwhelmingly common line, kept cheap
                value = line[5:]
                data.append(value[1:] if value[:1] == b" " else value)
                self._data_size += len(value)
            elif line[0] != _COLON:  # a line starting with a colon is a comment
                self._field(line)
        if self._max is not None and self._data_size + self._pending_size > self._max:
            self._too_big()
        return events

    def _too_big(self) -> None:
        limit = self._max
        self._pending.clear()
        self._data = []
        self._pending_size = self._data_size = 0
        raise MalformedResponseError(
            f"A server-sent event exceeded {limit} bytes without ending; the stream is not valid SSE "
            "(raise SSEDecoder(max_event_bytes=...) if such events are expected)"
        )

    def _field(self, line: bytes) -> None:
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":  # "data" with no colon at all: an empty data line
            self._data.append(value)
            self._data_size += len(value)
        elif name == b"event":
            self._event = value
        elif name == b"id":
            if b"\x00" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # ASCII digits only, as the spec requires
            self._retry = self.retry = int(value)
        # any other field name is ignored, as the spec requires

    def _dispatch(self) -> SSEEvent | None:
        retry, self._retry = self._retry, None
        if not self._data:
            self._event = b""
            return None
        data = b"\n".join(self._data).decode("utf-8", "replace")
        event = self._event.decode("utf-8", "replace") if self._event else "message"
        self._data = []
        self._data_size = 0
        self._event = b""
        return SSEEvent(data=data, event=event, id=self._last_id, retry=retry)
