"""The pytest plugin (entry point ``llmrelay`` in ``pytest11``; install ``llmrelay[testing]``).

It adds two fixtures, a command-line option and a fixture to override, and does nothing
else: no patching, no autouse fixture, no import of the Client until a test asks for one
of its fixtures, so a suite that does not use them runs exactly as before.

* ``llmrelay_sim`` — a ``SimulatedLLM``: Clients over the in-process simulator, with
  scripted replies and faults, and a ``calls`` log with assertions.
* ``llmrelay_recorder`` — a ``Recorder`` on this test's cassette,
  ``<test dir>/cassettes/<module>/<test name>.json``.
* ``--llmrelay-record=replay|record-new|re-record`` — the record mode (default:
  ``LLMRELAY_RECORD``, else ``replay`` under ``CI=true``, else ``record-new``).
* ``llmrelay_record_config`` — override it in a conftest to scrub more:
  ``{"patterns": [...], "secrets": [...], "headers": [...], "query": [...]}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from llmrelay.app.testing.recording import Recorder
    from llmrelay.app.testing.simulated import SimulatedLLM

_MODES = ("replay", "record-new", "re-record")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.,=+-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmrelay", "llmrelay testing kit")
    group.addoption(
        "--llmrelay-record",
        choices=_MODES,
        default=None,
        help="record mode for llmrelay cassettes: replay (never send; the default under CI=true), "
        "record-new (record what a cassette lacks; the default elsewhere), re-record (record all anew)",
    )


@pytest.fixture
def llmrelay_record_config() -> dict[str, Any]:
    """What the recorder scrubs beyond keys and credential headers; override to add patterns."""
    return {}


@pytest.fixture
def llmrelay_sim() -> SimulatedLLM:
    """Clients over the in-process simulator with scripted replies and faults."""
    from llmrelay.app.testing.simulated import SimulatedLLM

    return SimulatedLLM()


@pytest.fixture
def llmrelay_recorder(
    request: pytest.FixtureRequest, llmrelay_record_config: dict[str, Any]
) -> Iterator[Recorder]:
    """Clients recording to, or replaying from, this test's cassette."""
    from llmrelay.app.testing.recording import Recorder

    mode = request.config.getoption("--llmrelay-record")
    recorder = Recorder(cassette_path(request.node), mode=mode, **llmrelay_record_config)
    try:
        yield recorder
    finally:
        recorder.close()


def cassette_path(node: pytest.Item) -> Path:
    """``<test dir>/cassettes/<module>/<test name>.json``, the name made safe for a file system."""
    test_file = Path(str(node.path))
    name = _UNSAFE.sub("-", node.name).strip("-") or "test"
    return test_file.parent / "cassettes" / test_file.stem / f"{name}.json"
