"""Reading SVC2004 online signatures (``Task1/``, ``Task2/``, files ``U<u>S<n>.TXT``).

Used by the evaluation and the tests only; the server never reads these files.  The quirks are
described in the data README and handled here so that every converted file passes
:func:`~authature.biometrics.capture.parse_capture` when posted as JSON:

* ``ButtonStatus`` 0 marks the first point after a pen lift (a new stroke); any non-zero value
  (1–5 occur) is pen down;
* timestamps that step back are clamped to be non-decreasing;
* tablet y grows upwards, so it is flipped;
* Task 2 pressure 0..1023 becomes 0..1; Task 1 has none and gets a constant 0.5, like a mouse;
* tablet units are scaled, keeping the aspect ratio, to fit a 600 x 200 CSS-pixel canvas.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .capture import Capture, parse_capture

__all__ = [
    "CANVAS_HEIGHT",
    "CANVAS_WIDTH",
    "GENUINE",
    "SKILLED",
    "SignatureFile",
    "genuine_files",
    "list_files",
    "list_users",
    "load_signature",
    "signature_data_root",
    "skilled_forgery_files",
    "to_payload",
]

CANVAS_WIDTH = 600.0
CANVAS_HEIGHT = 200.0
_MARGIN_PX = 10.0
#: Sample numbers of genuine signatures and skilled forgeries in SVC2004.
GENUINE = range(1, 21)
SKILLED = range(21, 41)
#: The folder holding ``svc2004/`` (README): one rule for the CLI, the benchmarks and the tests.
SIGNATURE_DATA_ENV = "AUTHATURE_SIGNATURE_DATA"


def signature_data_root(fallback: Path) -> Path:
    """``$AUTHATURE_SIGNATURE_DATA`` when set, else ``fallback`` (normally ``../shared/data``)."""
    configured = os.environ.get(SIGNATURE_DATA_ENV)
    return Path(configured) if configured else fallback


_NAME = re.compile(r"^U(\d+)S(\d+)\.TXT$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class SignatureFile:
    user: int
    sample: int
    path: Path

    @property
    def is_genuine(self) -> bool:
        return self.sample in GENUINE


def list_files(folder: str | Path) -> list[SignatureFile]:
    """Every ``U<u>S<n>.TXT`` in ``folder``, sorted by user then sample."""
    out = []
    for path in Path(folder).iterdir():
        m = _NAME.match(path.name)
        if m and path.is_file():
            out.append(SignatureFile(int(m.group(1)), int(m.group(2)), path))
    return sorted(out)


def list_users(folder: str | Path) -> list[int]:
    return sorted({f.user for f in list_files(folder)})


def genuine_files(folder: str | Path, user: int) -> list[SignatureFile]:
    return [f for f in list_files(folder) if f.user == user and f.sample in GENUINE]


def skilled_forgery_files(folder: str | Path, user: int) -> list[SignatureFile]:
    return [f for f in list_files(folder) if f.user == user and f.sample in SKILLED]


def to_payload(path: str | Path) -> dict[str, object]:
    """The JSON the signing page would have posted for this file."""
    rows = np.loadtxt(path, skiprows=1, ndmin=2, dtype=np.float64)
    x, y, t, status = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    pressure = rows[:, 6] / 1023.0 if rows.shape[1] >= 7 else np.full(len(rows), 0.5)
    t = np.maximum.accumulate(t - t[0])
    y = -y
    x = x - x.min()
    y = y - y.min()
    span_x = max(float(x.max()), 1.0)
    span_y = max(float(y.max()), 1.0)
    scale = min((CANVAS_WIDTH - 2 * _MARGIN_PX) / span_x, (CANVAS_HEIGHT - 2 * _MARGIN_PX) / span_y)
    x = np.round(x * scale + _MARGIN_PX, 2)
    y = np.round(y * scale + _MARGIN_PX, 2)
    starts = [0, *[i for i in range(1, len(rows)) if status[i] == 0], len(rows)]
    strokes = []
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        if b > a:
            strokes.append(
                [
                    [float(x[i]), float(y[i]), float(t[i]), float(np.clip(pressure[i], 0, 1))]
                    for i in range(a, b)
                ]
            )
    pointer = "pen" if rows.shape[1] >= 7 else "unknown"
    return {
        "strokes": strokes,
        "width": CANVAS_WIDTH,
        "height": CANVAS_HEIGHT,
        "dpr": 1.0,
        "pointer_type": pointer,
    }


def load_signature(path: str | Path) -> Capture:
    """One SVC2004 file as a :class:`Capture`, exactly as if posted by the signing page."""
    return parse_capture(to_payload(path))
