"""count_text / count_request: tiktoken's reference counts and OpenAI's published figures."""

from __future__ import annotations

import pytest

from llmrelay.catalog import Catalog
from llmrelay.tokens import TokenCount, count_request, count_text, guess_encoding
from llmrelay.types import ChatRequest, ImagePart, Message, ResponseFormat, TextPart, Tool, ToolCall

# The OpenAI cookbook's example ("How to count tokens with tiktoken"), whose prompt_tokens
# the API reported as 129 on gpt-3.5-turbo / gpt-4 and 124 on gpt-4o / gpt-4o-mini.
COOKBOOK = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon "
        "into plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities for "
        "increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]

WEATHER_TOOL = Tool(
    name="get_current_weather",
    description="Get the current weather in a given location",
    parameters={
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {
                "type": "string",
                "description": "The unit of temperature to return",
                "enum": ["celsius", "fahrenheit"],
            },
        },
        "required": ["location"],
    },
)
WEATHER_MESSAGES = [
    Message.system("You are a helpful assistant that can answer to questions about the weather."),
    Message.user("What's the weather like in San Francisco?"),
]

CONVERSATIONS = [
    [{"role": "user", "content": "hi"}],
    [{"role": "system", "content": ""}, {"role": "user", "content": "Ünïcödé 🎉 你好"}],
    [
        {"role": "system", "content": "Be terse.\n\nAlways."},
        {"role": "user", "content": "def f():\n    return 1\n", "name": "coder"},
        {"role": "assistant", "content": "It returns 1."},
        {"role": "user", "content": "<|endoftext|> is text " * 50},
    ],
]


def _request(dicts):
    return ChatRequest(
        model="x",
        messages=[Message(role=d["role"], content=d["content"], name=d.get("name")) for d in dicts],
    )


def _reference_count(dicts, enc):
    """The cookbook's formula, over tiktoken's reference encoding."""
    total = 0
    for message in dicts:
        total += 3
        for key, value in message.items():
            total += len(enc.encode(value, disallowed_special=()))
            if key == "name":
                total += 1
    return total + 3


@pytest.fixture(scope="module")
def catalog():
    return Catalog.load()


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-3.5-turbo", 129),
        ("openai/gpt-4-0613", 129),
        ("openai/gpt-4", 129),
        ("openai/gpt-4o", 124),
        ("openai/gpt-4o-mini", 124),
    ],
)
def test_cookbook_prompt_tokens(model, expected, catalog):
    got = count_request(_request(COOKBOOK), model=model, catalog=catalog)
    assert got.tokens == expected and got.exact
    assert count_request(_request(COOKBOOK), model=model).tokens == expected  # without a catalog too


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-3.5-turbo", 105),
        ("openai/gpt-4", 105),
        ("openai/gpt-4o", 101),
        ("openai/gpt-4o-mini", 101),
    ],
)
def test_cookbook_tool_prompt_tokens(model, expected, catalog):
    req = ChatRequest(model="x", messages=WEATHER_MESSAGES, tools=[WEATHER_TOOL])
    got = count_request(req, model=model, catalog=catalog)
    assert got.tokens == expected
    assert not got.exact  # tool framing is a published approximation


@pytest.mark.parametrize("dicts", CONVERSATIONS)
@pytest.mark.parametrize(
    ("model", "encoding"), [("openai/gpt-4o", "o200k_base"), ("openai/gpt-4", "cl100k_base")]
)
def test_conversations_equal_the_reference(dicts, model, encoding, reference, catalog):
    got = count_request(_request(dicts), model=model, catalog=catalog)
    assert got == TokenCount(_reference_count(dicts, reference[encoding]), True, f"tiktoken:{encoding}")


def test_count_text_equals_reference(reference):
    for text in ("", "hello world", "🎉" * 10, "x = 1\n" * 100):
        assert count_text(text) == len(reference["o200k_base"].encode_ordinary(text))
        assert count_text(text, "cl100k_base") == len(reference["cl100k_base"].encode_ordinary(text))


def test_text_parts_count_like_a_string(catalog):
    as_parts = ChatRequest(model="x", messages=[Message.user([TextPart("hello "), TextPart("world")])])
    as_text = ChatRequest(model="x", messages=[Message.user("hello world")])
    a = count_request(as_parts, model="openai/gpt-4o", catalog=catalog)
    b = count_request(as_text, model="openai/gpt-4o", catalog=catalog)
    assert a.exact and abs(a.tokens - b.tokens) <= 1


def test_images_tool_calls_and_schemas_make_a_count_inexact(catalog):
    image = ChatRequest(
        model="x",
        messages=[
            Message.user([TextPart("what is this?"), ImagePart(url="https://e.x/a.png", detail="low")])
        ],
    )
    plain = ChatRequest(model="x", messages=[Message.user([TextPart("what is this?")])])
    with_image = count_request(image, model="openai/gpt-4o", catalog=catalog)
    without = count_request(plain, model="openai/gpt-4o", catalog=catalog)
    assert not with_image.exact and with_image.tokens == without.tokens + 85  # low detail: flat 85

    calls = ChatRequest(
        model="x",
        messages=[
            Message.user("weather?"),
            Message.assistant(tool_calls=[ToolCall("c1", "get_current_weather", '{"location":"Paris"}')]),
            Message.tool("c1", "sunny"),
        ],
    )
    assert not count_request(calls, model="openai/gpt-4o", catalog=catalog).exact
    schema = ChatRequest(
        model="x",
        messages=[Message.user("film?")],
        response_format=ResponseFormat.json_schema(
            {"type": "object", "properties": {"t": {"type": "string"}}}
        ),
    )
    assert not count_request(schema, model="openai/gpt-4o", catalog=catalog).exact


def test_models_without_a_public_tokenizer_are_estimated(catalog):
    req = _request(COOKBOOK)
    for model in ("anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash", "groq/llama-3.1-8b-instant"):
        got = count_request(req, model=model, catalog=catalog)
        assert got.method == "estimate" and not got.exact
        # the character rule lands within a third of the real (o200k) figure on English
        assert 124 * 0.8 <= got.tokens <= 124 * 1.4


def test_bare_model_ids_and_aliases(catalog):
    req = _request(COOKBOOK)
    assert count_request(req, model="gpt-4o-2024-08-06", catalog=catalog).tokens == 124
    assert count_request(req, model="claude-haiku-4-5", catalog=catalog).method == "estimate"
    assert count_request(ChatRequest(model="openai/gpt-4o", messages=req.messages)).tokens == 124


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("openai/gpt-5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("claude-3-haiku", None),
        ("llama-3.1-8b-instant", None),
    ],
)
def test_guess_encoding(model, encoding):
    assert guess_encoding(model) == encoding
