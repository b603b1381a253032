from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmrelay.app.testing import CassetteError, Scrubber
from llmrelay.app.testing.canonical import canonical, differences
from llmrelay.app.testing.cassette import Cassette, Interaction, RecordedResponse
from llmrelay.wire import HttpRequest


def request(body: dict[str, object], url: str = "https://api.example/v1/chat/completions") -> HttpRequest:
    return HttpRequest(
        "post", url, {"authorization": "Bearer sk-aaaaaaaaaaaaaaaaaaaaaaaa"}, json.dumps(body).encode()
    )


def test_the_canonical_form_ignores_key_order_spacing_headers_and_query_order() -> None:
    a = canonical(request({"model": "m", "messages": [{"role": "user", "content": "hi"}]}), Scrubber())
    raw = b'{ "messages":[{"content":"hi","role":"user"}],   "model":"m" }'
    b = canonical(HttpRequest("POST", "https://api.example/v1/chat/completions", {}, raw), Scrubber())
    assert a.key == b.key
    c = canonical(request({"model": "m", "messages": [{"role": "user", "content": "ho"}]}), Scrubber())
    assert c.key != a.key
    assert differences(c.body, a.body) == ["body.messages[0].content"]


def test_a_description_names_the_request_without_secrets() -> None:
    r = canonical(
        request({"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "x" * 100}]}),
        Scrubber(),
    )
    d = r.describe()
    assert d.startswith(
        "POST https://api.example/v1/chat/completions (model 'gpt-4o', last user message 'xxx"
    )
    assert "…'" in d and "streamed" in d and "sk-" not in d


def test_answers_are_played_once_each_in_recorded_order(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    c = Cassette(path)
    r = canonical(request({"model": "m"}), Scrubber())
    c.add(Interaction(r, RecordedResponse(429, {"retry-after": "0"}, b"{}")))
    c.add(Interaction(r, RecordedResponse(200, {}, chunks=(b"data: 1\n\n", b"data: 2\n\n"), complete=True)))
    c.save()
    back = Cassette.load(path)
    first, second = back.take(r), back.take(r)
    assert first is not None and first.response.status == 429
    assert second is not None and second.response.chunks == (b"data: 1\n\n", b"data: 2\n\n")
    assert back.take(r) is None and back.played(r) == 2


def test_binary_bodies_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    c = Cassette(path)
    r = canonical(HttpRequest("POST", "https://h/x", {}, b"\xff\x00"), Scrubber())
    c.add(Interaction(r, RecordedResponse(200, {}, b"\x89PNG\xff")))
    c.save()
    hit = Cassette.load(path).take(r)
    assert hit is not None and hit.response.body == b"\x89PNG\xff"


def test_a_missing_file_is_an_empty_cassette(tmp_path: Path) -> None:
    assert Cassette.load(tmp_path / "none.json").interactions == []


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("not json", "cannot read"),
        ('{"something": "else"}', "not an llmrelay cassette"),
        ('{"llmrelay_cassette": 1, "interactions": {}}', "must be a list"),
        ('{"llmrelay_cassette": 1, "interactions": [{"request": {}}]}', "interaction 0 is malformed"),
    ],
)
def test_a_bad_file_is_refused_naming_it(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(CassetteError, match=why) as caught:
        Cassette.load(path)
    assert str(path) in str(caught.value)
