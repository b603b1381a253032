"""Markdown blocks: they tile the text, and each structure is recognised whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llmrelay.app.documents.markdown import fence_of, parse_blocks, plain_blocks

DOC = """

# Title

Some text
over two lines.

~~~~sh
echo "a ``` inside does not close a ~~~~ fence"
~~~~
| a | b |
| - | - |
| 1 | 2 |

1. first
2. second

   still the second

Closing words.
```python
unclosed = True
"""


def test_kinds_and_offsets() -> None:
    blocks = parse_blocks(DOC)
    assert [b.kind for b in blocks] == ["heading", "paragraph", "code", "table", "list", "paragraph", "code"]
    assert "".join(b.text for b in blocks) == DOC
    for b in blocks:
        assert DOC[b.start : b.end] == b.text
    code = blocks[2]
    assert code.body.endswith("~~~~") and "does not close" in code.body
    assert fence_of(code) == ("~~~~sh", "~~~~")
    assert "still the second" in blocks[4].text
    assert fence_of(blocks[6]) == ("```python", "```")  # an unclosed fence runs to the end


def test_pipes_without_a_delimiter_row_are_a_paragraph() -> None:
    (block,) = parse_blocks("a | b\nc | d\n")
    assert block.kind == "paragraph"


@given(
    st.lists(
        st.sampled_from(["# h", "text", "", "```", "| x |", "|---|", "- item", "  more", "~~~"]), max_size=40
    )
)
def test_blocks_always_tile_the_text(lines: list[str]) -> None:
    text = "\n".join(lines)
    for blocks in (parse_blocks(text), plain_blocks(text)):
        assert "".join(b.text for b in blocks) == text
        assert all(text[b.start : b.end] == b.text for b in blocks)
