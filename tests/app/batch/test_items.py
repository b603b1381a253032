"""Input items: every accepted shape becomes the same ChatRequest; bad ones keep their problem."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from llmrelay.app.batch.items import BatchRequest, fingerprint, load_items, read_jsonl
from llmrelay.errors import ConfigError, InvalidRequestError
from llmrelay.types import ChatRequest, ForcedTool, Message, ResponseFormat


def test_shapes_become_requests_with_ids() -> None:
    req = ChatRequest(model="m", messages=(Message.user("from a request"),))
    items = load_items(
        [
            "a prompt",
            {"id": "dict", "prompt": "hello", "system": "be brief", "max_completion_tokens": 7, "stop": "\n"},
            {"id": 42, "messages": [{"role": "user", "content": "numeric id"}]},
            req,
            BatchRequest(req, id="wrapped"),
        ],
        model="default-model",
    )
    assert [i.id for i in items] == ["0", "dict", "42", "3", "wrapped"]
    assert [i.index for i in items] == [0, 1, 2, 3, 4]
    first, second = items[0].request, items[1].request
    assert (
        first is not None and first.model == "default-model" and first.messages == (Message.user("a prompt"),)
    )
    assert second is not None
    assert second.messages == (Message.system("be brief"), Message.user("hello"))
    assert second.max_tokens == 7 and second.stop == ("\n",)
    assert items[3].request is req and items[4].request is req
    assert all(i.problem is None for i in items)


def test_an_openai_batch_line_is_read_as_its_body() -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 20,
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "r", "schema": {"type": "object"}},
        },
    }
    line = {"custom_id": "c-1", "method": "POST", "url": "/v1/chat/completions", "body": body}
    (item,) = load_items([line])
    assert item.id == "c-1" and item.problem is None and item.request is not None
    req = item.request
    assert req.model == "gpt-4o-mini" and req.max_tokens == 20
    assert req.tools is not None and req.tools[0].name == "lookup"
    assert req.tool_choice == ForcedTool("lookup")
    assert req.response_format == ResponseFormat(type="json_schema", schema={"type": "object"}, name="r")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"id": "x", "prompt": "hi", "temprature": 1}, r"unknown fields \['temprature'\]"),
        ({"id": "x"}, "exactly one of 'messages'"),
        ({"id": "x", "prompt": "a", "messages": []}, "exactly one of 'messages'"),
        ({"id": "x", "prompt": 3}, "prompt must be a string"),
        ({"id": "x", "prompt": "hi", "temperature": 9}, "temperature must be between"),
        ({"id": "x", "messages": "hi"}, "messages must be a list"),
        ({"custom_id": "x", "url": "/v1/embeddings", "body": {}}, "only POST /v1/chat/completions"),
        ({"custom_id": "x", "body": {"messages": [], "stream": True}}, "cannot stream"),
        ({"custom_id": "x", "body": "nope"}, "needs its request in 'body'"),
    ],
)
def test_a_bad_item_keeps_its_problem_and_the_others_run(raw: dict[str, object], message: str) -> None:
    bad, good = load_items([raw, "fine"], model="m")
    assert bad.request is None and bad.id == "x"
    assert isinstance(bad.problem, InvalidRequestError)
    assert re.search(message, bad.problem.message)
    assert good.request is not None and good.problem is None


def test_duplicate_ids_are_refused_naming_both() -> None:
    with pytest.raises(ConfigError, match=r"items 0 and 2 both have the id 'same'"):
        load_items([{"id": "same", "prompt": "a"}, "b", {"id": "same", "prompt": "c"}], model="m")


def test_a_jsonl_file_with_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        json.dumps({"id": "a", "prompt": "one"})
        + "\n\n"
        + "{not json\n"
        + "[1, 2]\n"
        + json.dumps({"prompt": "five"}),
        encoding="utf-8",
    )
    items = read_jsonl(path, model="m")
    assert [i.id for i in items] == ["a", "line-3", "line-4", "line-5"]
    assert items[1].problem is not None and "line 3 is not valid JSON" in items[1].problem.message
    assert items[2].problem is not None and "must be a JSON object" in items[2].problem.message
    assert items[3].request is not None


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the batch input"):
        read_jsonl(tmp_path / "missing.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_jsonl(tmp_path / "bin.jsonl")


def test_fingerprints_tell_inputs_apart_but_not_headers() -> None:
    a = ChatRequest(model="m", messages=(Message.user("x"),))
    assert fingerprint(a) == fingerprint(ChatRequest(model="m", messages=(Message.user("x"),)))
    assert fingerprint(a) != fingerprint(ChatRequest(model="m", messages=(Message.user("y"),)))
    assert fingerprint(a) != fingerprint(ChatRequest(model="m", messages=(Message.user("x"),), max_tokens=3))
    with_headers = ChatRequest(model="m", messages=(Message.user("x"),), extra_headers={"x-key": "secret"})
    assert fingerprint(with_headers) == fingerprint(a)
    one, two = load_items([{"prompt": "p"}, {"prompt": "p", "seed": 1}], model="m")
    (default_model,) = load_items([{"prompt": "p"}], model="other")
    assert one.fingerprint != two.fingerprint and one.fingerprint != default_model.fingerprint
