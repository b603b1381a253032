"""What the Anthropic API knows per model that changes request rules: thinking modes,
sampling settings, and the minimum cacheable prompt.

A small table kept in the simulator (an independent implementation of the API reads no
llmrelay catalog). Names match by prefix, so dated ids (``claude-sonnet-4-5-20250929``)
follow their family. Sources are named per table.
"""

from __future__ import annotations

# Adaptive-only thinking: ``thinking.type: "enabled"`` (a fixed budget) is refused with a 400.
# Source: Anthropic's extended-thinking page ("Claude 4.7 and later models do not support it"),
# platform.claude.com/docs/en/build-with-claude/extended-thinking.
ADAPTIVE_ONLY = ("claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5", "claude-haiku-5")
# Adaptive thinking accepted (4.6 and later). Same source.
ADAPTIVE = (*ADAPTIVE_ONLY, "claude-opus-4-6", "claude-sonnet-4-6")

# Sampling settings refused even under anthropic-version 2023-06-01: "Sampling parameters
# removed" in Anthropic's "Migrating to Claude Opus 4.7" (as summarised at
# openrouter.ai/docs/guides/evaluate-and-optimize/model-migrations/claude-4-7); the error
# text is the one reported in github.com/Comfy-Org/ComfyUI/issues/13923. The catalog's
# ``no_sampling`` capability marks the same models on llmrelay's side.
NO_SAMPLING = ("claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5", "claude-haiku-5")
# Models that take temperature or top_p but not both ("temperature and top_p cannot both be
# specified for this model."; github.com/open-webui/functions/pull/9, ccbogel/QualCoder#1125).
ONE_SAMPLER = (
    "claude-opus-4-1", "claude-opus-4-5", "claude-opus-4-6", "claude-sonnet-4-5", "claude-sonnet-4-6",
    "claude-haiku-4-5",
)  # fmt: skip

# Minimum tokens of a cacheable prefix (below it a breakpoint caches nothing, without an error).
# Source: Anthropic's prompt-caching page, "Cache limitations".
_MIN_CACHE = (
    (("claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-haiku-4-5"), 4096),
    (("claude-3-5-haiku", "claude-3-haiku", "claude-haiku-3"), 2048),
)
DEFAULT_MIN_CACHE = 1024


def _bare(model: str) -> str:
    return model.rsplit("/", 1)[-1].lower()


def is_family(model: str, families: tuple[str, ...]) -> bool:
    return _bare(model).startswith(families)


def min_cacheable(model: str) -> int:
    for families, tokens in _MIN_CACHE:
        if is_family(model, families):
            return tokens
    return DEFAULT_MIN_CACHE
