"""The host table: every row speaks a known protocol, and protocol differences are options."""

from __future__ import annotations

from llmrelay.hosts import HOSTS, vendor_hosts
from llmrelay.providers import ADAPTERS
from llmrelay.providers.openai_request import MAX_TOKENS_FIELDS


def test_every_host_speaks_a_known_protocol() -> None:
    for host in HOSTS.values():
        assert host.protocol in ADAPTERS, host.name


def test_vendor_hosts_are_one_per_protocol_in_table_order() -> None:
    vendors = vendor_hosts()
    assert [h.name for h in vendors] == ["openai", "anthropic", "gemini"]
    # the Responses protocol is OpenAI's second API, reached by its own rows
    assert sorted(h.protocol for h in vendors) == sorted(set(ADAPTERS) - {"responses"})
    assert {h.name for h in HOSTS.values() if h.protocol == "responses"} == {
        "openai-responses",
        "azure-responses",
        "simulator-responses",
    }


def test_the_max_tokens_field_is_a_host_option() -> None:
    wants_completion = {
        n for n, h in HOSTS.items() if h.options.get("max_tokens_field") == "max_completion_tokens"
    }
    assert wants_completion == {"openai", "azure"}
    for host in HOSTS.values():
        field = host.options.get("max_tokens_field")
        assert field is None or field in MAX_TOKENS_FIELDS, host.name
