"""Batches: many chat calls in input order, resumable, under the configured limits, or
through the providers' batch APIs at their batch price.

    from llmrelay.app.batch import run_batch

    async with llmrelay.Client() as client:
        report = await run_batch(client, ["Name a prime.", "Name a colour."], output="out.jsonl")

See docs/batches.md.
"""

from llmrelay.app.batch.estimate import BatchEstimate
from llmrelay.app.batch.items import BatchRequest
from llmrelay.app.batch.progress import BatchProgress, RichProgress
from llmrelay.app.batch.records import BatchError, BatchItemNotRunError, BatchResult
from llmrelay.app.batch.runner import BatchReport, estimate_batch, run_batch

__all__ = [
    "BatchError",
    "BatchEstimate",
    "BatchItemNotRunError",
    "BatchProgress",
    "BatchReport",
    "BatchRequest",
    "BatchResult",
    "RichProgress",
    "estimate_batch",
    "run_batch",
]
