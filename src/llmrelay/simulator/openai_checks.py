"""OpenAI's error answer and the field checks shared by its request parsers.

Every check raises ``OpenAIError`` with the message, ``type``, ``param`` and ``code`` the
real service uses for that mistake, so a client's error mapping can be tested against
the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

PARSE_ERROR = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
    "If you have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)
NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username. You can obtain an API key "
    "from https://platform.openai.com/account/api-keys."
)
# The real message echoes a masked prefix of the key; the simulator never repeats a key.
BAD_KEY = (
    "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
)


class OpenAIError(Exception):
    """An error answer in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",  # noqa: A002 - the wire field's name
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def wrong_type(param: str, expected: str, value: Any) -> OpenAIError:
    return OpenAIError(
        f"Invalid type for '{param}': expected {expected}, but got {kind_of(value)} instead.",
        param=param,
        code="invalid_type",
    )


def missing(param: str) -> OpenAIError:
    return OpenAIError(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def invalid_value(param: str, value: Any, allowed: tuple[str, ...]) -> OpenAIError:
    quoted = [f"'{a}'" for a in allowed]
    listed = ", ".join(quoted[:-1]) + (", and " if len(quoted) > 2 else " and ") + quoted[-1]
    return OpenAIError(
        f"Invalid value: '{value}'. Supported values are: {listed}.", param=param, code="invalid_value"
    )


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise OpenAIError(PARSE_ERROR) from None
    if not isinstance(body, dict):
        raise OpenAIError(PARSE_ERROR)
    return body


def out_of_range(name: str, kind: str, value: Any, bound: float, above: bool) -> OpenAIError:
    side, op = ("above maximum", "<=") if above else ("below minimum", ">=")
    return OpenAIError(
        f"Invalid '{name}': {kind} {side} value. Expected a value {op} {bound:g}, but got {value} instead.",
        param=name,
        code=f"{kind}_{'above_max' if above else 'below_min'}_value",
    )


def number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(name, "a decimal", value)
    if value > high or value < low:
        raise out_of_range(name, "decimal", value, high if value > high else low, value > high)
    return float(value)


def integer(
    body: Mapping[str, Any], name: str, low: int | None = None, high: int | None = None
) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(name, "an integer", value)
    if low is not None and value < low:
        raise out_of_range(name, "integer", value, low, above=False)
    if high is not None and value > high:
        raise out_of_range(name, "integer", value, high, above=True)
    return value


def boolean(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise wrong_type(name, "a boolean", value)
    return value


def typed(body: Mapping[str, Any], name: str, kind: type, expected: str) -> Any:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise wrong_type(name, expected, value)
    return value


def model_of(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise OpenAIError("you must provide a model parameter")
    if not isinstance(model, str):
        raise wrong_type("model", "a string", model)
    return model


def reject_unknown(body: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in body:
        if key not in known:
            raise OpenAIError(f"Unrecognized request argument supplied: {key}")


# --------------------------------------------------------------------------- answers


def status_error(status: int, model: str, message: str | None = None) -> OpenAIError:
    """The error OpenAI answers with ``status`` (used for scripted ``status`` faults)."""
    if status == 429:
        text = (
            f"Rate limit reached for {model} in organization org-simulator on requests per min (RPM): "
            "Limit 10000, Used 10000, Requested 1. Please try again in 1s. "
            "Visit https://platform.openai.com/account/rate-limits to learn more."
        )
        return OpenAIError(message or text, status=429, type="requests", code="rate_limit_exceeded")
    if status == 401:
        return OpenAIError(message or BAD_KEY, status=401, code="invalid_api_key")
    if status == 404:
        return model_not_found(model, message)
    if status >= 500:
        text = {
            500: "The server had an error while processing your request. Sorry about that!",
            502: "Bad gateway.",
            503: "The server is overloaded or not ready yet.",
        }.get(status, "The engine is currently overloaded, please try again later.")
        return OpenAIError(message or text, status=status, type="server_error")
    return OpenAIError(message or f"Request failed with status {status}.", status=status)


def model_not_found(model: str, message: str | None = None) -> OpenAIError:
    text = message or f"The model `{model}` does not exist or you do not have access to it."
    return OpenAIError(text, status=404, code="model_not_found")
