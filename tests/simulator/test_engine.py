from __future__ import annotations

import json
from dataclasses import replace

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.errors import InvalidRequestError
from llmrelay.simulator.engine import (
    MESSAGE_OVERHEAD,
    REPLY_OVERHEAD,
    GenerationInput,
    ToolSpec,
    conversation_of,
    count_tokens,
    expected_text,
    generate,
    prompt_tokens,
    split_tokens,
)

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 2},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
)
CLOCK = ToolSpec(
    "get_time",
    None,
    {"type": "object", "properties": {"date": {"type": "string", "format": "date"}}, "required": ["date"]},
)


def text_input(conversation: str, **kw: object) -> GenerationInput:
    return GenerationInput(model="sim-1", conversation=conversation, last_is_tool_result=False, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- tokens


@given(st.text(max_size=300))
def test_split_tokens_round_trips_and_counts(text: str) -> None:
    pieces = split_tokens(text)
    assert "".join(pieces) == text
    assert count_tokens(text) == len(pieces)
    assert all(pieces)


def test_count_tokens_is_a_plausible_approximation() -> None:
    assert count_tokens("") == 0
    assert count_tokens("Hello, world!") == 4  # "Hello" "," " world" "!"
    assert count_tokens("internationalization") == 2  # long words split
    assert count_tokens("12345") == 2


def test_conversation_of_joins_with_newlines() -> None:
    assert conversation_of(["a", "b c"]) == "a\nb c"


# --------------------------------------------------------------------------- text


@settings(max_examples=60)
@given(st.text(max_size=200), st.integers(min_value=0, max_value=2**32))
def test_text_is_deterministic_well_formed_and_sized(conversation: str, seed: int) -> None:
    gen = generate(text_input(conversation), seed=seed)
    assert gen == generate(text_input(conversation), seed=seed)
    assert 20 <= len(gen.pieces) <= 60
    assert gen.finish == "stop"
    assert gen.tool_calls == ()
    assert gen.completion_tokens == len(gen.pieces)
    assert gen.text == "".join(gen.pieces) == expected_text(conversation, seed=seed)
    # One piece is one token by the simulator's own tokenizer.
    assert count_tokens(gen.text) == len(gen.pieces)
    assert gen.text[0].isupper()
    assert gen.text.endswith(".")


def test_reply_depends_on_conversation_and_seed() -> None:
    a = generate(text_input("hello"), seed=0).text
    assert a != generate(text_input("hello!"), seed=0).text
    assert a != generate(text_input("hello"), seed=1).text
    assert a == generate(replace(text_input("hello"), model="other"), seed=0).text


def test_request_seed_overrides_simulator_seed() -> None:
    gen = generate(text_input("hello", seed=42), seed=0)
    assert gen.text == expected_text("hello", seed=42)
    assert gen.text != expected_text("hello", seed=0)


def test_prompt_tokens_count_text_overhead_tools_and_extras() -> None:
    conversation = "What is the weather in Paris today?"
    base = count_tokens(conversation) + 2 * MESSAGE_OVERHEAD + REPLY_OVERHEAD
    gen = generate(text_input(conversation, message_count=2), seed=0)
    assert gen.prompt_tokens == base
    with_image = text_input(conversation, message_count=2, extra_prompt_tokens=85)
    assert prompt_tokens(with_image) == base + 85
    with_tools = text_input(conversation, message_count=2, tools=(WEATHER,), tool_choice="none")
    assert prompt_tokens(with_tools) > base
    assert generate(text_input(conversation), seed=0, prompt=999).prompt_tokens == 999


# --------------------------------------------------------------------------- truncation and stops


@given(st.integers(min_value=1, max_value=19))
def test_max_tokens_truncates_to_a_prefix(limit: int) -> None:
    full = generate(text_input("truncate me"), seed=3)
    cut = generate(text_input("truncate me", max_tokens=limit), seed=3)
    assert cut.finish == "length"
    assert cut.pieces == full.pieces[:limit]
    assert cut.completion_tokens == limit
    assert cut.text == expected_text("truncate me", seed=3, max_tokens=limit)


def test_max_tokens_at_or_above_length_stops_normally() -> None:
    full = generate(text_input("x"), seed=0)
    same = generate(text_input("x", max_tokens=len(full.pieces)), seed=0)
    assert same.finish == "stop"
    assert same.pieces == full.pieces


def test_stop_sequence_cuts_before_the_match() -> None:
    full = generate(text_input("stop here"), seed=0).text
    sequence = full[20:26]
    gen = generate(text_input("stop here", stop=("zzz-not-there", sequence)), seed=0)
    assert gen.finish == "stop_sequence"
    assert gen.stop_sequence == sequence
    assert gen.text == full[: full.index(sequence)]
    assert sequence not in gen.text
    assert gen.completion_tokens >= len(gen.pieces)


def test_earliest_stop_sequence_wins() -> None:
    full = generate(text_input("stops"), seed=0).text
    early, late = full[5:8], full[30:34]
    gen = generate(text_input("stops", stop=(late, early)), seed=0)
    assert gen.stop_sequence == early
    assert gen.text == full[: full.index(early)]


def test_stop_sequence_beyond_max_tokens_is_a_length_finish() -> None:
    full = generate(text_input("late stop"), seed=0)
    sequence = full.text[-6:]
    gen = generate(text_input("late stop", stop=(sequence,), max_tokens=5), seed=0)
    assert gen.finish == "length"
    assert gen.pieces == full.pieces[:5]


def test_absent_stop_sequence_changes_nothing() -> None:
    full = generate(text_input("nothing"), seed=0)
    assert generate(text_input("nothing", stop=("@@@", "")), seed=0) == full


# --------------------------------------------------------------------------- tools


def _validate_call_arguments(gen_tools: tuple[ToolSpec, ...], name: str, arguments: str) -> None:
    spec = next(t for t in gen_tools if t.name == name)
    jsonschema.validate(json.loads(arguments), spec.parameters)


@settings(max_examples=40)
@given(st.text(max_size=50))
def test_offered_tools_are_called_with_valid_arguments(conversation: str) -> None:
    tools = (WEATHER, CLOCK)
    gen = generate(text_input(conversation, tools=tools), seed=0)
    assert gen.finish == "tool_calls"
    assert gen.pieces == ()
    assert 1 <= len(gen.tool_calls) <= 2
    assert len({c.name for c in gen.tool_calls}) == len(gen.tool_calls)
    assert len({c.id for c in gen.tool_calls}) == len(gen.tool_calls)
    for call in gen.tool_calls:
        assert call.id.startswith("call_")
        # Compact JSON, as OpenAI streams it.
        assert call.arguments == json.dumps(json.loads(call.arguments), separators=(",", ":"))
        _validate_call_arguments(tools, call.name, call.arguments)
    assert gen.completion_tokens == sum(
        count_tokens(c.name) + count_tokens(c.arguments) for c in gen.tool_calls
    )


def test_parallel_calls_happen_for_some_conversations_and_can_be_disabled() -> None:
    counts = {
        len(generate(text_input(f"c{i}", tools=(WEATHER, CLOCK)), seed=0).tool_calls) for i in range(40)
    }
    assert counts == {1, 2}
    single = {
        len(
            generate(
                text_input(f"c{i}", tools=(WEATHER, CLOCK), parallel_tool_calls=False), seed=0
            ).tool_calls
        )
        for i in range(40)
    }
    assert single == {1}


def test_forced_tool_is_the_one_called() -> None:
    for i in range(10):
        gen = generate(
            text_input(f"force {i}", tools=(WEATHER, CLOCK), tool_choice=("tool", "get_time")), seed=0
        )
        assert [c.name for c in gen.tool_calls] == ["get_time"]


def test_required_calls_a_tool_and_none_answers_in_text() -> None:
    assert generate(text_input("r", tools=(WEATHER,), tool_choice="required"), seed=0).finish == "tool_calls"
    gen = generate(text_input("r", tools=(WEATHER,), tool_choice="none"), seed=0)
    assert gen.finish == "stop"
    assert gen.text == expected_text("r", seed=0)


def test_after_a_tool_result_the_model_answers_in_text() -> None:
    inp = GenerationInput(model="m", conversation="weather? 21C", last_is_tool_result=True, tools=(WEATHER,))
    gen = generate(inp, seed=0)
    assert gen.tool_calls == ()
    assert gen.text == expected_text("weather? 21C", seed=0)


def test_forcing_an_unknown_tool_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="nope"):
        generate(text_input("x", tools=(WEATHER,), tool_choice=("tool", "nope")), seed=0)


def test_tool_without_parameters_gets_an_object() -> None:
    bare = ToolSpec("ping", None, {})
    gen = generate(text_input("x", tools=(bare,)), seed=0)
    assert isinstance(json.loads(gen.tool_calls[0].arguments), dict | str)


# --------------------------------------------------------------------------- JSON modes


@settings(max_examples=30)
@given(st.text(max_size=80))
def test_json_object_mode_returns_a_json_object(conversation: str) -> None:
    gen = generate(text_input(conversation, json_mode="object"), seed=0)
    assert gen.finish == "stop"
    assert isinstance(json.loads(gen.text), dict)
    assert count_tokens(gen.text) == len(gen.pieces)


def test_json_schema_mode_returns_a_valid_instance() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "emails": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1},
        },
        "required": ["name", "age", "emails"],
        "additionalProperties": False,
    }
    for i in range(20):
        gen = generate(text_input(f"person {i}", json_mode="schema", schema=schema), seed=0)
        jsonschema.validate(json.loads(gen.text), schema)


def test_json_schema_mode_without_schema_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        generate(text_input("x", json_mode="schema"), seed=0)


def test_json_output_is_truncated_by_max_tokens() -> None:
    gen = generate(text_input("x", json_mode="object", max_tokens=3), seed=0)
    assert gen.finish == "length"
    assert len(gen.pieces) == 3
    with pytest.raises(json.JSONDecodeError):
        json.loads(gen.text)
