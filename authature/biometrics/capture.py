"""The stroke format the signing page posts, its hard limits (SPEC 6) and its storage form.

The page posts JSON::

    {"strokes": [[[x, y, t, p], ...], ...], "width": W, "height": H, "dpr": r,
     "pointer_type": "pen"}

``x``/``y`` are CSS pixels inside the canvas (y grows downward), ``t`` milliseconds since the
first point of the capture, ``p`` the pointer pressure in 0..1.  :func:`parse_capture` enforces
the SPEC 6 limits and raises :class:`CaptureError` (one sentence for the user) on anything else.

A capture is biometric data: its ``repr`` never shows samples and no message built here quotes
them.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_CANVAS_PX",
    "MAX_DPR",
    "MAX_DURATION_MS",
    "MAX_POINTS",
    "MAX_STROKES",
    "POINTER_TYPES",
    "Capture",
    "CaptureError",
    "decode_capture",
    "encode_capture",
    "parse_capture",
]

MAX_STROKES = 64
MAX_POINTS = 10_000
MAX_DURATION_MS = 60_000
MAX_CANVAS_PX = 10_000.0
MAX_DPR = 10.0
#: Points may lie this far outside the canvas (pointer capture reports the edge pixel loosely).
EDGE_TOLERANCE_PX = 1.0
POINTER_TYPES = ("mouse", "pen", "touch", "unknown")

FloatArray = npt.NDArray[np.float64]


class CaptureError(ValueError):
    """A posted signature breaks the format or a SPEC 6 limit; ``str(e)`` is one user sentence."""


@dataclass(frozen=True, repr=False, eq=False)
class Capture:
    """One drawn signature.

    ``strokes`` holds read-only float64 arrays of shape ``(n, 4)``: x, y (CSS pixels, y down),
    ``t_ms`` (from the first point of the whole capture) and pressure in 0..1.
    """

    strokes: tuple[FloatArray, ...]
    canvas_width: float
    canvas_height: float
    device_pixel_ratio: float
    pointer_type: str

    def __repr__(self) -> str:
        # Never show samples: biometric data is not logged.
        return (
            f"Capture(strokes={self.stroke_count}, points={self.point_count}, "
            f"duration_ms={self.duration_ms:.0f}, canvas={self.canvas_width:g}x"
            f"{self.canvas_height:g}, pointer_type={self.pointer_type!r})"
        )

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Capture):
            return NotImplemented
        return (
            self.canvas_width == other.canvas_width
            and self.canvas_height == other.canvas_height
            and self.device_pixel_ratio == other.device_pixel_ratio
            and self.pointer_type == other.pointer_type
            and len(self.strokes) == len(other.strokes)
            and all(np.array_equal(a, b) for a, b in zip(self.strokes, other.strokes, strict=True))
        )

    def __hash__(self) -> int:
        return hash((self.point_count, self.stroke_count, self.canvas_width, self.canvas_height))

    @property
    def stroke_count(self) -> int:
        return len(self.strokes)

    @property
    def point_count(self) -> int:
        return sum(len(s) for s in self.strokes)

    @property
    def duration_ms(self) -> float:
        if not self.strokes:
            return 0.0
        return float(self.strokes[-1][-1, 2] - self.strokes[0][0, 2])

    def points(self) -> FloatArray:
        """All points of all strokes in order, shape ``(n, 4)``."""
        return np.concatenate(self.strokes, axis=0)

    @property
    def has_pressure(self) -> bool:
        """True when the pressure channel varies (a pen); mice and fingers report a constant."""
        p = self.points()[:, 3]
        return bool(p.max() - p.min() > 1e-6)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(payload: dict[str, Any], key: str, label: str, default: float | None = None) -> float:
    if key not in payload:
        if default is not None:
            return default
        raise CaptureError(f"The signature is missing its {label} (“{key}”).")
    value = payload[key]
    if not _is_number(value):
        raise CaptureError(f"The {label} (“{key}”) must be a number.")
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        number = math.inf
    if not math.isfinite(number):
        raise CaptureError(f"The {label} (“{key}”) must be a finite number.")
    return number


def parse_capture(payload: object) -> Capture:
    """Check a decoded JSON payload against the format and the SPEC 6 limits.

    Raises :class:`CaptureError` (never anything else) naming the first problem found.
    """
    if not isinstance(payload, dict):
        raise CaptureError("The signature must be sent as a JSON object.")
    width = _number(payload, "width", "canvas width")
    height = _number(payload, "height", "canvas height")
    if not 0 < width <= MAX_CANVAS_PX or not 0 < height <= MAX_CANVAS_PX:
        raise CaptureError(
            f"The canvas width and height must be more than 0 and at most {MAX_CANVAS_PX:.0f} pixels."
        )
    dpr = _number(payload, "dpr", "device pixel ratio", default=1.0)
    if not 0 < dpr <= MAX_DPR:
        raise CaptureError(
            f"The device pixel ratio (“dpr”) must be more than 0 and at most {MAX_DPR:g}."
        )
    pointer = payload.get("pointer_type")
    pointer_type = "unknown" if pointer in (None, "") else pointer  # "": the browser did not say
    if pointer_type not in POINTER_TYPES:
        raise CaptureError(
            f"The pointer type (“pointer_type”) must be one of {', '.join(POINTER_TYPES)}, or left out."
        )

    raw_strokes = payload.get("strokes")
    if not isinstance(raw_strokes, list):
        raise CaptureError("The signature must have a list of strokes (“strokes”).")
    if not raw_strokes:
        raise CaptureError("The signature is empty; please sign in the box.")
    if len(raw_strokes) > MAX_STROKES:
        raise CaptureError(
            f"A signature may have at most {MAX_STROKES} strokes; this one has {len(raw_strokes)}."
        )
    total = 0
    for raw in raw_strokes:
        if not isinstance(raw, list):
            raise CaptureError("Each stroke must be a list of points.")
        if not raw:
            raise CaptureError("Each stroke must have at least one point.")
        total += len(raw)
    if total > MAX_POINTS:
        raise CaptureError(
            f"A signature may have at most {MAX_POINTS:,} points; this one has {total:,}."
        )

    strokes: list[FloatArray] = []
    for raw in raw_strokes:
        fast = _plain_rows(raw)
        if fast is not None:
            strokes.append(fast)
            continue
        rows: list[tuple[float, float, float, float]] = []
        for point in raw:
            if not isinstance(point, list) or len(point) != 4:
                raise CaptureError(
                    "Each point must be a list of four numbers: [x, y, t, pressure]."
                )
            if not all(_is_number(v) for v in point):
                raise CaptureError(
                    "Each point must be a list of four numbers: [x, y, t, pressure]."
                )
            try:
                x, y, t, p = (float(v) for v in point)
            except OverflowError:
                raise CaptureError("Every point value must be a finite number.") from None
            if not (
                math.isfinite(x) and math.isfinite(y) and math.isfinite(t) and math.isfinite(p)
            ):
                raise CaptureError("Every point value must be a finite number.")
            rows.append((x, y, t, p))
        strokes.append(np.array(rows, dtype=np.float64).reshape(-1, 4))
    return _checked(strokes, width, height, dpr, pointer_type)


_PLAIN_NUMBERS = frozenset({int, float})


def _plain_rows(raw: list[Any]) -> FloatArray | None:
    """A stroke of JSON points as the loop in `parse_capture` builds it, in a few numpy
    calls; None when anything is unusual (the loop then names the problem)."""
    if not all(type(point) is list and len(point) == 4 for point in raw):
        return None
    if not {type(v) for point in raw for v in point} <= _PLAIN_NUMBERS:
        return None
    try:
        rows = np.array(raw, dtype=np.float64)  # each value as float(v) converts it
    except (OverflowError, ValueError, TypeError):
        return None
    if not np.isfinite(rows).all():
        return None
    return rows.reshape(-1, 4)


def _seconds_over(duration_ms: float, limit_ms: int) -> str:
    """A duration above `limit_ms` written so that it never reads as within it (60,001 ms is
    "60.001 seconds", not "60.0 seconds")."""
    for digits in (1, 3):
        shown = f"{duration_ms / 1000:.{digits}f}"
        if float(shown) * 1000 > limit_ms:
            return f"{shown} seconds"
    return f"more than {limit_ms / 1000:g} seconds"


def _checked(
    strokes: Sequence[FloatArray], width: float, height: float, dpr: float, pointer_type: str
) -> Capture:
    """Enforce the geometric and temporal limits shared by parsing and decoding."""
    all_points = np.concatenate(strokes, axis=0)
    xs, ys, ts, ps = all_points.T
    tol = EDGE_TOLERANCE_PX
    if xs.min() < -tol or xs.max() > width + tol or ys.min() < -tol or ys.max() > height + tol:
        raise CaptureError(f"Every point must lie inside the {width:g} x {height:g} pixel canvas.")
    if ps.min() < 0.0 or ps.max() > 1.0:
        raise CaptureError("Pressure must be between 0 and 1.")
    if np.any(np.diff(ts) < 0) or ts[0] < 0:  # t: milliseconds from the first point, so >= 0
        raise CaptureError(
            "Point times must never go backwards, within or across strokes, and start at 0 or "
            "later (t counts milliseconds from the first point)."
        )
    t0 = float(ts[0])
    duration = float(ts[-1]) - t0
    if duration > MAX_DURATION_MS:
        raise CaptureError(
            f"A signature may take at most {MAX_DURATION_MS // 1000} seconds; "
            f"this one took {_seconds_over(duration, MAX_DURATION_MS)}."
        )
    out: list[FloatArray] = []
    for stroke in strokes:
        s = np.array(stroke, dtype=np.float64, copy=True)
        s[:, 0] = np.clip(s[:, 0], 0.0, width)
        s[:, 1] = np.clip(s[:, 1], 0.0, height)
        s[:, 2] -= t0
        s.setflags(write=False)
        out.append(s)
    return Capture(tuple(out), float(width), float(height), float(dpr), pointer_type)


# --- storage form ---------------------------------------------------------------------------
#
# b"ATC" + version byte, then zlib( header <dddBH> width, height, dpr, pointer code, stroke count;
# stroke lengths as <I each; all points as little-endian float64 (x, y, t, p) row after row ).

_MAGIC = b"ATC"
_VERSION = 1
_HEADER = struct.Struct("<dddBH")


def encode_capture(c: Capture) -> bytes:
    """A compact, versioned binary form of ``c`` for storage (the caller encrypts it)."""
    body = bytearray(
        _HEADER.pack(
            c.canvas_width,
            c.canvas_height,
            c.device_pixel_ratio,
            POINTER_TYPES.index(c.pointer_type) if c.pointer_type in POINTER_TYPES else 3,
            len(c.strokes),
        )
    )
    body += struct.pack(f"<{len(c.strokes)}I", *(len(s) for s in c.strokes))
    body += np.ascontiguousarray(c.points(), dtype="<f8").tobytes()
    return _MAGIC + bytes([_VERSION]) + zlib.compress(bytes(body), 6)


def decode_capture(data: bytes) -> Capture:
    """Inverse of :func:`encode_capture`; raises :class:`CaptureError` on anything malformed."""
    if len(data) < 4 or data[:3] != _MAGIC:
        raise CaptureError("The stored signature is not in a known format.")
    if data[3] != _VERSION:
        raise CaptureError("The stored signature has an unknown format version.")
    try:
        decomp = zlib.decompressobj()
        body = decomp.decompress(data[4:], MAX_POINTS * 32 + 4096)
        if decomp.unconsumed_tail:
            raise CaptureError("The stored signature is too large.")
        width, height, dpr, code, count = _HEADER.unpack_from(body, 0)
        offset = _HEADER.size
        if not 1 <= count <= MAX_STROKES or code >= len(POINTER_TYPES):
            raise CaptureError("The stored signature is damaged.")
        lengths = struct.unpack_from(f"<{count}I", body, offset)
        offset += 4 * count
        n = sum(lengths)
        if n > MAX_POINTS or min(lengths) < 1 or len(body) != offset + n * 32:
            raise CaptureError("The stored signature is damaged.")
        pts = np.frombuffer(body, dtype="<f8", count=n * 4, offset=offset).reshape(n, 4)
    except (zlib.error, struct.error, ValueError) as exc:
        if isinstance(exc, CaptureError):
            raise
        raise CaptureError("The stored signature is damaged.") from None
    if not np.all(np.isfinite(pts)):
        raise CaptureError("The stored signature is damaged.")
    if not (0 < width <= MAX_CANVAS_PX and 0 < height <= MAX_CANVAS_PX and 0 < dpr <= MAX_DPR):
        raise CaptureError("The stored signature is damaged.")
    bounds = np.cumsum((0, *lengths))
    strokes = [pts[bounds[i] : bounds[i + 1]].astype(np.float64) for i in range(count)]
    return _checked(strokes, width, height, dpr, POINTER_TYPES[code])
