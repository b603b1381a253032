"""Each CLI test has a cache directory of its own: the CLI keeps answers in a SQLite file
there by default, and one test's answers must not serve another's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
