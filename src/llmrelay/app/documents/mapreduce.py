"""Map-reduce over documents longer than a model's context window.

    result = await summarize(client, long_text, model="fast", budget=0.50)
    result = await extract(client, contract, "list every payment date and amount")
    result = await map_reduce(client, text, map_prompt=..., reduce_prompt=...)

The document is split to fit the model's window (``split_text``, token-sized by the
model's own counter, Markdown-aware, with overlap); each chunk is sent with the map
prompt, ``concurrency`` at a time; the answers are combined with the reduce prompt, in
groups that fit the window, level after level, until one answer is left. Every call is an
ordinary ``Client.chat``, so retries, rate limits, budgets, cost and the ledger apply.

``budget`` (USD) is checked twice: before the first call, against the most the whole run
can cost (every call writing ``max_tokens``), and before every call, against what is left
— so a run never spends more than its budget, and one that could not finish within it
does not start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmrelay.app.documents.counting import ModelCounter, token_counter
from llmrelay.app.documents.split import Counter, split_text
from llmrelay.catalog import ModelInfo
from llmrelay.errors import BudgetExceededError, ConfigError
from llmrelay.types import Usage

if TYPE_CHECKING:
    from llmrelay.client import Client

SUMMARY_MAP = (
    "Summarize the following text. Keep every fact, name, number and conclusion that matters; "
    "leave out repetition.\n\n{text}"
)
SUMMARY_REDUCE = (
    "The following are summaries of consecutive parts of one document, in order. Combine them into "
    "one summary of the whole document, keeping every fact that matters.\n\n{text}"
)
EXTRACT_MAP = (
    "From the following part of a document: {instruction}. Answer with what you find, or with exactly "
    "NONE when this part has nothing relevant.\n\n{text}"
)
EXTRACT_REDUCE = (
    "The following are findings from consecutive parts of one document, in order. Task: {instruction}. "
    "Merge them into one answer, without duplicates.\n\n{text}"
)
NONE = "NONE"
#: tokens held for the chat format around each call's messages (roles, separators, reply primer)
_FRAMING = 16
#: share of the window kept free when the counts are estimates rather than the model's own
_ESTIMATE_MARGIN = 0.10
_SEPARATOR = "\n\n"

Progress = Callable[[str, int, int], Any]


@dataclass(frozen=True, slots=True)
class MapReduceResult:
    """The answer and what it took: ``chunks`` map calls, ``levels`` rounds of reduce calls
    (0 when the document fit one chunk), ``calls`` in all, their ``usage`` and ``cost``
    (USD; None when a price is unknown), ``chunk_tokens`` the chunk size used for the
    model's ``window``, and ``partials`` the map answers in document order."""

    answer: str
    chunks: int
    levels: int
    calls: int
    usage: Usage
    cost: float | None
    elapsed: float
    chunk_tokens: int
    window: int
    partials: tuple[str, ...]


async def map_reduce(
    client: Client,
    text: str,
    *,
    map_prompt: str,
    reduce_prompt: str,
    model: str | None = None,
    max_tokens: int = 1024,
    chunk_tokens: int | None = None,
    overlap: int = 100,
    concurrency: int = 4,
    budget: float | None = None,
    system: str | None = None,
    markdown: bool = True,
    keep: Callable[[str], bool] | None = None,
    on_progress: Progress | None = None,
) -> MapReduceResult:
    """One answer over ``text`` however long (see the module docstring).

    ``map_prompt`` and ``reduce_prompt`` hold ``{text}`` where the chunk (or the combined
    answers) go. ``max_tokens`` bounds each call's answer. ``chunk_tokens`` caps the chunk
    size (default: as large as the window allows). ``keep`` filters map answers before
    reducing (``extract`` drops "NONE"). ``on_progress(stage, done, total)`` is called after
    each call, stage ``"map"`` or ``"reduce"``.
    """
    for name, template in (("map_prompt", map_prompt), ("reduce_prompt", reduce_prompt)):
        if "{text}" not in template:
            raise ConfigError(f"{name} must contain {{text}} where the text goes, got {template[:60]!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ConfigError(f"max_tokens must be a whole number >= 1, got {max_tokens!r}")
    started = time.monotonic()
    counter = token_counter(client, model)
    window = _window(client, model, counter.info)
    run = _Run(client, model, counter, max_tokens, system, budget, concurrency, on_progress)
    room = run.room(window, map_prompt, exact=counter.exact)
    size = min(chunk_tokens, room) if chunk_tokens is not None else room
    if size < 1 or room < 2 * max_tokens + 2 * _FRAMING:
        raise ConfigError(
            f"a {window}-token window leaves {room} tokens for text once the prompt and max_tokens="
            f"{max_tokens} are set aside: too little to combine the answers; lower max_tokens"
        )
    chunks = split_text(
        text, max_tokens=size, overlap=min(overlap, size // 2), count=counter.count, markdown=markdown
    )
    if not chunks:
        raise ConfigError("the document is empty: there is nothing to summarize or extract from")
    reduce_room = run.room(window, reduce_prompt, exact=counter.exact)
    if budget is not None:
        run.check_plan([c.text for c in chunks], map_prompt, reduce_prompt, reduce_room)
    partials = await run.many("map", [map_prompt.replace("{text}", c.text) for c in chunks])
    kept = [p for p in partials if keep is None or keep(p)] or partials[:1]
    levels = 0
    current = kept
    while len(current) > 1:
        levels += 1
        groups = _groups(current, reduce_room, counter.count)
        if len(groups) == len(current):
            raise ConfigError(
                "the answers are too long to combine within the window; lower max_tokens or chunk_tokens"
            )
        current = await run.many(
            "reduce", [reduce_prompt.replace("{text}", _SEPARATOR.join(g)) for g in groups]
        )
    return MapReduceResult(
        answer=current[0],
        chunks=len(chunks),
        levels=levels,
        calls=run.calls,
        usage=run.usage,
        cost=run.cost,
        elapsed=time.monotonic() - started,
        chunk_tokens=size,
        window=window,
        partials=tuple(partials),
    )


async def summarize(
    client: Client, text: str, *, instructions: str | None = None, **options: Any
) -> MapReduceResult:
    """A summary of ``text`` (``instructions``, e.g. "in five bullet points", are added to
    both prompts). ``options`` are ``map_reduce``'s."""
    extra = f" {instructions.strip()}" if instructions else ""
    return await map_reduce(
        client,
        text,
        map_prompt=SUMMARY_MAP.replace("\n\n{text}", f"{extra}\n\n{{text}}"),
        reduce_prompt=SUMMARY_REDUCE.replace("\n\n{text}", f"{extra}\n\n{{text}}"),
        **options,
    )


async def extract(client: Client, text: str, instruction: str, **options: Any) -> MapReduceResult:
    """What ``instruction`` asks for ("list every date and amount of a payment"), found in
    every part of ``text`` and merged; parts with nothing relevant are left out."""
    task = instruction.strip().rstrip(".")
    return await map_reduce(
        client,
        text,
        map_prompt=EXTRACT_MAP.replace("{instruction}", task),
        reduce_prompt=EXTRACT_REDUCE.replace("{instruction}", task),
        keep=lambda answer: answer.strip().upper().rstrip(".") != NONE,
        **options,
    )


# --------------------------------------------------------------------------- internals


def _window(client: Client, model: str | None, info: ModelInfo | None) -> int:
    """The smallest context window among the model's deployments (a call may go to any)."""
    windows = []
    for dep in client.route(model).deployments:
        ep = dep.endpoint
        entry = client.catalog.lookup(ep.host or ep.provider, ep.model)
        if entry is not None:
            windows.append(entry.context_window)
    if not windows:
        raise ConfigError(
            f"the catalog has no context window for {model or client.settings.default_model!r}; add it "
            "under catalog.models in the configuration (or pass chunk_tokens)"
        )
    return min(windows)


def _group_sizes(sizes: Sequence[int], room: int, sep: int) -> list[list[int]]:
    """Indices of consecutive parts grouped so that each group, joined, fits ``room`` tokens."""
    groups: list[list[int]] = []
    total = 0
    for index, tokens in enumerate(sizes):
        if groups and total + sep + tokens <= room:
            groups[-1].append(index)
            total += sep + tokens
        else:
            groups.append([index])
            total = tokens
    return groups


def _groups(parts: Sequence[str], room: int, count: Counter) -> list[list[str]]:
    """Consecutive answers grouped so that each group, joined, fits ``room`` tokens."""
    sizes = [count(p) for p in parts]
    return [[parts[i] for i in group] for group in _group_sizes(sizes, room, count(_SEPARATOR))]


class _Run:
    """The calls of one map-reduce: concurrency, usage, cost and the budget."""

    def __init__(
        self,
        client: Client,
        model: str | None,
        counter: ModelCounter,
        max_tokens: int,
        system: str | None,
        budget: float | None,
        concurrency: int,
        on_progress: Progress | None,
    ) -> None:
        self.client = client
        self.model = model
        self.count = counter.count
        self.exact = counter.exact
        self.info = counter.info
        self.max_tokens = max_tokens
        self.system = system
        self.budget = budget
        self.limit = asyncio.Semaphore(concurrency)
        self.on_progress = on_progress
        self.calls = 0
        self.usage = Usage()
        self.spent = 0.0
        self.unpriced = False
        self.reserved = 0.0

    @property
    def cost(self) -> float | None:
        return None if self.unpriced else self.spent

    def room(self, window: int, template: str, *, exact: bool) -> int:
        """Tokens of text a call can carry: the window less the prompt, framing and output."""
        overhead = self.count(template.replace("{text}", "")) + _FRAMING
        if self.system:
            overhead += self.count(self.system) + _FRAMING
        room = window - self.max_tokens - overhead
        return int(room * (1 - _ESTIMATE_MARGIN)) if not exact else room

    def worst(self, prompt_tokens: int) -> float:
        """The most a call with this prompt can cost (its answer at ``max_tokens``)."""
        tokens = prompt_tokens + _FRAMING + (self.count(self.system) + _FRAMING if self.system else 0)
        bound = self.client.catalog.max_cost(self.info, tokens, self.max_tokens)
        if bound is None:
            raise BudgetExceededError(
                "a budget is set but the model has no known price, so the run's cost cannot be bounded; "
                "add its prices under catalog.models or drop the budget",
                code="budget_price_unknown",
            )
        return bound

    def check_plan(
        self, chunks: Sequence[str], map_prompt: str, reduce_prompt: str, reduce_room: int
    ) -> None:
        """Refuse a run whose worst case is over budget: every map call and every reduce call
        of the tree its answers could need, each answer at ``max_tokens`` (a quarter more
        when counts are estimates)."""
        assert self.budget is not None
        total = sum(self.worst(self.count(map_prompt.replace("{text}", c))) for c in chunks)
        overhead = self.count(reduce_prompt.replace("{text}", ""))
        answer = self.max_tokens if self.exact else int(self.max_tokens * 1.25) + 1
        sep = self.count(_SEPARATOR)
        parts = len(chunks)
        while parts > 1:
            groups = _group_sizes([answer] * parts, reduce_room, sep)
            if len(groups) == parts:
                break  # answers this long would not combine: the run finds out and says so
            total += sum(self.worst(overhead + len(g) * answer + (len(g) - 1) * sep) for g in groups)
            parts = len(groups)
        if total > self.budget:
            raise BudgetExceededError(
                f"this run could cost up to ${total:.4f} ({len(chunks)} chunks, then combining the answers), "
                f"over its budget of ${self.budget:g}; raise the budget, lower max_tokens, or use a cheaper "
                "model",
                code="budget_exceeded",
            )

    async def many(self, stage: str, prompts: Sequence[str]) -> list[str]:
        done = 0

        async def one(prompt: str) -> str:
            nonlocal done
            async with self.limit:
                answer = await self.call(prompt)
            done += 1
            if self.on_progress is not None:
                outcome = self.on_progress(stage, done, len(prompts))
                if asyncio.iscoroutine(outcome):
                    await outcome
            return answer

        return list(await asyncio.gather(*(one(p) for p in prompts)))

    async def call(self, prompt: str) -> str:
        reserve = 0.0
        if self.budget is not None:
            reserve = self.worst(self.count(prompt))
            if self.spent + self.reserved + reserve > self.budget:
                raise BudgetExceededError(
                    f"the next call could cost up to ${reserve:.4f} and ${self.spent + self.reserved:.4f} of "
                    f"the ${self.budget:g} budget is spent or held by calls in flight; raise the budget",
                    code="budget_exceeded",
                )
            self.reserved += reserve
        messages: list[dict[str, str]] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": prompt})
        try:
            reply = await self.client.chat(messages, model=self.model, max_tokens=self.max_tokens)
        finally:
            self.reserved -= reserve
        self.calls += 1
        if reply.usage is not None:
            self.usage = self.usage + reply.usage
        if reply.cost is None:
            self.unpriced = True
        else:
            self.spent += reply.cost
        return reply.text
