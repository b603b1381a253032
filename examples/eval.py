"""Evals: two versions of a prompt on two models, scored three ways, compared, and reported.

The dataset (eval_data/capitals.jsonl) asks for capitals; prompt v1 asks plainly, v2 says to
answer with the city only. Every answer is scored by exact match, by a regex (each item's
own pattern) and by an LLM judge with a rubric; the report gives quality, cost and latency per
variant, the quality difference from the baseline with its 95% interval, and an HTML page.

The built-in simulator writes filler text, so here a small scripted "model" stands in for a
real one: it knows the capitals, wraps them in a sentence unless told not to, and sometimes
slips (more often the smaller model). With a key, pass real models instead:
    .venv/bin/python examples/eval.py openai/gpt-4o-mini openai/gpt-4o

Run: .venv/bin/python examples/eval.py
"""

import asyncio
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

import llmrelay
from llmrelay.app.evals import ExactMatch, LLMJudge, RegexMatch, estimate_eval, make_variants, run_eval
from llmrelay.app.prompts import PromptLibrary
from llmrelay.simulator import Reply
from llmrelay.simulator.engine import GenerationInput

DATA = Path(__file__).parent / "eval_data"
CAPITALS = {
    json.loads(line)["vars"]["country"]: json.loads(line)["expected"]
    for line in (DATA / "capitals.jsonl").read_text(encoding="utf-8").splitlines()
}


class CapitalsModel:
    """A simulator reply plan: answers capital questions, and judges answers when asked to."""

    def next_reply(self, inp: GenerationInput) -> Reply | None:  # the simulator's view of a request
        text = inp.conversation
        if "Answer to grade:" in text:  # the judge's call: grade by whether the city is named
            reference = text.split("Reference answer:\n", 1)[1].split("\n", 1)[0]
            answer = text.split("Answer to grade:\n", 1)[1]
            good = reference in answer
            return Reply(json.dumps({"score": 5 if good else 1, "reason": "names it" if good else "wrong"}))
        country = re.search(r"capital of (.+?)\?", text)
        if country is None:
            return None
        city = CAPITALS.get(country.group(1), "Unknown")
        slip = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 100 < (25 if "mini" in inp.model else 10)
        if slip:
            city = "Sydney" if city == "Canberra" else "Geneva" if city == "Bern" else city[:-1] + "a"
        if "city's name only" in text:
            return Reply(city)
        return Reply(f"The capital of {country.group(1)} is {city}.")


async def main(models: list[str]) -> None:
    library = PromptLibrary.load(DATA / "prompts")
    variants = make_variants(["capital@v1", "capital@v2"], models, library=library)
    scorers = [
        ExactMatch(casefold=True),
        RegexMatch(),  # each item's own pattern
        LLMJudge("The answer names the correct capital city.", model=models[0]),
    ]
    out = Path(tempfile.mkdtemp()) / "capitals-eval"
    async with llmrelay.Client() as client:
        client.simulator.replies = CapitalsModel()
        estimate = await estimate_eval(
            client, DATA / "capitals.jsonl", variants, scorers, params={"max_tokens": 30}
        )
        print("estimate:", estimate.describe())
        report = await run_eval(
            client, DATA / "capitals.jsonl", variants, scorers, params={"max_tokens": 30}, output_dir=out
        )
    for v in report.variants:
        q = v.quality
        assert q is not None
        scores = ", ".join(f"{name} {value:.2f}" for name, value in v.scorers.items() if value is not None)
        print(
            f"{v.label:34} quality {q.estimate:.2f} [{q.low:.2f}, {q.high:.2f}]  ({scores})  "
            f"${v.cost_per_item or 0:.6f}/item  p50 {(v.latency_p50 or 0) * 1000:.0f} ms"
        )
    for c in report.comparisons:
        d = c.difference
        if d is not None:
            verdict = "significant" if c.significant else "not significant"
            print(
                f"{c.variant} vs {c.baseline}: {d.estimate:+.2f} "
                f"(95% CI {d.low:+.2f} to {d.high:+.2f}, {verdict})"
            )
    print(f"results: {report.results_path}\nreport:  {report.html_path}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or ["simulator/gpt-4o-mini", "simulator/gpt-4o"]))
