"""A streaming histogram with fixed bins, so a report over many GB of shards holds counts, not values.

Bins are fixed before any value is seen, so two histograms of the same kind merge by adding counts
and the result does not depend on the order rows arrive in:

* ``log`` bins: ``per_decade`` equal steps of log10 (10 per decade: 1, 1.26, 1.58, ... 10), for
  heavy-tailed positive values (lengths, perplexities, pixel counts, sharpness). Values <= 0 are
  counted apart (``nonpositive``); they have no place on a log axis.
* ``linear`` bins of ``width`` starting at 0 (bin ``i`` is ``[i*width, (i+1)*width)``), for
  bounded scores (entropy in bits, JPEG quality, colourfulness). A value so far out that its bin
  number does not fit 53 bits (a corrupt 3e38 score) has no place either and counts as missing.

Counts are kept sparse (a dict of occupied bins), so one outlier far from the rest costs one
entry, not the bins between. NaN and None are counted in ``missing``. Exact ``count``, ``min``, ``max`` and ``sum`` are kept
beside the bins; ``quantile`` answers from the bins (to within one bin).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

MAX_INDEX = 2**53  # bin numbers beyond this are not exact as floats
FILL_GAPS_UP_TO = 4096  # ``bins`` lists empty bins only while the span is at most this many

@dataclass
class Histogram:
    log: bool = True
    per_decade: int = 10  # log bins per factor of ten
    width: float = 1.0  # linear bin width
    counts: dict[int, int] = field(default_factory=dict)
    count: int = 0  # values placed in bins
    nonpositive: int = 0  # <= 0 on a log histogram
    missing: int = 0  # None or NaN
    min: float = math.inf
    max: float = -math.inf
    sum: float = 0.0

    @classmethod
    def linear(cls, width: float) -> Histogram:
        if not width > 0:
            raise ValueError(f"a linear histogram needs a positive bin width, not {width}")
        return cls(log=False, width=float(width))

    # --- adding ----------------------------------------------------------------------------------

    def add(self, values: Iterable[float | None] | np.ndarray) -> Histogram:
        """Count ``values`` (any iterable or array; None and NaN count as missing)."""
        arr = np.asarray([np.nan if v is None else v for v in values] if not isinstance(
            values, np.ndarray) else values, dtype=np.float64).ravel()
        finite = np.isfinite(arr)
        self.missing += int(arr.size - finite.sum())
        arr = arr[finite]
        if self.log:
            pos = arr > 0
            self.nonpositive += int(arr.size - pos.sum())
            arr = arr[pos]
        at = self._position(arr)
        binnable = np.abs(at) < MAX_INDEX
        self.missing += int(arr.size - binnable.sum())
        arr, at = arr[binnable], at[binnable]
        if not arr.size:
            return self
        self.count += int(arr.size)
        self.min = min(self.min, float(arr.min()))
        self.max = max(self.max, float(arr.max()))
        self.sum += float(arr.sum())
        # np.unique, not np.bincount: a batch holding 10 and 1e12 must not allocate 2e11 bins
        bins, n = np.unique(np.floor(at).astype(np.int64), return_counts=True)
        for k, c in zip(bins.tolist(), n.tolist()):
            self.counts[k] = self.counts.get(k, 0) + c
        return self

    def _position(self, arr: np.ndarray) -> np.ndarray:
        """Each value's place in bin units (its bin is the floor)."""
        if self.log:
            # The small epsilon keeps exact powers (10, 100) in the bin they start.
            return np.log10(arr) * self.per_decade + 1e-9
        return arr / self.width + 1e-9

    def merge(self, other: Histogram) -> Histogram:
        """Add ``other``'s counts (same kind of bins) into this histogram."""
        if (self.log, self.per_decade, self.width) != (other.log, other.per_decade, other.width):
            raise ValueError("cannot merge histograms with different bins")
        for k, c in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + c
        self.count += other.count
        self.nonpositive += other.nonpositive
        self.missing += other.missing
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)
        self.sum += other.sum
        return self

    # --- reading ---------------------------------------------------------------------------------

    def edges(self, i: int) -> tuple[float, float]:
        """``[lo, hi)`` of bin ``i``."""
        if self.log:
            return 10 ** (i / self.per_decade), 10 ** ((i + 1) / self.per_decade)
        return i * self.width, (i + 1) * self.width

    def bins(self) -> list[tuple[float, float, int]]:
        """Every bin from the lowest to the highest occupied one as ``(lo, hi, count)``, the
        empty ones between included while there are at most ``FILL_GAPS_UP_TO`` in all (past
        that, an outlier would make the list as long as the distance to it: only occupied bins)."""
        if not self.counts:
            return []
        lo, hi = min(self.counts), max(self.counts)
        occupied = hi - lo < FILL_GAPS_UP_TO
        return [(*self.edges(i), self.counts.get(i, 0))
                for i in (range(lo, hi + 1) if occupied else sorted(self.counts))]

    def clipped_bins(self, max_bins: int = 200,
                     tail: float = 0.005) -> tuple[list[tuple[float, float, int]], int]:
        """``bins()`` for a chart: when the values span more than ``max_bins`` bins (a few far
        outliers), only the bins holding the central ``1 - 2 * tail`` of them (at most
        ``max_bins``, from the lowest); and how many values were left out."""
        if not self.counts:
            return [], 0
        keys = sorted(self.counts)
        if keys[-1] - keys[0] < max_bins:
            return self.bins(), 0
        cut = tail * self.count
        seen, lo = 0, keys[0]
        for k in keys:
            seen += self.counts[k]
            if seen > cut:
                lo = k
                break
        seen, hi = 0, keys[-1]
        for k in reversed(keys):
            seen += self.counts[k]
            if seen > cut:
                hi = k
                break
        hi = min(hi, lo + max_bins - 1)
        shown = [(*self.edges(i), self.counts.get(i, 0)) for i in range(lo, hi + 1)]
        return shown, sum(c for k, c in self.counts.items() if k < lo or k > hi)

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The value below which a fraction ``q`` of the binned values lie (bin midpoint)."""
        if not self.count:
            return None
        target = q * self.count
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen >= target:
                lo, hi = self.edges(i)
                mid = math.sqrt(lo * hi) if self.log else (lo + hi) / 2
                return min(max(mid, self.min), self.max)
        return self.max
