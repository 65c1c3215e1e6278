"""`biometrics.stored`: the cached derived data gives exactly the verifier's own decisions.

(The sign-in flow keeps stored signatures' features, replay prints and reference pair distances
per row; these tests compare its decisions with `Verifier.verify` and `Verifier.is_replay` on
real SVC2004 signatures, including replays.)
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np
import pytest
from support.data import svc2004_path

from authature.biometrics.capture import Capture
from authature.biometrics.stored import SampleCache, sample
from authature.biometrics.svc2004 import load_signature
from authature.biometrics.verifier import Decision, Verifier

pytestmark = pytest.mark.data


def _load(user: int, n: int) -> Capture:
    return load_signature(svc2004_path(user, n))


def _same(c: Capture) -> Capture:
    return c


def _expected(
    verifier: Verifier, refs: list[Capture], recent: list[Capture], probe: Capture
) -> Decision:
    if verifier.is_replay(probe, recent):
        return Decision(False, -math.inf, verifier.threshold, "replay")
    return verifier.verify(refs, probe)


@pytest.mark.parametrize("user", [1, 7])
def test_decisions_equal_the_verifiers_own(user: int) -> None:
    verifier = Verifier()
    cache = SampleCache(verifier)
    refs = [_load(user, n) for n in range(1, 6)]
    recent = [_load(user, 6)]
    probes = [_load(user, n) for n in (6, 7, 8, 9, 12)]  # 6: a replay of a recent sample
    probes += [_load(user, 21), _load(user, 25), _load(user % 30 + 1, 3)]  # forgeries
    probes.append(refs[2])  # a replay of a reference
    ref_samples = [cache.get(("ref", i), functools.partial(_same, c)) for i, c in enumerate(refs)]
    recent_samples = [
        cache.get(("recent", i), functools.partial(_same, c), features=False)
        for i, c in enumerate(recent)
    ]
    assert all(r.features is None for r in recent_samples)  # the replay rule needs no more
    reasons = set()
    for probe in probes:
        got = cache.decide(sample(None, probe), ref_samples, recent_samples)
        want = _expected(verifier, refs, recent, probe)
        assert (got.accepted, got.reason) == (want.accepted, want.reason)
        assert got.score == want.score or (math.isinf(got.score) and math.isinf(want.score))
        reasons.add(got.reason)
    assert {"replay", "rejected"} <= reasons


def test_a_grown_reference_set_reuses_the_known_pair_distances() -> None:
    verifier = Verifier()
    cache = SampleCache(verifier)
    refs = [cache.get(n, functools.partial(_load, 2, n)) for n in range(1, 7)]
    cache.template(refs[:5])
    fresh = SampleCache(verifier)
    grown, rebuilt = cache.template(refs), fresh.template(refs)
    assert np.array_equal(grown.mutual, rebuilt.mutual)
    assert np.array_equal(
        grown.mutual, verifier.template([_load(2, n) for n in range(1, 7)]).mutual
    )


@pytest.mark.parametrize("user", [3, 11])
def test_an_adopted_probe_brings_exactly_the_pair_distances_a_rebuild_gives(user: int) -> None:
    """A probe stored as a reference keeps its distances to the references it was compared
    with (DTW is symmetric; cut-short shape comparisons are computed again)."""
    verifier = Verifier()
    cache = SampleCache(verifier)
    refs = [cache.get(n, functools.partial(_load, user, n)) for n in range(1, 6)]
    for n in (6, 7, 8):
        probe = sample(None, _load(user, n))
        cache.decide(probe, refs, [])
        assert len(probe.compared) == len(refs)
        adopted = replace(probe, key=("new", n))
        cache.adopt(adopted)
        assert cache._pairs.get((refs[1].key, adopted.key)) is not None
        refs = [*refs[1:], adopted]
        want = verifier.template([_load(user, k) for k in (*range(n - 4, n), n)]).mutual
        assert np.array_equal(cache.template(refs).mutual, want)
        assert np.array_equal(SampleCache(verifier).template(refs).mutual, want)


def test_a_replay_only_sample_gains_its_features_when_asked_for_them() -> None:
    cache = SampleCache(Verifier())
    loads: list[int] = []

    def load() -> Capture:
        loads.append(1)
        return _load(4, 1)

    only_print = cache.get("k", load, features=False)
    with pytest.raises(ValueError):
        only_print.prepared  # noqa: B018
    full = cache.get("k", load)
    assert full.prepared is not None and np.array_equal(full.print.xy, only_print.print.xy)
    assert cache.get("k", load, features=False) is full
    assert len(loads) == 2


def test_samples_are_loaded_once_and_show_no_data() -> None:
    cache = SampleCache(Verifier())
    loads = []

    def load() -> Capture:
        loads.append(1)
        return _load(3, 1)

    first = cache.get((1, b"x"), load)
    assert cache.get((1, b"x"), load) is first and len(loads) == 1
    assert "x=" not in repr(first) and "xy" not in repr(first.print)


def test_a_reference_set_is_prepared_once_with_what_it_derives() -> None:
    # A mouse probe against pen references re-measures the writer's spread without pressure
    # (`Template.mutual_at`); the kept set keeps that, so the next sign-in does not redo it.
    from authature.biometrics.svc2004 import to_payload

    def flat(n: int) -> Capture:
        from authature.biometrics.capture import parse_capture

        payload = to_payload(svc2004_path(4, n))
        strokes = payload["strokes"]
        assert isinstance(strokes, list)
        payload["strokes"] = [[[x, y, t, 0.5] for x, y, t, _ in s] for s in strokes]
        return parse_capture(payload)

    verifier = Verifier()
    cache = SampleCache(verifier)
    refs = [cache.get(n, functools.partial(_load, 4, n)) for n in range(1, 6)]
    probe = sample("probe", flat(12))
    first = cache.decide(probe, refs, [])
    kept = cache.template(refs)
    assert cache.template(refs) is kept and kept.narrowed  # derived once, kept
    assert cache.decide(probe, refs, []) == first
    assert first.score == pytest.approx(
        verifier.verify([_load(4, n) for n in range(1, 6)], flat(12)).score
    )
