from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from authature.biometrics.capture import parse_capture
from authature.biometrics.quality import quality_problem
from authature.biometrics.svc2004 import list_users, load_signature
from authature.biometrics.verifier import Decision, Verifier


def test_default_threshold_is_the_evaluated_one() -> None:
    assert Verifier().threshold == 0.0
    assert Verifier(threshold=1.5).threshold == 1.5


def test_replay_of_a_reference_is_refused(make_payload: Any) -> None:
    refs = [parse_capture(make_payload(phase=0.1 * i, jitter=2.0 * i)) for i in range(3)]
    d = Verifier().verify(refs, refs[1])
    assert d == Decision(False, d.score, 0.0, "replay")


def test_replay_with_tiny_noise_is_still_a_replay(make_payload: Any) -> None:
    p = make_payload()
    for stroke in p["strokes"]:
        for pt in stroke:
            pt[0] += 0.3
            pt[2] += 1
    assert Verifier().is_replay(parse_capture(p), [parse_capture(make_payload())])


def test_template_update_needs_a_clear_margin() -> None:
    v = Verifier()
    assert v.template_update_ok(Decision(True, 3.5, 0.0, "accepted"))
    assert not v.template_update_ok(Decision(True, 2.5, 0.0, "accepted"))
    assert not v.template_update_ok(Decision(False, 5.0, 0.0, "replay"))
    assert not v.template_update_ok(Decision(False, -1.0, 0.0, "rejected"))


def test_quality_refuses_dots_lines_and_scribbles() -> None:
    dot = parse_capture(
        {"strokes": [[[50, 50, 0, 0.5], [51, 50, 10, 0.5]]], "width": 100, "height": 100}
    )
    assert "dot" in (quality_problem(dot) or "")
    line = parse_capture(
        {
            "strokes": [[[10 + i * 2, 50, i * 10, 0.5] for i in range(100)]],
            "width": 300,
            "height": 100,
        }
    )
    assert "straight line" in (quality_problem(line) or "")
    quick = parse_capture(
        {
            "strokes": [[[10 + i * 4, 50 + (i % 5) * 6, i, 0.5] for i in range(60)]],
            "width": 300,
            "height": 100,
        }
    )
    assert "quick" in (quality_problem(quick) or "")
    tiny = parse_capture(
        {
            "strokes": [[[10 + (i % 7), 50 + (i % 5), i * 10, 0.5] for i in range(60)]],
            "width": 300,
            "height": 100,
        }
    )
    assert "small" in (quality_problem(tiny) or "")


@pytest.mark.data
def test_genuine_accepted_other_writers_refused(svc: Path) -> None:
    folder = svc / "Task2"
    v = Verifier()
    refs = [load_signature(folder / f"U5S{n}.TXT") for n in range(1, 6)]
    assert v.check_enrollment(refs).ok
    genuine = [v.verify(refs, load_signature(folder / f"U5S{n}.TXT")) for n in range(11, 21)]
    assert sum(d.accepted for d in genuine) >= 9
    others = [v.verify(refs, load_signature(folder / f"U{u}S1.TXT")) for u in range(10, 20)]
    assert not any(d.accepted for d in others)
    assert all(d.reason == "rejected" for d in others)
    forged = [v.verify(refs, load_signature(folder / f"U5S{n}.TXT")) for n in range(21, 41)]
    # U5's forgers are among the better ones: with these five references and the global
    # threshold the engine of this commit lets 8 of 20 in (scores up to +1.0, genuine from +0.2
    # up to +7).  Fail if that gets worse, or if forgeries stop ranking below the genuine.
    assert sum(d.accepted for d in forged) <= 8
    g_scores = sorted(d.score for d in genuine)
    f_scores = sorted(d.score for d in forged)
    assert f_scores[-1] < g_scores[len(g_scores) // 2]


@pytest.mark.data
def test_enrollment_names_the_sample_from_another_writer(svc: Path) -> None:
    folder = svc / "Task2"
    v = Verifier()
    samples = [load_signature(folder / f"U7S{n}.TXT") for n in range(1, 5)]
    samples.insert(2, load_signature(folder / "U12S3.TXT"))
    check = v.check_enrollment(samples)
    assert not check.ok and check.outlier_index == 2 and check.reason


@pytest.mark.data
def test_no_two_genuine_signatures_look_like_replays(svc: Path) -> None:
    v = Verifier()
    for task in ("Task1", "Task2"):
        for user in list_users(svc / task):
            caps = [load_signature(svc / task / f"U{user}S{n}.TXT") for n in range(1, 21)]
            for i, c in enumerate(caps):
                assert not v.is_replay(c, caps[:i] + caps[i + 1 :]), (task, user, i + 1)


def _changed(c: Any, column: int, factor: float) -> Any:
    def one(s: Any) -> Any:
        s = s.copy()
        s[:, column] *= factor
        return s

    return dataclasses.replace(c, strokes=tuple(one(s) for s in c.strokes))


@pytest.mark.data
def test_no_genuine_signature_is_taken_for_a_copy_of_a_reference(svc: Path) -> None:
    # The DTW test of the replay rule (`copies_a_reference`) must not refuse a writer's own
    # later signatures: S6-S20 against S1-S5, every writer of both tasks.
    v = Verifier()
    for task in ("Task1", "Task2"):
        for user in list_users(svc / task):
            caps = [load_signature(svc / task / f"U{user}S{n}.TXT") for n in range(1, 21)]
            for n, probe in enumerate(caps[5:], start=6):
                assert v.verify(caps[:5], probe).reason != "replay", (task, user, n)


def _every_other_point(c: Any) -> Any:
    return dataclasses.replace(c, strokes=tuple(s[::2] if len(s) > 2 else s for s in c.strokes))


@pytest.mark.data
def test_resampled_copies_of_a_reference_are_mostly_refused(svc: Path) -> None:
    # Every other point dropped: the print test and the DTW test together (measured 91 % on
    # Task 2, 97 % on Task 1 over all writers; benchmarks/replay_rule.py, docs/biometrics.md).
    v = Verifier()
    for task, at_least in (("Task1", 0.9), ("Task2", 0.85)):
        refused = []
        for user in list_users(svc / task):
            refs = [load_signature(svc / task / f"U{user}S{n}.TXT") for n in range(1, 6)]
            decision = v.verify(refs, _every_other_point(refs[2]))
            refused.append(decision.reason == "replay")
        assert sum(refused) >= at_least * len(refused), (task, sum(refused), len(refused))


@pytest.mark.data
def test_copies_redrawn_slower_smaller_stretched_or_joined_are_replays(svc: Path) -> None:
    import numpy as np

    v = Verifier()
    rng = np.random.default_rng(7)
    for user in (3, 14, 29):
        c = load_signature(svc / "Task2" / f"U{user}S4.TXT")
        size = float(np.ptp(c.points()[:, :2], axis=0).max())
        noisy = dataclasses.replace(
            c,
            strokes=tuple(
                s + np.c_[rng.normal(0, 0.003 * size, (len(s), 2)), np.zeros((len(s), 2))]
                for s in c.strokes
            ),
        )
        for copy in (
            _changed(c, 2, 1.03),  # time
            _changed(c, 2, 0.8),
            _changed(_changed(c, 0, 0.97), 1, 0.97),  # size
            _changed(c, 0, 0.9),  # aspect
            dataclasses.replace(c, strokes=(np.concatenate(c.strokes),)),
            noisy,
        ):
            assert v.is_replay(copy, [c]), user


@pytest.mark.data
def test_server_score_is_the_evaluated_score(svc: Path) -> None:
    # verify() abandons shape comparisons that cannot beat the nearest one; the evaluation
    # computes every distance.  Both must give the same score.
    import numpy as np

    from authature.biometrics.verifier import distances, score_vector

    folder = svc / "Task1"
    v = Verifier()
    refs = [load_signature(folder / f"U19S{n}.TXT") for n in (2, 4, 6, 8, 10)]
    tpl = v.template(refs)
    for n in (11, 17, 23, 35):
        p = v.prepare(load_signature(folder / f"U19S{n}.TXT"))
        full = np.stack([distances(p, r) for r in tpl.refs], axis=1)
        expected = v.model_for(False, len(refs)).score(score_vector(full, tpl.mutual))
        assert v.score(tpl, p) == pytest.approx(expected, abs=1e-12)


def test_a_pen_probe_against_mouse_references_is_scored(make_payload: Any) -> None:
    # Mouse references carry no pressure columns after preparation; the pen probe's are
    # ignored for them, and the no-pressure model decides.
    def flat(payload: dict[str, Any]) -> dict[str, Any]:
        for stroke in payload["strokes"]:
            for pt in stroke:
                pt[3] = 0.5
        return payload

    refs = [parse_capture(flat(make_payload(phase=0.1 * i, jitter=2.0 * i))) for i in range(3)]
    probe = parse_capture(make_payload(phase=0.6, jitter=5.0))
    assert probe.has_pressure and not refs[0].has_pressure
    d = Verifier().verify(refs, probe)
    assert d.reason in ("accepted", "rejected") and math.isfinite(d.score)


def _flat(path: Path) -> Any:
    """The file as a mouse would have drawn it: one constant pressure."""
    from authature.biometrics.svc2004 import to_payload

    payload = to_payload(path)
    strokes: Any = payload["strokes"]
    payload["strokes"] = [[[x, y, t, 0.5] for x, y, t, _ in stroke] for stroke in strokes]
    payload["pointer_type"] = "mouse"
    return parse_capture(payload)


@pytest.mark.data
def test_a_probe_without_pressure_is_scored_as_if_the_references_had_none(svc: Path) -> None:
    # A forger must not gain by hiding pressure: the probe's distances and the writer's spread
    # are measured on the same columns, so the score equals the one against pressure-free
    # copies of the same references.
    folder = svc / "Task2"
    v = Verifier()
    refs = [load_signature(folder / f"U5S{n}.TXT") for n in range(1, 6)]
    flat_refs = [_flat(folder / f"U5S{n}.TXT") for n in range(1, 6)]
    for n in (12, 25, 31):
        probe = _flat(folder / f"U5S{n}.TXT")
        with_pressure = v.verify(refs, probe).score
        without = Verifier().verify(flat_refs, probe).score
        assert with_pressure == pytest.approx(without, abs=1e-9)


@pytest.mark.data
def test_skilled_forgeries_gain_nothing_by_dropping_pressure(svc: Path) -> None:
    # Before the fix, flat-pressure forgeries of users 1-10 passed about 7 times as often as
    # the same forgeries drawn with pressure (U5: 20 of 20).
    folder = svc / "Task2"
    v = Verifier()
    pen = flat = 0
    for user in range(1, 11):
        refs = [load_signature(folder / f"U{user}S{n}.TXT") for n in range(1, 6)]
        for n in range(21, 41):
            pen += v.verify(refs, load_signature(folder / f"U{user}S{n}.TXT")).accepted
            flat += v.verify(refs, _flat(folder / f"U{user}S{n}.TXT")).accepted
    assert flat <= pen * 1.5 + 5, (pen, flat)
