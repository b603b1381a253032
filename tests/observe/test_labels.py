from __future__ import annotations

import asyncio

from llmrelay import errors
from llmrelay.observe.labels import OTHER, LabelBounds, error_label


def test_only_configured_names_become_labels() -> None:
    b = LabelBounds.of(["chat"], ["a"], ["gpt-4o"], ["openai"])
    assert (b.alias("chat"), b.alias("openai/gpt-9"), b.alias(None)) == ("chat", OTHER, OTHER)
    assert (b.deployment("a"), b.deployment("b")) == ("a", OTHER)
    assert (b.model("gpt-4o"), b.model("whatever")) == ("gpt-4o", OTHER)
    assert (b.provider("openai"), b.provider("evil")) == ("openai", OTHER)


class MyLayerError(Exception):
    pass


def test_error_labels_are_bounded_to_llmrelay_errors_and_cancellations() -> None:
    assert error_label(None) == ""
    assert error_label(errors.RateLimitError) == "RateLimitError"
    assert error_label(errors.OverloadedError) == "OverloadedError"
    assert error_label(asyncio.CancelledError) == "CancelledError"
    assert error_label(MyLayerError) == OTHER
    assert error_label(ValueError) == OTHER
    # a subclass defined elsewhere is not one of llmrelay's names
    assert error_label(type("Custom", (errors.APIError,), {})) == OTHER
