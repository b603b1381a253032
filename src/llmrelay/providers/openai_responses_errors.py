"""Map the Responses API's errors to llmrelay's taxonomy.

Three shapes reach us:

* a non-2xx answer with OpenAI's usual body ``{"error": {"message", "type", "param",
  "code"}}``: the same classification as Chat Completions (``openai_errors``), with the
  request id from ``x-request-id``;
* an ``error`` stream event, documented as ``{"type": "error", "code", "message",
  "param", "sequence_number"}`` (some servers nest the fields under ``"error"``);
* a response whose ``status`` is ``failed`` (unary, or the ``response.failed`` event),
  with ``response.error = {"code", "message"}``. Its codes name the cause: server and
  rate-limit codes classify as usual, the prompt and image codes are the request's
  fault, and the policy codes are a content filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmrelay import errors
from llmrelay.providers.openai_errors import error_from_payload
from llmrelay.providers.openai_errors import parse_error as _parse_error
from llmrelay.wire import Endpoint

# Codes of ResponseError (the openai SDK's generated types list them) that are not the
# service's fault; anything else falls to Chat Completions' classification by code.
_POLICY_CODES = frozenset(("bio_policy", "misalignment_policy_violation", "image_content_policy_violation"))
_REQUEST_CODES = frozenset(
    (
        "invalid_prompt",
        "data_residency_mismatch",
        "invalid_image",
        "invalid_image_format",
        "invalid_base64_image",
        "invalid_image_url",
        "image_too_large",
        "image_too_small",
        "image_parse_error",
        "invalid_image_mode",
        "image_file_too_large",
        "unsupported_image_media_type",
        "empty_image_file",
        "failed_to_download_image",
        "image_file_not_found",
    )
)


def parse_error(status: int, headers: Mapping[str, str], body: bytes, ep: Endpoint) -> errors.LLMRelayError:
    """The typed error of a non-2xx answer (the body is OpenAI's usual error object)."""
    return _parse_error(status, headers, body, ep)


def event_error(payload: Mapping[str, Any], ep: Endpoint) -> errors.APIError:
    """The typed error of an ``error`` stream event."""
    nested = payload.get("error")
    fields = nested if isinstance(nested, Mapping) else payload
    error = {k: fields.get(k) for k in ("message", "type", "param", "code") if fields.get(k) is not None}
    if not error.get("message"):
        error["message"] = "the stream reported an error without a message"
    return _refine(error_from_payload({"error": error}, ep))


def failed_error(response: Mapping[str, Any], ep: Endpoint) -> errors.APIError:
    """The typed error of a response with ``status: "failed"``."""
    raw = response.get("error")
    error = dict(raw) if isinstance(raw, Mapping) else {}
    if not isinstance(error.get("message"), str) or not error["message"]:
        error["message"] = "the response failed without an explanation"
    return _refine(error_from_payload({"error": error}, ep))


def _refine(err: errors.APIError) -> errors.APIError:
    code = (err.code or "").lower()
    if code in _POLICY_CODES:
        cls: type[errors.APIError] = errors.ContentFilterError
    elif code in _REQUEST_CODES:
        cls = errors.InvalidRequestError
    else:
        return err
    return cls(
        err.message,
        provider=err.provider,
        model=err.model,
        status=err.status,
        request_id=err.request_id,
        retry_after=err.retry_after,
        code=err.code,
        body=err.body,
    )
