"""Markdown as a sequence of blocks: headings, fenced code, tables, lists and paragraphs.

Only the structure a splitter must respect is recognised (CommonMark's fences, ATX
headings, GFM tables, list items); everything else is a paragraph. Blocks tile the text:
each one carries the blank lines that follow it, so joining every block's text gives the
input back exactly, and each block knows its character offsets in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["heading", "code", "table", "list", "paragraph"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]")
_TABLE_DELIMITER = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


@dataclass(frozen=True, slots=True)
class Block:
    """One block: ``text`` is ``source[start:end]``, trailing blank lines included."""

    kind: BlockKind
    text: str
    start: int
    end: int

    @property
    def body(self) -> str:
        """The text without the blank lines after it."""
        return self.text.rstrip("\n")


def _lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        out.append((offset, line))
        offset += len(line)
    return out


def _blank(line: str) -> bool:
    return not line.strip()


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) <= 3 and len(stripped) >= len(fence) and set(stripped) == {fence[0]}
    )


def _table_starts(lines: list[tuple[int, str]], i: int) -> bool:
    return (
        "|" in lines[i][1]
        and i + 1 < len(lines)
        and "|" in lines[i + 1][1] + lines[i][1]
        and bool(_TABLE_DELIMITER.match(lines[i + 1][1].rstrip("\n")))
        and "-" in lines[i + 1][1]
    )


def _starts_block(lines: list[tuple[int, str]], i: int) -> bool:
    line = lines[i][1]
    return bool(_FENCE.match(line) or _HEADING.match(line) or _table_starts(lines, i))


def parse_blocks(text: str) -> list[Block]:
    """The blocks of ``text``, in order; ``"".join(b.text for b in blocks) == text``."""
    lines = _lines(text)
    blocks: list[Block] = []
    i = 0
    while i < len(lines) and _blank(lines[i][1]):  # blank lines before the first block belong to it
        i += 1
    while i < len(lines):
        first = i
        line = lines[i][1]
        kind: BlockKind
        fence = _FENCE.match(line)
        if fence:
            kind = "code"
            marker = fence.group(1)
            i += 1
            while i < len(lines) and not _closes(lines[i][1], marker):
                i += 1
            i = min(i + 1, len(lines))  # the closing fence (an unclosed one runs to the end)
        elif _HEADING.match(line):
            kind = "heading"
            i += 1
        elif _table_starts(lines, i):
            kind = "table"
            i += 2
            while i < len(lines) and not _blank(lines[i][1]) and "|" in lines[i][1]:
                i += 1
        elif _LIST_ITEM.match(line):
            kind = "list"
            i += 1
            while i < len(lines):
                current = lines[i][1]
                if _blank(current):
                    # a loose list goes on after a blank line with another item or an indented line
                    j = i
                    while j < len(lines) and _blank(lines[j][1]):
                        j += 1
                    if j < len(lines) and (
                        _LIST_ITEM.match(lines[j][1]) or lines[j][1].startswith(("  ", "\t"))
                    ):
                        i = j
                        continue
                    break
                if i > first and _starts_block(lines, i) and not current.startswith(("  ", "\t")):
                    break
                i += 1
        else:
            kind = "paragraph"
            i += 1
            while i < len(lines) and not _blank(lines[i][1]) and not _starts_block(lines, i):
                i += 1
        while i < len(lines) and _blank(lines[i][1]):
            i += 1
        start = lines[first][0] if blocks else 0
        end = lines[i][0] if i < len(lines) else len(text)
        blocks.append(Block(kind, text[start:end], start, end))
    if not blocks and text:
        blocks.append(Block("paragraph", text, 0, len(text)))
    return blocks


def plain_blocks(text: str) -> list[Block]:
    """Paragraphs separated by blank lines, for text that is not Markdown."""
    out: list[Block] = []
    for match in re.finditer(r"\S.*?(?:\n[ \t]*\n\s*|\Z)", text, flags=re.S):
        start = 0 if not out else match.start()
        out.append(Block("paragraph", text[start : match.end()], start, match.end()))
    if out and out[-1].end < len(text):
        last = out[-1]
        out[-1] = Block("paragraph", text[last.start :], last.start, len(text))
    return out if out or not text else [Block("paragraph", text, 0, len(text))]


def fence_of(block: Block) -> tuple[str, str]:
    """The opening and closing fence lines of a code block (the closing one is made up
    when the block was never closed)."""
    lines = block.body.split("\n")
    opening = lines[0]
    match = _FENCE.match(opening)
    marker = match.group(1) if match else "```"
    last = lines[-1] if len(lines) > 1 else ""
    closing = last if _closes(last, marker) else marker
    return opening, closing
