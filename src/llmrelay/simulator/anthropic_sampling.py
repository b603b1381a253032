"""Anthropic's sampling settings (``temperature``, ``top_p``, ``top_k``): ranges, and which
API versions and models refuse them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmrelay.simulator.anthropic_invalid import AnthropicInvalid, is_int, number_in
from llmrelay.simulator.anthropic_models import NO_SAMPLING, ONE_SAMPLER, is_family


def check_sampling(body: Mapping[str, Any], modern: bool) -> None:
    if modern:
        # 2026-10-21 dropped the sampling knobs for every model: any value, even the default, is an
        # unknown field. Sources: Anthropic's API version 2026-10-21 release (as documented at
        # codersera.com/blog/anthropic-api-2026-10-21-sdk-migration-guide-2026 and apidog.com's
        # "Claude API version 2026-10-21"; both report the 400 for every model, Sonnet 4.6 included).
        for name in ("temperature", "top_p", "top_k"):
            if name in body:
                raise AnthropicInvalid(f"{name}: Extra inputs are not permitted")
        return
    model = str(body.get("model"))
    if is_family(model, NO_SAMPLING):
        # Under 2023-06-01 these models still parse the fields but refuse any value but the default.
        for name, default in (("temperature", 1), ("top_p", None), ("top_k", None)):
            if body.get(name) is not None and body[name] != default:
                raise AnthropicInvalid(f"`{name}` is deprecated for this model.")
    if (
        is_family(model, ONE_SAMPLER)
        and body.get("temperature") is not None
        and body.get("top_p") is not None
    ):
        raise AnthropicInvalid(
            "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
        )
    number_in(body, "temperature", 0.0, 1.0)
    number_in(body, "top_p", 0.0, 1.0)
    if body.get("top_k") is not None:
        if not is_int(body["top_k"]):
            raise AnthropicInvalid("top_k: Input should be a valid integer")
        if body["top_k"] < 0:
            raise AnthropicInvalid("top_k: Input should be greater than or equal to 0")
