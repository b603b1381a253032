"""TokenRules and the shared count-answer parser."""

from __future__ import annotations

import pytest

from llmrelay import errors
from llmrelay.providers import ADAPTERS, load_adapter, token_rules
from llmrelay.providers.counting import TokenRules, ToolFraming, parse_count_field


def _flat(width: int, height: int, detail: str | None) -> int:
    return 10


def test_framing_falls_back_to_the_default_then_to_none() -> None:
    own = ToolFraming(func_init=1)
    rules = TokenRules(per_request=0, per_message=0, image_tokens=_flat, tool_framing={"e1": own})
    assert rules.framing_for("e1") is own
    assert rules.framing_for("e2") is None
    fallback = ToolFraming(func_init=2)
    with_default = TokenRules(0, 0, _flat, tool_framing={"e1": own}, default_tool_framing=fallback)
    assert with_default.framing_for("e2") is fallback


def test_owns_model_ignores_case_and_vendor_prefixes() -> None:
    rules = TokenRules(0, 0, _flat, model_prefixes=("acme",))
    assert rules.owns_model("ACME-large") and rules.owns_model("vendor/acme-1")
    assert not rules.owns_model("acm") and not rules.owns_model("acme/other")
    assert not TokenRules(0, 0, _flat).owns_model("anything")  # no prefixes claims nothing


def test_every_adapter_states_its_rules() -> None:
    for protocol in ADAPTERS:
        rules = token_rules(protocol)
        assert rules is load_adapter(protocol).token_rules
        assert rules.per_request >= 0 and rules.per_message >= 0
        assert rules.image_tokens(1024, 1024, None) > 0
    with pytest.raises(errors.UnknownProviderError):
        token_rules("cohere")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "no integer 'n'"),
        (b'{"n": "3"}', "no integer 'n'"),
        (b'{"n": true}', "no integer 'n'"),
        (b'{"n": -2}', "no integer 'n'"),
        (b'{"m": 3}', "no integer 'n'"),
    ],
)
def test_parse_count_field_rejects_anything_but_a_count(body: bytes, message: str) -> None:
    with pytest.raises(errors.MalformedResponseError, match=message) as info:
        parse_count_field(body, "n", provider="acme", model="m1")
    assert info.value.provider == "acme" and info.value.model == "m1"


def test_parse_count_field_reads_zero_and_more() -> None:
    assert parse_count_field(b'{"n": 0}', "n", provider="p") == 0
    assert parse_count_field(b'{"n": 12345, "other": 1}', "n", provider="p") == 12345
