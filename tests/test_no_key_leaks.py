"""A key given to llmrelay never shows up in a log record, an error, a response or the ledger.

Everything is captured at DEBUG, third-party loggers (httpx2, httpcore) included, while a
call is refused by the provider (401), retried through a key pool and recorded.
"""

from __future__ import annotations

import logging
import sqlite3

import pytest

import llmrelay
from llmrelay.ledger.schema import usage_table
from llmrelay.settings import Settings
from llmrelay.simulator import Simulator, SimulatorConfig
from llmrelay.transport.asgi import StreamingASGITransport
from llmrelay.transport.http import Transport

BAD = "sk-proj-BADKEY-0123456789abcdefghijklmnop"
GOOD = "sk-proj-GOODKEY-0123456789abcdefghijklmn"


async def test_keys_never_leak(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    sim = Simulator(SimulatorConfig(api_keys=frozenset({GOOD})))  # BAD is refused with a 401
    transport = Transport(mounts={"http://keyed.local": StreamingASGITransport(sim.app)})
    ledger = tmp_path / "ledger.sqlite3"
    settings = Settings.load(
        models={
            "pooled": {
                "deployments": [
                    {
                        "provider": "openai",
                        "model": "gpt-4o-mini",
                        "base_url": "http://keyed.local/v1",
                        "api_key_env": ["BAD_KEY", "GOOD_KEY"],
                    }
                ]
            },
            "bad": {
                "deployments": [
                    {
                        "provider": "openai",
                        "model": "gpt-4o-mini",
                        "base_url": "http://keyed.local/v1",
                        "api_key_env": "BAD_KEY",
                    }
                ]
            },
        },
        ledger={"url": f"sqlite:///{ledger}", "flush_interval": 0.05},
    )
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with llmrelay.Client(
        settings, environ={"BAD_KEY": BAD, "GOOD_KEY": GOOD}, transport=transport
    ) as c:
        for _ in range(3):  # the pool rotates through the bad key, which is then removed
            reply = await c.chat("hello", model="pooled")
            texts += [repr(reply), str(reply.meta)]
        with pytest.raises(llmrelay.AuthenticationError) as err:
            await c.chat("hello", model="bad")
        texts += [str(err.value), repr(err.value), repr(err.value.body), repr(c.route("bad"))]
        stream = c.stream("hello", model="pooled")
        texts.append(repr((await stream.final()).meta))
    await transport.aclose()
    texts += [r.getMessage() + " " + repr(r.__dict__) for r in caplog.records]
    with sqlite3.connect(ledger) as db:
        rows = list(db.execute(f"SELECT * FROM {usage_table('llmrelay_')}"))
        outcomes = sorted(
            db.execute(f"SELECT alias, status, http_status, attempts FROM {usage_table('llmrelay_')}")
        )
    assert len(rows) == 5  # every call was recorded, the refused one included
    texts += [repr(row) for row in rows]
    blob = "\n".join(texts)

    # The check below is only worth something if the bad key really was sent and refused:
    # once through the pool (then removed from it, the call retried with the good key) and
    # once by the single-key deployment.
    assert sim.stats.statuses[401] == 2 and sim.stats.statuses[200] == 4
    assert err.value.status == 401
    removed = [r for r in caplog.records if getattr(r, "event", None) == "key_removed"]
    assert len(removed) == 2 and all(getattr(r, "status", None) == 401 for r in removed)
    fingerprints = {getattr(r, "key", None) for r in removed}
    assert len(fingerprints) == 1 and None not in fingerprints  # the same (bad) key, by fingerprint
    assert outcomes[0] == ("bad", "authentication", 401, 1)
    assert [a for alias, _, _, a in outcomes if alias == "pooled"] == [1, 1, 1, 2]  # one retried call

    for key in (BAD, GOOD):
        assert key not in blob
        assert key[8:24] not in blob  # not even a fragment
