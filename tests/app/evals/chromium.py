"""Headless Chromium for the report tests: found, or installed from Debian's archive, and a
screenshot read back as pixels (a small PNG decoder: no imaging library is a dependency)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _found() -> str | None:
    return next((p for p in map(shutil.which, NAMES) if p), None)


def require_chromium() -> str:
    """A Chromium binary; installs Debian's ``chromium`` package when it is missing. Outside
    CI a machine where that cannot be done skips the test with the reason; under CI=true it
    fails."""
    found = _found()
    if found:
        return found
    why = _install()
    found = _found()
    if found:
        return found
    message = f"headless Chromium is needed to render the eval report and could not be installed: {why}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _install() -> str:
    apt = shutil.which("apt-get")
    if apt is None:
        return "apt-get is not available (install chromium by hand)"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "not root, so apt-get cannot install chromium (install it by hand)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", "chromium"]
    try:
        done = subprocess.run(install, capture_output=True, text=True, timeout=900, env=env)
        if done.returncode != 0:  # a stale package list: refresh it once and try again
            subprocess.run([apt, "update"], capture_output=True, text=True, timeout=300, env=env)
            done = subprocess.run(install, capture_output=True, text=True, timeout=900, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get install chromium failed: {exc}"
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
    return "" if done.returncode == 0 else f"apt-get install chromium exited {done.returncode}: {tail[0]}"


def screenshot(binary: str, page: Path, png: Path, profile: Path, *, size: tuple[int, int]) -> None:
    """Render ``page`` (a local file, network off) and write a PNG of ``size`` (w, h)."""
    args = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and png.exists(), (
        f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    )


def read_png(path: Path) -> tuple[int, int, Counter[tuple[int, int, int]]]:
    """(width, height, how many pixels have each RGB colour) of an 8-bit, non-interlaced RGB
    or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = depth = kind = interlace = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if tag == b"IHDR":
            width, height, depth, kind, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat += body
    assert depth == 8 and kind in (2, 6) and interlace == 0, (depth, kind, interlace)
    channels = 3 if kind == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    # "Up" rows (most of a screenshot) add the row above byte by byte: done on whole rows as
    # big integers, adding the low 7 bits of each byte and xoring the top bits (no carries)
    low = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")
    out = bytearray()
    previous = bytes(stride)
    at = 0
    for _ in range(height):
        kind_byte, line = raw[at], raw[at + 1 : at + 1 + stride]
        at += 1 + stride
        if kind_byte == 2:
            x, y = int.from_bytes(line, "big"), int.from_bytes(previous, "big")
            row = (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(stride, "big")
        elif kind_byte == 0:
            row = bytes(line)
        else:
            row = _unfilter(kind_byte, bytearray(line), previous, channels)
        out += row
        previous = row
    pixels = zip(out[0::channels], out[1::channels], out[2::channels], strict=True)
    return width, height, Counter(pixels)


def _unfilter(kind: int, line: bytearray, previous: bytes, channels: int) -> bytes:
    for i in range(len(line)):
        left = line[i - channels] if i >= channels else 0
        up = previous[i]
        corner = previous[i - channels] if i >= channels else 0
        if kind == 1:
            line[i] = (line[i] + left) & 255
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 255
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
    return bytes(line)


def rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
