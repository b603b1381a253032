"""Image prompt tokens: sizes sniffed from headers, and each provider's published rule."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from llmrelay.errors import UnknownProviderError
from llmrelay.providers import token_rules
from llmrelay.tokens import images
from llmrelay.types import ImagePart


def _png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def _gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00"


def _webp_vp8x(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    body += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


@pytest.mark.parametrize("make", [_png, _jpeg, _gif, _webp_vp8x])
def test_sizes_are_sniffed(make):
    assert images.sniff_size(make(640, 480)) == (640, 480)


def test_unknown_bytes_have_no_size():
    assert images.sniff_size(b"not an image at all") is None


def test_inline_images_are_measured_urls_assumed():
    inline = ImagePart.from_bytes(_png(300, 200), "image/png")
    assert images.image_size(inline) == (300, 200)
    as_data_url = ImagePart(url=inline.as_url())
    assert images.image_size(as_data_url) == (300, 200)
    assert images.image_size(ImagePart(url="https://example.com/cat.png")) is None


def test_image_tokens_apply_the_protocols_own_rule():
    part = ImagePart(data=base64.b64encode(_png(1000, 1000)).decode(), media_type="image/png")
    assert images.image_tokens(part, "anthropic") == 1334  # 1000*1000/750
    assert images.image_tokens(part, "gemini") == 258 * 4  # 2x2 tiles of 768 px
    assert images.image_tokens(part, "openai") == 765  # scaled to 768x768: 4 tiles
    assert images.image_tokens(part, token_rules("gemini")) == 258 * 4  # rules given directly
    low = ImagePart(data=part.data, media_type="image/png", detail="low")
    assert images.image_tokens(low, "openai") == 85  # detail reaches the rule
    unknown = ImagePart(url="https://example.com/a.png")
    assert images.image_tokens(unknown, "openai") == 765  # assumed 1024x1024


def test_image_tokens_for_an_unknown_protocol_is_a_typed_error():
    with pytest.raises(UnknownProviderError, match="unknown wire protocol 'cohere'"):
        images.image_tokens(ImagePart(url="https://example.com/a.png"), "cohere")
