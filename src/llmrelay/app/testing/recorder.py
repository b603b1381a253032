"""``RecordingTransport``: record and replay a Client's provider traffic at the transport seam.

    transport = RecordingTransport("tests/cassettes/test_summary.json")
    async with transport, llmrelay.Client(transport=transport) as client:
        reply = await client.chat("Summarize: …", model="openai/gpt-4o-mini")

Every request the Client sends (chat, streams, embeddings, token counts, any provider)
passes through here as an ``HttpRequest``. It is scrubbed and put in canonical form, then
answered from the cassette, or sent upstream by the inner ``Transport`` and recorded —
scrubbed before it is kept in memory, let alone written. A streamed answer is recorded
chunk by chunk as the caller reads it (the caller still sees it stream live) and replayed
chunk by chunk. See docs/testing.md for why this sits here rather than on VCR.py.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
from collections.abc import AsyncGenerator, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from llmrelay.app.testing.canonical import CanonicalRequest, canonical, differences
from llmrelay.app.testing.cassette import Cassette, Interaction, RecordedResponse
from llmrelay.app.testing.errors import UnmatchedRequestError
from llmrelay.app.testing.modes import MODE_VARIABLE, RecordMode, check_mode, default_mode
from llmrelay.app.testing.scrub import Scrubber
from llmrelay.transport import StreamingResponse, Timeouts, Transport
from llmrelay.wire import HttpRequest, HttpResponse

# Headers that describe the bytes on the wire, not the decoded body a cassette keeps.
_WIRE_HEADERS = frozenset(("content-length", "content-encoding", "transfer-encoding", "connection"))
# An SSE event ends at a blank line: where a stream is re-cut when a secret spanned chunks.
_EVENT_END = re.compile(r"(?<=\n\n)")


class RecordingTransport(Transport):
    """A ``Transport`` that answers from a cassette file and records what it lacks.

    ``mode`` is ``replay``, ``record-new`` or ``re-record`` (default: ``LLMRELAY_RECORD``,
    else ``replay`` under ``CI=true``, else ``record-new``; see ``modes``). ``scrubber``
    says what else to remove (default: keys, credential headers and ``key=`` only).
    ``inner`` sends what is recorded (default: a plain ``Transport``, built only when a
    request must really be sent, so replay opens no connection at all). The cassette is
    written by ``save()`` or on ``aclose()``, and only when something new was recorded.
    """

    __slots__ = ("_cassette", "_changed", "_inner", "_mode", "_owns_inner", "_scrubber")

    def __init__(
        self,
        cassette: str | os.PathLike[str],
        *,
        mode: RecordMode | str | None = None,
        scrubber: Scrubber | None = None,
        inner: Transport | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        chosen = (
            default_mode(os.environ if environ is None else environ) if mode is None else check_mode(mode)
        )
        super().__init__(timeouts=inner.timeouts if inner is not None else None)
        path = Path(cassette)
        self._mode: RecordMode = chosen
        self._cassette = Cassette(path) if chosen == "re-record" else Cassette.load(path)
        self._scrubber = scrubber if scrubber is not None else Scrubber()
        self._inner = inner
        self._owns_inner = inner is None
        self._changed = chosen == "re-record"

    @property
    def mode(self) -> RecordMode:
        return self._mode

    @property
    def path(self) -> Path:
        return self._cassette.path

    @property
    def interactions(self) -> list[Interaction]:
        """What the cassette holds (recorded before, and recorded now), scrubbed."""
        return self._cassette.interactions

    async def send(self, req: HttpRequest, *, timeout: Timeouts | None = None) -> HttpResponse:
        creq = canonical(req, self._scrubber)
        hit = self._play(creq)
        if hit is not None:
            r = hit.response
            body = b"".join(r.chunks) if r.chunks is not None else r.body
            return HttpResponse(status=r.status, headers=dict(r.headers), body=body)
        resp = await self._upstream().send(req, timeout=timeout)
        self._record(creq, resp.status, resp.headers, body=self._scrub_body(resp.body))
        return resp

    def stream(
        self, req: HttpRequest, *, timeout: Timeouts | None = None
    ) -> contextlib.AbstractAsyncContextManager[StreamingResponse]:
        return _Open(self, req, timeout)

    def save(self) -> None:
        """Write the cassette if anything was recorded since it was read."""
        if self._changed:
            self._cassette.save(final=self._scrubber.text)
            self._changed = False

    async def aclose(self) -> None:
        try:
            self.save()
        finally:
            await super().aclose()
            if self._inner is not None and self._owns_inner:
                await self._inner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ internals

    def _play(self, creq: CanonicalRequest) -> Interaction | None:
        if self._mode == "re-record":
            return None
        hit = self._cassette.take(creq)
        if hit is None and self._mode == "replay":
            raise self._unmatched(creq)
        return hit

    def _upstream(self) -> Transport:
        if self.is_closed:
            raise RuntimeError("Cannot send a request: the Transport has been closed")
        if self._inner is None:
            self._inner = Transport(timeouts=self.timeouts)
        return self._inner

    def _record(
        self,
        creq: CanonicalRequest,
        status: int,
        headers: Mapping[str, str],
        *,
        body: bytes = b"",
        chunks: tuple[bytes, ...] | None = None,
        complete: bool = True,
    ) -> None:
        kept = {k: v for k, v in self._scrubber.headers(headers).items() if k not in _WIRE_HEADERS}
        response = RecordedResponse(status, kept, body, chunks, complete)
        self._cassette.add(Interaction(creq, response))
        # Recorded and answered live: it must not be played back within this same run.
        self._cassette.take(creq)
        self._changed = True

    def _record_stream(
        self, creq: CanonicalRequest, status: int, headers: Mapping[str, str], chunks: list[bytes], done: bool
    ) -> None:
        self._record(creq, status, headers, chunks=self._scrub_chunks(chunks), complete=done)

    def _scrub_body(self, body: bytes) -> bytes:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body  # not text: kept as base64; LLM APIs answer in JSON
        return self._scrubber.text(text).encode("utf-8")

    def _scrub_chunks(self, chunks: list[bytes]) -> tuple[bytes, ...]:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pieces = [decoder.decode(c) for c in chunks]
        pieces.append(decoder.decode(b"", final=True))
        scrub = self._scrubber.text
        kept = [scrub(p) for p in pieces]
        whole = scrub("".join(pieces))
        if "".join(kept) != whole:
            # A secret spanned two chunks: no single piece showed it whole. Re-cut the
            # scrubbed stream at its event boundaries instead.
            kept = _EVENT_END.split(whole)
        return tuple(p.encode("utf-8") for p in kept if p)

    def _unmatched(self, creq: CanonicalRequest) -> UnmatchedRequestError:
        name = creq.describe()
        played = self._cassette.played(creq)
        if played:
            why = (
                f"its {played} recorded answer(s) were all played already: the code made this "
                "request more often than when the cassette was recorded"
            )
        else:
            near = self._cassette.closest(creq)
            if near is None:
                why = "nothing was recorded for this method and URL"
            else:
                diff = differences(creq.body, near.body)
                why = f"the recorded request to this URL differs in {', '.join(diff) or 'its body'}"
        message = (
            f"no recorded answer in cassette {self.path} for {name}: {why}. The record mode is "
            f"'replay', which never sends a request (the default under CI=true); record it with "
            f"pytest --llmrelay-record=record-new (or {MODE_VARIABLE}=record-new) where the "
            "provider's key is set, and commit the cassette"
        )
        return UnmatchedRequestError(message, request=name, cassette=str(self.path))


class _Open:
    """``async with transport.stream(req)``: a replayed stream, or a live one being recorded."""

    __slots__ = ("_live", "_owner", "_req", "_response", "_timeout")

    def __init__(self, owner: RecordingTransport, req: HttpRequest, timeout: Timeouts | None) -> None:
        self._owner = owner
        self._req = req
        self._timeout = timeout
        self._live: contextlib.AbstractAsyncContextManager[StreamingResponse] | None = None
        self._response: StreamingResponse | None = None

    async def __aenter__(self) -> StreamingResponse:
        owner = self._owner
        creq = canonical(self._req, owner._scrubber)
        hit = owner._play(creq)
        if hit is not None:
            self._response = _ReplayStream(hit.response, owner.timeouts, _origin(creq.url))
            return self._response
        self._live = owner._upstream().stream(self._req, timeout=self._timeout)
        inner = await self._live.__aenter__()

        def done(chunks: list[bytes], complete: bool) -> None:
            owner._record_stream(creq, inner.status, inner.headers, chunks, complete)

        self._response = _RecordingStream(inner, done)
        return self._response

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._response is not None:
                await self._response.aclose()
        finally:
            if self._live is not None:
                await self._live.__aexit__(exc_type, exc, tb)


class _ReplayStream(StreamingResponse):
    """A recorded answer, given back in the chunks it arrived in."""

    __slots__ = ("_chunks", "_closed")

    def __init__(self, recorded: RecordedResponse, t: Timeouts, where: str) -> None:
        super().__init__(recorded.status, dict(recorded.headers), t, None, where)
        source = recorded.chunks if recorded.chunks is not None else (recorded.body,)
        self._chunks = [c for c in source if c]
        self._chunks.reverse()  # popped from the end
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def _next(self) -> bytes:
        return self._chunks.pop() if self._chunks and not self._closed else b""

    async def _rest(self) -> bytes:
        rest = b"".join(reversed(self._chunks))
        self._chunks.clear()
        return rest

    async def _close(self) -> None:
        self._closed = True


class _RecordingStream(StreamingResponse):
    """A live answer passed through as it arrives, its chunks kept for the cassette."""

    __slots__ = ("_chunks", "_done", "_ended", "_inner", "_kept", "_reported")

    def __init__(self, inner: StreamingResponse, done: Callable[[list[bytes], bool], None]) -> None:
        # No deadline of its own: the inner stream's reads already run under it.
        super().__init__(inner.status, inner.headers, Timeouts(), None, "")
        self._inner = inner
        self._chunks: AsyncGenerator[bytes, None] = inner.aiter_bytes()
        self._done = done
        self._kept: list[bytes] = []
        self._ended = False
        self._reported = False

    @property
    def is_closed(self) -> bool:
        return self._inner.is_closed

    async def _next(self) -> bytes:
        chunk = await anext(self._chunks, b"")
        if chunk:
            self._kept.append(chunk)
        else:
            self._ended = True
        return chunk

    async def _rest(self) -> bytes:
        rest = await self._inner.read()
        if rest:
            self._kept.append(rest)
        self._ended = True
        return rest

    async def _close(self) -> None:
        try:
            await self._chunks.aclose()
            await self._inner.aclose()
        finally:
            if not self._reported:
                # Recorded once, whole or as far as the caller read it (a caller that stops
                # early is replayed stopping at the same place).
                self._reported = True
                self._done(self._kept, self._ended)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
