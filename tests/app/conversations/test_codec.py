"""Messages to JSON and back, losslessly; damaged data is an error that says so."""

from __future__ import annotations

import json

import pytest

from llmrelay.app.conversations.codec import dumps, loads, message_from_dict, message_to_dict
from llmrelay.app.conversations.errors import ConversationStoreError
from llmrelay.types import ImagePart, Message, TextPart, ToolCall

MESSAGES = [
    Message.system("sys"),
    Message.user("plain ünïcode ✓"),
    Message.user((TextPart("look"), ImagePart(url="https://x/y.png", detail="high"))),
    Message.user((ImagePart(data="AAAA", media_type="image/jpeg"),)),
    Message.assistant(None, [ToolCall("a", "f", '{"x": 1}'), ToolCall("b", "g", "{}")]),
    Message.tool("a", "42", name="f"),
    Message(role="assistant", content="hi", provider_state={"gemini": {"thought_signature": "sig"}}),
    Message(role="user", content="named", name="ann"),
    Message(role="assistant", content=None),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.role)
def test_round_trip(message: Message) -> None:
    assert loads(dumps(message)) == message
    assert message_from_dict(json.loads(json.dumps(message_to_dict(message)))) == message


def test_json_is_compact_and_readable() -> None:
    text = dumps(Message.user("ü"))
    assert text == '{"role":"user","content":"ü"}'


@pytest.mark.parametrize("raw", ["{", "[1]", '{"role": "robot", "content": "x"}'])
def test_damaged_data_is_reported(raw: str) -> None:
    with pytest.raises(ConversationStoreError, match="damaged"):
        loads(raw)


def test_state_that_is_not_json_cannot_be_stored() -> None:
    with pytest.raises(ConversationStoreError, match="cannot be stored as JSON"):
        dumps(Message(role="assistant", content="x", provider_state={"p": object()}))
