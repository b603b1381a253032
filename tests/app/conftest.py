"""A Client over the in-process simulator for the toolkit tests (no ledger: its own tests cover it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import llmrelay
from llmrelay import Settings

#: one model per wire protocol, all served by the in-process simulator
PROTOCOL_MODELS = (
    "simulator/sim-1",
    "simulator-anthropic/claude-haiku-4-5",
    "simulator-gemini/gemini-2.5-flash",
)


@pytest.fixture
async def client() -> AsyncIterator[llmrelay.Client]:
    async with llmrelay.Client(Settings.load(ledger={"enabled": False}), environ={}) as c:
        yield c
