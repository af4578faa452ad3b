"""Near-copy detection for written explanations: character shingles, MinHash and LSH.

- :func:`shingle_hashes`: the set of hashed character k-grams of a normalised text
  (lower case, runs of white space collapsed), computed with numpy on code points;
- :func:`near_copies`: groups texts whose Jaccard similarity of shingles is high.
  Exact duplicates are merged first; the rest get MinHash signatures (one vectorized
  pass over all shingles), candidate pairs come from LSH bands, and a candidate is
  kept when its estimated Jaccard clears the threshold. Groups are the connected
  components of the kept pairs;
- :func:`containment`: the share of a text's shingles found in a source text (an
  explanation pasted from the model answer it explains scores near 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from judgeloop.aggregate.encoding import FloatArray, IntArray

U64 = npt.NDArray[np.uint64]
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lower-case the text and collapse runs of white space into one space."""
    return _SPACE.sub(" ", text.lower()).strip()


def _mix(x: U64) -> U64:
    """SplitMix64 finaliser: spreads the bits of 64-bit integers (wraps on overflow)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out: U64 = x ^ (x >> np.uint64(31))
    return out


def shingle_hashes(text: str, k: int = 5) -> U64:
    """Sorted distinct 64-bit hashes of the character k-grams of the normalised text.

    A text shorter than ``k`` is one shingle; an empty text has none.
    """
    norm = normalize_text(text)
    if not norm:
        return np.zeros(0, dtype=np.uint64)
    cp = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    width = min(k, len(cp))
    n = len(cp) - width + 1
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(width):
            h = h * np.uint64(1_000_003) + cp[i : i + n]
    return np.unique(_mix(h))


@dataclass(frozen=True, eq=False)
class NearCopies:
    """Groups of (near-)identical texts.

    ``group[t]`` is the group of text ``t`` (-1 when it resembles no other text);
    ``pairs`` are the kept candidate pairs ``(i, j)`` with their estimated Jaccard
    ``similarity`` (exact duplicates are 1.0).
    """

    group: IntArray
    pairs: IntArray
    similarity: FloatArray

    def group_sizes(self) -> IntArray:
        """For each text, how many texts are in its group (1 when alone)."""
        grouped = self.group >= 0
        out = np.ones(len(self.group), dtype=np.intp)
        if grouped.any():
            out[grouped] = np.bincount(self.group[grouped])[self.group[grouped]]
        return out


def minhash_signatures(shingles: Sequence[U64], n_perm: int = 128, seed: int = 0) -> U64:
    """MinHash signature per text (``n_texts x n_perm``); an empty text gets all-max."""
    lengths = np.array([len(s) for s in shingles], dtype=np.intp)
    sig = np.full((len(shingles), n_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    nonempty = np.flatnonzero(lengths > 0)
    if not len(nonempty):
        return sig
    flat = np.concatenate([shingles[int(i)] for i in nonempty])
    starts = np.r_[0, np.cumsum(lengths[nonempty])[:-1]]
    salts = _mix(np.arange(1, 2 * n_perm + 1, dtype=np.uint64) + np.uint64(seed) * np.uint64(7919))
    mult, add = salts[:n_perm] | np.uint64(1), salts[n_perm:]  # odd multipliers: permutations
    step = max(1, 4_000_000 // max(len(flat), 1))
    with np.errstate(over="ignore"):
        for p in range(0, n_perm, step):
            block = flat[:, None] * mult[None, p : p + step] + add[None, p : p + step]
            sig[nonempty, p : p + step] = np.minimum.reduceat(block, starts, axis=0)
    return sig


def _lsh_pairs(sig: U64, bands: int) -> IntArray:
    """Candidate pairs: texts whose signatures agree on every row of some band (star edges)."""
    n, n_perm = sig.shape
    rows = n_perm // bands
    edges = []
    for b in range(bands):
        key = np.zeros(n, dtype=np.uint64)
        for r in range(b * rows, (b + 1) * rows):
            key = _mix(key ^ sig[:, r])
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        same = np.r_[False, sorted_key[1:] == sorted_key[:-1]]
        head = order[np.maximum.accumulate(np.where(~same, np.arange(n), 0))]
        members = order[same]
        edges.append(np.stack([head[same], members], axis=1))
    if not edges:
        return np.zeros((0, 2), dtype=np.intp)
    pairs = np.unique(np.sort(np.concatenate(edges), axis=1), axis=0)
    return pairs.astype(np.intp)


def near_copies(
    texts: Sequence[str],
    *,
    threshold: float = 0.8,
    k: int = 5,
    n_perm: int = 128,
    bands: int = 32,
    min_chars: int = 20,
    seed: int = 0,
) -> NearCopies:
    """Find groups of texts that are copies or near-copies of each other.

    Args:
        texts: one explanation per submission.
        threshold: the estimated Jaccard similarity of shingles that counts as a copy.
        k: shingle length in characters.
        n_perm: MinHash permutations (more: a finer estimate).
        bands: LSH bands (``n_perm / bands`` rows each; more bands find lower
            similarities).
        min_chars: texts shorter than this (after normalising) are never flagged,
            since "good answer" is the same everywhere without being copied.
        seed: seeds the hash permutations.

    Returns:
        A group per text and the similar pairs found.
    """
    norm = [normalize_text(t) for t in texts]
    n = len(norm)
    eligible = np.array([len(t) >= min_chars for t in norm], dtype=bool)
    _, first_of, dup_code = np.unique(
        np.array(norm, dtype=object), return_index=True, return_inverse=True
    )
    dup_code = dup_code.reshape(-1)
    exact = np.stack([first_of[dup_code], np.arange(n)], axis=1)
    exact = exact[(exact[:, 0] != exact[:, 1]) & eligible]
    reps = np.flatnonzero(eligible & (first_of[dup_code] == np.arange(n)))
    sig = minhash_signatures([shingle_hashes(norm[i], k) for i in reps], n_perm, seed)
    cand = _lsh_pairs(sig, bands) if len(reps) > 1 else np.zeros((0, 2), np.intp)
    est = (sig[cand[:, 0]] == sig[cand[:, 1]]).mean(axis=1) if len(cand) else np.zeros(0)
    keep = est >= threshold
    near = reps[cand[keep]] if len(cand) else np.zeros((0, 2), np.intp)
    pairs = np.concatenate([exact, near]).astype(np.intp)
    sim = np.concatenate([np.ones(len(exact)), est[keep]])
    # near-copies of a representative are near-copies of its exact duplicates too
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    size = np.bincount(comp)
    group = np.where(size[comp] > 1, comp, -1).astype(np.intp)
    return NearCopies(group, pairs, sim)


def containment(text: str, source: str, k: int = 5) -> float:
    """Share of ``text``'s shingles that also occur in ``source`` (0 for an empty text)."""
    a = shingle_hashes(text, k)
    if not len(a):
        return 0.0
    return float(np.isin(a, shingle_hashes(source, k), assume_unique=True).mean())
