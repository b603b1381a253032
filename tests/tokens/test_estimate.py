"""The character-rule estimate used where no tokenizer is public."""

from __future__ import annotations

from llmrelay.providers import token_rules
from llmrelay.tokens import count_text
from llmrelay.tokens.estimate import estimate_request, estimate_text, json_text
from llmrelay.types import ChatRequest, Message, Tool

ENGLISH = (
    "The quick brown fox jumps over the lazy dog. Tokens are pieces of words; a rule of thumb "
    "puts about four characters of English in each one, which this estimate relies on."
)


def test_empty_and_ascii():
    assert estimate_text("") == 0
    assert estimate_text("abcd") == 1 and estimate_text("abcde") == 2


def test_non_ascii_counts_a_token_per_character():
    assert estimate_text("你好世界") == 4


def test_close_to_a_real_tokenizer_on_english():
    real = count_text(ENGLISH)
    assert 0.8 * real <= estimate_text(ENGLISH) <= 1.4 * real


def test_request_adds_framing_tools_and_schemas():
    base = ChatRequest(model="m", messages=[Message.system("be brief"), Message.user(ENGLISH)])
    text_only = estimate_text("be brief") + estimate_text(ENGLISH)
    assert estimate_request(base, "gemini") >= text_only
    tool = Tool("lookup", "Find a thing", {"type": "object", "properties": {"q": {"type": "string"}}})
    with_tools = ChatRequest(model="m", messages=base.messages, tools=(tool,))
    # Anthropic adds its tool-use system prompt on top of the schema
    assert estimate_request(with_tools, "anthropic") > estimate_request(base, "anthropic") + 300
    assert estimate_request(with_tools, "gemini") > estimate_request(base, "gemini")


def test_framing_is_the_protocols_own():
    one = ChatRequest(model="m", messages=[Message.user("abcd")])
    two = ChatRequest(model="m", messages=[Message.user("abcd"), Message.user("abcd")])
    for protocol in ("openai", "anthropic", "gemini"):
        rules = token_rules(protocol)
        # one message of one estimated token: the request's framing, the message's and the text
        assert estimate_request(one, protocol) == rules.per_request + rules.per_message + 1
        assert estimate_request(two, rules) - estimate_request(one, rules) == rules.per_message + 1
    named = ChatRequest(model="m", messages=[Message(role="user", content="abcd", name="abcd")])
    assert (
        estimate_request(named, "openai") - estimate_request(one, "openai")
        == 1 + token_rules("openai").per_name
    )


def test_json_text_accepts_read_only_mappings_and_tuples():
    from types import MappingProxyType

    assert json_text(MappingProxyType({"a": (1, 2)})) == '{"a":[1,2]}'
