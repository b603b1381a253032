"""The model catalog: shipped data, lookup, overrides, malformed entries, cost."""

from __future__ import annotations

import pytest

from llmrelay.catalog import Catalog, ModelInfo, overrides_from_settings, validate_overrides
from llmrelay.errors import ConfigError
from llmrelay.settings import Settings
from llmrelay.types import Usage


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_shipped_data_is_complete(catalog):
    models = catalog.models()
    assert len(models) > 30
    for info in models:
        assert info.context_window > 0, info
        assert info.input_price is not None and info.output_price is not None, info
    assert {"openai", "anthropic", "gemini"} <= {m.provider for m in models}
    for section in ("openai", "anthropic", "gemini"):
        assert any(m.supports("tools") and m.supports("vision") for m in catalog.models(section))
    assert all(m.encoding for m in catalog.models("openai"))


@pytest.mark.parametrize(
    ("host", "model", "expected"),
    [
        ("openai", "gpt-4o", ("openai", "gpt-4o")),
        ("openai", "gpt-4o-2024-08-06", ("openai", "gpt-4o")),
        ("openai", "GPT-4o-mini", ("openai", "gpt-4o-mini")),
        ("openai", "gpt-4-0613", ("openai", "gpt-4")),
        ("openai", "gpt-4-1106-preview", ("openai", "gpt-4-turbo")),  # an alias
        ("anthropic", "claude-3-5-haiku-20241022", ("anthropic", "claude-3-5-haiku")),
        ("anthropic", "claude-sonnet-4-5@20250929", ("anthropic", "claude-sonnet-4-5")),
        ("anthropic", "claude-3-7-sonnet-latest", ("anthropic", "claude-3-7-sonnet")),
        ("anthropic", "claude-sonnet-4-0", ("anthropic", "claude-sonnet-4")),
        ("gemini", "models/gemini-2.0-flash-001", ("gemini", "gemini-2.0-flash")),
        ("gemini", "gemini-2.5-flash-preview-05-20", ("gemini", "gemini-2.5-flash")),
        ("gemini", "gemini-3-pro-preview", ("gemini", "gemini-3-pro-preview")),
        ("azure", "gpt-4o-mini", ("openai", "gpt-4o-mini")),  # inherited
        ("openrouter", "anthropic/claude-sonnet-4.5", ("anthropic", "claude-sonnet-4-5")),  # vendor
        ("openrouter", "google/gemini-2.5-pro", ("gemini", "gemini-2.5-pro")),
        ("groq", "openai/gpt-oss-120b", ("groq", "openai/gpt-oss-120b")),
        ("simulator", "sim-1", ("simulator", "sim-1")),
        ("simulator-anthropic", "claude-haiku-4-5", ("anthropic", "claude-haiku-4-5")),
    ],
)
def test_lookup_is_tolerant(catalog, host, model, expected):
    info = catalog.lookup(host, model)
    assert info is not None and (info.provider, info.model) == expected


@pytest.mark.parametrize(
    ("host", "model"),
    [("openai", "gpt-9"), ("openai", "claude-sonnet-4-5"), ("ollama", "llama3"), ("nohost", "gpt-4o")],
)
def test_unknown_models_are_none(catalog, host, model):
    assert catalog.lookup(host, model) is None


def test_cost_of_plain_cached_and_written_tokens(catalog):
    gpt = catalog.lookup("openai", "gpt-4o")  # 2.50 in, 1.25 cached, 10.00 out
    assert catalog.cost(gpt, Usage(1_000_000, 0)) == pytest.approx(2.50)
    assert catalog.cost(gpt, Usage(1000, 500, cached_input_tokens=400)) == pytest.approx(
        (600 * 2.50 + 400 * 1.25 + 500 * 10.0) / 1e6
    )
    claude = catalog.lookup("anthropic", "claude-sonnet-4-5")  # 3 in, 0.30 read, 3.75 write, 15 out
    usage = Usage(10_000, 1000, cached_input_tokens=6000, cache_write_tokens=3000, reasoning_tokens=200)
    expected = (1000 * 3.0 + 6000 * 0.30 + 3000 * 3.75 + 1000 * 15.0) / 1e6
    assert catalog.cost(claude, usage) == pytest.approx(expected)


def test_long_context_prices(catalog):
    pro = catalog.lookup("gemini", "gemini-2.5-pro")  # 1.25/10 up to 200k, 2.50/15 above
    assert catalog.cost(pro, Usage(200_000, 1000)) == pytest.approx((200_000 * 1.25 + 1000 * 10) / 1e6)
    assert catalog.cost(pro, Usage(200_001, 1000)) == pytest.approx((200_001 * 2.50 + 1000 * 15) / 1e6)


def test_unknown_price_is_none_never_zero(catalog):
    assert catalog.cost(None, Usage(10, 10)) is None
    assert catalog.cost(catalog.lookup("openai", "gpt-4o"), None) is None
    no_cache_price = catalog.lookup("openai", "gpt-4")  # no cached price published
    assert catalog.cost(no_cache_price, Usage(100, 10)) is not None
    assert catalog.cost(no_cache_price, Usage(100, 10, cached_input_tokens=50)) is None
    unpriced = ModelInfo("x", "y", context_window=1000)
    assert catalog.cost(unpriced, Usage(0, 0)) is None
    assert catalog.max_cost(unpriced, 10, 10) is None
    free = ModelInfo("x", "y", context_window=1000, input_price=0.0, output_price=0.0)
    assert catalog.cost(free, Usage(10, 10)) == 0.0


def test_max_cost_is_an_upper_bound(catalog):
    claude = catalog.lookup("anthropic", "claude-haiku-4-5")  # 1 in, 1.25 5m write, 2 1h write, 5 out
    bound = catalog.max_cost(claude, 1000, 200)
    assert bound == pytest.approx((1000 * 2.0 + 200 * 5.0) / 1e6)
    for usage in (
        Usage(1000, 200),
        Usage(1000, 200, cached_input_tokens=1000),
        Usage(1000, 200, 0, 1000),
        Usage(1000, 200, 0, 1000, cache_write_1h_tokens=1000),
    ):
        assert catalog.cost(claude, usage) <= bound + 1e-12


def test_max_cost_covers_the_dearest_service_tier(catalog):
    gpt5 = catalog.lookup("openai", "gpt-5")  # standard 1.25/10, priority 2.50/20
    assert catalog.max_cost(gpt5, 1000, 100) == pytest.approx((1000 * 2.5 + 100 * 20.0) / 1e6)
    assert catalog.cost(gpt5, Usage(1000, 100), "priority") <= catalog.max_cost(gpt5, 1000, 100)


def test_overrides_change_fields_and_add_models():
    c = Catalog.load(
        {
            "openai/gpt-4o": {"input_price": 2.0},
            "azure/prod-gpt": {"base": "openai/gpt-4o-mini", "output_price": 0.5},
            "vllm/my-llama": {"context_window": 8192, "input_price": 0, "output_price": 0},
            "azure/gpt-4o": {"cached_input_price": None},
        }
    )
    gpt = c.lookup("openai", "gpt-4o")
    assert gpt.input_price == 2.0 and gpt.output_price == 10.0  # untouched fields stay
    prod = c.lookup("azure", "prod-gpt")
    assert (prod.provider, prod.context_window, prod.input_price, prod.output_price) == (
        "azure",
        128000,
        0.15,
        0.5,
    )
    assert c.cost(c.lookup("vllm", "my-llama"), Usage(100, 100)) == 0.0
    assert c.lookup("azure", "gpt-4o").cached_input_price is None  # inherited entry refined
    assert c.lookup("openai", "gpt-4o").cached_input_price == 1.25  # the original stays


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"openai/gpt-4o": {"input_price": "cheap"}}, "openai/gpt-4o: input_price must be a non-negative"),
        ({"openai/gpt-4o": {"output_price": -1}}, "openai/gpt-4o: output_price"),
        ({"openai/gpt-4o": {"input_price": float("nan")}}, "input_price"),
        ({"openai/gpt-4o": {"input_price": True}}, "input_price"),
        ({"openai/gpt-4o": {"context_window": 0}}, "context_window must be an integer >= 1"),
        ({"openai/gpt-4o": {"capabilities": ["telepathy"]}}, "unknown capabilities"),
        ({"openai/gpt-4o": {"encoding": "p50k_base"}}, "encoding must be one of"),
        ({"openai/gpt-4o": {"prise": 1}}, r"unknown fields \['prise'\]"),
        ({"openai/gpt-4o": ["not", "a", "mapping"]}, "must be a mapping of fields"),
        ({"gpt-4o": {"input_price": 1}}, "must be 'provider/model'"),
        ({"vllm/new": {"input_price": 1}}, "context_window is required"),
        ({"azure/x": {"base": "openai/gpt-99"}}, "is not in the catalog"),
        (
            {"gemini/x": {"context_window": 10, "long_context": {"above": 5, "input_price": "x"}}},
            "long_context",
        ),
        ({"openai/gpt-5": {"service_tiers": ["flex"]}}, "service_tiers must map a tier name"),
        (
            {"openai/gpt-5": {"service_tiers": {"flex": {"input_prise": 1}}}},
            r"service_tiers.flex has unknown fields \['input_prise'\]",
        ),
        (
            {"openai/gpt-5": {"service_tiers": {"flex": {"output_price": -1}}}},
            "service_tiers.flex.output_price",
        ),
        ({"anthropic/claude-haiku-4-5": {"cache_write_1h_price": "x"}}, "cache_write_1h_price must be"),
    ],
)
def test_malformed_entries_are_refused_naming_them(overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        Catalog.load(overrides)


def test_settings_catalog_section_is_checked_at_load(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("catalog:\n  models:\n    openai/gpt-4o: {input_price: lots}\n")
    with pytest.raises(ConfigError, match=r"catalog\.models.*openai/gpt-4o: input_price"):
        Settings.load(cfg)
    bad_dep = {"a": {"deployments": [{"provider": "groq", "model": "m", "catalog": {"output_price": -2}}]}}
    with pytest.raises(ConfigError, match="groq/m: output_price"):
        Settings.load(models=bad_dep)


def test_overrides_from_settings():
    s = Settings.load(
        catalog={"models": {"openai/gpt-4o": {"input_price": 3.0}}},
        models={
            "prod": {
                "deployments": [
                    {
                        "provider": "azure",
                        "model": "eu-gpt",
                        "base_url": "https://x",
                        "catalog": {"base": "openai/gpt-4o"},
                    },
                ]
            }
        },
    )
    c = Catalog.load(overrides_from_settings(s))
    assert c.lookup("openai", "gpt-4o").input_price == 3.0
    assert c.lookup("azure", "eu-gpt").context_window == 128000


def test_validate_overrides_checks_shape_without_a_catalog():
    validate_overrides({"any/new-model": {"input_price": 1.0}})  # window checked later, by load
    with pytest.raises(ConfigError, match="base"):
        validate_overrides({"a/b": {"base": "no-slash"}})


def test_one_hour_writes_and_cache_prices_follow_the_section_factors(catalog):
    # Anthropic: reads 0.1x, 5-minute writes 1.25x, 1-hour writes 2x the input price, for
    # every entry (and its long-context prices) that gives none of its own
    for info in catalog.models("anthropic"):
        r = catalog.rates(info, 1000)
        assert r is not None and r.input is not None
        assert r.cache_write_1h == pytest.approx(2 * r.input)
    # an entry's own price wins: Haiku 3's cache hits are published at $0.03, not 0.1 x $0.25
    assert catalog.rates(catalog.lookup("anthropic", "claude-3-haiku"), 10).cached_input == 0.03
    sonnet = catalog.lookup("anthropic", "claude-sonnet-4-5")
    long = catalog.rates(sonnet, 200_001)
    assert (long.input, long.output, long.cache_write_1h) == (6.0, 22.5, pytest.approx(12.0))
    assert catalog.rates(sonnet, 200_000).input == 3.0  # the threshold itself is not past it
    # a configured 1h price wins over the factor; a section without factors has none
    c = Catalog.load({"anthropic/claude-haiku-4-5": {"cache_write_1h_price": 1.5}})
    assert c.rates(c.lookup("anthropic", "claude-haiku-4-5"), 10).cache_write_1h == 1.5
    assert catalog.rates(catalog.lookup("openai", "gpt-4o"), 10).cache_write_1h is None


def test_service_tiers(catalog):
    gpt5 = catalog.lookup("openai", "gpt-5-2025-08-07")  # a dated name keeps its tiers
    usage = Usage(1_000_000, 1_000_000)
    assert catalog.cost(gpt5, usage) == pytest.approx(11.25)
    for standard in ("default", "standard", "auto", "DEFAULT", None):
        assert catalog.cost(gpt5, usage, standard) == pytest.approx(11.25)
    assert catalog.cost(gpt5, usage, "flex") == pytest.approx(5.625)
    assert catalog.cost(gpt5, usage, "priority") == pytest.approx(22.5)
    assert catalog.cost(gpt5, usage, "scale") is None  # no price for it: unknown, not standard
    azure = catalog.lookup("azure", "gpt-5")  # inherited from the openai section
    assert azure is not None and azure.tier("flex") is not None
    assert catalog.cost(catalog.lookup("anthropic", "claude-sonnet-4-5"), usage, "priority") is None
    # configuration can price a contract tier
    c = Catalog.load(
        {
            "anthropic/claude-sonnet-4-5": {
                "service_tiers": {"priority": {"input_price": 4, "output_price": 20}}
            }
        }
    )
    assert c.cost(c.lookup("anthropic", "claude-sonnet-4-5"), usage, "priority") == pytest.approx(24.0)
    # Groq bills its flex tier at the on-demand price
    llama = catalog.lookup("groq", "llama-3.3-70b-versatile")
    assert (
        catalog.cost(llama, usage, "flex") == catalog.cost(llama, usage, "on_demand") == pytest.approx(1.38)
    )
    assert catalog.cost(gpt5, usage, "on_demand") == pytest.approx(11.25)
    # Anthropic's batch tier is the batch discount
    haiku = catalog.lookup("anthropic", "claude-haiku-4-5")
    assert catalog.cost(haiku, usage, "batch") == pytest.approx(catalog.batch_cost(haiku, usage))


def test_usage_adds_every_count():
    a = Usage(100, 20, 30, 40, 5, cache_write_1h_tokens=10)
    b = Usage(1, 2, 3, 4, 5, cache_write_1h_tokens=4)
    assert a + b == Usage(101, 22, 33, 44, 10, cache_write_1h_tokens=14)
    assert (a.cache_write_5m_tokens, a.uncached_input_tokens) == (30, 30)


def test_the_data_files_pricing_block_only_refines_known_entries_with_prices():
    from llmrelay.catalog.entries import ModelInfo as Info
    from llmrelay.catalog.prices import apply_pricing

    models = {"openai": {"m": Info("openai", "m", context_window=10, input_price=1.0, output_price=2.0)}}
    apply_pricing(
        models, {"openai": {"m": {"service_tiers": {"flex": {"input_price": 0.5, "output_price": 1}}}}}
    )
    assert models["openai"]["m"].tier("flex") is not None and models["openai"]["m"].input_price == 1.0
    with pytest.raises(ConfigError, match=r"pricing.openai.nope: no such model"):
        apply_pricing(models, {"openai": {"nope": {"input_price": 1}}})
    with pytest.raises(ConfigError, match="only price fields belong here"):
        apply_pricing(models, {"openai": {"m": {"context_window": 5}}})
