"""The order of the layers is written once, and the docs show that order."""

from __future__ import annotations

import re
from pathlib import Path

from llmrelay.middleware.stack import STACK, slot_names

DOCS = Path(__file__).parents[2] / "docs"


def test_the_architecture_page_shows_the_stacks_order() -> None:
    text = (DOCS / "architecture.md").read_text()
    block = re.search(r"```\n(ledger → .*?) → \(send\)\n```", text)
    assert block is not None, "docs/architecture.md has lost its order block"
    assert tuple(block.group(1).split(" → ")) == slot_names()


def test_no_other_page_writes_the_order_out() -> None:
    # the order lives in one place; other pages link to docs/architecture.md
    pattern = re.compile(r"ledger → preflight")
    pages = [
        p.name for p in DOCS.rglob("*.md") if p.name != "architecture.md" and pattern.search(p.read_text())
    ]
    assert pages == []


def test_slots_are_unique_and_every_layer_can_build_itself() -> None:
    names = slot_names()
    assert len(set(names)) == len(names) == len(STACK)
    assert all(callable(getattr(slot.layer, "from_context", None)) for slot in STACK)
