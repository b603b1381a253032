"""A testing kit for suites of applications built on llmrelay (see docs/testing.md).

* ``SimulatedLLM`` — Clients over the in-process simulator, with scripted replies and faults;
* ``Recorder`` / ``RecordingTransport`` — record provider traffic to cassette files, scrubbed
  of keys before anything is written, and replay it with no network;
* ``CallLog`` — what calls were made, with assertions (messages, tools, usage under N);
* a pytest plugin (``llmrelay_sim``, ``llmrelay_recorder``) installed by ``llmrelay[testing]``.

Names are imported on first use, so loading the pytest plugin costs a suite nothing until
one of its fixtures is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmrelay.app.testing.calls import CallLog, LoggedCall
    from llmrelay.app.testing.errors import CassetteError, UnmatchedRequestError
    from llmrelay.app.testing.modes import RecordMode, default_mode
    from llmrelay.app.testing.recorder import RecordingTransport
    from llmrelay.app.testing.recording import Recorder
    from llmrelay.app.testing.scrub import Scrubber
    from llmrelay.app.testing.simulated import SimulatedLLM

_WHERE = {
    "CallLog": "calls",
    "LoggedCall": "calls",
    "CassetteError": "errors",
    "UnmatchedRequestError": "errors",
    "RecordMode": "modes",
    "default_mode": "modes",
    "RecordingTransport": "recorder",
    "Recorder": "recording",
    "Scrubber": "scrub",
    "SimulatedLLM": "simulated",
}

__all__ = [
    "CallLog",
    "CassetteError",
    "LoggedCall",
    "RecordMode",
    "Recorder",
    "RecordingTransport",
    "Scrubber",
    "SimulatedLLM",
    "UnmatchedRequestError",
    "default_mode",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'llmrelay.app.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"llmrelay.app.testing.{module}"), name)
