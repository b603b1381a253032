"""Render the engine's reply as a Responses API ``response`` object and its stream events.

Pure functions. The output items are, in order: a ``reasoning`` item (reasoning models),
then a ``message`` item (text) or one ``function_call`` item per call. ``stream_events``
gives the real API's event order: ``response.created``, ``response.in_progress``, per
item ``response.output_item.added`` … its deltas … ``response.output_item.done``, then
``response.completed`` or ``response.incomplete`` carrying the whole response.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.engine import Generation, count_tokens, expected_text, split_tokens
from llmrelay.simulator.responses_api_request import Reasoning, ResponsesCall, seal
from llmrelay.simulator.thinking import EFFORT_FACTOR


@dataclass(frozen=True, slots=True)
class Thought:
    """A reasoning model's hidden reasoning: its summary text and the tokens it cost."""

    item_id: str
    text: str
    tokens: int
    ask: Reasoning


def think(call: ResponsesCall, item_id: str, seed: int) -> Thought | None:
    if call.reasoning is None:
        return None
    text = expected_text("reasoning\x00" + call.inp.conversation, seed=seed)
    return Thought(item_id, text, count_tokens(text) * EFFORT_FACTOR[call.reasoning.effort], call.reasoning)


@dataclass(frozen=True, slots=True)
class Answer:
    """Everything a response object is built from."""

    call: ResponsesCall
    response_id: str
    created: int
    generation: Generation | None  # None when reasoning used the whole output budget
    thought: Thought | None
    seed: int
    prompt_tokens: int
    cached_tokens: int = 0
    service_tier: str = "default"

    @property
    def incomplete(self) -> bool:
        return self.generation is None or self.generation.finish == "length"

    def item_id(self, prefix: str, n: int = 0) -> str:
        return f"{prefix}_{self.response_id[5:]}{n:02d}"


def answer_for(call: ResponsesCall, generation: Generation | None, thought: Thought | None, *,
               response_id: str, seed: int, prompt_tokens: int, cached_tokens: int = 0,
               service_tier: str = "default") -> Answer:  # fmt: skip
    return Answer(
        call,
        response_id,
        int(time.time()),
        generation,
        thought,
        seed,
        prompt_tokens,
        cached_tokens,
        service_tier,
    )


# --------------------------------------------------------------------------- items


def reasoning_item(answer: Answer, *, done: bool) -> dict[str, Any]:
    thought = answer.thought
    assert thought is not None
    summary = [{"type": "summary_text", "text": thought.text}] if thought.ask.summary and done else []
    item: dict[str, Any] = {"id": thought.item_id, "type": "reasoning", "summary": summary}
    if thought.ask.encrypted and done:
        item["encrypted_content"] = seal(thought.item_id, thought.text, answer.seed)
    return item


def message_item(answer: Answer, text: str, *, done: bool) -> dict[str, Any]:
    status = ("incomplete" if answer.incomplete else "completed") if done else "in_progress"
    content = [_text_part(text)] if done else []
    return {
        "id": answer.item_id("msg"),
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def call_item(answer: Answer, position: int, *, done: bool) -> dict[str, Any]:
    assert answer.generation is not None
    call = answer.generation.tool_calls[position]
    return {
        "id": answer.item_id("fc", position),
        "type": "function_call",
        "status": "completed" if done else "in_progress",
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments if done else "",
    }


def output_items(answer: Answer) -> list[dict[str, Any]]:
    out = [reasoning_item(answer, done=True)] if answer.thought is not None else []
    generation = answer.generation
    if generation is None:
        return out
    if generation.tool_calls:
        out.extend(call_item(answer, i, done=True) for i in range(len(generation.tool_calls)))
    else:
        out.append(message_item(answer, generation.text, done=True))
    return out


# --------------------------------------------------------------------------- the response


def usage(answer: Answer) -> dict[str, Any]:
    reasoning = answer.thought.tokens if answer.thought is not None else 0
    if answer.generation is None:  # the budget went to reasoning
        reasoning = answer.call.max_output_tokens or reasoning
    visible = answer.generation.completion_tokens if answer.generation is not None else 0
    output = visible + reasoning
    return {
        "input_tokens": answer.prompt_tokens,
        "input_tokens_details": {"cached_tokens": answer.cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": answer.prompt_tokens + output,
    }


def response_object(answer: Answer, status: str, output: list[dict[str, Any]] | None = None,
                    error: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The ``response`` object in ``status``; ``output`` defaults to the finished items."""
    final = status in ("completed", "incomplete")
    body: dict[str, Any] = {
        "id": answer.response_id,
        "object": "response",
        "created_at": answer.created,
        "status": status,
        "background": False,
        "completed_at": int(time.time()) if final else None,
        "error": error,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "model": answer.call.model,
        "output": output_items(answer) if output is None and final else (output or []),
        "service_tier": answer.service_tier,
        "top_logprobs": 0,
        "truncation": "disabled",
        "usage": usage(answer) if final else None,
        **answer.call.echo,
    }
    return body


def final_status(answer: Answer) -> str:
    return "incomplete" if answer.incomplete else "completed"


# --------------------------------------------------------------------------- streaming


@dataclass(frozen=True, slots=True)
class Event:
    """One stream event; ``piece`` marks the events that carry an output token (where
    mid-stream faults strike and pacing applies)."""

    type: str
    payload: dict[str, Any]
    piece: bool = False


def stream_events(answer: Answer) -> list[Event]:
    """Every event of the stream, in order, without sequence numbers (added when sent)."""
    events = [
        Event("response.created", {"response": response_object(answer, "in_progress")}),
        Event("response.in_progress", {"response": response_object(answer, "in_progress")}),
    ]
    index = 0
    if answer.thought is not None:
        events.extend(_reasoning_events(answer, index))
        index += 1
    generation = answer.generation
    if generation is not None and generation.tool_calls:
        for position in range(len(generation.tool_calls)):
            events.extend(_call_events(answer, position, index))
            index += 1
    elif generation is not None:
        events.extend(_message_events(answer, generation, index))
    status = final_status(answer)
    events.append(Event(f"response.{status}", {"response": response_object(answer, status)}))
    return events


def _reasoning_events(answer: Answer, index: int) -> list[Event]:
    thought = answer.thought
    assert thought is not None
    item_id = thought.item_id
    out = [
        Event(
            "response.output_item.added", {"output_index": index, "item": reasoning_item(answer, done=False)}
        )
    ]
    if thought.ask.summary:
        where = {"item_id": item_id, "output_index": index, "summary_index": 0}
        out.append(Event("response.reasoning_summary_part.added", {**where, "part": _summary("")}))
        for piece in split_tokens(thought.text):
            out.append(Event("response.reasoning_summary_text.delta", {**where, "delta": piece}, piece=True))
        out.append(Event("response.reasoning_summary_text.done", {**where, "text": thought.text}))
        out.append(Event("response.reasoning_summary_part.done", {**where, "part": _summary(thought.text)}))
    out.append(
        Event("response.output_item.done", {"output_index": index, "item": reasoning_item(answer, done=True)})
    )
    return out


def _summary(text: str) -> dict[str, Any]:
    return {"type": "summary_text", "text": text}


def _message_events(answer: Answer, generation: Generation, index: int) -> list[Event]:
    where = {"item_id": answer.item_id("msg"), "output_index": index, "content_index": 0}
    out = [
        Event(
            "response.output_item.added",
            {"output_index": index, "item": message_item(answer, "", done=False)},
        ),
        Event("response.content_part.added", {**where, "part": _text_part("")}),
    ]
    for piece in generation.pieces:
        out.append(Event("response.output_text.delta", {**where, "delta": piece, "logprobs": []}, piece=True))
    text = generation.text
    out.append(Event("response.output_text.done", {**where, "text": text, "logprobs": []}))
    out.append(Event("response.content_part.done", {**where, "part": _text_part(text)}))
    item = message_item(answer, text, done=True)
    out.append(Event("response.output_item.done", {"output_index": index, "item": item}))
    return out


def _call_events(answer: Answer, position: int, index: int) -> list[Event]:
    added = call_item(answer, position, done=False)
    done = call_item(answer, position, done=True)
    where = {"item_id": added["id"], "output_index": index}
    out = [Event("response.output_item.added", {"output_index": index, "item": added}, piece=True)]
    for fragment in split_tokens(done["arguments"]):
        out.append(Event("response.function_call_arguments.delta", {**where, "delta": fragment}, piece=True))
    out.append(Event("response.function_call_arguments.done", {**where, "arguments": done["arguments"]}))
    out.append(Event("response.output_item.done", {"output_index": index, "item": done}))
    return out
