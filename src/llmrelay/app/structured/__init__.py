"""Structured output: validated Python objects from a model, with repair, re-asks and
partial-object streaming. See docs/structured-output.md.

    from llmrelay.app.structured import extract, extract_result, extract_stream

    person = await extract(client, Person, "Ada Lovelace was born in 1815.")
"""

from llmrelay.app.structured.errors import OutputTruncatedError, OutputValidationError
from llmrelay.app.structured.extract import DEFAULT_MAX_RETRIES, extract, extract_result
from llmrelay.app.structured.parse import JSONNotFoundError, Parsed, parse_json, partial_json
from llmrelay.app.structured.plan import supports_native
from llmrelay.app.structured.result import Extraction, Mode, ResolvedMode
from llmrelay.app.structured.schema import Target, strict_schema, target_for
from llmrelay.app.structured.stream import ExtractStream, extract_stream

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "ExtractStream",
    "Extraction",
    "JSONNotFoundError",
    "Mode",
    "OutputTruncatedError",
    "OutputValidationError",
    "Parsed",
    "ResolvedMode",
    "Target",
    "extract",
    "extract_result",
    "extract_stream",
    "parse_json",
    "partial_json",
    "strict_schema",
    "supports_native",
    "target_for",
]
