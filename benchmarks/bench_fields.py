"""What first-class request fields cost per attempt: fitting a request to its model from the
catalog (``llmrelay.catalog.fit``) and building each protocol's body with and without the
fields (Anthropic with automatic cache breakpoints on a long conversation).

Run: .venv/bin/python benchmarks/bench_fields.py
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from functools import partial

from _support import TURN, best_us

from llmrelay.catalog import Catalog
from llmrelay.catalog.fit import fit_request
from llmrelay.providers import anthropic_request, gemini_request, openai_request, openai_responses_request
from llmrelay.types import ChatRequest, Message, PromptCache, Reasoning
from llmrelay.wire import Endpoint


def main() -> None:
    print(f"{platform.python_version()} on {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    catalog = Catalog.load()
    short = (Message.system("Be brief."), Message.user("Hello"))
    turns = [Message.user(TURN) if i % 2 == 0 else Message.assistant(TURN) for i in range(21)]
    long = (Message.system(TURN * 40), *turns)
    cases = {
        "openai": (Endpoint("openai", "gpt-5", "https://api.openai.com/v1", host="openai"), "gpt-5"),
        "responses": (Endpoint("responses", "gpt-5", "https://x/v1", host="openai-responses"), "gpt-5"),
        "anthropic": (
            Endpoint("anthropic", "claude-sonnet-4-5", "https://api.anthropic.com", host="anthropic"),
            "claude-sonnet-4-5",
        ),
        "gemini": (Endpoint("gemini", "gemini-2.5-flash", "https://g", host="gemini"), "gemini-2.5-flash"),
    }
    builders: dict[str, Callable[[ChatRequest, Endpoint], object]] = {
        "openai": lambda r, ep: openai_request.chat_body(r, ep, stream=False),
        "responses": lambda r, ep: openai_responses_request.build_body(r, ep, stream=False),
        "anthropic": lambda r, ep: anthropic_request.build_body(r, ep, stream=False),
        "gemini": lambda r, ep: gemini_request.chat_body(r, ep),
    }
    for protocol, (ep, model) in cases.items():
        info = catalog.lookup(ep.host or protocol, model)
        host = ep.host or protocol
        for label, messages in (("2 messages", short), ("22 messages", long)):
            plain = ChatRequest(model="m", messages=messages)
            cache = PromptCache(auto="5m") if protocol == "anthropic" else PromptCache()
            fields = ChatRequest(
                model="m", messages=messages, reasoning=Reasoning(effort="low"), prompt_cache=cache
            )
            fit_us = best_us(partial(fit_request, fields, info, ep.provider, host), number=500)
            fitted = fit_request(fields, info, ep.provider, host)
            build = builders[protocol]
            plain_us = best_us(partial(build, plain, ep), number=500)
            fields_us = best_us(partial(build, fitted, ep), number=500)
            print(
                f"{protocol:9} {label:11}: fit {fit_us:5.1f} µs; body plain {plain_us:6.1f} µs, "
                f"with reasoning + prompt cache {fields_us:6.1f} µs"
            )


if __name__ == "__main__":
    main()
