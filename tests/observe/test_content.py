from __future__ import annotations

import json

from llmrelay.observe.content import clip, messages_json
from llmrelay.types import ImagePart, Message, TextPart

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


def test_clip_redacts_then_cuts() -> None:
    assert KEY not in clip(f"my key is {KEY}", 1000)
    assert clip("x" * 50, 10) == "x" * 9 + "…"


def test_messages_keep_their_shape_and_lose_their_secrets() -> None:
    msgs = [
        Message("system", "be brief"),
        Message("user", [TextPart(f"use {KEY} please"), ImagePart(url="https://example.com/cat.png")]),
    ]
    data = json.loads(messages_json(msgs, 200))
    assert data[0] == {"role": "system", "parts": [{"type": "text", "content": "be brief"}]}
    assert data[1]["parts"][1] == {"type": "image"}
    assert KEY not in json.dumps(data) and "example.com" not in json.dumps(data)


def test_personal_data_is_redacted_too() -> None:
    text = clip("mail ann@example.com, card 4111 1111 1111 1111, call +44 20 7946 0958", 1000)
    assert text == "mail [EMAIL], card [CARD], call [PHONE]"
