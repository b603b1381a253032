"""Bad resilience configuration is refused when settings load, naming the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmrelay.errors import ConfigError
from llmrelay.settings import Settings
from llmrelay.settings.resilience import fallback_problem

SIM = {"provider": "simulator", "model": "sim-1"}


def load(**kw: object) -> Settings:
    return Settings.load(**kw)


def test_defaults() -> None:
    s = load()
    assert s.retry.enabled and s.retry.max_attempts == 4 and s.retry.budget.ratio == 0.5
    assert s.circuit.enabled and s.circuit.failure_rate == 0.5 and s.circuit.min_volume == 20
    assert s.routing.strategy == "weighted_random" and not s.routing.hedge.enabled


def test_fallback_cycle_is_refused_naming_it() -> None:
    models = {
        "a": {"deployments": [SIM], "fallbacks": ["b"]},
        "b": {"deployments": [SIM], "fallbacks": ["c"]},
        "c": {"deployments": [SIM], "context_window_fallback": "a"},
    }
    with pytest.raises(ConfigError, match="fallback cycle a → b → c → a"):
        load(models=models)


def test_self_fallback_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"models\.a: an alias cannot fall back to itself"):
        load(models={"a": {"deployments": [SIM], "fallbacks": ["a"]}})


def test_unknown_fallback_alias_is_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"models\.a: unknown fallback alias 'cheep'.*configured alias \(a, cheap, local\)"
    ):
        load(models={"a": {"deployments": [SIM], "fallbacks": ["cheep"]}, "cheap": {"deployments": [SIM]}})
    with pytest.raises(ConfigError, match="unknown fallback alias 'nope/x'"):
        load(models={"a": {"deployments": [SIM], "content_filter_fallback": "nope/x"}})


def test_fallbacks_to_local_and_host_models_are_fine() -> None:
    s = load(models={"a": {"deployments": [SIM], "fallbacks": ["local", "openai/gpt-4o-mini"]}})
    assert s.models["a"].fallbacks == ["local", "openai/gpt-4o-mini"]


@pytest.mark.parametrize(
    ("yaml_text", "named"),
    [
        (
            "models:\n  a:\n    deployments: [{provider: simulator, model: m, weight: 0}]\n",
            "models.a.deployments.0.weight",
        ),
        (
            "models:\n  a:\n    deployments: [{provider: simulator, model: m, weight: -2}]\n",
            "models.a.deployments.0.weight",
        ),
        ("models:\n  a:\n    deployments: []\n", "models.a.deployments"),
        (
            "models:\n  a:\n    deployments:\n      - {provider: simulator, model: m, name: x}\n"
            "      - {provider: simulator, model: n, name: x}\n",
            "named 'x'",
        ),
        ("models:\n  a:\n    deployments: [{provider: simulator, model: m, api_key_env: [K, K]}]\n", "twice"),
        (
            "models:\n  a:\n    deployments: [{provider: simulator, model: m}]\n    strategy: fastest\n",
            "models.a.strategy",
        ),
        ("retry:\n  base_delay: 5\n  max_delay: 1\n", "retry.max_delay"),
        ("circuit:\n  failure_rate: 1.5\n", "circuit.failure_rate"),
        ("routing:\n  hedge:\n    percentile: 1\n", "routing.hedge.percentile"),
    ],
)
def test_bad_entries_are_named(tmp_path: Path, yaml_text: str, named: str) -> None:
    path = tmp_path / "llmrelay.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as info:
        Settings.load(path)
    assert named in str(info.value)


def test_fallback_problem_finds_only_real_cycles() -> None:
    assert fallback_problem({"a": ["b", "c"], "b": ["c"], "c": []}) is None  # a diamond is fine
    assert fallback_problem({"a": ["local"], "b": ["a"]}) is None
    assert fallback_problem({"a": ["b"], "b": ["a"]}) == "models.a: fallback cycle a → b → a"
