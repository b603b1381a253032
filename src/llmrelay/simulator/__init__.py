"""A wire-faithful, deterministic emulator of the OpenAI, Anthropic and Gemini APIs.

``Simulator().app`` is an ASGI app: mount it on an in-process transport for tests, or
run it with ``serve`` (``llmrelay simulate``). See docs/simulator.md.
"""

from llmrelay.simulator.core import Simulator, SimulatorConfig, SimulatorStats
from llmrelay.simulator.engine import expected_text
from llmrelay.simulator.faults import (
    Fault,
    FaultKind,
    FaultPlan,
    FaultProbabilities,
    FaultSequence,
    NoFaults,
    RequestInfo,
)
from llmrelay.simulator.script import NoReplies, Reply, ReplyPlan, ReplySequence, ScriptedCall

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultProbabilities",
    "FaultSequence",
    "NoFaults",
    "NoReplies",
    "Reply",
    "ReplyPlan",
    "ReplySequence",
    "RequestInfo",
    "ScriptedCall",
    "Simulator",
    "SimulatorConfig",
    "SimulatorStats",
    "expected_text",
]
