"""The simulator's "model": a pure, deterministic function from a request to a reply.

Every protocol module (OpenAI, Anthropic, Gemini) translates its wire request into a
``GenerationInput``, calls ``generate`` and renders the ``Generation`` back in its own
wire format. The reply depends only on the seed and the conversation text, so a test
can predict it (``expected_text``) and two runs of a benchmark see the same bytes.

A request's own ``seed`` field, when given, takes the place of the simulator's seed.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from llmrelay.errors import InvalidRequestError
from llmrelay.simulator.schema import schema_instance

__all__ = [
    "Generation",
    "GenerationInput",
    "SimToolCall",
    "ToolSpec",
    "conversation_of",
    "count_tokens",
    "expected_text",
    "generate",
    "schema_instance",
    "scripted_generation",
    "split_tokens",
]

# Tokens carried by each message besides its text (role markers), and by the reply primer;
# roughly what the OpenAI cookbook documents for its chat format.
MESSAGE_OVERHEAD = 3
REPLY_OVERHEAD = 3

# One token: an optional leading space and a word of up to 12 letters, a number of up to
# 3 digits, up to 3 punctuation marks, or a run of whitespace. Every character matches, so the
# pieces always join back into the text.
_TOKEN = re.compile(r"\s?[^\W\d_]{1,12}|\s?\d{1,3}|\s?[^\w\s]{1,3}|\s?_|\s+")


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str | None
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GenerationInput:
    """What the engine needs to know of a request, whatever protocol it came in.

    ``conversation`` is all message text joined (see ``conversation_of``);
    ``tool_choice`` is ``"auto"``, ``"none"``, ``"required"`` or ``("tool", name)``;
    ``json_mode`` is None, ``"object"`` or ``"schema"`` (then ``schema`` is set).
    """

    model: str
    conversation: str
    last_is_tool_result: bool
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str | tuple[str, str] = "auto"
    json_mode: str | None = None
    schema: dict[str, Any] | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    parallel_tool_calls: bool = True
    message_count: int = 1
    extra_prompt_tokens: int = 0  # prompt tokens the text does not show (images, audio)
    #: text the reply must continue (an Anthropic assistant prefill); not part of the reply
    prefill: str = ""


@dataclass(frozen=True, slots=True)
class SimToolCall:
    id: str
    name: str
    arguments: str  # compact JSON text that validates against the tool's parameters


@dataclass(frozen=True, slots=True)
class Generation:
    """The reply. ``pieces`` are the output tokens in order (one piece = one token).

    ``finish`` is ``"stop"``, ``"length"``, ``"tool_calls"`` or ``"stop_sequence"``
    (then ``stop_sequence`` names the one that matched, and ``completion_tokens``
    counts the tokens generated up to and including it). For tool calls,
    ``completion_tokens`` counts the tokens of the names and arguments.
    """

    pieces: tuple[str, ...]
    tool_calls: tuple[SimToolCall, ...]
    finish: str
    prompt_tokens: int
    completion_tokens: int
    stop_sequence: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)


# --------------------------------------------------------------------------- tokens


def split_tokens(text: str) -> list[str]:
    """The simulator's tokenization of ``text``; ``"".join(split_tokens(t)) == t``."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """The simulator's token count for ``text`` (an approximation of BPE tokenizers)."""
    return len(_TOKEN.findall(text))


def conversation_of(texts: Iterable[str]) -> str:
    """Join message texts into the ``conversation`` string the reply is derived from.

    Protocol modules use this so that the same conversation sent through any protocol
    yields the same reply.
    """
    return "\n".join(texts)


# --------------------------------------------------------------------------- text

_DETERMINERS = ("the", "a", "every", "each", "this", "that", "our", "their", "one", "another")
_ADJECTIVES = (
    "quiet", "bright", "careful", "distant", "gentle", "hidden", "steady", "simple", "early", "clear",
    "patient", "curious", "small", "large", "ancient", "modern", "narrow", "open", "silver", "golden",
    "swift", "warm", "cool", "honest", "useful", "subtle", "vivid", "calm", "rapid", "solid",
)  # fmt: skip
_NOUNS = (
    "river", "signal", "garden", "engine", "library", "window", "harbor", "question", "answer", "pattern",
    "lantern", "journey", "circuit", "letter", "mountain", "network", "teacher", "market", "forest", "bridge",
    "model", "request", "message", "record", "story", "channel", "village", "compass", "planet", "orchard",
)  # fmt: skip
_VERBS = (
    "carries", "finds", "shapes", "follows", "builds", "reaches", "holds", "crosses", "explains", "guides",
    "measures", "connects", "watches", "gathers", "answers", "improves", "remembers", "balances", "opens",
    "returns",
)  # fmt: skip
_PREPOSITIONS = (
    "across",
    "through",
    "near",
    "beyond",
    "under",
    "over",
    "toward",
    "beside",
    "within",
    "around",
)
_CONJUNCTIONS = ("and", "while", "because", "so", "but")


def _rng_for(conversation: str, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}\x00{conversation}".encode("utf-8", "surrogatepass")).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _text_key(conversation: str, seed: int) -> bytes:
    return f"text\x00{seed}\x00{conversation}".encode("utf-8", "surrogatepass")


# Text is drawn from a SHAKE-256 byte stream rather than random.Random: one C call
# supplies every choice, which keeps a reply to a few microseconds (the simulator is
# a benchmark upstream). A reply needs well under 200 draws.
_TEXT_BYTES = 512


def _noun_phrase(draw: Callable[[], int], out: list[str]) -> None:
    out.append(" " + _DETERMINERS[draw() % len(_DETERMINERS)])
    if draw() < 154:  # about 60%
        out.append(" " + _ADJECTIVES[draw() % len(_ADJECTIVES)])
    out.append(" " + _NOUNS[draw() % len(_NOUNS)])


def _sentence(draw: Callable[[], int], out: list[str]) -> None:
    """Append one sentence: words (each one token, with its leading space) and punctuation."""
    first = len(out)
    _noun_phrase(draw, out)
    out.append(" " + _VERBS[draw() % len(_VERBS)])
    _noun_phrase(draw, out)
    if draw() < 128:
        out.append(" " + _PREPOSITIONS[draw() % len(_PREPOSITIONS)])
        _noun_phrase(draw, out)
    if draw() < 77:  # about 30%
        out.append(",")
        out.append(" " + _CONJUNCTIONS[draw() % len(_CONJUNCTIONS)])
        _noun_phrase(draw, out)
        out.append(" " + _VERBS[draw() % len(_VERBS)])
        _noun_phrase(draw, out)
    word = out[first][1:].capitalize()
    out[first] = word if first == 0 else " " + word
    out.append(".")


def _text_pieces(key: bytes) -> list[str]:
    draw = iter(hashlib.shake_256(key).digest(_TEXT_BYTES)).__next__
    # Sentences have 6 to 21 tokens; stopping once past a target of 20..40 keeps
    # the reply within 20..60 tokens without cutting a sentence.
    target = 20 + draw() % 21
    pieces: list[str] = []
    while len(pieces) < target:
        _sentence(draw, pieces)
    return pieces


def _rng_draw(rng: random.Random) -> Callable[[], int]:
    return lambda: rng.getrandbits(8)


def _json_object_pieces(rng: random.Random) -> list[str]:
    payload = {
        "answer": _one_sentence(rng),
        "topic": rng.choice(_NOUNS),
        "confidence": round(rng.uniform(0.5, 1.0), 2),
        "tags": rng.sample(_ADJECTIVES, 2),
    }
    return split_tokens(json.dumps(payload))


def _one_sentence(rng: random.Random) -> str:
    out: list[str] = []
    _sentence(_rng_draw(rng), out)
    return "".join(out)


# --------------------------------------------------------------------------- tools

_ID_ALPHABET = string.ascii_letters + string.digits


def _call_id(rng: random.Random) -> str:
    return "call_" + "".join(rng.choices(_ID_ALPHABET, k=24))


def _tool_calls(inp: GenerationInput, rng: random.Random) -> tuple[SimToolCall, ...]:
    by_name = {t.name: t for t in inp.tools}
    choice = inp.tool_choice
    if isinstance(choice, tuple):
        forced = by_name.get(choice[1])
        if forced is None:
            raise InvalidRequestError(
                f"tool_choice names {choice[1]!r}, which is not among the tools offered"
            )
        chosen = [forced]
    else:
        chosen = [rng.choice(inp.tools)]
        if inp.parallel_tool_calls and len(inp.tools) > 1 and rng.random() < 0.5:
            chosen.append(rng.choice([t for t in inp.tools if t is not chosen[0]]))
    calls = []
    for tool in chosen:
        arguments = schema_instance(tool.parameters or {"type": "object", "properties": {}}, rng)
        calls.append(SimToolCall(_call_id(rng), tool.name, json.dumps(arguments, separators=(",", ":"))))
    return tuple(calls)


def _calls_tool(inp: GenerationInput) -> bool:
    """A forced choice (``required`` or a named tool) always calls, even right after a tool
    result, as the real APIs do; ``auto`` answers a tool result with text."""
    if not inp.tools or inp.tool_choice == "none":
        return False
    return inp.tool_choice != "auto" or not inp.last_is_tool_result


# --------------------------------------------------------------------------- generate


def prompt_tokens(inp: GenerationInput, conversation_tokens: int | None = None) -> int:
    """Prompt token count: the conversation, per-message overhead, and the tool definitions.

    ``conversation_tokens`` passes in ``count_tokens(inp.conversation)`` when the caller
    already split the conversation (the prompt cache needs the tokens themselves).
    """
    if conversation_tokens is None:
        conversation_tokens = count_tokens(inp.conversation)
    total = conversation_tokens + MESSAGE_OVERHEAD * inp.message_count + REPLY_OVERHEAD
    total += inp.extra_prompt_tokens
    for tool in inp.tools:
        total += count_tokens(tool.name) + count_tokens(tool.description or "")
        total += count_tokens(json.dumps(tool.parameters, separators=(",", ":")))
    return total


def generate(inp: GenerationInput, *, seed: int, prompt: int | None = None) -> Generation:
    """The deterministic reply to ``inp``; ``inp.seed``, when set, overrides ``seed``.

    ``prompt`` passes in ``prompt_tokens(inp)`` when the caller already counted it.
    """
    seed = seed if inp.seed is None else inp.seed
    if prompt is None:
        prompt = prompt_tokens(inp)
    if _calls_tool(inp):
        calls = _tool_calls(inp, _rng_for(inp.conversation, seed))
        used = sum(count_tokens(c.name) + count_tokens(c.arguments) for c in calls)
        return Generation((), calls, "tool_calls", prompt, used)
    if inp.json_mode == "schema":
        if inp.schema is None:
            raise InvalidRequestError("json_mode 'schema' needs a schema")
        pieces = split_tokens(json.dumps(schema_instance(inp.schema, _rng_for(inp.conversation, seed))))
    elif inp.json_mode == "object":
        pieces = _json_object_pieces(_rng_for(inp.conversation, seed))
    else:
        pieces = _text_pieces(_text_key(inp.conversation, seed))
        if inp.prefill:
            pieces = _continue(pieces, inp.prefill)
    return _finish(pieces, prompt, inp.max_tokens, inp.stop)


def _continue(pieces: list[str], prefill: str) -> list[str]:
    """What follows ``prefill`` in the reply: the model picks up where the prefill ends.

    When the prefill is the start of the reply it would have given, the continuation is
    the rest of that reply, so a reply cut short and continued reads exactly like the
    whole one. Otherwise it goes on with the reply it would have given from the start.
    """
    text = "".join(pieces)
    if not text.startswith(prefill):
        return pieces
    return split_tokens(text[len(prefill) :])


def scripted_generation(
    inp: GenerationInput,
    text: str,
    calls: Sequence[tuple[str, str]],
    *,
    seed: int,
    prompt: int | None = None,
) -> Generation:
    """A reply whose content is given (a scripted ``Reply``): ``text`` and ``calls`` as
    ``(name, arguments JSON)``. Usage and ids are computed as for a generated reply; a text
    without calls honours ``max_tokens`` and stop sequences."""
    seed = seed if inp.seed is None else inp.seed
    if prompt is None:
        prompt = prompt_tokens(inp)
    pieces = split_tokens(text)
    if not calls:
        return _finish(pieces, prompt, inp.max_tokens, inp.stop)
    rng = _rng_for(inp.conversation, seed)
    sim_calls = tuple(SimToolCall(_call_id(rng), name, arguments) for name, arguments in calls)
    used = len(pieces) + sum(count_tokens(c.name) + count_tokens(c.arguments) for c in sim_calls)
    return Generation(tuple(pieces), sim_calls, "tool_calls", prompt, used)


def _finish(pieces: list[str], prompt: int, max_tokens: int | None, stop: tuple[str, ...]) -> Generation:
    limit = len(pieces) if max_tokens is None else min(max_tokens, len(pieces))
    hit = _first_stop(pieces, stop)
    if hit is not None:
        position, sequence = hit
        # Tokens needed to have produced the whole stop sequence; a model that runs out
        # of tokens first stops for length and never sees it.
        needed, offset = 0, 0
        for piece in pieces:
            if offset >= position + len(sequence):
                break
            offset += len(piece)
            needed += 1
        if needed <= limit:
            kept, total = [], 0
            for piece in pieces:
                if total + len(piece) >= position:
                    if position > total:
                        kept.append(piece[: position - total])
                    break
                kept.append(piece)
                total += len(piece)
            return Generation(tuple(kept), (), "stop_sequence", prompt, needed, sequence)
    if limit < len(pieces):
        return Generation(tuple(pieces[:limit]), (), "length", prompt, limit)
    return Generation(tuple(pieces), (), "stop", prompt, len(pieces))


def _first_stop(pieces: list[str], stop: tuple[str, ...]) -> tuple[int, str] | None:
    if not stop:
        return None
    text = "".join(pieces)
    best: tuple[int, str] | None = None
    for sequence in stop:
        if not sequence:
            continue
        index = text.find(sequence)
        if index >= 0 and (best is None or index < best[0]):
            best = (index, sequence)
    return best


def expected_text(conversation: str, *, seed: int, max_tokens: int | None = None) -> str:
    """The text ``generate`` returns for a plain-text reply to ``conversation`` (for tests)."""
    pieces = _text_pieces(_text_key(conversation, seed))
    return "".join(pieces if max_tokens is None else pieces[:max_tokens])
