"""Replay real SVC2004 signatures into a browser with their own timing.

The SVC2004 files (format and quirks: ``../shared/data/README.md``) are research material: tests
read them from the shared data folder and never copy them into the repository.

Timing: ``page.mouse`` cannot reproduce a pen's 100 Hz rhythm, so the replay goes through the
DevTools protocol (``Input.dispatchMouseEvent`` / ``Input.dispatchTouchEvent``) with an explicit
``timestamp`` per event; the page then sees trusted pointer events whose ``timeStamp`` spacing
matches the recording (see ``/work/shared/TESTING-NOTES.md``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

Point = tuple[float, float, float, float]  # x, y (CSS px), t_ms from the first point, pressure
Stroke = list[Point]
Pointer = Literal["pen", "mouse", "touch"]

SVC2004_MAX_PRESSURE = 1023


def _read_rows(path: Path) -> list[list[int]]:
    lines = path.read_text(encoding="ascii").split()
    # Line 1 is the number of points; then one point per line, 4 (Task 1) or 7 (Task 2) columns.
    count = int(lines[0])
    values = [int(v) for v in lines[1:]]
    columns = len(values) // count if count else 0
    if columns not in (4, 7) or columns * count != len(values):
        raise ValueError(f"{path}: expected {count} rows of 4 or 7 columns")
    return [values[i : i + columns] for i in range(0, len(values), columns)]


def load_svc2004_strokes(
    path: str | os.PathLike[str],
    box: tuple[float, float] = (600.0, 200.0),
    margin: float = 0.08,
) -> list[Stroke]:
    """Read an SVC2004 file as strokes of ``(x, y, t_ms, pressure)`` fitted into ``box``.

    - a row with ButtonStatus 0 is the first point after the pen was lifted: it starts a new
      stroke; any other status (1, and 2-5 for a side button) is pen down;
    - y grows upwards on the tablet, so it is flipped;
    - time is relative to the first point and clamped to be non-decreasing (some files step
      back by 8-9 ms);
    - pressure is divided by 1023 (Task 1 has none: 0.5 is used);
    - the shape is scaled uniformly, centred, with ``margin`` (a fraction of each side) kept
      free, so every point lies inside the canvas.
    """
    rows = _read_rows(Path(path))
    width, height = box
    xs = [r[0] for r in rows]
    ys = [r[1] for r in rows]
    span_x = max(max(xs) - min(xs), 1)
    span_y = max(max(ys) - min(ys), 1)
    scale = min(width * (1 - 2 * margin) / span_x, height * (1 - 2 * margin) / span_y)
    offset_x = (width - span_x * scale) / 2
    offset_y = (height - span_y * scale) / 2
    min_x, max_y = min(xs), max(ys)

    t_first = rows[0][2]
    t_last = 0.0
    strokes: list[Stroke] = []
    for row in rows:
        x = offset_x + (row[0] - min_x) * scale
        y = offset_y + (max_y - row[1]) * scale
        t_ms = max(float(row[2] - t_first), t_last)
        t_last = t_ms
        pressure = row[6] / SVC2004_MAX_PRESSURE if len(row) >= 7 else 0.5
        if row[3] == 0 or not strokes:
            strokes.append([])
        strokes[-1].append((round(x, 2), round(y, 2), t_ms, round(pressure, 4)))
    return strokes


def replay_signature(
    page: Page,
    canvas_locator: Locator,
    strokes: Sequence[Sequence[Point]],
    pointer: Pointer = "pen",
) -> None:
    """Draw ``strokes`` on the canvas with trusted input events carrying the recorded timing.

    ``page`` is the Playwright page (its main frame receives the input, so a canvas inside an
    iframe works too); ``canvas_locator`` locates the canvas; point coordinates are CSS pixels
    relative to the canvas's top-left corner. Pen events carry the pressure as ``force``; mouse
    events report 0.5 while down; touch events carry it as ``force`` as well.

    The events are sent without waiting for each one to be handled (Chromium handles a move
    per animation frame, about 16 ms, when sent one by one): the page then gets fewer
    ``pointermove`` events, each with the other samples in ``getCoalescedEvents()``, every
    sample keeping its own time stamp, position and pressure.
    """
    if pointer not in ("pen", "mouse", "touch"):
        raise ValueError(f"pointer must be pen, mouse or touch, not {pointer!r}")
    canvas_locator.scroll_into_view_if_needed()
    box = canvas_locator.bounding_box()
    if box is None:
        raise AssertionError("the signature canvas is not visible")
    left, top = box["x"], box["y"]
    base = time.time()  # after the page has loaded; event time = base + t_ms / 1000
    messages: list[tuple[str, dict[str, Any]]] = []
    for stroke in strokes:
        if stroke:
            if pointer == "touch":
                messages += _touch_stroke(left, top, base, stroke)
            else:
                messages += _mouse_stroke(left, top, base, stroke, pointer)
    cdp = page.context.new_cdp_session(page)
    try:
        _send_all(cdp, messages)
    finally:
        cdp.detach()


def _send_all(cdp: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Send CDP commands back to back, in order, then wait for all the answers.

    Playwright's sync API waits for each answer; its async implementation underneath does not,
    so the commands are sent through it when it has the shape this was written against
    (Playwright 1.65), and one by one otherwise.
    """
    impl = getattr(cdp, "_impl_obj", None)
    run_sync = getattr(cdp, "_sync", None)
    send = getattr(impl, "send", None)
    if send is None or run_sync is None or os.environ.get("AUTHATURE_REPLAY_SERIAL") == "1":
        for method, params in messages:
            cdp.send(method, params)
        return
    try:
        calls = [send(method=method, params=params, timeout=None) for method, params in messages]
    except TypeError:  # another Playwright version: fall back to the public API
        for method, params in messages:
            cdp.send(method, params)
        return

    async def send_all() -> None:
        await asyncio.gather(*calls)

    run_sync(send_all())


def _mouse_event(
    kind: str, x: float, y: float, t_ms: float, base: float, pointer: str, pressure: float
) -> tuple[str, dict[str, Any]]:
    event: dict[str, Any] = {
        "type": kind,
        "x": x,
        "y": y,
        "button": "left",
        "buttons": 0 if kind == "mouseReleased" else 1,
        "clickCount": 1,
        "pointerType": pointer,
        "timestamp": base + t_ms / 1000,
    }
    if pointer == "pen":
        event["force"] = 0.0 if kind == "mouseReleased" else pressure
    return "Input.dispatchMouseEvent", event


def _mouse_stroke(
    left: float, top: float, base: float, stroke: Sequence[Point], pointer: str
) -> list[tuple[str, dict[str, Any]]]:
    messages = [
        _mouse_event(
            "mousePressed" if index == 0 else "mouseMoved",
            left + x,
            top + y,
            t_ms,
            base,
            pointer,
            pressure,
        )
        for index, (x, y, t_ms, pressure) in enumerate(stroke)
    ]
    x, y, t_ms, _ = stroke[-1]
    messages.append(_mouse_event("mouseReleased", left + x, top + y, t_ms, base, pointer, 0.0))
    return messages


def _touch_stroke(
    left: float, top: float, base: float, stroke: Sequence[Point]
) -> list[tuple[str, dict[str, Any]]]:
    messages: list[tuple[str, dict[str, Any]]] = []
    for index, (x, y, t_ms, pressure) in enumerate(stroke):
        point = {
            "x": left + x,
            "y": top + y,
            "force": pressure,
            "radiusX": 2,
            "radiusY": 2,
            "id": 1,
        }
        messages.append(
            (
                "Input.dispatchTouchEvent",
                {
                    "type": "touchStart" if index == 0 else "touchMove",
                    "touchPoints": [point],
                    "timestamp": base + t_ms / 1000,
                },
            )
        )
    end = {"type": "touchEnd", "touchPoints": [], "timestamp": base + stroke[-1][2] / 1000}
    messages.append(("Input.dispatchTouchEvent", end))
    return messages
