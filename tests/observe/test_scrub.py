from __future__ import annotations

import pytest

from llmrelay.observe.detect import KINDS, Finding, find
from llmrelay.observe.scrub import Masker, StreamScrubber, redact_findings

KEY = "sk-proj-" + "Zq9" * 12


def test_masking_is_reversible_and_stable() -> None:
    m = Masker()
    text = "ann@example.com wrote to bob@example.com, then ann@example.com again"
    masked = m.mask(text, find(text))
    assert masked == "[EMAIL_1] wrote to [EMAIL_2], then [EMAIL_1] again"
    assert m.restore("Reply to [EMAIL_2] and [EMAIL_1]; [EMAIL_9] is unknown") == (
        "Reply to bob@example.com and ann@example.com; [EMAIL_9] is unknown"
    )


def test_redact_findings() -> None:
    text = f"key {KEY} card 4111111111111111"
    assert redact_findings(text, find(text)) == "key [API_KEY] card [CARD]"


def _masking(text: str, findings: list[Finding]) -> str:
    return redact_findings(text, findings)


@pytest.mark.parametrize("split", [3, 10, len("here is the key: ") + 5, len("here is the key: ") + 30])
def test_a_secret_split_across_chunks_is_caught_before_delivery(split: int) -> None:
    text = f"here is the key: {KEY} and that is all " + "padding " * 40
    s = StreamScrubber(KINDS, _masking, window=64)
    pieces = [text[:split], text[split:split + 7], text[split + 7:]]  # fmt: skip
    delivered = [s.feed(p) for p in pieces] + [s.flush()]
    out = "".join(delivered)
    assert out == text.replace(KEY, "[API_KEY]")
    for d in delivered:  # not even a piece of it went out
        assert KEY[:12] not in d


def test_text_is_held_back_only_by_the_window() -> None:
    s = StreamScrubber(KINDS, _masking, window=32)
    words = [f"word{i} " for i in range(50)]
    out = [s.feed(w) for w in words]
    assert sum(len(o) for o in out) >= len("".join(words)) - 32 - 8
    assert "".join(out) + s.flush() == "".join(words)


def test_placeholders_are_restored_even_when_split() -> None:
    m = Masker()
    m.placeholder("email", "ann@example.com")

    def restore(text: str, findings: list[Finding]) -> str:
        return m.restore(text)

    s = StreamScrubber((), restore, window=32, restoring=True)
    text = "write to [EMAIL_1] soon " + "x " * 40
    out = "".join(s.feed(text[i : i + 5]) for i in range(0, len(text), 5)) + s.flush()
    assert out == text.replace("[EMAIL_1]", "ann@example.com")
