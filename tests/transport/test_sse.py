from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.errors import MalformedResponseError
from llmrelay.transport.sse import SSEDecoder
from llmrelay.wire import SSEEvent


def decode(*chunks: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    return events


def bytewise(raw: bytes) -> list[SSEEvent]:
    return decode(*(raw[i : i + 1] for i in range(len(raw))))


# --------------------------------------------------------------------------- explicit cases


def test_basic_event_and_default_type() -> None:
    assert decode(b"data: hello\n\n") == [SSEEvent(data="hello")]


def test_all_line_endings_are_equivalent() -> None:
    for nl in (b"\n", b"\r", b"\r\n"):
        raw = b"event: delta" + nl + b"data: a" + nl + b"data: b" + nl + nl
        assert decode(raw) == [SSEEvent(data="a\nb", event="delta")], nl


def test_crlf_split_between_cr_and_lf_is_one_line_ending() -> None:
    # Were the LF taken for a second line ending, the blank line would dispatch early.
    events = decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")
    assert events == [SSEEvent(data="a\nb")]


def test_cr_at_end_of_read_then_blank_lf_read() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\n") == []  # the LF completes the CRLF, it is not a blank line
    assert decoder.feed(b"\n") == [SSEEvent(data="x")]


def test_multibyte_utf8_split_across_reads() -> None:
    raw = "data: 你好 € 🎉\n\n".encode()
    assert bytewise(raw) == [SSEEvent(data="你好 € 🎉")]
    euro = "€".encode()
    assert decode(b"data: " + euro[:1], euro[1:2], euro[2:] + b"\n\n") == [SSEEvent(data="€")]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode(b"data: a\xffb\n\n") == [SSEEvent(data="a\ufffdb")]


def test_comments_are_ignored() -> None:
    raw = b": keep-alive\n:\ndata: x\n: between\ndata: y\n\n: trailing\n\n"
    assert decode(raw) == [SSEEvent(data="x\ny")]


def test_only_one_leading_space_is_stripped() -> None:
    assert decode(b"data:  two spaces\n\n") == [SSEEvent(data=" two spaces")]
    assert decode(b"data:nospace\n\n") == [SSEEvent(data="nospace")]
    assert decode(b"data:\tx\n\n") == [SSEEvent(data="\tx")]


def test_value_keeps_later_colons() -> None:
    assert decode(b'data: {"a": "b:c"}\n\n') == [SSEEvent(data='{"a": "b:c"}')]


def test_field_without_colon_has_empty_value() -> None:
    assert decode(b"data\n\n") == [SSEEvent(data="")]
    assert decode(b"data\ndata\n\n") == [SSEEvent(data="\n")]
    assert decode(b"event\ndata: x\n\n") == [SSEEvent(data="x", event="message")]


def test_empty_data_field_dispatches_empty_event() -> None:
    assert decode(b"data:\n\n") == [SSEEvent(data="")]


def test_events_without_data_are_ignored_and_reset_the_type() -> None:
    raw = b"event: ping\n\ndata: x\n\n"
    assert decode(raw) == [SSEEvent(data="x", event="message")]
    assert decode(b"id: 1\nretry: 5\n\n") == []


def test_id_persists_across_events_and_can_be_reset() -> None:
    raw = b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\ndata: d\n\n"
    assert [(e.data, e.id) for e in decode(raw)] == [("a", "1"), ("b", "1"), ("c", ""), ("d", "2")]


def test_id_with_nul_is_ignored() -> None:
    assert decode(b"id: 1\ndata: a\n\nid: x\x00y\ndata: b\n\n")[1].id == "1"


def test_retry_must_be_ascii_digits() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(
        b"retry: 1500\ndata: a\n\nretry: 1a\ndata: b\n\nretry:\ndata: c\n\nretry: \xd9\xa1\ndata: d\n\n"
    )
    assert [(e.data, e.retry) for e in events] == [("a", 1500), ("b", None), ("c", None), ("d", None)]
    assert decoder.retry == 1500


def test_unknown_fields_are_ignored() -> None:
    assert decode(b"foo: bar\ndata: x\nDATA: y\n\n") == [SSEEvent(data="x")]


def test_bom_is_stripped_once_even_when_split() -> None:
    assert decode(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [SSEEvent(data="x")]
    # A second BOM belongs to the field name, which then names no known field.
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n") == [SSEEvent(data="y")]
    # A BOM later in the stream is not special either.
    assert decode(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [SSEEvent(data="a")]


def test_flush_dispatches_an_unterminated_final_event() -> None:
    assert decode(b"data: a\n\ndata: last\n") == [SSEEvent(data="a"), SSEEvent(data="last")]
    assert decode(b"data: a\n\ndata: [DONE]") == [SSEEvent(data="a"), SSEEvent(data="[DONE]")]
    assert decode(b"\xef\xbb\xbfdata: only") == [SSEEvent(data="only")]
    assert decode(b"data: a\r") == [SSEEvent(data="a")]


def test_flush_on_empty_or_complete_stream_yields_nothing() -> None:
    assert decode() == []
    assert decode(b"") == []
    assert decode(b"data: a\n\n", b"") == [SSEEvent(data="a")]
    assert decode(b": just a comment") == []


def test_long_line_arriving_in_many_small_reads() -> None:
    payload = b"x" * 200_000
    raw = b"data: " + payload + b"\n\n"
    chunks = [raw[i : i + 997] for i in range(0, len(raw), 997)]
    assert decode(*chunks) == [SSEEvent(data=payload.decode())]


def test_many_events_in_one_read() -> None:
    raw = b"".join(b'data: {"i": %d}\n\n' % i for i in range(500))
    events = decode(raw)
    assert [e.data for e in events] == [f'{{"i": {i}}}' for i in range(500)]


def test_a_line_that_never_ends_is_refused_past_the_limit() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    assert decoder.feed(b"data: " + b"x" * 600) == []
    with pytest.raises(MalformedResponseError, match="exceeded 1000 bytes"):
        decoder.feed(b"x" * 600)


def test_an_event_with_too_many_data_lines_is_refused() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    assert decoder.feed(b"data: " + b"x" * 400 + b"\n") == []
    assert decoder.feed(b"data: " + b"x" * 400 + b"\n") == []
    with pytest.raises(MalformedResponseError):
        decoder.feed(b"data: " + b"x" * 400 + b"\n")


def test_the_limit_is_per_event() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    for _ in range(10):
        assert decoder.feed(b"data: " + b"x" * 900 + b"\n\n") == [SSEEvent(data="x" * 900)]
    unlimited = SSEDecoder(max_event_bytes=None)
    assert unlimited.feed(b"data: " + b"x" * 100_000 + b"\n\n") == [SSEEvent(data="x" * 100_000)]


# --------------------------------------------------------------------------- property: any split, same events

# Characters with a meaning in the format (space, colon, NUL, BOM) drawn often, plus any other.
_char = st.sampled_from(" :a\x00\t\ufeffé€🎉") | st.characters(codec="utf-8", exclude_characters="\r\n")
_value = st.lists(_char, max_size=12).map("".join)  # st.text would flatten the weighting away
_endings = st.sampled_from(["\n", "\r", "\r\n"])


@dataclass(frozen=True)
class Block:
    data: list[str] | None  # None: a block with no data, which dispatches nothing
    event: str | None
    id: str | None
    retry: int | None


_blocks = st.builds(
    Block,
    data=st.none() | st.lists(_value, min_size=1, max_size=4),
    event=st.none() | _value,
    id=st.none() | _value.filter(lambda v: "\x00" not in v),
    retry=st.none() | st.integers(min_value=0, max_value=10**9),
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[SSEEvent]]:
    """A serialized stream with random framing choices, and the events it must decode to."""
    blocks = draw(st.lists(_blocks, max_size=6))
    lines: list[str] = []
    expected: list[SSEEvent] = []
    last_id: str | None = None

    def field(name: str, value: str) -> str:
        if value == "" and draw(st.booleans()):
            return name  # a field with no colon at all
        if value.startswith(" ") or draw(st.booleans()):
            return f"{name}: {value}"  # the one stripped space protects a leading space
        return f"{name}:{value}"

    for block in blocks:
        fields = [field("data", d) for d in block.data or []]
        extras = []
        if block.event is not None:
            extras.append(field("event", block.event))
        if block.id is not None:
            extras.append(field("id", block.id))
        if block.retry is not None:
            extras.append(field("retry", str(block.retry)))
        for extra in extras:  # other fields go anywhere among the data lines, which keep their order
            fields.insert(draw(st.integers(min_value=0, max_value=len(fields))), extra)
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            comment = ":" + draw(_value)
            fields.insert(draw(st.integers(min_value=0, max_value=len(fields))), comment)
        lines.extend(fields)
        lines.append("")
        if block.id is not None:
            last_id = block.id
        if block.data is not None:
            expected.append(
                SSEEvent(
                    data="\n".join(block.data), event=block.event or "message", id=last_id, retry=block.retry
                )
            )

    # The last event may lack its blank line: flush() still dispatches it.
    drop_last_blank = draw(st.booleans())
    if lines and drop_last_blank:
        lines.pop()
    out: list[str] = []
    previous = ""
    for line in lines:
        ending = draw(_endings)
        if previous == "\r" and line == "" and ending == "\n":
            ending = "\r\n"  # CR then LF would be one line ending, not two
        out.append(line + ending)
        previous = ending
    raw = "".join(out).encode()
    if draw(st.booleans()):
        raw = b"\xef\xbb\xbf" + raw
    return raw, expected


@settings(max_examples=300, deadline=None)
@given(streams(), st.data())
def test_any_split_decodes_like_the_whole(stream: tuple[bytes, list[SSEEvent]], data: st.DataObject) -> None:
    raw, expected = stream
    assert decode(raw) == expected
    cuts = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=len(raw)), max_size=12)))
    bounds = [0, *cuts, len(raw)]
    chunks = [raw[a:b] for a, b in itertools.pairwise(bounds)]
    assert decode(*chunks) == expected


@settings(max_examples=60, deadline=None)
@given(streams())
def test_byte_by_byte_decodes_like_the_whole(stream: tuple[bytes, list[SSEEvent]]) -> None:
    raw, expected = stream
    assert bytewise(raw) == expected


_block = st.one_of(
    st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30).map(
        lambda t: "data: " + t
    ),
    st.lists(
        st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=8),
        min_size=2,
        max_size=3,
    ).map(lambda ts: "\n".join("data: " + t for t in ts)),
    st.sampled_from([": ping", "event: delta\ndata: x", "id: 7\ndata: y", "retry: 10\ndata: z", "data:", ""]),
)


@given(
    blocks=st.lists(_block, min_size=1, max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=11), max_size=4),
    unterminated=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_reads_of_whole_events_decode_like_byte_by_byte(
    blocks: list[str], cuts: list[int], unterminated: bool
) -> None:
    """LF-only streams cut at event boundaries take the block fast path; they must decode
    exactly as the same bytes fed one at a time (which never can)."""
    events = [(b + "\n\n").encode() for b in blocks]
    if unterminated:
        events[-1] = events[-1][:-2]
    reads, start = [], 0
    for cut in [*sorted({c for c in cuts if c < len(events)}), len(events)]:
        if cut > start:
            reads.append(b"".join(events[start:cut]))
            start = cut
    # warm the decoder past the BOM check with a first event, as a real stream would
    prefix = b"data: first\n\n"
    assert decode(prefix, *reads) == bytewise(prefix + b"".join(reads))
