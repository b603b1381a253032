"""The testing kit: scripted replies and faults, record and replay with the keys scrubbed, assertions.

Run: .venv/bin/python examples/testing_kit.py
It then runs examples/testing/ (a user's suite using the pytest fixtures) in replay mode.
"""

import asyncio
import importlib.metadata
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from llmrelay import Settings
from llmrelay.app.testing import Recorder, SimulatedLLM, UnmatchedRequestError
from llmrelay.simulator import Fault, SimulatorConfig
from llmrelay.simulator.server import build_server

HERE = Path(__file__).resolve().parent
KEY = "sk-proj-Ex4mpleK3yThatLooksRealButIsNot0123456789ab"


async def scripted() -> None:
    sim = SimulatedLLM().fail(Fault.rate_limited(retry_after=0)).reply("Bonjour !")
    async with sim.client() as client:
        reply = await client.chat("Say hello in French")
    print(f"scripted: {reply.text!r} after {reply.meta.attempts} attempts (the first got a 429)")
    sim.calls.assert_called_with(messages="Say hello in French")
    sim.calls.assert_usage_under(100)


def provider() -> tuple[str, object, threading.Thread]:
    """A stand-in for a real provider: the simulator on a localhost socket, requiring KEY."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, _ = build_server("127.0.0.1", port, SimulatorConfig(api_keys={KEY}, tokens_per_second=2000))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread


async def record_and_replay() -> None:
    url, server, thread = provider()
    settings = Settings.load(
        ledger={"enabled": False},
        models={"gpt": {"deployments": [{"provider": "openai", "model": "gpt-4o", "base_url": f"{url}/v1"}]}},
    )
    cassette = Path(tempfile.mkdtemp()) / "cassette.json"
    async with Recorder(cassette, mode="record-new", environ={"OPENAI_API_KEY": KEY}).client(settings) as c:
        live = await c.chat("Name three rivers.", model="gpt")
        live_stream = [ev async for ev in c.stream("Name a sea.", model="gpt")]
    print(f"recorded {cassette.stat().st_size} bytes; key in the cassette: {KEY in cassette.read_text()}")

    server.should_exit = True  # the provider is gone: replay needs neither it nor the key
    thread.join()
    replayer = Recorder(cassette, mode="replay", environ={})
    async with replayer.client(settings) as c:
        again = await c.chat("Name three rivers.", model="gpt")
        again_stream = [ev async for ev in c.stream("Name a sea.", model="gpt")]
        print(f"replayed the same answer: {again.text == live.text and again.usage == live.usage}")
        print(f"replayed the stream: {len(again_stream)} events, as live: {len(live_stream)}")
        try:
            await c.chat("Name four rivers.", model="gpt")
        except UnmatchedRequestError as exc:
            print(f"unmatched: {exc.request}")


def run_user_suite() -> None:
    """examples/testing/ as its owner's CI runs it: replay only, no key."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["CI"] = "true"
    src = str(Path(__import__("llmrelay").__file__).parents[1])
    paths = [src, str(HERE / "testing"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "testing")]
    if not any(ep.name == "llmrelay" for ep in importlib.metadata.entry_points(group="pytest11")):
        # A source checkout: the plugin's entry point is not installed, so load it by name.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        cmd[3:3] = ["-p", "pytest_asyncio.plugin", "-p", "llmrelay.app.testing.plugin"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=HERE / "testing")
    print("examples/testing:", result.stdout.strip().splitlines()[-1])
    if result.returncode != 0:
        print(result.stdout, result.stderr, file=sys.stderr)
        sys.exit(result.returncode)


async def main() -> None:
    await scripted()
    await record_and_replay()


if __name__ == "__main__":
    asyncio.run(main())
    run_user_suite()
