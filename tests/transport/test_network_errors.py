"""aiohttp's exceptions as llmrelay's errors: the wording, the cause kept, nothing of aiohttp's text."""

from __future__ import annotations

import socket
import ssl

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey, RequestInfo
from aiohttp.http_exceptions import ContentEncodingError, ContentLengthError
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from llmrelay import errors
from llmrelay.transport.network_errors import WriteStalled, map_error
from llmrelay.transport.timeouts import Timeouts

WHERE = "https://generativelanguage.googleapis.com"
URL_WITH_KEY = WHERE + "/v1beta/models/gemini:generateContent?key=AIzaSyTOPSECRET"
T = Timeouts(connect=1.5, read=7.0, write=3.0, pool=2.0, total=9.0)


def key(host: str = "generativelanguage.googleapis.com") -> ConnectionKey:
    return ConnectionKey(host, 443, True, True, None, None, None, host)


def request_info() -> RequestInfo:
    url = URL(URL_WITH_KEY)
    return RequestInfo(url, "POST", CIMultiDictProxy(CIMultiDict()), url)


def refused() -> OSError:
    # As asyncio words it, with the address, and with a context of its own.
    exc = ConnectionRefusedError(111, "Connect call failed ('142.250.1.1', 443)")
    exc.__context__ = aiohttp.ClientOSError(1, "Can not write request body for " + URL_WITH_KEY)
    return exc


@pytest.mark.parametrize(
    ("exc", "kind", "message"),
    [
        (
            WriteStalled(),
            errors.TimeoutError,
            f"Write timeout: could not send the request to {WHERE} within 3.0s",
        ),
        (
            aiohttp.ConnectionTimeoutError("Connection timeout to host " + URL_WITH_KEY),
            errors.TimeoutError,
            f"Connect timeout: no connection to {WHERE} within 1.5s (Timeouts.connect)",
        ),
        (
            aiohttp.SocketTimeoutError("Timeout on reading data from socket"),
            errors.TimeoutError,
            f"Read timeout: {WHERE} sent nothing for 7.0s (Timeouts.read)",
        ),
        (
            aiohttp.ClientConnectorError(key(), refused()),
            errors.ConnectionError,
            f"Cannot connect to {WHERE}: connection refused",
        ),
        (
            aiohttp.ClientConnectorDNSError(key(), socket.gaierror(-2, "Name or service not known")),
            errors.ConnectionError,
            f"Cannot connect to {WHERE}: name or service not known",
        ),
        (
            aiohttp.ClientConnectorCertificateError(key(), ssl.SSLCertVerificationError(1, "verify failed")),
            errors.ConnectionError,
            f"Cannot connect to {WHERE}: the server's TLS certificate could not be verified",
        ),
        (
            aiohttp.ClientHttpProxyError(
                request_info(), (), status=407, message="Proxy Authentication Required"
            ),
            errors.ConnectionError,
            f"Cannot connect to {WHERE}: the proxy from the environment answered 407",
        ),
        (
            aiohttp.ServerDisconnectedError(),
            errors.ConnectionError,
            f"Connection to {WHERE} broke off: the server closed the connection",
        ),
        (
            aiohttp.ClientOSError(104, "Connection reset by peer"),
            errors.ConnectionError,
            f"Connection to {WHERE} broke off: connection reset by peer",
        ),
        (
            aiohttp.ClientResponseError(request_info(), (), status=400, message="Invalid constant string"),
            errors.ConnectionError,
            f"Connection to {WHERE} broke off: the answer is not valid HTTP",
        ),
    ],
)
def test_each_failure_is_worded_by_origin_and_limit(
    exc: BaseException, kind: type[errors.LLMRelayError], message: str
) -> None:
    error = map_error(exc, WHERE, T)
    assert type(error) is kind
    assert str(error).startswith(message)
    assert "TOPSECRET" not in repr(error) and "generateContent" not in str(error)


def test_incomplete_body_and_bad_encoding_are_told_apart() -> None:
    cut = aiohttp.ClientPayloadError("Response payload is not completed")
    cut.__cause__ = ContentLengthError("Not enough data to satisfy content length header.")
    bad = aiohttp.ClientPayloadError("Can not decode content-encoding: gzip")
    bad.__cause__ = ContentEncodingError("Can not decode content-encoding: gzip")
    assert type(map_error(cut, WHERE, T)) is errors.ConnectionError
    undecodable = map_error(bad, WHERE, T)
    assert type(undecodable) is errors.MalformedResponseError
    assert str(undecodable) == f"The body from {WHERE} could not be decoded: its Content-Encoding is invalid"


def test_the_cause_is_a_fresh_copy_of_the_socket_error_with_no_chain() -> None:
    root = refused()
    error = map_error(aiohttp.ClientConnectorError(key(), root), WHERE, T)
    cause = error.__cause__
    assert isinstance(cause, ConnectionRefusedError)
    assert cause is not root
    assert (cause.errno, cause.strerror) == (111, root.strerror)
    assert cause.__context__ is None and cause.__cause__ is None  # not the aiohttp exception behind root


def test_no_socket_error_no_cause() -> None:
    error = map_error(aiohttp.ConnectionTimeoutError("Connection timeout to host " + URL_WITH_KEY), WHERE, T)
    assert error.__cause__ is None
    assert error.retryable


def test_retryable_where_a_new_attempt_can_help() -> None:
    assert map_error(aiohttp.ServerDisconnectedError(), WHERE, T).retryable
    assert map_error(aiohttp.SocketTimeoutError(), WHERE, T).retryable
