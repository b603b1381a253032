"""Event hooks: where metrics, traces, logs and other faces attach without touching layers.

Each hook is a plain function called synchronously at one moment of a call:

* ``request(call)`` — the call enters the pipeline;
* ``attempt(call)`` — an upstream request is about to be sent (``call.attempt`` says
  where; every retry, fallback, hedge and resume is one);
* ``response(call)`` — the call succeeded (a stream: it completed); ``call.outcome``
  and ``call.report`` are final;
* ``error(call, exc)`` — the call failed (a stream: it failed or the caller closed it
  early, ``exc`` is then ``GeneratorExit`` or ``CancelledError``).

Hooks run on the event loop inside the call: keep them quick, and hand slow work to a
task or a queue. An exception in a hook is logged and never fails the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from llmrelay.pipeline.call import Call

log = logging.getLogger("llmrelay.hooks")

CallHook = Callable[[Call], None]
ErrorHook = Callable[[Call, BaseException], None]


@dataclass(slots=True)
class Hooks:
    request: list[CallHook] = field(default_factory=list)
    attempt: list[CallHook] = field(default_factory=list)
    response: list[CallHook] = field(default_factory=list)
    error: list[ErrorHook] = field(default_factory=list)

    def fire(self, hooks: list[CallHook], call: Call) -> None:
        for hook in hooks:
            try:
                hook(call)
            except Exception:
                log.exception("a pipeline hook failed; the call goes on")

    def fire_error(self, call: Call, exc: BaseException) -> None:
        for hook in self.error:
            try:
                hook(call, exc)
            except Exception:
                log.exception("a pipeline hook failed; the call goes on")
