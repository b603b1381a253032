"""The input side of the simulated OpenAI Batch API: a batch input file validated the way
OpenAI validates it before serving anything, and the multipart form its Files API takes."""

from __future__ import annotations

import email.parser
import email.policy
import json
from typing import Any

from llmrelay.simulator.batch_jobs import BatchItem, ItemResult
from llmrelay.simulator.openai_checks import OpenAIError
from llmrelay.simulator.responses import dumps

MAX_REQUESTS = 50_000
_LINE_FIELDS = frozenset(("custom_id", "method", "url", "body"))


def read_input(content: bytes, endpoint: str) -> tuple[list[BatchItem], list[dict[str, Any]]]:
    """The requests of a batch input file, or the errors that fail the batch (OpenAI
    validates the whole file before serving anything)."""
    items: list[BatchItem] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    model: str | None = None

    def fail(line: int, code: str, message: str, param: str | None = None) -> None:
        if len(errors) < 100:
            errors.append({"code": code, "message": message, "param": param, "line": line})

    lines = content.decode("utf-8", "replace").splitlines()
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            entry = json.loads(text)
        except ValueError:
            fail(number, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        if not isinstance(entry, dict):
            fail(number, "invalid_json_line", "Each line must be a JSON object.")
            continue
        unknown = sorted(set(entry) - _LINE_FIELDS)
        if unknown:
            fail(number, "invalid_request", f"Unrecognized field(s): {', '.join(unknown)}.", unknown[0])
            continue
        custom_id = entry.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            fail(
                number, "missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id"
            )
            continue
        if custom_id in seen:
            fail(
                number,
                "duplicate_custom_id",
                f"The custom_id '{custom_id}' is used more than once.",
                "custom_id",
            )
            continue
        seen.add(custom_id)
        if entry.get("method") != "POST":
            fail(number, "invalid_method", "Only the POST method is supported.", "method")
            continue
        if entry.get("url") != endpoint:
            fail(
                number,
                "mismatched_endpoint",
                f"The URL provided for this request does not match the batch endpoint {endpoint}.",
                "url",
            )
            continue
        body = entry.get("body")
        if not isinstance(body, dict):
            fail(number, "invalid_request", "The request body must be a JSON object.", "body")
            continue
        this_model = body.get("model")
        if model is None and isinstance(this_model, str):
            model = this_model
        elif isinstance(this_model, str) and this_model != model:
            fail(number, "mismatched_model", "All requests in a batch must use the same model.", "body.model")
            continue
        item = BatchItem(custom_id, endpoint, dumps(body))
        if body.get("stream") is True:  # a batch answers with whole bodies only
            refusal = OpenAIError("Streaming is not supported in batch requests.", param="stream")
            item.refusal = ItemResult("errored", 400, dumps(refusal.body()))
        items.append(item)
    if not lines or (not items and not errors):
        fail(1, "empty_file", "The batch input file is empty.")
    if len(items) > MAX_REQUESTS:
        fail(MAX_REQUESTS + 1, "too_many_requests", f"A batch may hold at most {MAX_REQUESTS} requests.")
    return items, errors


def form_fields(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """``multipart/form-data`` fields: name -> (filename, bytes)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise OpenAIError("The request must be multipart/form-data with 'purpose' and 'file' fields.")
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise OpenAIError("The multipart body could not be parsed.")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def jsonl(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)
