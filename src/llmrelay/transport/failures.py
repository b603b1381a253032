"""The errors a failure to get an answer becomes, whichever client carried the exchange.

Each names the origin (``scheme://host[:port]``) and, for a timeout, the limit that
elapsed. None quotes a path or query (Gemini puts the key in the query), a header, or
the underlying library's own message (aiohttp's quote the whole URL).
"""

from __future__ import annotations

import os
import socket

from llmrelay import errors
from llmrelay.transport.timeouts import Timeouts


def connect_timeout(where: str, t: Timeouts) -> errors.TimeoutError:
    return errors.TimeoutError(
        f"Connect timeout: no connection to {where} within {t.connect}s (Timeouts.connect)"
    )


def read_timeout(where: str, t: Timeouts) -> errors.TimeoutError:
    return errors.TimeoutError(f"Read timeout: {where} sent nothing for {t.read}s (Timeouts.read)")


def write_timeout(where: str, t: Timeouts) -> errors.TimeoutError:
    return errors.TimeoutError(
        f"Write timeout: could not send the request to {where} within {t.write}s (Timeouts.write)"
    )


def pool_timeout(where: str, t: Timeouts, max_connections: int) -> errors.TimeoutError:
    return errors.TimeoutError(
        f"Pool timeout: no free connection for {where} within {t.pool}s; all {max_connections} "
        "pooled connections are busy (raise max_connections or Timeouts.pool)"
    )


def total_timeout(where: str, t: Timeouts) -> errors.TimeoutError:
    return errors.TimeoutError(
        f"Total timeout: the exchange with {where} did not finish within {t.total}s (Timeouts.total)"
    )


def cannot_connect(where: str, why: str) -> errors.ConnectionError:
    return errors.ConnectionError(f"Cannot connect to {where}: {why}")


def broke_off(where: str, why: str) -> errors.ConnectionError:
    return errors.ConnectionError(f"Connection to {where} broke off: {why}")


def undecodable(where: str, why: str) -> errors.MalformedResponseError:
    return errors.MalformedResponseError(f"The body from {where} could not be decoded: {why}")


def bad_scheme(where: str) -> errors.ConfigError:
    return errors.ConfigError(f"Cannot send to {where}: the URL must start with http:// or https://")


def invalid_url(why: str) -> errors.ConfigError:
    return errors.ConfigError(f"Invalid URL: {why}; check the deployment's base URL")


def non_ascii_header(where: str) -> errors.ConfigError:
    return errors.ConfigError(f"A header for {where} is not ASCII; check the API key and any extra headers")


def invalid_header(where: str) -> errors.ConfigError:
    return errors.ConfigError(
        f"The request to {where} could not be sent: a header name or value is invalid "
        "(a newline or control character?); check the API key and any extra headers"
    )


def root_os_error(exc: BaseException) -> str | None:
    """The socket error under a client's wrappers ("All connection attempts failed" hides it)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and (cur.errno or cur.strerror):
            # asyncio words ECONNREFUSED as "Connect call failed (...)": prefer the errno's own text.
            code = cur.errno
            plain = isinstance(cur, socket.gaierror) or code is None or code <= 0
            text = str(cur.strerror) if plain or code is None else os.strerror(code)
            return text[:1].lower() + text[1:]
        cur = cur.__cause__ or cur.__context__
    return None
