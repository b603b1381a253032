from __future__ import annotations

import pytest

from llmrelay.app.testing import CassetteError, default_mode


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, "record-new"),
        ({"CI": "true"}, "replay"),
        ({"CI": "1"}, "replay"),
        ({"CI": "false"}, "record-new"),
        ({"CI": "true", "LLMRELAY_RECORD": "re-record"}, "re-record"),
        ({"LLMRELAY_RECORD": "replay"}, "replay"),
    ],
)
def test_the_default_mode(env: dict[str, str], mode: str) -> None:
    assert default_mode(env) == mode


def test_an_unknown_mode_is_refused_naming_the_choices() -> None:
    with pytest.raises(CassetteError, match="LLMRELAY_RECORD must be one of replay, record-new, re-record"):
        default_mode({"LLMRELAY_RECORD": "sometimes"})
