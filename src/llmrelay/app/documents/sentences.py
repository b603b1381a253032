"""Sentence and word boundaries, as character spans that tile the text.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing quotes or brackets)
followed by whitespace and then something that can start a sentence, or at CJK full
stops. Common abbreviations ("e.g.", "Dr.", "U.S.") and initials do not end one. It is a
heuristic, good enough to choose where to cut a paragraph too long for one chunk.
"""

from __future__ import annotations

import re

_END = re.compile(r"(?:[.!?…]+[\"'”’)\]]*)(?:\s+|$)|[。！？]+\s*")
# fmt: off
_ABBREVIATIONS = frozenset((
    "e.g", "i.e", "etc", "vs", "cf", "al", "approx", "fig", "figs", "no", "nos", "vol", "p", "pp", "ed",
    "eds", "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ave", "inc", "ltd", "co", "corp",
    "dept", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "u.s", "u.k", "a.m", "p.m",
))
# fmt: on
_WORD_BEFORE = re.compile(r"([\w.]+)[.!?…]+[\"'”’)\]]*\s*$")


def _ends_sentence(text: str, start: int, match: re.Match[str]) -> bool:
    following = text[match.end() : match.end() + 1]
    if following and (following.islower() or following in ",;:"):
        return False  # "the U.S. and …", "e.g. this": not a sentence start
    before = _WORD_BEFORE.search(text, start, match.end())
    if before is None or "." not in match.group():
        return True
    word = before.group(1).lower().rstrip(".")
    return not (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text[start:end]``; trailing whitespace belongs
    to the sentence before it, so the spans tile the range."""
    stop = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    begin = start
    for match in _END.finditer(text, start, stop):
        if match.end() >= stop:
            break
        if _ends_sentence(text, begin, match):
            spans.append((begin, match.end()))
            begin = match.end()
    if begin < stop:
        spans.append((begin, stop))
    return spans


def word_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Each word with the whitespace after it; the spans tile the range."""
    stop = len(text) if end is None else end
    spans = [(m.start(), m.end()) for m in re.finditer(r"\s*\S+\s*", text[start:stop])]
    out = [(start + a, start + b) for a, b in spans]
    if out:
        out[0] = (start, out[0][1])
        out[-1] = (out[-1][0], stop)
    return out or ([(start, stop)] if stop > start else [])


def line_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Each line with its newline; the spans tile the range."""
    stop = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    begin = start
    while begin < stop:
        newline = text.find("\n", begin, stop)
        finish = stop if newline < 0 else newline + 1
        out.append((begin, finish))
        begin = finish
    return out
