"""Prompt tokens of an image: its size here, the price of a size by each provider's rule
(``TokenRules.image_tokens`` in ``llmrelay.providers``).

Inline images (base64 or ``data:`` URLs) are measured from their header; an image given
by an http(s) URL is never fetched, so its size is assumed (``DEFAULT_SIZE``) and the
count is an estimate either way.
"""

from __future__ import annotations

import base64
import binascii
import struct

from llmrelay.providers import TokenRules, token_rules
from llmrelay.types import ImagePart

#: assumed size of an image llmrelay cannot measure (a URL)
DEFAULT_SIZE = (1024, 1024)


def image_size(part: ImagePart) -> tuple[int, int] | None:
    """(width, height) of an inline PNG, GIF, WebP or JPEG image, or None."""
    inline = part.as_data()
    if inline is None:
        return None
    try:
        head = base64.b64decode(inline[1][: 64 * 1024 // 3 * 4] + "==", validate=False)
    except (binascii.Error, ValueError):
        return None
    return sniff_size(head)


def sniff_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from an image file's first bytes, or None if not recognised."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP" and len(data) >= 30:
        return _webp_size(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return int(w) & 0x3FFF, int(h) & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(w), int(h)
        i += 2 + length
    return None


def image_tokens(part: ImagePart, protocol: str | TokenRules) -> int:
    """Tokens ``part`` costs in a prompt on ``protocol`` (a name from
    ``llmrelay.providers.ADAPTERS``, or its ``TokenRules``), by the provider's own rule."""
    rules = token_rules(protocol) if isinstance(protocol, str) else protocol
    width, height = image_size(part) or DEFAULT_SIZE
    return rules.image_tokens(width, height, part.detail)
