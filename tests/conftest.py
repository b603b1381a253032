"""Suite-wide isolation: the usage ledger (on by default) writes under a temporary data
directory, never into the developer's own ``~/.local/share/llmrelay``."""

from __future__ import annotations

import os
import tempfile

_DATA_HOME = tempfile.mkdtemp(prefix="llmrelay-test-data-")
os.environ["XDG_DATA_HOME"] = _DATA_HOME


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    import shutil

    shutil.rmtree(_DATA_HOME, ignore_errors=True)
