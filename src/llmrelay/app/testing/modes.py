"""Record modes, and the default one: replay-only in CI, record-new elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeAlias

from llmrelay.app.testing.errors import CassetteError

#: ``replay``: answer from the cassette only; a request it lacks fails (the CI mode).
#: ``record-new``: answer from the cassette, send what it lacks upstream and record it.
#: ``re-record``: send everything upstream and write the cassette anew.
RecordMode: TypeAlias = Literal["replay", "record-new", "re-record"]
RECORD_MODES: tuple[RecordMode, ...] = ("replay", "record-new", "re-record")

#: the environment variable that picks the mode (the pytest option wins over it)
MODE_VARIABLE = "LLMRELAY_RECORD"

_TRUE = frozenset(("1", "true", "yes", "on"))


def check_mode(mode: str, where: str = "record mode") -> RecordMode:
    if mode not in RECORD_MODES:
        raise CassetteError(f"{where} must be one of {', '.join(RECORD_MODES)}, got {mode!r}")
    return mode


def default_mode(environ: Mapping[str, str]) -> RecordMode:
    """``LLMRELAY_RECORD`` if set; else ``replay`` when ``CI`` is true (a CI run never reaches
    a provider, so a missing recording fails instead of costing money or needing a key);
    else ``record-new``."""
    chosen = environ.get(MODE_VARIABLE, "").strip()
    if chosen:
        return check_mode(chosen, MODE_VARIABLE)
    if environ.get("CI", "").strip().lower() in _TRUE:
        return "replay"
    return "record-new"
