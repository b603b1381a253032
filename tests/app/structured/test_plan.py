"""Choosing how to ask (from the catalog) and checking a structured call's arguments."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import llmrelay
from llmrelay import Message, Settings
from llmrelay.app.structured.plan import make_plan, supports_native
from llmrelay.errors import ConfigError
from llmrelay.types import ForcedTool


class City(BaseModel):
    name: str
    population: int


class Bag(BaseModel):
    counts: dict[str, int]


def plan(client: llmrelay.Client, model: str | None = None, mode: Any = "auto", **kw: Any) -> Any:
    strict = kw.pop("strict", None)
    return make_plan(client, kw.pop("tp", City), model, mode, strict, kw, 2)


@pytest.mark.parametrize(
    ("model", "native"),
    [
        ("local", True),  # sim-1: json_schema in the catalog
        ("simulator-anthropic/claude-haiku-4-5", True),
        ("simulator-gemini/gemini-2.5-flash", True),
        ("simulator/gpt-4-turbo", False),  # catalogued without json_schema
        ("simulator/some-unlisted-model", False),  # unknown: assume not
    ],
)
def test_native_mode_follows_the_catalog(client: llmrelay.Client, model: str, native: bool) -> None:
    assert supports_native(client, model) is native
    chosen = plan(client, model)
    assert chosen.mode == ("native" if native else "json")
    fmt = chosen.params["response_format"]
    if native:
        assert fmt.type == "json_schema" and fmt.name == "City" and fmt.strict is True
        assert fmt.schema["additionalProperties"] is False
    else:
        assert fmt.type == "json_object"


async def test_every_deployment_and_fallback_must_have_native_outputs() -> None:
    settings = Settings.load(
        ledger={"enabled": False},
        models={
            "mixed": {
                "deployments": [
                    {"provider": "simulator", "model": "sim-1"},
                    {"provider": "simulator", "model": "gpt-4-turbo"},
                ]
            },
            "falls": {"deployments": [{"provider": "simulator", "model": "sim-1"}], "fallbacks": ["old"]},
            "old": {"deployments": [{"provider": "simulator", "model": "gpt-4-turbo"}]},
            "good": {"deployments": [{"provider": "simulator", "model": "gpt-4o"}], "fallbacks": ["local"]},
        },
    )
    async with llmrelay.Client(settings, environ={}) as c:
        assert not supports_native(c, "mixed")
        assert not supports_native(c, "falls")
        assert supports_native(c, "good")


async def test_a_catalog_override_can_grant_the_capability() -> None:
    settings = Settings.load(
        ledger={"enabled": False},
        catalog={"models": {"simulator/gpt-4-turbo": {"capabilities": ["tools", "json_schema"]}}},
    )
    async with llmrelay.Client(settings, environ={}) as c:
        assert supports_native(c, "simulator/gpt-4-turbo")


def test_an_open_object_is_sent_without_strict(client: llmrelay.Client) -> None:
    chosen = plan(client, "local", tp=Bag)
    fmt = chosen.params["response_format"]
    assert fmt.strict is False and fmt.schema["properties"]["counts"]["additionalProperties"] == {
        "type": "integer"
    }
    with pytest.raises(ConfigError, match="strict=True"):
        plan(client, "local", tp=Bag, strict=True)
    never = plan(client, "local", strict=False).params["response_format"]
    assert never.strict is False and "additionalProperties" not in never.schema


def test_tool_mode_forces_one_tool(client: llmrelay.Client) -> None:
    chosen = plan(client, "local", mode="tool")
    (tool,) = chosen.params["tools"]
    assert chosen.tool_name == tool.name == "City" and tool.strict is True
    assert chosen.params["tool_choice"] == ForcedTool("City")
    assert tool.parameters["required"] == ["name", "population"]


def test_json_and_prompt_modes_put_the_schema_in_a_system_message(client: llmrelay.Client) -> None:
    for mode in ("json", "prompt"):
        chosen = plan(client, "local", mode=mode)
        convo = chosen.first_messages([Message.system("You are terse."), Message.user("Oslo?")])
        assert [m.role for m in convo] == ["system", "system", "user"]
        assert convo[0].content == "You are terse."  # the caller's own system prompt stays first
        assert '"population"' in convo[1].text() and "JSON" in convo[1].text()
    assert plan(client, "local", mode="prompt").params == {}
    native = plan(client, "local").first_messages("Oslo?")
    assert [m.role for m in native] == ["user"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "xml"}, "unknown structured-output mode 'xml'"),
        ({"response_format": "json_object"}, "response_format cannot be given"),
        ({"tools": []}, "tools cannot be given"),
        ({"tool_choice": "auto"}, "tool_choice cannot be given"),
    ],
)
def test_bad_arguments_are_config_errors(client: llmrelay.Client, kwargs: dict[str, Any], match: str) -> None:
    mode = kwargs.pop("mode", "auto")
    with pytest.raises(ConfigError, match=match):
        plan(client, "local", mode=mode, **kwargs)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_max_retries_must_be_a_count(client: llmrelay.Client, bad: Any) -> None:
    with pytest.raises(ConfigError, match="max_retries"):
        make_plan(client, City, "local", "auto", None, {}, bad)


def test_an_unknown_model_fails_before_any_call(client: llmrelay.Client) -> None:
    with pytest.raises(llmrelay.UnknownModelError):
        plan(client, "no-such-alias")
