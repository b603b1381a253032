from __future__ import annotations

import pytest

from llmrelay.simulator.openai_checks import (
    BAD_KEY,
    PARSE_ERROR,
    OpenAIError,
    integer,
    invalid_value,
    kind_of,
    model_not_found,
    number,
    parse_json,
    reject_unknown,
    status_error,
)


def test_parse_json_accepts_objects_only() -> None:
    assert parse_json(b'{"a": 1}') == {"a": 1}
    for raw in (b"{nope", b"[1, 2]", b'"text"', b"\xff\xfe"):
        with pytest.raises(OpenAIError) as caught:
            parse_json(raw)
        assert caught.value.message == PARSE_ERROR
        assert caught.value.status == 400
        assert caught.value.body()["error"]["type"] == "invalid_request_error"


def test_kind_names_follow_the_api_wording() -> None:
    assert [kind_of(v) for v in (None, True, 1, 1.5, "s", [], {})] == [
        "null",
        "a boolean",
        "an integer",
        "a decimal",
        "a string",
        "an array",
        "an object",
    ]


def test_range_checks() -> None:
    assert number({"t": 1}, "t", 0, 2) == 1.0
    assert number({}, "t", 0, 2) is None
    with pytest.raises(OpenAIError, match="Expected a value <= 2, but got 3 instead"):
        number({"t": 3}, "t", 0, 2)
    with pytest.raises(OpenAIError, match="expected a decimal, but got a boolean instead"):
        number({"t": True}, "t", 0, 2)
    assert integer({"n": 5}, "n", low=1) == 5
    with pytest.raises(OpenAIError) as caught:
        integer({"n": 200}, "n", low=1, high=128)
    assert caught.value.code == "integer_above_max_value"


def test_invalid_value_lists_the_choices() -> None:
    assert (
        invalid_value("p", "x", ("a", "b")).message
        == "Invalid value: 'x'. Supported values are: 'a' and 'b'."
    )
    three = invalid_value("p", "x", ("a", "b", "c")).message
    assert three.endswith("'a', 'b', and 'c'.")


def test_reject_unknown() -> None:
    reject_unknown({"a": 1}, frozenset({"a"}))
    with pytest.raises(OpenAIError, match="Unrecognized request argument supplied: b"):
        reject_unknown({"a": 1, "b": 2}, frozenset({"a"}))


@pytest.mark.parametrize(
    ("status", "type_", "code"),
    [
        (429, "requests", "rate_limit_exceeded"),
        (401, "invalid_request_error", "invalid_api_key"),
        (404, "invalid_request_error", "model_not_found"),
        (500, "server_error", None),
        (502, "server_error", None),
        (503, "server_error", None),
        (529, "server_error", None),
        (409, "invalid_request_error", None),
    ],
)
def test_status_errors_have_the_real_type_and_code(status: int, type_: str, code: str | None) -> None:
    error = status_error(status, "gpt-4o")
    assert (error.status, error.type, error.code) == (status, type_, code)
    assert error.message
    assert status_error(status, "gpt-4o", "custom").message == "custom"


def test_messages_name_the_model_but_never_a_key() -> None:
    assert "gpt-4o" in status_error(429, "gpt-4o").message
    assert "`m`" in model_not_found("m").message
    assert "sk-" not in BAD_KEY
