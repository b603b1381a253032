import pytest

from llmrelay.errors import MissingKeyError, UnknownModelError, UnknownProviderError
from llmrelay.hosts import SIMULATOR_URL
from llmrelay.resolve import Resolver
from llmrelay.settings import Settings

KEY = "sk-test-0123456789abcdef"


def resolver(env=None, **settings):
    return Resolver(Settings.load(**settings), env or {})


def test_local_goes_to_the_simulator_without_any_key():
    route = resolver().resolve(None)
    (dep,) = route.deployments
    assert route.alias == "local"
    assert dep.endpoint.base_url.startswith(SIMULATOR_URL)
    assert dep.endpoint.api_key is None


def test_provider_slash_model_reads_the_key_from_the_environment():
    ep = resolver({"OPENAI_API_KEY": KEY}).resolve("openai/gpt-4o-mini").deployments[0].endpoint
    assert (ep.provider, ep.host, ep.model) == ("openai", "openai", "gpt-4o-mini")
    assert ep.base_url == "https://api.openai.com/v1"
    assert ep.api_key is not None and ep.api_key.reveal() == KEY


def test_compatible_hosts_are_openai_protocol():
    ep = resolver({"GROQ_API_KEY": KEY}).resolve("groq/llama-3.1-8b-instant").deployments[0].endpoint
    assert ep.provider == "openai" and ep.host == "groq" and "groq.com" in ep.base_url
    local = resolver().resolve("ollama/llama3.2").deployments[0].endpoint
    assert local.api_key is None and local.base_url == "http://localhost:11434/v1"
    moved = (
        resolver({"OLLAMA_BASE_URL": "http://gpu-box:11434/v1"}).resolve("ollama/x").deployments[0].endpoint
    )
    assert moved.base_url == "http://gpu-box:11434/v1"


def test_gemini_accepts_either_key_variable():
    ep = resolver({"GOOGLE_API_KEY": KEY}).resolve("gemini/gemini-2.5-flash").deployments[0].endpoint
    assert ep.api_key is not None and ep.provider == "gemini"


def test_missing_key_names_the_variable_and_never_a_key():
    with pytest.raises(MissingKeyError) as info:
        resolver({"ANTHROPIC_API_KEY": KEY}).resolve("openai/gpt-4o")
    assert info.value.env_var == "OPENAI_API_KEY"
    assert "OPENAI_API_KEY" in str(info.value)
    assert KEY not in str(info.value)


def test_azure_needs_its_endpoint():
    with pytest.raises(MissingKeyError, match="AZURE_OPENAI_ENDPOINT"):
        resolver({"AZURE_OPENAI_API_KEY": KEY}).resolve("azure/my-deployment")
    ep = (
        resolver({"AZURE_OPENAI_API_KEY": KEY, "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com/"})
        .resolve("azure/my-deployment")
        .deployments[0]
        .endpoint
    )
    assert ep.base_url == "https://r.openai.azure.com" and ep.options["azure"] is True


def test_unknown_model_and_provider():
    with pytest.raises(UnknownModelError, match="provider/model"):
        resolver().resolve("gpt-4o")
    with pytest.raises(UnknownProviderError, match="known providers"):
        resolver().resolve("acme/model-1")
    with pytest.raises(UnknownModelError, match="no model"):
        resolver({"OPENAI_API_KEY": KEY}).resolve("openai/")


def test_configured_alias_with_deployments_and_fallbacks():
    r = resolver(
        {"MY_KEY": KEY},
        models={
            "smart": {
                "deployments": [
                    {"provider": "openai", "model": "gpt-4o", "api_key_env": "MY_KEY", "weight": 3},
                    {"provider": "simulator", "model": "sim-big"},
                ],
                "fallbacks": ["local"],
            }
        },
    )
    route = r.resolve("smart")
    assert [d.name for d in route.deployments] == ["openai/gpt-4o", "simulator/sim-big"]
    assert route.deployments[0].weight == 3
    assert route.fallbacks == ("local",)
    assert "smart" in r.aliases() and "local" in r.aliases()


def test_alias_key_env_missing():
    r = resolver(
        {}, models={"x": {"deployments": [{"provider": "openai", "model": "m", "api_key_env": "NOPE"}]}}
    )
    with pytest.raises(MissingKeyError, match="NOPE"):
        r.resolve("x")


def test_default_model_setting():
    r = resolver({"OPENAI_API_KEY": KEY}, default_model="openai/gpt-4o-mini")
    assert r.resolve(None).deployments[0].endpoint.model == "gpt-4o-mini"


def test_key_pool_names_and_prices():
    env = {"K1": "sk-pool-one-000000", "K2": "sk-pool-two-000000"}
    r = resolver(
        env,
        models={
            "pool": {
                "deployments": [
                    {"provider": "openai", "model": "gpt-4o", "api_key_env": ["K1", "K2"], "name": "east"},
                    {"provider": "simulator", "model": "m", "price": {"input": 0.5, "output": 1.5}},
                    {"provider": "simulator", "model": "m"},
                ]
            }
        },
    )
    east, sim1, sim2 = r.resolve("pool").deployments
    assert east.name == "east" and [k.reveal() for k in east.keys] == [env["K1"], env["K2"]]
    assert east.endpoint.api_key is not None and east.endpoint.api_key.reveal() == env["K1"]
    # two unnamed deployments of one host/model get distinct names (their own breakers)
    assert (sim1.name, sim2.name) == ("simulator/m#2", "simulator/m#3")
    assert sim1.price == (0.5, 1.5) and sim2.price is None and sim1.keys == ()
    assert "sk-pool" not in repr(east)


def test_key_pool_with_a_missing_variable_names_it():
    r = resolver(
        {"K1": KEY},
        models={"x": {"deployments": [{"provider": "openai", "model": "m", "api_key_env": ["K1", "K2"]}]}},
    )
    with pytest.raises(MissingKeyError, match="K2") as info:
        r.resolve("x")
    assert info.value.env_var == "K2"
