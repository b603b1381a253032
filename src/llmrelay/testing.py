"""``llmrelay.testing``: the testing kit for your own suites (see docs/testing.md).

The kit lives in the application room (``llmrelay.app.testing``); this module is its
public name. Names load on first use, as there.
"""

from __future__ import annotations

from typing import Any

from llmrelay.app import testing as _kit

__all__ = list(_kit.__all__)


def __getattr__(name: str) -> Any:
    return getattr(_kit, name)
