"""Near-duplicate detection: MinHash over word shingles, LSH band keys, and story assignment.

Syndicated copies of one dispatch differ by a title line, a lead-in, an outlet's header or footer,
a trimmed ending or a reworded phrase. Word shingles see through those edits: most shingles of the
dispatch survive in every copy, while two different articles of one outlet share only their
boilerplate and template sentences. MinHash estimates the Jaccard similarity of two shingle sets
from fixed-size signatures, and LSH bands turn "which stored signatures are similar to this one?"
into equality look-ups on a few integer keys, which the store answers with one join for a batch.

Pure logic: text and signatures in, signatures, keys and assignments out. No I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Five consecutive words. On the labelled set (tests/fixtures/neardup) 3 to 6 words all leave the
# same gap between copies and different articles; longer shingles lower the template-sharing
# articles most (second-closest pair: 0.29 with 3 words, 0.25 with 5) while one reworded word
# still costs only the 5 shingles around it.
SHINGLE_WORDS = 5

# 256 permutations: the Jaccard estimate's standard error is sqrt(J(1-J)/256), 0.031 at J = 0.4,
# so the threshold is more than 3 standard errors from the closest copies (0.51) and from the
# closest different articles (0.30) of the labelled set. A signature is 1 KB in the store.
NUM_PERM = 256
# The minimum of no hashes: every row of a text without words, which is nobody's copy.
EMPTY_MINIMUM = np.iinfo(np.uint32).max

# 48 bands of 3 rows, read from the first 144 rows of the signature (the estimate uses all 256).
# Two documents become candidates when all rows of any one band agree: probability 1-(1-J^3)^48.
# Its midpoint (1/48)^(1/3) = 0.28 sits below SIMILARITY_THRESHOLD on purpose: a pair at the
# threshold is a candidate with probability 0.96, at J = 0.5 with 0.998. The extra candidates
# between 0.2 and 0.4 cost one similarity each and are rejected by it.
BANDS = 48
ROWS_PER_BAND = 3

# Estimated Jaccard similarity from which a candidate counts as a copy of the same story. On the
# labelled set every copy has an earlier copy of its story at 0.51 or more, while the closest
# different articles (weekly river bulletins of one outlet, template attack reports) reach 0.30:
# 0.4 sits in the middle of that gap. Changing it requires `sahelwatch dedup --rebuild`.
SIMILARITY_THRESHOLD = 0.4

# Seeds of the permutations and of the shingle mixing: fixed, so a signature computed today
# compares with one computed last year.
_SEED = 0x5A4E_1D0C

# Stored with every signature. Signatures (and groupings) made with other parameters do not compare
# with these: a store indexed under another scheme must be rebuilt (`sahelwatch dedup --rebuild`).
SCHEME = (
    f"minhash-v1 seed={_SEED:#x} words={SHINGLE_WORDS} perm={NUM_PERM} "
    f"bands={BANDS}x{ROWS_PER_BAND} threshold={SIMILARITY_THRESHOLD}"
)
_UINT64 = np.uint64

_WORD = re.compile(r"[^\W_]+")
# The combining diacritics NFKD splits off Latin letters (é -> e + U+0301): all French accents.
_ACCENTS = re.compile(r"[\u0300-\u036f]")

if BANDS * ROWS_PER_BAND > NUM_PERM:
    raise ValueError("the LSH bands must fit in the signature: BANDS * ROWS_PER_BAND <= NUM_PERM")


def _constants() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_SEED)

    def draw(n: int) -> np.ndarray:
        return rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)

    # Odd multipliers are bijections of the 64-bit integers: no two shingles collide under them.
    perm_mult, perm_add = draw(NUM_PERM) | 1, draw(NUM_PERM)
    word_mult = draw(SHINGLE_WORDS) | 1
    band_mult = draw(ROWS_PER_BAND + 1) | 1
    return perm_mult, perm_add, word_mult, band_mult


_PERM_MULT, _PERM_ADD, _WORD_MULT, _BAND_MULT = _constants()
# Shingles per chunk when hashing long texts: bounds the (chunk x NUM_PERM) working array to 8 MB.
_CHUNK = 4096


def normalise(text: str) -> list[str]:
    """The text's words, with case, accents and punctuation folded: copies differ in those."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall(_ACCENTS.sub("", decomposed))


def shingle_hashes(text: str) -> np.ndarray:
    """Distinct 64-bit hashes of the word shingles; a text shorter than a shingle makes one."""
    words = normalise(text)
    if not words:
        return np.empty(0, dtype=_UINT64)
    # map() over the C-level cache: no Python frame per word (a generator cost a third more).
    tokens = np.fromiter(map(_word_hash, words), dtype=_UINT64, count=len(words))
    width = min(SHINGLE_WORDS, len(tokens))
    count = len(tokens) - width + 1
    # Unsigned array arithmetic wraps modulo 2^64, silently, as hashing wants.
    combined = np.zeros(count, dtype=_UINT64)
    for offset in range(width):
        combined += tokens[offset : offset + count] * _WORD_MULT[offset]
    return np.unique(_mix(combined))


def signature(text: str) -> np.ndarray:
    """MinHash signature (uint32[NUM_PERM]); picklable, so worker processes can compute it.

    Permutation i maps a (well-mixed) shingle hash x to a_i * x + b_i modulo 2^64, with a_i odd:
    multiply-shift hashing, whose upper bits are near-independent across permutations (the
    estimate's spread matches sqrt(J(1-J)/NUM_PERM), see the tests). The minimum's upper 32 bits
    are kept: two different minima agree there with odds 2^-32, far below the estimate's own error,
    and the store keeps half as many bytes per document.
    """
    shingles = shingle_hashes(text)
    if shingles.size == 0:
        return np.full(NUM_PERM, EMPTY_MINIMUM, dtype=np.uint32)
    minima = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=_UINT64)
    for start in range(0, shingles.size, _CHUNK):
        # In place: a fresh temporary per operation would cost more than the arithmetic.
        permuted = np.multiply.outer(shingles[start : start + _CHUNK], _PERM_MULT)
        np.add(permuted, _PERM_ADD, out=permuted)
        np.minimum(minima, permuted.min(axis=0), out=minima)
    return (minima >> _UINT64(32)).astype(np.uint32)


def is_empty(sig: np.ndarray) -> bool:
    """A text without words has the all-ones signature; it is nobody's copy."""
    return bool(np.all(sig == EMPTY_MINIMUM))


def band_keys(sig: np.ndarray) -> list[int]:
    """BANDS signed 64-bit keys; equal keys mean equal rows in the same band (index mixed in)."""
    if is_empty(sig):
        return []
    banded = np.asarray(sig[: BANDS * ROWS_PER_BAND], dtype=np.uint32)
    rows = banded.astype(_UINT64).reshape(BANDS, ROWS_PER_BAND)
    combined = np.arange(BANDS, dtype=_UINT64) * _BAND_MULT[ROWS_PER_BAND]
    for row in range(ROWS_PER_BAND):
        combined += rows[:, row] * _BAND_MULT[row]
    return _mix(combined).view(np.int64).tolist()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity: the share of permutations whose minima agree."""
    if is_empty(a) or is_empty(b):
        return 0.0
    return float(np.count_nonzero(a == b)) / NUM_PERM


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where a document belongs: a story root (duplicate_of None) or a copy of `duplicate_of`."""

    document_id: str
    duplicate_of: str | None
    similarity: float | None


# (candidate id, its duplicate_of, its signature), as the store returns them.
Candidate = tuple[str, str | None, np.ndarray]


def assign(
    new: Sequence[tuple[str, np.ndarray]],
    candidates: Mapping[str, Sequence[Candidate]],
) -> list[Assignment]:
    """Place each new document (first-seen order) in the story of its most similar earlier copy.

    `candidates[doc_id]` are the archive documents sharing an LSH band with it; new documents are
    also compared with earlier ones of the same batch. A story is named after its first-seen
    document: a copy of a copy points to the root, and the similarity recorded is with the root
    when the root's signature is at hand (the store returns story roots with the candidates),
    otherwise with the matched copy. Stories are never merged: a later document that resembles two
    stories joins the one it resembles most (ties: the earliest candidate), so earlier groupings
    never change.
    """
    signatures: dict[str, np.ndarray] = {}
    story_of: dict[str, str] = {}
    position: dict[str, int] = {}  # of the batch's documents in `new`
    batch_index = _BatchIndex()
    result = []
    for doc_id, sig in new:
        pool = list(candidates.get(doc_id, ()))
        for cand_id, cand_dup, cand_sig in pool:
            signatures.setdefault(cand_id, cand_sig)
            story_of.setdefault(cand_id, cand_dup or cand_id)
        keys = band_keys(sig)
        earlier = batch_index.matches(keys)
        pool.extend(_batch_candidates(earlier, pool, story_of, signatures, position))
        best_id, best_sim = _most_similar(sig, [c for c in pool if c[0] != doc_id])
        if best_id is None:
            assignment = Assignment(doc_id, None, None)
            story_of[doc_id] = doc_id
        else:
            root = story_of[best_id]
            root_sim = similarity(sig, signatures[root]) if root in signatures else best_sim
            assignment = Assignment(doc_id, root, root_sim)
            story_of[doc_id] = root
        signatures[doc_id] = sig
        position[doc_id] = len(position)
        batch_index.add(doc_id, keys)
        result.append(assignment)
    return result


def _batch_candidates(
    matches: Sequence[str],
    pool: Sequence[Candidate],
    story_of: Mapping[str, str],
    signatures: Mapping[str, np.ndarray],
    position: Mapping[str, int],
) -> list[Candidate]:
    """Earlier documents of the batch sharing a band, listed as the store would list them had
    they been indexed in an earlier pass: with their stories' roots, earliest first.

    So a batch cut in two gives the groups of one pass (flows/dedup.py cuts long runs in
    passes). Roots outside the batch (archive documents) come first, by id; a root whose
    signature never came with the candidates is left out, as the store leaves it out.
    """
    listed = {cand_id for cand_id, _, _ in pool}
    wanted = {*matches, *(story_of[m] for m in matches)} - listed
    wanted = {w for w in wanted if w in signatures}
    archive_roots = sorted(w for w in wanted if w not in position)
    batch = sorted((w for w in wanted if w in position), key=position.__getitem__)
    return [(w, None, signatures[w]) for w in (*archive_roots, *batch)]


def _most_similar(sig: np.ndarray, pool: Sequence[Candidate]) -> tuple[str | None, float]:
    """The candidate most similar to `sig` at or above the threshold (ties: the earliest).

    One array comparison for the whole pool: compared pair by pair in Python, this loop was
    half of the near-duplicate stage's time when boilerplate makes candidates many.
    """
    if not pool or is_empty(sig):
        return None, -1.0
    matrix = np.stack([cand_sig for _, _, cand_sig in pool])
    sims = np.count_nonzero(matrix == sig, axis=1) / NUM_PERM
    sims[np.all(matrix == EMPTY_MINIMUM, axis=1)] = 0.0  # empty texts: nobody's copy
    best = int(np.argmax(sims))  # the first of the highest
    if sims[best] < SIMILARITY_THRESHOLD:
        return None, -1.0
    return pool[best][0], float(sims[best])


class _BatchIndex:
    """In-memory LSH buckets of the batch, so a batch's documents find each other in order."""

    def __init__(self) -> None:
        self._buckets: dict[int, list[str]] = {}

    def matches(self, keys: Sequence[int]) -> list[str]:
        found: dict[str, None] = {}
        for key in keys:
            for doc_id in self._buckets.get(key, ()):
                found.setdefault(doc_id)
        return list(found)

    def add(self, doc_id: str, keys: Sequence[int]) -> None:
        for key in keys:
            self._buckets.setdefault(key, []).append(doc_id)


@lru_cache(maxsize=1 << 17)
def _word_hash(word: str) -> int:
    # News vocabulary repeats: the cache spares most blake2b calls after the first documents.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection of uint64 whose output bits all depend on every input."""
    x = x ^ (x >> _UINT64(30))
    x = x * _UINT64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> _UINT64(27))
    x = x * _UINT64(0x94D049BB133111EB)
    return x ^ (x >> _UINT64(31))
