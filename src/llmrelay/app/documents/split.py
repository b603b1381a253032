"""Split text into chunks of at most ``max_tokens`` tokens, on the best boundaries available.

    chunks = split_text(document, max_tokens=2000, overlap=200, count=counter)

Boundaries, best first: between Markdown blocks (a heading starts a chunk when the chunk
is already half full, and a chunk never ends on a heading), between sentences, between
words, and — only for a "word" longer than a chunk — inside it. A fenced code block or a
table is never cut when it fits in a chunk; one that does not is cut between lines, each
piece closed and reopened with its fence (code) or headed by the table's header rows, so
every chunk is valid Markdown.

``overlap`` tokens from the end of a chunk are repeated at the start of the next one, as
whole sentences or blocks (never a piece of code cut in half), to keep context across the
cut. ``count`` is the model's token counter (``llmrelay.app.documents.token_counter``);
every chunk is checked with it as a whole, so none is over ``max_tokens``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llmrelay.app.documents.markdown import Block, fence_of, parse_blocks, plain_blocks
from llmrelay.app.documents.sentences import line_spans, sentence_spans, word_spans
from llmrelay.errors import ConfigError
from llmrelay.tokens import estimate_text

Counter = Callable[[str], int]
_PROSE = frozenset(("paragraph", "list", "sentence", "line", "word"))


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk. ``start``/``end`` are the character offsets in the source it covers,
    overlap included; ``body_start`` is where its new content begins. ``text`` is the
    source between them, stripped — except where a code block or table had to be cut,
    whose pieces carry their fence or header again."""

    index: int
    text: str
    tokens: int
    start: int
    end: int
    body_start: int
    overlap_tokens: int


@dataclass(frozen=True, slots=True)
class _Unit:
    """Something a chunk holds whole: a block, a sentence, a line, a word, or a piece of a
    code block or table."""

    text: str
    start: int
    end: int
    tokens: int
    kind: str


def split_text(
    text: str,
    *,
    max_tokens: int,
    overlap: int = 0,
    count: Counter | None = None,
    markdown: bool = True,
) -> list[Chunk]:
    """Chunks of ``text`` of at most ``max_tokens`` tokens each (see the module docstring).

    ``overlap`` must be at most half of ``max_tokens``. ``count`` defaults to llmrelay's
    character-based estimate; give the model's counter for exact sizes. With ``markdown``
    False only blank lines separate blocks.
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ConfigError(f"max_tokens must be a whole number of tokens >= 1, got {max_tokens!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap <= max_tokens // 2:
        raise ConfigError(
            f"overlap must be a whole number of tokens from 0 to half of max_tokens ({max_tokens // 2}), "
            f"got {overlap!r}"
        )
    counter = count or estimate_text
    blocks = parse_blocks(text) if markdown else plain_blocks(text)
    units: list[_Unit] = []
    for block in blocks:
        units.extend(_units(text, block, max_tokens, max_tokens - overlap, counter))
    return _Packer(text, units, max_tokens, overlap, counter).pack()


# --------------------------------------------------------------------------- units


def _unit(source: str, start: int, end: int, kind: str, count: Counter) -> _Unit:
    piece = source[start:end]
    return _Unit(piece, start, end, count(piece), kind)


def _units(source: str, block: Block, limit: int, capacity: int, count: Counter) -> list[_Unit]:
    """A block as units of at most ``capacity`` tokens (code and tables: ``limit``, so they
    are cut only when they cannot fit a chunk at all)."""
    if not block.text.strip():
        return []
    whole = _Unit(block.text, block.start, block.end, count(block.text), block.kind)
    if block.kind in ("code", "table"):
        # the blank lines after it cost nothing at the end of a chunk: a block that fits without them is whole
        if whole.tokens <= limit or count(block.body) <= limit:
            return [whole]
        return (
            _code_pieces(source, block, capacity, count)
            if block.kind == "code"
            else _table_pieces(source, block, capacity, count)
        )
    if whole.tokens <= capacity:
        return [whole]
    if block.kind == "list":
        return _spans(source, line_spans(source, block.start, block.end), "line", capacity, count)
    return _spans(source, sentence_spans(source, block.start, block.end), "sentence", capacity, count)


def _spans(
    source: str, spans: list[tuple[int, int]], kind: str, capacity: int, count: Counter
) -> list[_Unit]:
    out: list[_Unit] = []
    for start, end in spans:
        unit = _unit(source, start, end, kind, count)
        if unit.tokens <= capacity:
            out.append(unit)
        elif kind == "line":
            out.extend(_spans(source, sentence_spans(source, start, end), "sentence", capacity, count))
        elif kind == "sentence":
            out.extend(_spans(source, word_spans(source, start, end), "word", capacity, count))
        else:
            out.extend(_cut(source, start, end, capacity, count))
    return out


def _cut(source: str, start: int, end: int, capacity: int, count: Counter) -> list[_Unit]:
    """A run without spaces longer than a chunk (a URL, base64): the longest prefixes that fit."""
    out: list[_Unit] = []
    while start < end:
        low, high = 1, end - start
        while low < high:  # the longest prefix within capacity (at least one character)
            mid = (low + high + 1) // 2
            if count(source[start : start + mid]) <= capacity:
                low = mid
            else:
                high = mid - 1
        out.append(_unit(source, start, start + low, "word", count))
        start += low
    return out


def _code_pieces(source: str, block: Block, capacity: int, count: Counter) -> list[_Unit]:
    opening, closing = fence_of(block)
    lines = line_spans(source, block.start, block.start + len(block.body))
    inner = (
        lines[1:-1]
        if len(lines) > 1 and source[lines[-1][0] : lines[-1][1]].strip() == closing.strip()
        else lines[1:]
    )
    wrap = count(f"{opening}\n{closing}\n\n")
    return _spanning(
        block,
        _grouped(
            source,
            inner,
            lambda body: f"{opening}\n{body.rstrip(chr(10))}\n{closing}\n\n",
            wrap,
            capacity,
            count,
            "code",
        ),
    )


def _table_pieces(source: str, block: Block, capacity: int, count: Counter) -> list[_Unit]:
    lines = line_spans(source, block.start, block.start + len(block.body))
    header = source[lines[0][0] : lines[1][1]]
    if not header.endswith("\n"):
        header += "\n"
    wrap = count(header)
    if wrap >= capacity // 2:  # a header that leaves no room for rows: cut the table as text
        return _spans(source, lines, "line", capacity, count)
    pieces = _grouped(
        source, lines[2:], lambda body: f"{header}{body.rstrip(chr(10))}\n\n", wrap, capacity, count, "table"
    )
    return _spanning(block, pieces)


def _spanning(block: Block, pieces: list[_Unit]) -> list[_Unit]:
    """The pieces of a cut block, the first covering its opening lines (fence, header) and
    the last its closing fence, so that the chunks' spans cover the whole block."""
    if pieces:
        first, last = pieces[0], pieces[-1]
        pieces[0] = _Unit(first.text, block.start, first.end, first.tokens, first.kind)
        last = pieces[-1]
        pieces[-1] = _Unit(last.text, last.start, block.start + len(block.body), last.tokens, last.kind)
    return pieces


def _grouped(
    source: str,
    lines: list[tuple[int, int]],
    render: Callable[[str], str],
    wrap: int,
    capacity: int,
    count: Counter,
    kind: str,
) -> list[_Unit]:
    """Consecutive lines grouped into pieces that fit ``capacity`` once rendered."""
    out: list[_Unit] = []
    group: list[tuple[int, int]] = []
    total = wrap

    def flush() -> None:
        if group:
            text = render(source[group[0][0] : group[-1][1]])
            out.append(_Unit(text, group[0][0], group[-1][1], count(text), kind))

    for start, end in lines:
        tokens = count(source[start:end])
        if tokens + wrap > capacity:  # one line longer than a chunk: cut it, unwrapped
            flush()
            group, total = [], wrap
            out.extend(_spans(source, word_spans(source, start, end), "word", capacity, count))
            continue
        if group and total + tokens > capacity:
            flush()
            group, total = [], wrap
        group.append((start, end))
        total += tokens
    flush()
    return out


# --------------------------------------------------------------------------- packing


class _Packer:
    def __init__(
        self, source: str, units: list[_Unit], max_tokens: int, overlap: int, count: Counter
    ) -> None:
        self.source = source
        self.units = units
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.count = count

    def pack(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        carried: list[_Unit] = []
        i = 0
        while i < len(self.units):
            carried_tokens = sum(u.tokens for u in carried)
            first = self.units[i]
            while carried and carried_tokens + first.tokens > self.max_tokens:
                carried_tokens -= carried.pop(0).tokens  # a big block: less overlap rather than a cut
            body: list[_Unit] = []
            total = carried_tokens
            while i < len(self.units):
                unit = self.units[i]
                if body and total + unit.tokens > self.max_tokens:
                    break
                if body and unit.kind == "heading" and total >= self.max_tokens // 2:
                    break  # a section starts a chunk of its own when this one is half full
                body.append(unit)
                total += unit.tokens
                i += 1
            while len(body) > 1 and body[-1].kind == "heading":  # a heading goes with what follows it
                body.pop()
                i -= 1
            text, tokens = self._measure(carried + body)
            while tokens > self.max_tokens and (len(body) > 1 or carried):
                # the whole counts more than its parts (tokens merge differently at the joins)
                if carried:
                    carried.pop(0)
                else:
                    body.pop()
                    i -= 1
                text, tokens = self._measure(carried + body)
            if text:
                chunks.append(self._chunk(len(chunks), text, tokens, carried, body))
            carried = self._overlap(carried + body) if self.overlap else []
        return chunks

    def _measure(self, units: list[_Unit]) -> tuple[str, int]:
        text = "".join(u.text for u in units).strip()
        return text, self.count(text)

    def _chunk(self, index: int, text: str, tokens: int, carried: list[_Unit], body: list[_Unit]) -> Chunk:
        start = (carried or body)[0].start
        end = body[-1].end
        while end > start and self.source[end - 1].isspace():
            end -= 1
        while start < end and self.source[start].isspace():
            start += 1
        return Chunk(index, text, tokens, start, end, body[0].start, sum(u.tokens for u in carried))

    def _overlap(self, units: list[_Unit]) -> list[_Unit]:
        """Whole units (or sentences of the last prose unit) from the end, within ``overlap``."""
        picked: list[_Unit] = []
        total = 0
        for unit in reversed(units):
            if total + unit.tokens <= self.overlap:
                picked.insert(0, unit)
                total += unit.tokens
                continue
            if unit.kind in _PROSE:
                for start, end in reversed(sentence_spans(self.source, unit.start, unit.end)):
                    piece = _unit(self.source, start, end, "sentence", self.count)
                    if total + piece.tokens > self.overlap:
                        break
                    picked.insert(0, piece)
                    total += piece.tokens
            break
        return picked
