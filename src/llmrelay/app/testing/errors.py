"""The testing kit's errors: a bad cassette or setting, and a request a cassette cannot answer."""

from __future__ import annotations

from llmrelay.errors import ConfigError, LLMRelayError


class CassetteError(ConfigError):
    """A cassette file that cannot be read, or a recorder setting that is not valid."""


class UnmatchedRequestError(LLMRelayError):
    """A request that the cassette has no recorded answer for, in a mode that may not record it.

    ``request`` describes it (method, URL without secrets, model, body digest); ``cassette``
    is the file's path. Not retryable: trying again cannot make the recording appear.
    """

    retryable = False

    def __init__(self, message: str, *, request: str, cassette: str) -> None:
        super().__init__(message)
        self.request = request
        self.cassette = cassette
