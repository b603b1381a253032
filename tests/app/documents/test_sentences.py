"""Sentence, word and line spans tile their range; abbreviations do not end sentences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llmrelay.app.documents.sentences import line_spans, sentence_spans, word_spans


def pieces(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_sentences() -> None:
    text = 'He met Dr. Smith, e.g. at 3 p.m. in the U.S. office. "Really?" she asked! Yes… 好。下一句。'
    assert pieces(text, sentence_spans(text)) == [
        "He met Dr. Smith, e.g. at 3 p.m. in the U.S. office. ",
        '"Really?" she asked! ',
        "Yes… ",
        "好。",
        "下一句。",
    ]
    assert pieces(text, sentence_spans(text, 3, 21)) == ["met Dr. Smith, e.g"]


def test_words_and_lines() -> None:
    assert pieces("  two words \n", word_spans("  two words \n")) == ["  two ", "words \n"]
    assert pieces("a\nb\n\nc", line_spans("a\nb\n\nc")) == ["a\n", "b\n", "\n", "c"]


@given(st.text(alphabet="ab .!?\n\"')", max_size=200), st.data())
def test_spans_tile_any_range(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    for fn in (sentence_spans, word_spans, line_spans):
        spans = fn(text, start, end)
        assert "".join(pieces(text, spans)) == text[start:end]
        assert all(a < b for a, b in spans)
