"""Gemini ``generationConfig`` as the simulator reads it: range and type checks as the real
service makes them, and the output settings (length, stops, candidates, JSON mode) for the engine."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.gemini_invalid import GeminiInvalid, field_error, get, int_field, schema_of

_MIME_TYPES = ("text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum")
MAX_STOP_SEQUENCES = 5
MAX_CANDIDATES = 8


def _number(config: Mapping[str, Any], camel: str, path: str, low: float, high: float, request: str) -> None:
    value = get(config, camel)
    if value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise GeminiInvalid(f"Invalid value at '{path}' (TYPE_FLOAT), {json.dumps(value)}")
    if not low <= value <= high:
        raise field_error(request, path, f"{camel} must be in the range [{low:g}, {high:g}], got {value:g}.")


@dataclass(frozen=True)
class GenerationOutput:
    max_tokens: int | None
    stops: tuple[str, ...]
    candidates: int
    seed: int | None
    json_mode: str | None
    schema: dict[str, Any] | None
    enum: bool


def parse_generation_config(body: Mapping[str, Any], request: str) -> GenerationOutput:
    config = get(body, "generationConfig") or {}
    if not isinstance(config, dict):
        raise GeminiInvalid("Invalid JSON payload received. Expected an object for 'generation_config'.")
    base = "generation_config"
    _number(config, "temperature", f"{base}.temperature", 0.0, 2.0, request)
    _number(config, "topP", f"{base}.top_p", 0.0, 1.0, request)
    top_k = int_field(config, "topK", f"{base}.top_k")
    if top_k is not None and top_k < 0:
        raise field_error(request, f"{base}.top_k", "top_k must be non-negative.")
    max_tokens = int_field(config, "maxOutputTokens", f"{base}.max_output_tokens")
    if max_tokens is not None and max_tokens < 0:
        raise field_error(request, f"{base}.max_output_tokens", "max_output_tokens must be positive.")
    stops = get(config, "stopSequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise GeminiInvalid(f"Invalid value at '{base}.stop_sequences' (TYPE_STRING)")
    if len(stops) > MAX_STOP_SEQUENCES:
        raise field_error(
            request, f"{base}.stop_sequences", f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed."
        )
    candidates = int_field(config, "candidateCount", f"{base}.candidate_count") or 1
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise field_error(
            request, f"{base}.candidate_count", f"candidate_count must be in the range [1, {MAX_CANDIDATES}]."
        )
    mime = get(config, "responseMimeType") or "text/plain"
    if mime not in _MIME_TYPES:
        raise field_error(
            request,
            f"{base}.response_mime_type",
            "allowed mimetypes are `text/plain`, `application/json`, `application/xml`, `application/yaml` "
            "and `text/x.enum`.",
        )
    schema_raw, json_schema = get(config, "responseSchema"), get(config, "responseJsonSchema")
    if schema_raw is not None and json_schema is not None:
        raise field_error(
            request,
            f"{base}.response_schema",
            "response_schema and response_json_schema are mutually exclusive.",
        )
    schema: dict[str, Any] | None = None
    if schema_raw is not None:
        schema = schema_of(schema_raw, f"{base}.response_schema")
    elif json_schema is not None:
        if not isinstance(json_schema, dict):
            raise field_error(request, f"{base}.response_json_schema", "must be a JSON object")
        schema = json_schema
    if schema is not None and mime not in ("application/json", "text/x.enum"):
        raise field_error(
            request,
            f"{base}.response_mime_type",
            "response_mime_type must be `application/json` or `text/x.enum` when a response schema is set.",
        )
    if mime == "text/x.enum" and (schema is None or not isinstance(schema.get("enum"), list)):
        raise field_error(
            request, f"{base}.response_schema", "`text/x.enum` needs a schema with `enum` values."
        )
    json_mode = None
    if schema is not None:
        json_mode = "schema"
    elif mime == "application/json":
        json_mode = "object"
    seed = int_field(config, "seed", f"{base}.seed")
    return GenerationOutput(
        max_tokens or None, tuple(stops), candidates, seed, json_mode, schema, mime == "text/x.enum"
    )
