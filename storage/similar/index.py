"""An in-memory inverted index from candidate terms to initiatives, in numpy arrays: sealed segments (a sorted term
array, offsets and positions) plus a small tail of what was added since, which is sealed when it grows.

``find`` weighs each term shared with the query by its rarity (IDF), sums the weights per initiative, keeps the
initiatives of the allowed units, and returns the best few: the candidates that the caller scores precisely.
Terms held by more than COMMON of the initiatives (syllables such as "he", "thong", "cao") tell little and would be
most of the postings: they are left out of the index and of queries. Pure (no I/O); a process builds it from the
``similar_doc`` table and keeps it current (``storage.similar.store``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TAIL_DOCS = 20_000  # initiatives added one by one are sealed into a segment once there are this many
COMMON = 0.05  # a term held by more than this share of a segment's initiatives,
MIN_COMMON = 2_000  # and by more than this many, is left out
_SHIFT = np.uint64(32)


@dataclass(frozen=True)
class Segment:
    keys: np.ndarray  # distinct terms, sorted (uint32)
    starts: np.ndarray  # postings of keys[i] are postings[starts[i]:starts[i + 1]] (int64)
    postings: np.ndarray  # positions of initiatives, ascending within a term (uint32)


def seal(terms: np.ndarray, positions: np.ndarray, most: float) -> tuple[Segment, np.ndarray]:
    """A segment from parallel arrays of terms and positions, and the terms left out for being held by more than
    ``most`` positions. One sort of 64-bit (term, position) pairs: several times faster than an argsort."""
    pairs = (terms.astype(np.uint64) << _SHIFT) | positions.astype(np.uint64)
    pairs.sort()
    terms, positions = (pairs >> _SHIFT).astype(np.uint32), pairs.astype(np.uint32)  # the low 32 bits
    del pairs
    firsts = np.flatnonzero(np.diff(terms)) + 1
    bounds = np.concatenate(([0], firsts, [len(terms)])).astype(np.int64) if len(terms) else np.zeros(1, np.int64)
    keys, counts = terms[bounds[:-1]], np.diff(bounds)
    crowded = counts > most
    left_out = keys[crowded]
    if len(left_out):
        positions = positions[np.repeat(~crowded, counts)]
        keys, counts = keys[~crowded], counts[~crowded]
        bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return Segment(keys, bounds, positions), left_out


class TermIndex:
    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.common = np.zeros(0, np.uint32)  # terms left out, sorted
        self.ids = np.zeros(1024, np.int64)  # position → initiative id
        self.codes = np.zeros(1024, np.int32)  # position → 1 + unit id (1: no unit; 0: replaced by a newer position)
        self.size = 0
        self.top = 1  # the highest code
        self.live = 0
        self._tail: defaultdict[int, list[int]] = defaultdict(list)
        self._tail_docs = 0

    @property
    def nbytes(self) -> int:
        arrays: list[np.ndarray] = [self.ids, self.codes, self.common]
        return sum(a.nbytes for a in arrays) + sum(s.keys.nbytes + s.starts.nbytes + s.postings.nbytes
                                                   for s in self.segments)  # fmt: skip

    def _grow(self, more: int) -> None:
        need = self.size + more
        if need > len(self.ids):
            capacity = max(need, 2 * len(self.ids))
            for name in ("ids", "codes"):
                old = getattr(self, name)
                new = np.zeros(capacity, old.dtype)
                new[: self.size] = old[: self.size]
                setattr(self, name, new)

    def _place(self, ids: np.ndarray, units: np.ndarray, *, retire: bool = True) -> int:
        """Positions for initiatives (with ``retire``, what was indexed for the first one is retired)."""
        old = np.flatnonzero((self.ids[: self.size] == ids[0]) & (self.codes[: self.size] > 0) if retire else [])
        self.codes[old] = 0
        self._grow(len(ids))
        first, self.size = self.size, self.size + len(ids)
        self.ids[first : self.size], self.codes[first : self.size] = ids, units + 1
        self.top = max(self.top, int(units.max()) + 1)
        self.live += len(ids) - len(old)
        return first

    def _add_segment(self, terms: np.ndarray, positions: np.ndarray, docs: int) -> None:
        segment, left_out = seal(terms, positions, max(MIN_COMMON, COMMON * docs))
        self.segments.append(segment)
        if len(left_out):
            self.common = np.union1d(self.common, left_out).astype(np.uint32)

    def load(self, ids: Sequence[int], units: Sequence[int], blobs: Sequence[bytes]) -> None:
        """Add many initiatives not indexed yet, as one segment (at start-up, in chunks)."""
        if not ids:
            return
        lengths = np.fromiter((len(b) // 4 for b in blobs), np.int64, len(blobs))
        first = self._place(np.asarray(ids, np.int64), np.asarray(units, np.int32), retire=False)
        terms = np.frombuffer(b"".join(blobs), "<u4")
        positions = np.repeat(np.arange(first, first + len(ids), dtype=np.uint32), lengths)
        self._add_segment(terms, positions, len(ids))

    def put(self, initiative_id: int, unit_id: int, blob: bytes) -> None:
        """Add one initiative, or replace what was indexed for it."""
        position = self._place(np.array([initiative_id], np.int64), np.array([unit_id], np.int32))
        for term in self._useful(np.frombuffer(blob, "<u4")).tolist():
            self._tail[term].append(position)
        self._tail_docs += 1
        if self._tail_docs >= TAIL_DOCS:
            terms = np.repeat(np.fromiter(self._tail, np.uint32), [len(p) for p in self._tail.values()])
            positions = np.fromiter((p for ps in self._tail.values() for p in ps), np.uint32)
            self._add_segment(terms, positions, self._tail_docs)
            self._tail, self._tail_docs = defaultdict(list), 0

    def _useful(self, terms: np.ndarray) -> np.ndarray:
        return terms[~np.isin(terms, self.common)] if len(self.common) else terms

    def _postings(self, terms: np.ndarray) -> list[list[np.ndarray]]:
        found: list[list[np.ndarray]] = [[] for _ in terms]
        for seg in self.segments:
            if not len(seg.keys):
                continue
            at = np.minimum(np.searchsorted(seg.keys, terms), len(seg.keys) - 1)
            for j in np.flatnonzero(seg.keys[at] == terms).tolist():
                found[j].append(seg.postings[seg.starts[at[j]] : seg.starts[at[j] + 1]])
        for j, term in enumerate(terms.tolist()):
            if term in self._tail:
                found[j].append(np.asarray(self._tail[term], np.uint32))
        return found

    def _mask(self, units: np.ndarray | None) -> np.ndarray:
        """Which codes count: those of the units given (None: every unit), never a replaced position's."""
        mask = np.zeros(self.top + 1, bool)
        if units is None:
            mask[1:] = True
        else:
            mask[units[units < self.top] + 1] = True
        return mask

    def find(self, terms: Sequence[int] | np.ndarray, units: np.ndarray | None, k: int) -> list[int]:
        """The ids of at most ``k`` initiatives of these units (None: of every unit) sharing the most rare terms
        with the query, best first."""
        query = self._useful(np.unique(np.asarray(terms, np.uint32)))
        if not self.live or not len(query):
            return []
        common = max(MIN_COMMON, COMMON * self.live)
        arrays, weights = [], []
        for lists in self._postings(query):
            df = sum(len(a) for a in lists)
            if 0 < df <= common:
                arrays += lists
                weights += [np.log1p(self.live / df)] * len(lists)
        if not arrays:
            return []
        hits, scores = np.concatenate(arrays), np.repeat(weights, [len(a) for a in arrays])
        keep = self._mask(units)[self.codes[hits]]  # the scope first: a unit's neighbourhood leaves few hits
        hits, scores = hits[keep], scores[keep]
        if 8 * len(hits) < self.size:  # few: sort them, rather than sweep an array as long as the index
            candidates, at = np.unique(hits, return_inverse=True)
            score = np.bincount(at, scores)
        else:
            total = np.bincount(hits, scores, minlength=self.size)
            candidates = np.flatnonzero(total > 0)
            score = total[candidates]
        if len(candidates) > k:
            top = np.argpartition(-score, k - 1)[:k]
            candidates, score = candidates[top], score[top]
        return self.ids[candidates[np.argsort(-score, kind="stable")]].tolist()
