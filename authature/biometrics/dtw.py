"""Dynamic time warping between local feature sequences (dtaidistance's C implementation).

The local cost is the Euclidean distance between feature rows (not its square: the square lets a
few badly matched samples dominate), inside a Sakoe-Chiba band of 10 % of the longer sequence,
and the total is divided by the sum of the lengths so long and short signatures compare alike.

The C routine is called directly with settings built once: dtaidistance's Python wrapper
re-validates the arrays and rebuilds its settings object on every call, which cost about a
fifth of a verification (ten comparisons per probe).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from dtaidistance import dtw_ndim

from .capture import FloatArray

__all__ = ["BAND_FRACTION", "dtw_distance"]

BAND_FRACTION = 0.10

try:  # the compiled extension; dtw_ndim.distance_fast is the same call with more checks
    from dtaidistance import dtw_cc as _dtw_cc
    from dtaidistance.dtw import DTWSettings as _Settings

    _C_KWARGS: dict[str, Any] | None = _Settings(
        window=2, inner_dist="euclidean", use_ndim=True
    ).c_kwargs()
except Exception:  # pragma: no cover - only without the C extension
    _dtw_cc = None
    _C_KWARGS = None


def dtw_distance(
    a: FloatArray,
    b: FloatArray,
    band_fraction: float = BAND_FRACTION,
    abandon_above: float | None = None,
) -> float:
    """Length-normalised DTW distance between two ``(n, k)`` float64 C-contiguous arrays.

    With ``abandon_above`` the computation may stop early and return ``inf`` once the distance
    is sure to exceed it (exact: a distance below the bound is returned unchanged).
    """
    if len(a) == 0 or len(b) == 0:
        return math.inf
    window = max(2, math.ceil(band_fraction * max(len(a), len(b))))
    if (
        _C_KWARGS is not None
        and a.dtype == np.float64
        and b.dtype == np.float64
        and a.flags.c_contiguous
        and b.flags.c_contiguous
    ):
        kwargs = dict(_C_KWARGS)
        kwargs["window"] = window
        if abandon_above is not None and math.isfinite(abandon_above):
            kwargs["max_dist"] = abandon_above * (len(a) + len(b)) * (1 + 1e-9)
        d = _dtw_cc.distance_ndim(a, b, **kwargs)
    else:
        d = dtw_ndim.distance_fast(
            np.ascontiguousarray(a, dtype=np.float64),
            np.ascontiguousarray(b, dtype=np.float64),
            window=window,
            inner_dist="euclidean",
        )
    return float(d) / (len(a) + len(b))
