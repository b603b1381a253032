"""The adapter contract, held by every registered adapter."""

from __future__ import annotations

import pytest

from llmrelay.providers import ADAPTERS, load_adapter
from llmrelay.providers.base import request_id_from

#: the header each protocol's provider puts its request id in, and one it ignores
OWN_HEADER = {
    "openai": ("x-request-id", "x-amzn-requestid"),
    "anthropic": ("request-id", "x-goog-request-id"),
    "gemini": ("x-goog-request-id", "apim-request-id"),
    "responses": ("x-request-id", "x-amzn-requestid"),
}


def test_every_protocol_is_covered_here() -> None:
    assert set(OWN_HEADER) == set(ADAPTERS)


@pytest.mark.parametrize("protocol", sorted(ADAPTERS))
def test_request_id_reads_the_protocols_own_header(protocol: str) -> None:
    adapter = load_adapter(protocol)
    own, foreign = OWN_HEADER[protocol]
    assert adapter.request_id({own: "req_1", "content-type": "application/json"}) == "req_1"
    assert adapter.request_id({foreign: "req_2"}) is None
    assert adapter.request_id({own: ""}) is None  # an empty header is no id
    assert adapter.request_id({}) is None


def test_openai_compatible_servers_keep_their_vendors_header() -> None:
    adapter = load_adapter("openai")
    assert adapter.request_id({"apim-request-id": "azure-1"}) == "azure-1"  # Azure
    assert adapter.request_id({"request-id": "req_a"}) == "req_a"  # Anthropic's OpenAI endpoint
    # the first listed name wins when several are present
    assert adapter.request_id({"request-id": "b", "x-request-id": "a"}) == "a"


def test_request_id_from_takes_the_first_present_name() -> None:
    assert request_id_from({"b": "2", "a": "1"}, "a", "b") == "1"
    assert request_id_from({"b": "2"}, "a", "b") == "2"
    assert request_id_from({}, "a") is None
