"""Scrub more than keys from this suite's cassettes: customers' email addresses too."""

from typing import Any

import pytest


@pytest.fixture
def llmrelay_record_config() -> dict[str, Any]:
    return {"patterns": [r"[\w.+-]+@[\w-]+\.[\w.]+"]}
