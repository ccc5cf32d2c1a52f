"""MinHash band keys as migration 0004 computed them (pipelines.minhash then)."""

from __future__ import annotations

import zlib

import numpy as np

from storage.migrations.frozen.text import folded

SHINGLE = 5  # characters; folded text has no spaces or punctuation
BANDS = 25
ROWS = 4
PERMUTATIONS = BANDS * ROWS
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20221116)  # fixed: every process must compute the same signature
_A = _rng.integers(1, _PRIME, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, size=PERMUTATIONS, dtype=np.uint64)
MAX_SHINGLES = 20_000  # a very long text is sketched on its first 20,000 shingles


def shingles(text: str) -> set[str]:
    """Character 5-grams of the folded text (simplified script, no case, spaces or punctuation)."""
    flat = folded(text)
    if len(flat) < SHINGLE:
        return {flat} if flat else set()
    return {flat[i : i + SHINGLE] for i in range(min(len(flat) - SHINGLE + 1, MAX_SHINGLES))}


def signature(grams: set[str]) -> np.ndarray:
    """PERMUTATIONS minimum hash values of the shingle set (uint64), by universal hashing of CRC32s."""
    if not grams:
        return np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    hashes = np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), dtype=np.uint64, count=len(grams))
    # (a * h + b) mod 2^61-1, with h < 2^32 and a, b < 2^61: the product is taken modulo 2^64 by numpy,
    # which keeps the permutations independent enough for MinHash and is the same on every machine.
    values = (np.outer(_A, hashes) + _B[:, None]) % np.uint64(_PRIME)
    minima: np.ndarray = values.min(axis=1)
    return minima


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (a hash of its ROWS values), for an indexed BIGINT column."""
    keys = []
    for band in range(BANDS):
        digest = zlib.crc32(sig[band * ROWS : (band + 1) * ROWS].tobytes())
        key = (band << 40) | digest  # the band number in the key keeps bands apart in one index
        keys.append(key)
    return keys


def sketch(text: str) -> list[int]:
    """The band keys of a text: what is stored for it and what candidates are looked up by."""
    grams = shingles(text)
    return band_keys(signature(grams)) if grams else []
