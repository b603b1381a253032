from __future__ import annotations

import pytest

from llmrelay.errors import ConfigError
from llmrelay.settings import Settings


def test_the_section_loads_and_validates() -> None:
    s = Settings.load(observe={"logs": True, "metrics": True, "labels": ["gpt-4o"]})
    assert s.observe.enabled and s.observe.labels == ["gpt-4o"] and s.observe.registry == "own"
    assert not Settings.load().observe.enabled


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"otlp_endpoint": "127.0.0.1:4318"}, "otlp_endpoint"),
        ({"sample_rate": 1.5}, "sample_rate"),
        ({"sample_rate": -0.1}, "sample_rate"),
        ({"log_format": "xml"}, "log_format"),
        ({"registry": "mine"}, "registry"),
        ({"content_limit": 1}, "content_limit"),
        ({"trace": True}, "trace"),
    ],
)
def test_bad_values_are_named(section: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=f"observe.{named}"):
        Settings.load(observe=section)


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRELAY_OBSERVE__TRACES", "true")
    assert Settings.load().observe.traces
