"""``Recorder``: Clients whose provider traffic is recorded to, and replayed from, one cassette.

    rec = Recorder("tests/cassettes/test_summary.json", patterns=[r"[\\w.]+@example\\.com"])
    async with rec.client(config="llmrelay.yaml") as client:
        await summarize(client, text)
    rec.calls.assert_usage_under(2_000)

In ``replay`` mode no key is needed: every key variable the configuration or a known host
names gets a placeholder, so resolving ``openai/gpt-4o`` in CI does not fail for want of
``OPENAI_API_KEY`` (the placeholder never leaves the process: nothing is sent).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmrelay.app.testing.calls import CallLog
from llmrelay.app.testing.modes import RecordMode, check_mode, default_mode
from llmrelay.app.testing.recorder import RecordingTransport
from llmrelay.app.testing.scrub import Scrubber

if TYPE_CHECKING:
    from llmrelay.app.client import Client
    from llmrelay.settings import Settings

#: the key a replayed client is given for every key variable that is not set
PLACEHOLDER_KEY = "llmrelay-replay-placeholder"


class Recorder:
    """Builds Clients that record to / replay from the cassette at ``path`` (see the module doc).

    ``mode`` as for ``RecordingTransport``; ``patterns``, ``secrets``, ``headers`` and
    ``query`` configure the ``Scrubber``. ``calls`` logs every call of every Client made here.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: RecordMode | str | None = None,
        patterns: Iterable[str | re.Pattern[str]] = (),
        secrets: Iterable[str] = (),
        headers: Iterable[str] = (),
        query: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self.path = Path(path)
        self.mode: RecordMode = default_mode(self._environ) if mode is None else check_mode(mode)
        self._scrub_args: dict[str, Any] = {
            "patterns": tuple(patterns),
            "secrets": tuple(secrets),
            "headers": tuple(headers),
            "query": tuple(query),
        }
        Scrubber(**self._scrub_args)  # refuse a bad pattern now, not at the first request
        self.calls = CallLog()
        self.transports: list[RecordingTransport] = []

    def transport(self) -> RecordingTransport:
        """A new ``RecordingTransport`` on this cassette; the caller closes it (that saves it)."""
        if any(not t.is_closed for t in self.transports):
            raise RuntimeError(
                f"a client recording to {self.path} is still open: close it before opening another "
                "(two writers would overwrite each other's recordings)"
            )
        transport = RecordingTransport(self.path, mode=self.mode, scrubber=Scrubber(**self._scrub_args))
        if self.mode == "re-record":
            # The file was emptied by the first transport; a later one adds to what it wrote.
            self.mode = "record-new"
        self.transports.append(transport)
        return transport

    def environ_for(self, settings: Settings) -> dict[str, str]:
        """The environment a recorded Client reads keys from (placeholders in replay)."""
        if self.mode != "replay":
            return dict(self._environ)
        return {**dict.fromkeys(key_variables(settings), PLACEHOLDER_KEY), **self._environ}

    @contextlib.asynccontextmanager
    async def client(
        self,
        settings: Settings | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Client]:
        """``async with rec.client(...) as client:`` — ``settings`` or ``config`` as for
        ``Client``; on leaving, the client is closed and the cassette saved."""
        from llmrelay.app.client import Client
        from llmrelay.settings import Settings

        if settings is None:
            settings = Settings.load(None if config is None else Path(config))
        transport = self.transport()
        async with transport:
            environ = kwargs.pop("environ", None)
            env = self.environ_for(settings) if environ is None else dict(environ)
            client = Client(settings, environ=env, transport=transport, **kwargs)
            async with client:
                self.calls.attach_to(client)
                yield client

    def close(self) -> None:
        """Save what any still-open transport recorded (for a test that never closed its client)."""
        for t in self.transports:
            if not t.is_closed:
                t.save()


def key_variables(settings: Settings) -> set[str]:
    """Every environment variable a key may be read from: the configuration's
    ``api_key_env`` entries and each known host's own variables."""
    from llmrelay.hosts import HOSTS

    names: set[str] = set()
    for host in HOSTS.values():
        names.update(host.key_env)
    for alias in settings.models.values():
        for dep in alias.deployments:
            env = dep.api_key_env
            if isinstance(env, str):
                names.add(env)
            elif env is not None:
                names.update(env)
    return names
