"""Token log probabilities from each protocol's answer, as ``TokenLogprob`` values.

They land in ``ChatResponse.details["logprobs"]`` (a tuple, in generation order) when the
call asked for them (``ChatRequest.logprobs`` / ``top_logprobs``) and the provider sent
them. Shapes, from the API references:

* Chat Completions: ``choices[0].logprobs.content[] = {token, logprob, top_logprobs[]}``;
* Responses: ``output[].content[]`` of type ``output_text`` with ``logprobs[]`` of the same
  shape (asked for with the ``message.output_text.logprobs`` include);
* Gemini: ``candidates[0].logprobsResult`` with ``chosenCandidates[] = {token,
  logProbability}`` and, position by position, ``topCandidates[].candidates[]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmrelay.types import TokenLogprob, TopLogprob

DETAIL_KEY = "logprobs"


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _openai_tokens(entries: Any) -> tuple[TokenLogprob, ...]:
    out: list[TokenLogprob] = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        logprob = _float(entry.get("logprob"))
        token = entry.get("token")
        if logprob is None or not isinstance(token, str):
            continue
        top = tuple(
            TopLogprob(alt["token"], lp)
            for alt in entry.get("top_logprobs") or ()
            if isinstance(alt, dict)
            and isinstance(alt.get("token"), str)
            and (lp := _float(alt.get("logprob"))) is not None
        )
        out.append(TokenLogprob(token, logprob, top))
    return tuple(out)


def from_chat_choice(choice: Mapping[str, Any]) -> tuple[TokenLogprob, ...]:
    logprobs = choice.get("logprobs")
    return _openai_tokens(logprobs.get("content")) if isinstance(logprobs, dict) else ()


def from_responses_output(output: Any) -> tuple[TokenLogprob, ...]:
    tokens: list[TokenLogprob] = []
    for item in output if isinstance(output, list) else ():
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or ():
            if isinstance(part, dict) and part.get("type") == "output_text":
                tokens.extend(_openai_tokens(part.get("logprobs")))
    return tuple(tokens)


def from_gemini_candidate(candidate: Mapping[str, Any]) -> tuple[TokenLogprob, ...]:
    result = candidate.get("logprobsResult")
    if not isinstance(result, dict):
        return ()
    chosen = result.get("chosenCandidates")
    tops = result.get("topCandidates")
    top_lists: Sequence[Any] = tops if isinstance(tops, list) else ()
    out: list[TokenLogprob] = []
    for i, entry in enumerate(chosen if isinstance(chosen, list) else ()):
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            continue
        logprob = _float(entry.get("logProbability"))
        if logprob is None:
            continue
        alts = (
            top_lists[i].get("candidates") if i < len(top_lists) and isinstance(top_lists[i], dict) else None
        )
        top = tuple(
            TopLogprob(alt["token"], lp)
            for alt in alts or ()
            if isinstance(alt, dict)
            and isinstance(alt.get("token"), str)
            and (lp := _float(alt.get("logProbability"))) is not None
        )
        out.append(TokenLogprob(entry["token"], logprob, top))
    return tuple(out)
