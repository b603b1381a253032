"""Golden costs: a provider's usage payload, parsed by the real adapter, priced by the catalog.

Each row is a response body as the provider returns it, the model it priced, and the
cost in US dollars worked out by hand from the provider's published price page (named
per row, with the arithmetic in tokens x USD per million tokens). The test parses the
body with the adapter llmrelay uses for that protocol — unary, and the same usage split
over a stream as the provider streams it — and prices what it parsed with the shipped
catalog under the service tier the body reports. So it checks usage parsing and pricing
end to end: a parser that drops cache writes, thoughts or the tier, or a price rule that
mis-bills them, changes the number.

Sources (prices per million tokens, as the catalog records them):

* OPENAI: https://platform.openai.com/docs/pricing (standard and Flex tables)
* OPENAI_PRIORITY: https://openai.com/api-priority-processing/
* ANTHROPIC: https://www.anthropic.com/pricing and
  https://docs.claude.com/en/docs/about-claude/pricing (prompt caching multipliers, long
  context pricing for Sonnet 4/4.5 with the 1M context beta, batch at 50%)
* GEMINI: https://ai.google.dev/gemini-api/docs/pricing (thinking billed as output;
  context caching; prompts over 200K tokens on 2.5 Pro)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from llmrelay.catalog import Catalog
from llmrelay.providers import load_adapter
from llmrelay.types import Usage, UsageEvent
from llmrelay.wire import Endpoint, SSEEvent

OPENAI = "https://platform.openai.com/docs/pricing"
OPENAI_PRIORITY = "https://openai.com/api-priority-processing/"
ANTHROPIC = "https://www.anthropic.com/pricing"
GEMINI = "https://ai.google.dev/gemini-api/docs/pricing"


@dataclass(frozen=True)
class Row:
    name: str
    protocol: str  # the adapter: openai (Chat Completions), responses, anthropic, gemini
    section: str  # the catalog section (host) the model is priced in
    model: str
    usage: dict[str, Any]  # the body's usage object, exactly as the provider sends it
    tier: str | None  # the service tier the body reports (None: the field is absent)
    expected: float | None  # USD, by hand; None: the cost must be unknown
    source: str


ROWS = [
    # gpt-5 standard: $1.25 in, $0.125 cached, $10 out (reasoning is output).
    # (10000 - 8000) x 1.25 + 8000 x 0.125 + 2000 x 10 = 2500 + 1000 + 20000 = 23500 / 1e6
    Row(
        "openai-chat cached reads and reasoning, default tier",
        "openai",
        "openai",
        "gpt-5",
        {
            "prompt_tokens": 10000,
            "completion_tokens": 2000,
            "total_tokens": 12000,
            "prompt_tokens_details": {"cached_tokens": 8000, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 1500, "audio_tokens": 0},
        },
        "default",
        0.0235,
        OPENAI,
    ),
    # gpt-5 flex: $0.625 in, $0.0625 cached, $5 out.
    # 2000 x 0.625 + 8000 x 0.0625 + 2000 x 5 = 1250 + 500 + 10000 = 11750 / 1e6
    Row(
        "openai-chat flex tier",
        "openai",
        "openai",
        "gpt-5",
        {
            "prompt_tokens": 10000,
            "completion_tokens": 2000,
            "prompt_tokens_details": {"cached_tokens": 8000},
            "completion_tokens_details": {"reasoning_tokens": 1500},
        },
        "flex",
        0.01175,
        OPENAI,
    ),
    # gpt-4.1 priority: $3.50 in, $0.875 cached, $14 out.
    # 3976 x 3.5 + 1024 x 0.875 + 800 x 14 = 13916 + 896 + 11200 = 26012 / 1e6
    Row(
        "openai-chat priority tier",
        "openai",
        "openai",
        "gpt-4.1",
        {"prompt_tokens": 5000, "completion_tokens": 800, "prompt_tokens_details": {"cached_tokens": 1024}},
        "priority",
        0.026012,
        OPENAI_PRIORITY,
    ),
    # OpenAI's scale tier is bought in advance by contract: no per-token price to apply.
    Row(
        "openai-chat scale tier has no public price",
        "openai",
        "openai",
        "gpt-4.1",
        {"prompt_tokens": 5000, "completion_tokens": 800},
        "scale",
        None,
        OPENAI,
    ),
    # o3 flex (Responses API): $1.00 in, $0.25 cached, $4.00 out.
    # 952 x 1 + 2048 x 0.25 + 5000 x 4 = 952 + 512 + 20000 = 21464 / 1e6
    Row(
        "responses cached reads and reasoning, flex tier",
        "responses",
        "openai",
        "o3",
        {
            "input_tokens": 3000,
            "input_tokens_details": {"cached_tokens": 2048},
            "output_tokens": 5000,
            "output_tokens_details": {"reasoning_tokens": 4200},
            "total_tokens": 8000,
        },
        "flex",
        0.021464,
        OPENAI,
    ),
    # gpt-5-mini priority (Responses API): $0.45 in, $3.60 out.
    # 1200 x 0.45 + 300 x 3.6 = 540 + 1080 = 1620 / 1e6
    Row(
        "responses priority tier",
        "responses",
        "openai",
        "gpt-5-mini",
        {
            "input_tokens": 1200,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 300,
            "output_tokens_details": {"reasoning_tokens": 256},
            "total_tokens": 1500,
        },
        "priority",
        0.00162,
        OPENAI_PRIORITY,
    ),
    # claude-sonnet-4-5: $3 in, cache hits $0.30 (0.1x), 5m writes $3.75 (1.25x),
    # 1h writes $6 (2x), $15 out. Anthropic's input_tokens (50) excludes reads and writes.
    # 50 x 3 + 10000 x 0.3 + 1000 x 3.75 + 2000 x 6 + 700 x 15
    #   = 150 + 3000 + 3750 + 12000 + 10500 = 29400 / 1e6
    Row(
        "anthropic cache reads, 5m and 1h writes",
        "anthropic",
        "anthropic",
        "claude-sonnet-4-5",
        {
            "input_tokens": 50,
            "cache_read_input_tokens": 10000,
            "cache_creation_input_tokens": 3000,
            "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
            "output_tokens": 700,
            "service_tier": "standard",
        },
        "standard",
        0.0294,
        ANTHROPIC,
    ),
    # claude-haiku-4-5: $1 in, 1h writes $2 (2x), $5 out.
    # 20 x 1 + 5000 x 2 + 100 x 5 = 20 + 10000 + 500 = 10520 / 1e6
    Row(
        "anthropic one-hour writes only",
        "anthropic",
        "anthropic",
        "claude-haiku-4-5",
        {
            "input_tokens": 20,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 5000,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 5000},
            "output_tokens": 100,
            "service_tier": "standard",
        },
        "standard",
        0.01052,
        ANTHROPIC,
    ),
    # Sonnet 4.5 past 200K input tokens (reads and writes count toward it: 1000 + 150000 +
    # 60000 = 211000): the whole call at $6 in, $22.50 out, cache at the same multiples
    # ($0.60 hits, $7.50 5m writes).
    # 1000 x 6 + 150000 x 0.6 + 60000 x 7.5 + 2000 x 22.5
    #   = 6000 + 90000 + 450000 + 45000 = 591000 / 1e6
    Row(
        "anthropic long context counted with cached and written tokens",
        "anthropic",
        "anthropic",
        "claude-sonnet-4-5",
        {
            "input_tokens": 1000,
            "cache_read_input_tokens": 150000,
            "cache_creation_input_tokens": 60000,
            "cache_creation": {"ephemeral_5m_input_tokens": 60000, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 2000,
            "service_tier": "standard",
        },
        "standard",
        0.591,
        ANTHROPIC,
    ),
    # A Message Batches result (service_tier "batch"): half the standard price.
    # (1000 x 1 + 1000 x 5) x 0.5 = 3000 / 1e6
    Row(
        "anthropic batch tier",
        "anthropic",
        "anthropic",
        "claude-haiku-4-5",
        {"input_tokens": 1000, "output_tokens": 1000, "service_tier": "batch"},
        "batch",
        0.003,
        ANTHROPIC,
    ),
    # Anthropic's Priority Tier is sold by contract only: no public price.
    Row(
        "anthropic priority tier has no public price",
        "anthropic",
        "anthropic",
        "claude-sonnet-4-5",
        {"input_tokens": 1000, "output_tokens": 100, "service_tier": "priority"},
        "priority",
        None,
        ANTHROPIC,
    ),
    # gemini-2.5-flash: $0.30 in, $2.50 out, thinking included; candidatesTokenCount (200)
    # excludes the thoughts (800), which are billed as output too.
    # 1000 x 0.30 + (200 + 800) x 2.5 = 300 + 2500 = 2800 / 1e6
    Row(
        "gemini thoughts billed as output",
        "gemini",
        "gemini",
        "gemini-2.5-flash",
        {
            "promptTokenCount": 1000,
            "candidatesTokenCount": 200,
            "thoughtsTokenCount": 800,
            "totalTokenCount": 2000,
        },
        None,
        0.0028,
        GEMINI,
    ),
    # gemini-2.5-pro, prompt over 200K (promptTokenCount includes the cached 200000):
    # $2.50 in, $0.25 cached, $15 out.
    # 50000 x 2.5 + 200000 x 0.25 + (1000 + 3000) x 15 = 125000 + 50000 + 60000 = 235000 / 1e6
    Row(
        "gemini long context with cached content and thoughts",
        "gemini",
        "gemini",
        "gemini-2.5-pro",
        {
            "promptTokenCount": 250000,
            "cachedContentTokenCount": 200000,
            "candidatesTokenCount": 1000,
            "thoughtsTokenCount": 3000,
            "totalTokenCount": 254000,
        },
        None,
        0.235,
        GEMINI,
    ),
    # gemini-2.5-pro up to 200K: $1.25 in, $10 out; tool-use prompt tokens (grounding,
    # code execution results fed back) are counted apart from promptTokenCount (the four
    # counts are disjoint: totalTokenCount = 1000 + 500 + 100) and billed as input.
    # (1000 + 500) x 1.25 + 100 x 10 = 1875 + 1000 = 2875 / 1e6
    Row(
        "gemini tool-use prompt tokens billed as input",
        "gemini",
        "gemini",
        "gemini-2.5-pro",
        {
            "promptTokenCount": 1000,
            "toolUsePromptTokenCount": 500,
            "candidatesTokenCount": 100,
            "totalTokenCount": 1600,
        },
        None,
        0.002875,
        GEMINI,
    ),
]


# --------------------------------------------------------------------------- bodies


def unary_body(row: Row) -> dict[str, Any]:
    if row.protocol == "openai":
        body: dict[str, Any] = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": row.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
            ],
            "usage": row.usage,
        }
    elif row.protocol == "responses":
        body = {
            "id": "resp_1",
            "object": "response",
            "status": "completed",
            "model": row.model,
            "output": [
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "ok", "annotations": []}],
                }
            ],
            "usage": row.usage,
        }
    elif row.protocol == "anthropic":
        return {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": row.model,
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": row.usage,  # Anthropic reports its tier inside usage
        }
    else:
        return {
            "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}],
            "usageMetadata": row.usage,
            "modelVersion": row.model,
            "responseId": "r1",
        }
    if row.tier is not None:
        body["service_tier"] = row.tier
    return body


def stream_events(row: Row) -> list[SSEEvent]:
    """The same answer as the provider streams it, usage where that protocol puts it."""
    if row.protocol == "openai":
        head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": row.model}
        if row.tier is not None:
            head["service_tier"] = row.tier
        chunks = [
            {
                **head,
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}}],
                "usage": None,
            },
            {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None},
            {**head, "choices": [], "usage": row.usage},  # stream_options.include_usage
        ]
        return [SSEEvent(json.dumps(c)) for c in chunks] + [SSEEvent("[DONE]")]
    if row.protocol == "responses":
        body = unary_body(row)
        start = {**body, "status": "in_progress", "output": [], "usage": None}
        events = [
            ("response.created", {"type": "response.created", "response": start}),
            (
                "response.output_text.delta",
                {"type": "response.output_text.delta", "delta": "ok", "output_index": 0},
            ),
            ("response.completed", {"type": "response.completed", "response": body}),
        ]
        return [SSEEvent(json.dumps(data), event=name) for name, data in events]
    if row.protocol == "anthropic":
        # message_start carries the input side (and the tier); message_delta the final output count
        first = {k: v for k, v in row.usage.items() if k != "output_tokens"}
        events = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_1",
                        "type": "message",
                        "role": "assistant",
                        "model": row.model,
                        "content": [],
                        "usage": {**first, "output_tokens": 1},
                    },
                },
            ),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": row.usage.get("output_tokens", 0)},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return [SSEEvent(json.dumps(data), event=name) for name, data in events]
    # Gemini repeats usage on chunks as it grows; the last chunk's is the total
    partial = {"promptTokenCount": row.usage.get("promptTokenCount", 0), "candidatesTokenCount": 1}
    first_chunk = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "o"}]}}],
        "usageMetadata": partial,
        "modelVersion": row.model,
        "responseId": "r1",
    }
    last = unary_body(row)
    last["candidates"][0]["content"]["parts"] = [{"text": "k"}]
    return [SSEEvent(json.dumps(first_chunk)), SSEEvent(json.dumps(last))]


# --------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def endpoint(row: Row) -> Endpoint:
    return Endpoint(
        provider=row.protocol, model=row.model, base_url="https://example.invalid", host=row.section
    )


def priced(catalog: Catalog, row: Row, usage: Usage | None, tier: Any) -> float | None:
    info = catalog.lookup(row.section, row.model)
    assert info is not None, f"{row.section}/{row.model} is not in the catalog"
    return catalog.cost(info, usage, tier if isinstance(tier, str) else None)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_unary_usage_is_priced_as_the_provider_bills_it(catalog: Catalog, row: Row) -> None:
    assert row.source.startswith("https://")
    resp = load_adapter(row.protocol).parse_chat(json.dumps(unary_body(row)).encode(), endpoint(row))
    assert resp.details.get("service_tier") == row.tier
    cost = priced(catalog, row, resp.usage, resp.details.get("service_tier"))
    if row.expected is None:
        assert cost is None
    else:
        assert cost == pytest.approx(row.expected, rel=1e-12, abs=0)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_streamed_usage_is_priced_the_same(catalog: Catalog, row: Row) -> None:
    parser = load_adapter(row.protocol).stream_parser(endpoint(row))
    usage: Usage | None = None
    for sse in stream_events(row):
        for ev in parser.feed(sse):
            if isinstance(ev, UsageEvent):
                usage = ev.usage  # the last one is the total, as the terminal folds it
    assert parser.done
    unary = load_adapter(row.protocol).parse_chat(json.dumps(unary_body(row)).encode(), endpoint(row))
    assert usage == unary.usage
    assert parser.details.get("service_tier") == row.tier
    cost = priced(catalog, row, usage, parser.details.get("service_tier"))
    if row.expected is None:
        assert cost is None
    else:
        assert cost == pytest.approx(row.expected, rel=1e-12, abs=0)


def test_savings_of_provider_cache_reads(catalog: Catalog) -> None:
    # the Sonnet row: 10000 reads at $3 - $0.30 = 27000 / 1e6; the gpt-5 flex row: 8000 x
    # (0.625 - 0.0625) = 4500 / 1e6 (savings are against the tier's own input price)
    sonnet = ROWS[6]
    resp = load_adapter("anthropic").parse_chat(json.dumps(unary_body(sonnet)).encode(), endpoint(sonnet))
    charged = catalog.charge(catalog.lookup("anthropic", "claude-sonnet-4-5"), resp.usage, "standard")
    assert charged is not None and charged.cache_savings == pytest.approx(0.027, rel=1e-12)
    flex = ROWS[1]
    resp = load_adapter("openai").parse_chat(json.dumps(unary_body(flex)).encode(), endpoint(flex))
    charged = catalog.charge(catalog.lookup("openai", "gpt-5"), resp.usage, "flex")
    assert charged is not None and charged.cache_savings == pytest.approx(0.0045, rel=1e-12)
