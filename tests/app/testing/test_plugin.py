"""The pytest plugin as a user's suite meets it: a separate pytest run with the plugin loaded
the way its entry point loads it, recording, then replaying in CI with the provider gone."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.app.testing.conftest import OPENAI_KEY, Served

import llmrelay

ROOT = Path(__file__).resolve().parents[3]
INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

USER_TESTS = """
import os

from llmrelay import Settings
from llmrelay.simulator import Fault


def settings():
    url = os.environ["SIM_URL"]
    return Settings.load(
        ledger={"enabled": False},
        retry={"max_attempts": 1},
        models={"gpt": {"deployments": [{"provider": "openai", "model": "gpt-4o", "base_url": url + "/v1"}]}},
    )


async def test_scripted(llmrelay_sim):
    llmrelay_sim.reply("Paris.").fail(Fault.rate_limited(retry_after=0))
    async with llmrelay_sim.client() as client:
        assert (await client.chat("Capital of France?")).text == "Paris."
    llmrelay_sim.calls.assert_called_with(messages="Capital of France?")


async def test_recorded(llmrelay_recorder):
    async with llmrelay_recorder.client(settings()) as client:
        reply = await client.chat(os.environ.get("PROMPT", "Hello there"), model="gpt")
        events = [ev async for ev in client.stream("Stream a greeting", model="gpt")]
    assert reply.text and events
    llmrelay_recorder.calls.assert_usage_under(1000)


def test_untouched(request):
    # the plugin adds no autouse fixture: a test that asks for none of its fixtures gets none
    assert [name for name in request.fixturenames if "llmrelay" in name] == []
"""


def run(where: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("LLMRELAY_")
    }
    base.pop("CI", None)
    src = str(Path(llmrelay.__file__).resolve().parents[1])
    full = {**base, "PYTHONPATH": src, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **env}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "pytest_asyncio.plugin",
        "-p",
        "llmrelay.app.testing.plugin",
    ]
    cmd += ["-p", "no:cacheprovider", "-o", "asyncio_mode=auto", *args]
    return subprocess.run(cmd, cwd=where, env=full, capture_output=True, text=True, timeout=120)


def test_a_user_suite_records_then_replays_in_ci(served: Served, tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_app.py").write_text(USER_TESTS)
    env = {"SIM_URL": served.url}

    recorded = run(tmp_path, {**env, "OPENAI_API_KEY": OPENAI_KEY}, "--llmrelay-record=record-new")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "3 passed" in recorded.stdout
    cassette = tmp_path / "cassettes" / "test_app" / "test_recorded.json"
    assert cassette.exists()
    assert OPENAI_KEY not in cassette.read_text()
    assert served.simulator.stats.total_requests == 2

    served.stop()
    replayed = run(tmp_path, {**env, "CI": "true"})  # no key, no server: replay only
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "3 passed" in replayed.stdout

    changed = run(tmp_path, {**env, "CI": "true", "PROMPT": "Something new"}, "-k", "recorded")
    assert changed.returncode == 1
    assert "UnmatchedRequestError" in changed.stdout
    assert f"POST {served.url}/v1/chat/completions" in changed.stdout
    assert "'Something new'" in changed.stdout


def test_the_option_refuses_an_unknown_mode(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    result = run(tmp_path, {}, "--llmrelay-record=sometimes")
    assert result.returncode != 0
    assert "replay" in result.stderr and "record-new" in result.stderr


def test_the_plugin_is_declared_as_an_entry_point_in_the_testing_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"llmrelay": "llmrelay.app.testing.plugin"}
    assert any(dep.startswith("pytest") for dep in project["optional-dependencies"]["testing"])
