"""aiohttp's failures as llmrelay's errors, with nothing of aiohttp's text.

aiohttp's messages quote the whole URL, query included (where Gemini puts the key). So
every failure leaves as an error worded in ``failures``. Its only cause is a fresh copy of
the socket error underneath, if there is one. The caller raises it outside the
``except`` block, so aiohttp's exception is not even its ``__context__``, and a logged
traceback cannot show the key.
"""

from __future__ import annotations

import aiohttp
from aiohttp.http_exceptions import ContentEncodingError

from llmrelay import errors
from llmrelay.transport import failures
from llmrelay.transport.timeouts import Timeouts


class WriteStalled(TimeoutError):
    """The request body could not be sent within ``Timeouts.write``."""


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def map_error(exc: BaseException, where: str, t: Timeouts) -> errors.LLMRelayError:
    """aiohttp's failure as llmrelay's, caused by a copy of the socket error under it (if any).

    Raise the result outside the ``except`` block that caught ``exc``.
    """
    error = _translate(exc, where, t)
    error.__cause__ = _socket_error(exc)
    return error


def _socket_error(exc: BaseException) -> OSError | None:
    """A fresh ``OSError`` with the errno and text of the first one under ``exc``, no chain."""
    seen: set[int] = set()
    cur: BaseException | None = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and not isinstance(cur, aiohttp.ClientError) and cur.errno:
            break
        cur = cur.__cause__ or cur.__context__
    else:
        return None
    if not isinstance(cur, OSError) or not isinstance(cur.strerror, str):
        return None
    # A copy: the original may carry a context that leads back to aiohttp's exceptions.
    try:
        return type(cur)(cur.errno, cur.strerror)
    except TypeError:  # a subclass with a constructor of its own
        return OSError(cur.errno, cur.strerror)


def _translate(exc: BaseException, where: str, t: Timeouts) -> errors.LLMRelayError:
    if isinstance(exc, WriteStalled):
        return failures.write_timeout(where, t)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return failures.connect_timeout(where, t)
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return failures.read_timeout(where, t)
    if isinstance(exc, TimeoutError):
        return errors.TimeoutError(f"Timeout talking to {where}")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return failures.cannot_connect(where, "the server's TLS certificate could not be verified")
    if isinstance(exc, aiohttp.ClientSSLError):
        return failures.cannot_connect(where, "the TLS handshake failed")
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        why = failures.root_os_error(exc.os_error) or "unreachable"
        return failures.cannot_connect(where, f"the proxy from the environment: {why}")
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return failures.cannot_connect(where, f"the proxy from the environment answered {exc.status}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return failures.cannot_connect(where, failures.root_os_error(exc.os_error) or "connection failed")
    if isinstance(exc, aiohttp.ClientPayloadError):
        if _caused_by(exc, ContentEncodingError):
            return failures.undecodable(where, "its Content-Encoding is invalid")
        return failures.broke_off(where, "the body ended before it was complete")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return failures.broke_off(where, "the server closed the connection")
    if isinstance(exc, aiohttp.ClientOSError):
        return failures.broke_off(where, failures.root_os_error(exc) or "connection error")
    if isinstance(exc, aiohttp.ClientResponseError):
        return failures.broke_off(where, "the answer is not valid HTTP")
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return failures.bad_scheme(where)
    if isinstance(exc, aiohttp.InvalidURL):
        return failures.invalid_url("it cannot be parsed")
    return errors.ConnectionError(f"Connection to {where} failed ({type(exc).__name__})")
