from __future__ import annotations

import re

import pytest

from llmrelay.app.testing import CassetteError, Scrubber
from llmrelay.app.testing.scrub import REDACTED

KEY = "sk-proj-Q7fX2mLr9TzKw4NbV8cYp1HdJs6GuE3aRo0iWnMqBt5kLx"


def test_credential_headers_are_replaced_by_name_whatever_their_case() -> None:
    s = Scrubber()
    out = s.headers(
        {
            "Authorization": "Bearer opaque-token-123",
            "X-Api-Key": "k-1234567890",
            "api-key": "azure-key-1234",
            "x-goog-api-key": "g-1234567890",
            "Content-Type": "application/json",
        }
    )
    assert out == {
        "authorization": REDACTED,
        "x-api-key": REDACTED,
        "api-key": REDACTED,
        "x-goog-api-key": REDACTED,
        "content-type": "application/json",
    }


def test_a_value_seen_in_a_credential_header_is_removed_everywhere_after() -> None:
    s = Scrubber()
    s.headers({"authorization": "Bearer opaque-token-123"})  # not key-shaped: only known by being seen
    assert s.text('{"error": "bad key opaque-token-123"}') == f'{{"error": "bad key {REDACTED}"}}'


def test_query_keys_are_replaced_and_the_query_sorted() -> None:
    s = Scrubber()
    url = s.url(
        "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=abcdefgh123&alt=sse"
    )
    assert (
        url
        == "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?alt=sse&key=REDACTED"
    )
    assert s.text("echo abcdefgh123") == f"echo {REDACTED}"


def test_url_credentials_are_dropped() -> None:
    s = Scrubber()
    assert s.url("https://user:hunter2secret@host.example/v1?b=2&a=1") == "https://host.example/v1?a=1&b=2"
    assert s.text("hunter2secret") == REDACTED


def test_key_shaped_text_is_removed_but_ordinary_words_are_not() -> None:
    s = Scrubber()
    assert s.text(f"my key is {KEY}.") == f"my key is {REDACTED}."
    assert s.text("AIzaSyD4kR7mXq2Lw9Pz5Nc8Vb1Jt6Hs3Gy0Fa") == REDACTED
    kept = "the task-scheduler and risk-assessment-framework-overview, sk-short"
    assert s.text(kept) == kept


def test_configured_patterns_and_secrets() -> None:
    s = Scrubber([r"[\w.]+@example\.com", re.compile(r"ACCT-\d{6}")], secrets=["internal-token-xyz"])
    assert s.text("ada@example.com paid ACCT-123456 with internal-token-xyz") == (
        f"{REDACTED} paid {REDACTED} with {REDACTED}"
    )


def test_a_short_secret_is_not_removed_from_all_text() -> None:
    s = Scrubber()
    assert s.headers({"x-api-key": "x"}) == {"x-api-key": REDACTED}
    assert s.text("x marks the spot") == "x marks the spot"


@pytest.mark.parametrize("bad", ["(unclosed", ""])
def test_a_bad_pattern_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(CassetteError, match="scrub pattern"):
        Scrubber([bad])
