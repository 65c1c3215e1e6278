"""Dynamic time warping between local feature sequences (dtaidistance's C implementation).

The local cost is the Euclidean distance between feature rows (not its square: the square lets a
few badly matched samples dominate), inside a Sakoe-Chiba band of 10 % of the longer sequence,
and the total is divided by the sum of the lengths so long and short signatures compare alike.
"""

from __future__ import annotations

import math

from dtaidistance import dtw_ndim

from .capture import FloatArray

__all__ = ["BAND_FRACTION", "dtw_distance"]

BAND_FRACTION = 0.10


def dtw_distance(a: FloatArray, b: FloatArray, band_fraction: float = BAND_FRACTION) -> float:
    """Length-normalised DTW distance between two ``(n, k)`` float64 C-contiguous arrays."""
    if len(a) == 0 or len(b) == 0:
        return math.inf
    window = max(2, math.ceil(band_fraction * max(len(a), len(b))))
    d = dtw_ndim.distance_fast(a, b, window=window, inner_dist="euclidean")
    return float(d) / (len(a) + len(b))
