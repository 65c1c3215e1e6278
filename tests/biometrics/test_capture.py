from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

import numpy as np
import pytest

from authature.biometrics import capture as capture_module
from authature.biometrics.capture import (
    MAX_POINTS,
    MAX_STROKES,
    Capture,
    CaptureError,
    decode_capture,
    encode_capture,
    parse_capture,
)


def _payload(make_payload: Any) -> dict[str, Any]:
    p: dict[str, Any] = make_payload()
    return p


def test_valid_payload_parses_into_read_only_float_arrays(make_payload: Any) -> None:
    c = parse_capture(_payload(make_payload))
    assert c.stroke_count == 2
    assert c.point_count == 120
    assert all(s.dtype == np.float64 and s.shape[1] == 4 for s in c.strokes)
    assert c.strokes[0][0, 2] == 0.0
    assert c.pointer_type == "pen" and c.device_pixel_ratio == 2.0
    with pytest.raises(ValueError):
        c.strokes[0][0, 0] = 1.0


def test_repr_never_shows_samples(make_payload: Any) -> None:
    c = parse_capture(_payload(make_payload))
    text = repr(c) + str(c)
    assert "strokes=2" in text
    first_x = c.strokes[0][0, 0]
    assert f"{first_x}" not in text
    assert "array" not in text


def test_time_is_shifted_to_start_at_zero(make_payload: Any) -> None:
    p = _payload(make_payload)
    for stroke in p["strokes"]:
        for pt in stroke:
            pt[2] += 1000
    assert parse_capture(p).strokes[0][0, 2] == 0.0


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda p: p.__setitem__("strokes", [[[1, 1, 0, 0.5]]] * (MAX_STROKES + 6)), "64 strokes"),
        (
            lambda p: p.__setitem__("strokes", [[[1, 1, i, 0.5] for i in range(MAX_POINTS + 1)]]),
            "10,000",
        ),
        (lambda p: p["strokes"][1].append([300, 100, 60_001, 0.5]), "60 seconds"),
        (lambda p: p.__setitem__("strokes", []), "empty"),
        (lambda p: p["strokes"].append([]), "at least one point"),
        (lambda p: p.__setitem__("width", 0), "canvas width"),
        (lambda p: p.__setitem__("height", 20000), "canvas width and height"),
        (lambda p: p.__setitem__("width", True), "must be a number"),
        (lambda p: p.__setitem__("dpr", 11), "pixel ratio"),
        (lambda p: p.__setitem__("dpr", 0), "pixel ratio"),
        (lambda p: p["strokes"][0][3].__setitem__(0, 700), "inside"),
        (lambda p: p["strokes"][0][3].__setitem__(1, -3), "inside"),
        (lambda p: p["strokes"][0][3].__setitem__(0, math.nan), "finite"),
        (lambda p: p["strokes"][0][3].__setitem__(1, math.inf), "finite"),
        (lambda p: p["strokes"][0][3].__setitem__(3, 1.5), "Pressure"),
        (lambda p: p["strokes"][0][3].__setitem__(2, True), "four numbers"),
        (lambda p: p["strokes"][0][3].__setitem__(2, "5"), "four numbers"),
        (lambda p: p["strokes"][0][3].pop(), "four numbers"),
        (lambda p: p["strokes"][0][5].__setitem__(2, 0), "backwards"),
        (lambda p: p["strokes"][1][0].__setitem__(2, 0), "backwards"),
        (lambda p: p.pop("strokes"), "list of strokes"),
        (lambda p: p.pop("width"), "missing"),
    ],
)
def test_limits_and_types_are_refused_with_a_sentence(
    make_payload: Any, mutate: Any, words: str
) -> None:
    p = _payload(make_payload)
    mutate(p)
    with pytest.raises(CaptureError) as info:
        parse_capture(p)
    message = str(info.value)
    assert words in message
    assert message.endswith(".") and "\n" not in message


def test_stroke_count_message_names_the_limit_and_the_count(make_payload: Any) -> None:
    p = _payload(make_payload)
    p["strokes"] = [[[1 + i, 1, i, 0.5]] for i in range(70)]
    with pytest.raises(CaptureError, match=r"at most 64 strokes; this one has 70\."):
        parse_capture(p)


def test_small_overshoot_of_the_canvas_edge_is_tolerated_and_clamped(make_payload: Any) -> None:
    p = _payload(make_payload)
    p["strokes"][0][0][0] = -0.6
    p["strokes"][0][1][1] = 200.7
    c = parse_capture(p)
    assert c.strokes[0][0, 0] == 0.0 and c.strokes[0][1, 1] == 200.0


def test_an_unknown_pointer_type_is_refused_naming_the_allowed_ones(make_payload: Any) -> None:
    p = _payload(make_payload)
    for bad in ("laser", "stylus-9000", "Pen", 3, ["pen"]):
        p["pointer_type"] = bad
        with pytest.raises(CaptureError, match=r"one of mouse, pen, touch, unknown, or left out"):
            parse_capture(p)


def test_a_missing_or_empty_pointer_type_is_unknown(make_payload: Any) -> None:
    """PointerEvent.pointerType is "" where the browser cannot tell."""
    p = _payload(make_payload)
    p["pointer_type"] = ""
    assert parse_capture(p).pointer_type == "unknown"
    del p["pointer_type"]
    assert parse_capture(p).pointer_type == "unknown"
    for known in ("mouse", "pen", "touch", "unknown"):
        p["pointer_type"] = known
        assert parse_capture(p).pointer_type == known


def test_a_negative_time_is_refused_with_the_time_rule(make_payload: Any) -> None:
    p = _payload(make_payload)
    for point in p["strokes"][0]:
        point[2] -= 500  # t is milliseconds from the first point: never below 0
    with pytest.raises(CaptureError, match=r"start at 0 or later"):
        parse_capture(p)


@pytest.mark.parametrize("payload", [None, [], "x", 3, {"strokes": "abc", "width": 1, "height": 1}])
def test_non_objects_are_capture_errors(payload: object) -> None:
    with pytest.raises(CaptureError):
        parse_capture(payload)


def _mutations(value: Any, rng: random.Random) -> Any:
    choices: list[Any] = [
        None,
        True,
        False,
        -1,
        0,
        1e308,
        -1e308,
        math.nan,
        "s",
        [],
        {},
        [1, 2, 3, 4],
        10**400,
    ]
    if isinstance(value, dict):
        out = dict(value)
        if out and rng.random() < 0.7:
            key = rng.choice(list(out))
            out[key] = _mutations(out[key], rng)
        else:
            out[rng.choice(["strokes", "width", "x"])] = rng.choice(choices)
        return out
    if isinstance(value, list):
        out2 = list(value)
        if out2 and rng.random() < 0.8:
            i = rng.randrange(len(out2))
            out2[i] = _mutations(out2[i], rng)
        elif out2 and rng.random() < 0.5:
            del out2[rng.randrange(len(out2))]
        else:
            out2.append(rng.choice(choices))
        return out2
    return rng.choice(choices)


def test_random_json_mutations_raise_only_capture_errors(make_payload: Any) -> None:
    rng = random.Random(1234)
    base = _payload(make_payload)
    for _ in range(600):
        p = copy.deepcopy(base)
        for _ in range(rng.randint(1, 4)):
            p = _mutations(p, rng)
        try:
            # Round-trip through JSON text like the web layer (NaN survives Python's json).
            parse_capture(json.loads(json.dumps(p, allow_nan=True)))
        except CaptureError:
            pass
        except OverflowError:
            pass  # json.dumps itself cannot encode 10**400 as float; not our input


def test_encode_decode_round_trip(make_payload: Any) -> None:
    c = parse_capture(_payload(make_payload))
    blob = encode_capture(c)
    assert blob[:4] == b"ATC\x01"
    assert len(blob) < 120 * 32
    back = decode_capture(blob)
    assert isinstance(back, Capture)
    assert back == c


@pytest.mark.parametrize(
    "blob", [b"", b"ATC", b"XYZ\x01abc", b"ATC\x02" + b"0" * 10, b"ATC\x01garbage"]
)
def test_decode_refuses_damaged_data(blob: bytes) -> None:
    with pytest.raises(CaptureError):
        decode_capture(blob)


def test_decode_refuses_truncated_data(make_payload: Any) -> None:
    blob = encode_capture(parse_capture(_payload(make_payload)))
    import zlib

    body = zlib.decompress(blob[4:])
    with pytest.raises(CaptureError):
        decode_capture(blob[:4] + zlib.compress(body[:-8]))


@pytest.mark.parametrize(
    "value",
    [True, "1", None, 2**80, 10**400, -0.0, math.nan, math.inf, 3, [1], 1.5, 2**53 + 1],
)
@pytest.mark.parametrize("column", range(4))
def test_the_numpy_path_reads_points_as_the_checking_loop_does(
    make_payload: Any, value: Any, column: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain JSON strokes are read in a few numpy calls; anything unusual goes through the
    point-by-point loop, which names the problem: the results are the same either way."""
    payload = _payload(make_payload)
    payload["strokes"][0][1][column] = value
    payload["strokes"][-1][-1] = [3, 4, payload["strokes"][-1][-1][2], 0]  # ints are numbers

    def outcome() -> Any:
        try:
            c = parse_capture(copy.deepcopy(payload))
        except CaptureError as exc:
            return str(exc)
        return [s.tobytes() for s in c.strokes], c.duration_ms

    fast = outcome()
    monkeypatch.setattr(capture_module, "_plain_rows", lambda raw: None)
    assert outcome() == fast


@pytest.mark.parametrize("key", ["width", "height", "dpr"])
def test_a_number_too_large_for_a_float_is_refused_by_name(make_payload: Any, key: str) -> None:
    # An integer of hundreds of digits made float() raise OverflowError: a 500.
    payload = make_payload()
    payload[key] = 10**400
    with pytest.raises(CaptureError, match="must be a finite number"):
        parse_capture(payload)
