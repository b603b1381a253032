"""Long documents: token-sized, Markdown-aware chunks, and map-reduce over texts longer
than a model's context window.

    from llmrelay.app.documents import split_text, summarize, token_counter

    chunks = split_text(text, max_tokens=2000, overlap=200, count=token_counter(client, "fast").count)
    result = await summarize(client, text, model="fast", budget=0.50)

See docs/long-documents.md.
"""

from llmrelay.app.documents.counting import ModelCounter, encoding_counter, token_counter
from llmrelay.app.documents.mapreduce import MapReduceResult, extract, map_reduce, summarize
from llmrelay.app.documents.markdown import Block, parse_blocks
from llmrelay.app.documents.split import Chunk, split_text

__all__ = [
    "Block",
    "Chunk",
    "MapReduceResult",
    "ModelCounter",
    "encoding_counter",
    "extract",
    "map_reduce",
    "parse_blocks",
    "split_text",
    "summarize",
    "token_counter",
]
