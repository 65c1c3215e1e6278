"""Signature biometrics: the capture format, quality checks, the verifier and SVG rendering.

Imports nothing else of Authature (numpy and dtaidistance only).  Raw samples are never logged,
shown in a repr or quoted in an exception message.
"""

from .capture import (
    MAX_DURATION_MS,
    MAX_POINTS,
    MAX_STROKES,
    Capture,
    CaptureError,
    decode_capture,
    encode_capture,
    parse_capture,
)
from .quality import quality_problem
from .svg import render_svg
from .verifier import Decision, EnrollmentCheck, Verifier

__all__ = [
    "MAX_DURATION_MS",
    "MAX_POINTS",
    "MAX_STROKES",
    "Capture",
    "CaptureError",
    "Decision",
    "EnrollmentCheck",
    "Verifier",
    "decode_capture",
    "encode_capture",
    "parse_capture",
    "quality_problem",
    "render_svg",
]
