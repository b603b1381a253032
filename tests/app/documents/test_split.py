"""split_text: sizes, coverage, boundaries, Markdown structure and overlap."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.app.documents import Chunk, split_text
from llmrelay.app.documents.counting import encoding_counter
from llmrelay.errors import ConfigError
from llmrelay.tokens import encodings, estimate_text

WORDS = st.sampled_from(["river", "signal", "a", "the", "garden", "e.g.", "Dr.", "x" * 30, "42", "ok"])
SENTENCE = st.lists(WORDS, min_size=1, max_size=25).map(lambda ws: " ".join(ws).capitalize() + ".")
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=8).map(" ".join)
CODE = st.lists(
    st.sampled_from(["x = 1", "def f(a):", "    return a * 2", "", "print(f(3))"]), min_size=1, max_size=30
).map(lambda lines: "```python\n" + "\n".join(lines) + "\n```")
TABLE = st.integers(1, 25).map(
    lambda n: "| name | value |\n|------|-------|\n" + "".join(f"| row {i} | {i * 7} |\n" for i in range(n))
)
HEADING = st.integers(1, 3).flatmap(lambda level: SENTENCE.map(lambda s: "#" * level + " " + s[:-1]))
BLOCK = st.one_of(PARAGRAPH, PARAGRAPH, CODE, TABLE, HEADING, st.just("- one\n- two\n  more\n- three"))
DOCUMENT = st.lists(BLOCK, min_size=1, max_size=25).map("\n\n".join)


def covered(text: str, chunks: list[Chunk]) -> bool:
    """Every non-space character of the text lies inside some chunk's span."""
    marks = bytearray(len(text))
    for c in chunks:
        marks[c.start : c.end] = b"\x01" * (c.end - c.start)
    return all(marks[i] or text[i].isspace() for i in range(len(text)))


@settings(max_examples=150, deadline=None)
@given(DOCUMENT, st.integers(20, 400), st.integers(0, 60))
def test_chunks_fit_cover_everything_and_move_forward(text: str, max_tokens: int, overlap: int) -> None:
    overlap = min(overlap, max_tokens // 2)
    chunks = split_text(text, max_tokens=max_tokens, overlap=overlap)
    assert chunks
    assert all(c.tokens == estimate_text(c.text) <= max_tokens for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(a.body_start < b.body_start for a, b in itertools.pairwise(chunks))
    assert covered(text, chunks)
    # without overlap, no content is repeated or lost (cut code and tables only add their fences)
    plain = split_text(text, max_tokens=max_tokens)
    if "```" not in text and "|---" not in text:
        assert "".join("".join(c.text.split()) for c in plain) == "".join(text.split())


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.one_of(PARAGRAPH, CODE, TABLE), min_size=2, max_size=12).map("\n\n".join),
    st.integers(60, 300),
)
def test_code_and_tables_are_cut_only_when_they_cannot_fit(text: str, max_tokens: int) -> None:
    chunks = split_text(text, max_tokens=max_tokens, overlap=10)
    blocks = re.findall(r"```python\n.*?\n```", text, flags=re.S)
    blocks += re.findall(r"\| name \| value \|\n(?:\|.*\|\n)+", text)
    for block in blocks:
        if estimate_text(block) <= max_tokens:
            assert any(block.strip() in c.text for c in chunks), "a block that fits a chunk was cut"
    for c in chunks:
        fences = [line for line in c.text.splitlines() if line.startswith("```")]
        assert len(fences) % 2 == 0, f"chunk {c.index} leaves a code fence open"
        if re.search(r"(?m)^\| row", c.text):
            assert "| name | value |" in c.text, "rows of a cut table travel with their header"


def test_a_big_code_block_is_cut_between_lines_and_each_piece_is_fenced() -> None:
    code = "```js\n" + "\n".join(f"console.log({i});" for i in range(200)) + "\n```"
    chunks = split_text(f"Intro.\n\n{code}\n\nOutro.", max_tokens=100)
    pieces = [c for c in chunks if "console.log" in c.text]
    assert len(pieces) > 3
    for c in pieces:
        assert c.tokens <= 100
        body = c.text[c.text.index("```js") :]
        lines = body.splitlines()
        assert lines[0] == "```js" and "```" in lines[1:]
        assert all(re.fullmatch(r"console\.log\(\d+\);", x) for x in lines[1 : lines.index("```", 1)])
    logged = [int(n) for c in pieces for n in re.findall(r"console\.log\((\d+)\)", c.text)]
    assert logged == list(range(200))


def test_a_big_table_repeats_its_header() -> None:
    table = "| id | name |\n|:--|--:|\n" + "".join(f"| {i} | item number {i} |\n" for i in range(150))
    chunks = split_text(table, max_tokens=120)
    assert len(chunks) > 3
    for c in chunks:
        assert c.text.startswith("| id | name |\n|:--|--:|\n")
    rows = [int(n) for c in chunks for n in re.findall(r"(?m)^\| (\d+) \|", c.text)]
    assert rows == list(range(150))


def test_headings_start_chunks_and_never_end_them() -> None:
    sections = [
        f"## Part {i}\n\n" + " ".join(f"Sentence {j} of part {i}." for j in range(12)) for i in range(6)
    ]
    chunks = split_text("\n\n".join(sections), max_tokens=120)
    assert all(not c.text.rstrip().splitlines()[-1].startswith("#") for c in chunks)
    starts = [c for c in chunks if c.text.startswith("## Part")]
    assert len(starts) == 6  # each part opens a chunk of its own


def test_a_long_paragraph_is_cut_between_sentences() -> None:
    text = " ".join(f"This is sentence number {i}, e.g. one of many." for i in range(80))
    chunks = split_text(text, max_tokens=60)
    assert len(chunks) > 5
    for c in chunks:
        assert c.text.startswith("This is sentence") and c.text.endswith("of many.")


def test_overlap_repeats_whole_sentences_from_the_previous_chunk() -> None:
    text = " ".join(f"Fact {i} is here." for i in range(100))
    chunks = split_text(text, max_tokens=50, overlap=12)
    for before, after in itertools.pairwise(chunks):
        assert after.overlap_tokens > 0 and after.start < before.end < after.end
        first_sentence = after.text.split(". ")[0] + "."
        assert first_sentence in before.text  # starts with a whole sentence the previous chunk had
        assert re.match(r"Fact \d+ is here\.", after.text)
    assert all(c.tokens <= 50 for c in chunks)


def test_words_longer_than_a_chunk_are_cut_as_a_last_resort() -> None:
    blob = "data:" + "A" * 5000
    chunks = split_text(f"See {blob} here.", max_tokens=64)
    assert "".join(c.text.replace(" ", "") for c in chunks).count("A") == 5000
    assert all(c.tokens <= 64 for c in chunks)


@pytest.mark.skipif(not encodings.available(), reason="the tokens extra is not installed")
def test_exact_counts_with_the_models_encoding() -> None:
    count, exact = encoding_counter("o200k_base")
    assert exact
    text = "\n\n".join(f"Paragraph {i}: " + "tokens are counted exactly here. " * 10 for i in range(30))
    chunks = split_text(text, max_tokens=200, overlap=20, count=count)
    assert all(c.tokens == count(c.text) <= 200 for c in chunks)
    filled = split_text(text, max_tokens=200, count=count)
    assert min(c.tokens for c in filled[:-1]) > 150  # chunks are filled up to the limit, not kept small


def test_plain_text_mode_ignores_markdown() -> None:
    text = "# not a heading\n\n```\nnot code\n" + " word" * 200
    chunks = split_text(text, max_tokens=40, markdown=False)
    assert chunks[0].text.startswith("# not a heading")
    assert all(c.tokens <= 40 for c in chunks)


def test_empty_text_and_bad_arguments() -> None:
    assert split_text("", max_tokens=10) == []
    assert split_text("  \n\n  ", max_tokens=10) == []
    with pytest.raises(ConfigError, match="max_tokens"):
        split_text("x", max_tokens=0)
    with pytest.raises(ConfigError, match="overlap"):
        split_text("x", max_tokens=10, overlap=6)
