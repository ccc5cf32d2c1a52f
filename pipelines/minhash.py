"""Near-copy sketches: MinHash over character shingles of the folded text, cut into LSH band keys.

Why MinHash and not SimHash: on Chinese news with planted near-copies, MinHash LSH over character 5-grams
found 98% of them where 64-bit SimHash at Hamming distance 3 found 13%; SimHash only finds copies that are
almost identical, and a re-post that drops a third of the story is not. The band keys live in an indexed
table (`minhash_bands`), so candidates come from an index lookup, not from a scan of the archive or an
in-memory index rebuilt at each start; concurrent crawls share it through the database.

Candidates are then verified on the texts themselves (`similarity`): the share of the shorter text's
shingles found in the longer one (containment), so a shortened re-post of a longer story joins it.

BANDS x ROWS fixes what the index holds: changing them means recomputing every stored article's bands
(a migration), so they are constants, not settings. With 25 bands of 4 rows, two texts whose shingle sets
have Jaccard similarity 0.7 (a re-post missing 30% of the story) become candidates with probability
0.999, at 0.5 (missing half) 0.80, at 0.2 (a shared boilerplate paragraph) 0.04, at 0.1 0.0025.
"""

from __future__ import annotations

import zlib

import numpy as np

from storage.normalize import folded

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


def similarity(a: set[str], b: set[str]) -> float:
    """Containment of the smaller shingle set in the larger: 1.0 when one text is a cut of the other."""
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small & large) / len(small)


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0
