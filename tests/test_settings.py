import pytest

from llmrelay.errors import ConfigError
from llmrelay.settings import Settings, read_key_file


def test_defaults():
    s = Settings.load()
    assert s.default_model == "local"
    assert s.timeouts.connect > 0 and s.models == {}


def test_yaml_file(tmp_path):
    cfg = tmp_path / "llmrelay.yaml"
    cfg.write_text(
        "default_model: fast\n"
        "models:\n"
        "  fast:\n"
        "    deployments:\n"
        "      - {provider: groq, model: llama-3.1-8b-instant}\n"
        "timeouts: {connect: 2, read: 30}\n"
    )
    s = Settings.load(cfg)
    assert s.default_model == "fast"
    assert s.models["fast"].deployments[0].provider == "groq"
    assert s.timeouts.read == 30


def test_environment_overrides_file(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("default_model: from-file\n")
    monkeypatch.setenv("LLMRELAY_DEFAULT_MODEL", "from-env")
    assert Settings.load(cfg).default_model == "from-env"


def test_config_path_from_environment(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("simulator: {seed: 7}\n")
    monkeypatch.setenv("LLMRELAY_CONFIG", str(cfg))
    assert Settings.load().simulator.seed == 7


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        ("models:\n  a:\n    deployments: []\n", "models.a.deployments"),
        ("models:\n  a:\n    deployments: [{provider: acme, model: m}]\n", "unknown provider 'acme'"),
        ("models:\n  a:\n    deployments: [{provider: openai, model: m, weight: 0}]\n", "weight"),
        ("timeouts: {connect: -1}\n", "timeouts.connect"),
        ("timeouts: {read: soon}\n", "timeouts.read"),
        ("bogus_key: 1\n", "bogus_key"),
        ("- just\n- a list\n", "mapping at the top level"),
        ("models: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_is_refused_naming_the_entry(tmp_path, yaml_text, needle):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    with pytest.raises(ConfigError, match=needle):
        Settings.load(cfg)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        Settings.load(tmp_path / "nope.yaml")


def test_inline_key_is_secret():
    s = Settings.load(
        models={
            "a": {"deployments": [{"provider": "openai", "model": "m", "api_key": "sk-live-SECRETVALUE123"}]}
        }
    )
    assert "SECRETVALUE" not in repr(s) and "SECRETVALUE" not in str(s)


def test_key_file(tmp_path):
    f = tmp_path / "keys.env"
    f.write_text("# keys\nexport OPENAI_API_KEY='sk-abc'\nGROQ_API_KEY=gsk_x\n\n")
    assert read_key_file(f) == {"OPENAI_API_KEY": "sk-abc", "GROQ_API_KEY": "gsk_x"}
    f.write_text("NOEQUALS\n")
    with pytest.raises(ConfigError, match="line 1"):
        read_key_file(f)
