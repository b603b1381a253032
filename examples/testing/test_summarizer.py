"""A user's tests of their own application, with the llmrelay testing kit's fixtures."""

from summarizer import SYSTEM, summarize

from llmrelay import Settings
from llmrelay.simulator import Fault

TICKET = "Customer ada@example.com cannot log in since the password reset; the reset link has expired."


async def test_the_summary_is_the_models_answer(llmrelay_sim):
    """Scripted: the model's answer is chosen by the test, the request is checked."""
    llmrelay_sim.reply("Ada cannot log in: her password reset link expired.")
    async with llmrelay_sim.client() as client:
        summary = await summarize(client, TICKET)
    assert summary == "Ada cannot log in: her password reset link expired."
    llmrelay_sim.calls.assert_called_with(
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": TICKET}]
    )
    llmrelay_sim.calls.assert_usage_under(200)


async def test_a_rate_limit_is_retried(llmrelay_sim):
    """Faults: the first request gets a 429; the Client's retry makes it invisible to the app."""
    llmrelay_sim.fail(Fault.rate_limited(retry_after=0)).reply("Login fails after a password reset.")
    async with llmrelay_sim.client() as client:
        assert await summarize(client, TICKET) == "Login fails after a password reset."
        assert client.simulator.stats.statuses[429] == 1


# The "provider" this cassette was recorded from is `llmrelay simulate --port 8787`, served
# with a real-looking OpenAI key; point base_url at the real API (or drop it) to record
# against OpenAI itself: `pytest --llmrelay-record=re-record` with OPENAI_API_KEY set.
PROVIDER = Settings.load(
    ledger={"enabled": False},
    models={
        "gpt": {
            "deployments": [
                {"provider": "openai", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:8787/v1"}
            ]
        }
    },
)


async def test_a_recorded_summary(llmrelay_recorder):
    """Recorded once, replayed ever after with no key and no network (CI=true: replay only)."""
    async with llmrelay_recorder.client(PROVIDER) as client:
        summary = await summarize(client, TICKET, model="gpt")
    assert summary
    llmrelay_recorder.calls.assert_called_with(messages=TICKET, contains=True)
    llmrelay_recorder.calls.assert_usage_under(300)
