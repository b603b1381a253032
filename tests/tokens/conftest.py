"""Fixtures for token tests: no network, and tiktoken's own encodings as the reference.

The reference is built by ``tiktoken.get_encoding`` itself — OpenAI's registry, its
pattern strings and its hash check — with its download cache pre-filled from the
installed rank files, so it never reaches the network either.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmrelay.tokens import encodings

_RANK_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


class NetworkBlocked(AssertionError):
    pass


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise NetworkBlocked(f"network access attempted in an offline test: {args[:2]!r}")


@contextlib.contextmanager
def network_blocked() -> Iterator[None]:
    """Make any network use fail: proxies at a closed port, and no sockets connect or resolve."""
    mp = pytest.MonkeyPatch()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        mp.setenv(var, "http://127.0.0.1:9")
    mp.delenv("NO_PROXY", raising=False)
    mp.delenv("no_proxy", raising=False)
    mp.setattr(socket.socket, "connect", _refuse)
    mp.setattr(socket.socket, "connect_ex", _refuse)
    mp.setattr(socket, "create_connection", _refuse)
    mp.setattr(socket, "getaddrinfo", _refuse)
    try:
        yield
    finally:
        mp.undo()


@pytest.fixture(autouse=True)
def offline() -> Iterator[None]:
    """Every test in this directory runs with the network made impossible."""
    with network_blocked():
        yield


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """tiktoken's own ``cl100k_base`` and ``o200k_base``, built offline from a pre-filled cache."""
    import tiktoken
    import tiktoken.registry

    cache = Path(tmp_path_factory.mktemp("tiktoken-cache"))
    for name, url in _RANK_URLS.items():
        (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(encodings.rank_file_bytes(name))
    mp = pytest.MonkeyPatch()
    mp.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    with network_blocked():
        refs = {}
        for name in _RANK_URLS:
            tiktoken.registry.ENCODINGS.pop(name, None)  # force a build from the cache
            refs[name] = tiktoken.get_encoding(name)
    mp.undo()
    return refs
