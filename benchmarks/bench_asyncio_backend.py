"""httpcore2's anyio network backend against a native asyncio one, under the same httpx2 client.

httpx2 talks to sockets through httpcore2, whose default network backend wraps every
read and write in anyio. ``AsyncioBackend`` below does the same job with asyncio's own
streams (``asyncio.open_connection``, ``StreamReader.read``, ``StreamWriter.write`` +
``drain``, ``asyncio.timeout``). Both clients are ``httpx2.AsyncClient``s whose
transport differs only in the connection pool's ``network_backend``; the server and the
workloads are ``bench_transport.py``'s (``json``: a ~300 B POST answered by ~1 KB of JSON;
``sse``: a 200-event stream), in a separate process. The two clients are measured in
alternating rounds; every figure is the best of the rounds. CPU is this process's
``time.process_time`` per request (or per event).

Run:  .venv/bin/python benchmarks/bench_asyncio_backend.py [--n 2000 --streams 100 --rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import ssl
import sys
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2
from _support import free_port
from bench_transport import HEADERS, N_EVENTS, REQUEST_BODY, Figures, machine, measure, start_server

from llmrelay.transport.sse import SSEDecoder

_SocketOption = Any  # httpcore2's SOCKET_OPTION tuples, passed through to setsockopt


class AsyncioStream(httpcore2.AsyncNetworkStream):
    """A TCP (or TLS) connection on asyncio's streams, with httpcore2's error types."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore2.ReadTimeout(exc) from exc
        except OSError as exc:
            raise httpcore2.ReadError(exc) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore2.WriteTimeout(exc) from exc
        except OSError as exc:
            raise httpcore2.WriteError(exc) from exc

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):  # the peer went first: closed either way
            await self._writer.wait_closed()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore2.ConnectError(exc) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            # httpcore2 asks before reusing a pooled connection: readable while idle
            # means the server closed it (or sent something unasked)
            return self._reader.at_eof() or bool(getattr(self._reader, "_buffer", b""))
        return None


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                local = (local_address, 0) if local_address else None
                reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(exc) from exc
        except OSError as exc:
            raise httpcore2.ConnectError(exc) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[_SocketOption] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(exc) from exc
        except OSError as exc:
            raise httpcore2.ConnectError(exc) from exc
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def client_with(backend: httpcore2.AsyncNetworkBackend | None, pool: int) -> httpx2.AsyncClient:
    limits = httpx2.Limits(max_connections=pool, max_keepalive_connections=pool)
    transport = httpx2.AsyncHTTPTransport(limits=limits)
    if backend is not None:
        # httpx2 builds its pool without a backend argument; swap in one that has it
        transport._pool = httpcore2.AsyncConnectionPool(
            max_connections=pool, max_keepalive_connections=pool, network_backend=backend
        )
    return httpx2.AsyncClient(transport=transport, limits=limits)


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    proc = start_server(port)
    base = f"http://127.0.0.1:{port}"
    clients = {
        "anyio (httpcore2 default)": client_with(None, args.c),
        "native asyncio": client_with(AsyncioBackend(), args.c),
    }
    best: dict[str, list[Figures]] = {name: [] for name in clients}
    try:
        for _ in range(args.rounds):
            for name, client in clients.items():

                async def json_once(client: httpx2.AsyncClient = client) -> None:
                    r = await client.post(base + "/json", content=REQUEST_BODY, headers=HEADERS)
                    assert r.status_code == 200 and len(r.content) > 900

                async def sse_once(client: httpx2.AsyncClient = client) -> int:
                    decoder, n = SSEDecoder(), 0
                    async with client.stream(
                        "POST", base + "/sse", content=REQUEST_BODY, headers=HEADERS
                    ) as r:
                        async for chunk in r.aiter_bytes():
                            n += len(decoder.feed(chunk))
                    n += len(decoder.flush())
                    assert n == N_EVENTS
                    return n

                js = await measure(json_once, args.n, args.n * 2, args.c)
                sse = await measure(sse_once, args.streams, args.streams * 2, max(2, args.c // 4))
                best[name] += [js, sse]
        for client in clients.values():
            await client.aclose()
    finally:
        proc.terminate()
        proc.wait(10)

    print(f"machine: {machine()}")
    print(f"versions: httpx2 {httpx2.__version__}, httpcore2 {httpcore2.__version__}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(
        f"json: {args.n} sequential + {args.n * 2} over {args.c} workers; sse ({N_EVENTS} events): "
        f"{args.streams} sequential + {args.streams * 2} over {max(2, args.c // 4)} workers; "
        f"best of {args.rounds} alternating rounds (each itself best of 3)"
    )
    print()
    print(
        "| network backend | json p50 µs | json CPU µs/req | json CPU µs/req (conc.) "
        "| sse CPU µs/event | sse CPU µs/event (conc.) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, figures in best.items():
        js, sse = figures[0::2], figures[1::2]
        print(
            f"| {name} | {min(f.seq_median_us for f in js):.0f} | {min(f.seq_cpu_us for f in js):.0f} "
            f"| {min(f.conc_cpu_us for f in js):.0f} | {min(f.seq_cpu_us for f in sse) / N_EVENTS:.1f} "
            f"| {min(f.conc_cpu_us for f in sse) / N_EVENTS:.1f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="sequential JSON requests per measurement")
    parser.add_argument("--c", type=int, default=32, help="concurrent workers for JSON (SSE uses c/4)")
    parser.add_argument("--streams", type=int, default=100, help="sequential SSE streams per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per backend")
    asyncio.run(main(parser.parse_args()))
