"""The verifier scores with the model of the reference set it has (issue 3).

A template of n references the writer enrolled is scored by the model learnt on n enrolled
references; one that template updates grew past the enrollment by the model learnt on replayed
update schedules.  The held-out figures of that choice, on a fixed slice of SVC2004, must stay
within the bounds recorded when the models last changed (benchmarks/verifier_updates.py gives
the full figures for docs/benchmarks.md).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from authature.biometrics.evaluation import SignatureSet
from authature.biometrics.svc2004 import load_signature
from authature.biometrics.updates import ENROLLED_COUNTS, learn_models, measure
from authature.biometrics.verifier import (
    DEFAULT_ENROLL_SAMPLES,
    Model,
    Verifier,
    distances,
    load_models,
    score_vector,
)

KINDS = ("pressure", "no_pressure")


def _shipped() -> Any:
    text = resources.files("authature.biometrics").joinpath("model.json").read_text("utf-8")
    return json.loads(text)["models"]


def _same(model: Model, entry: Any) -> bool:
    """The model is the file's entry (weights and bias as written)."""
    return bool(np.array_equal(model.weights, entry["weights"]) and model.bias == entry["bias"])


def test_model_file_has_a_model_per_count_and_one_for_updated_sets() -> None:
    shipped = _shipped()
    for kind in KINDS:
        enrolled = shipped[kind]["enrolled"]
        assert sorted(int(n) for n in enrolled) == list(ENROLLED_COUNTS)
        assert shipped[kind]["updated"]
        # The models differ: a count does not silently share another's entry.
        biases = {e["bias"] for e in enrolled.values()} | {shipped[kind]["updated"]["bias"]}
        assert len(biases) == len(ENROLLED_COUNTS) + 1


@pytest.mark.parametrize("enroll", [3, 5, 10])
def test_the_model_of_the_reference_count_is_chosen(enroll: int) -> None:
    shipped = _shipped()
    v = Verifier(enroll_samples=enroll)
    for kind, pressure in (("pressure", True), ("no_pressure", False)):
        entry = shipped[kind]
        enrolled, updated = entry["enrolled"], entry["updated"]
        for n in range(1, 15):
            model = v.model_for(pressure, n)
            if n > enroll:
                assert _same(model, updated), (kind, n)
            else:
                # An enrolled set of n: its own model; below 3 the 3-reference one.
                assert _same(model, enrolled[str(min(max(n, 3), 10))]), (kind, n)


def test_what_the_store_knows_of_updates_wins_over_the_configured_count() -> None:
    # A user enrolled with 3 before the operator set 5: 3 + 2 updates is a grown set, and 5
    # fresh ones after the operator went back to 3 are an enrolled set of 5.
    shipped = _shipped()
    v = Verifier(enroll_samples=5)
    for kind, pressure in (("pressure", True), ("no_pressure", False)):
        entry = shipped[kind]
        assert _same(v.model_for(pressure, 5, grown=True), entry["updated"]), kind
        assert _same(v.model_for(pressure, 7, grown=False), entry["enrolled"]["7"]), kind
        assert _same(v.model_for(pressure, 7), entry["updated"]), kind  # unknown: the count


def test_default_enrollment_count_is_the_servers() -> None:
    from authature.config import Settings

    assert Settings.from_env({}).enroll_samples == DEFAULT_ENROLL_SAMPLES


@pytest.mark.data
@pytest.mark.parametrize("count", [3, 5, 7])
def test_a_sign_in_is_scored_with_the_model_of_its_reference_count(svc: Path, count: int) -> None:
    # Task 2 user 4: pen with pressure.  With 5 enrolled, 7 references mean a grown set.
    folder = svc / "Task2"
    v = Verifier()
    refs = [load_signature(folder / f"U4S{n}.TXT") for n in range(1, count + 1)]
    tpl = v.template(refs)
    models = load_models("pressure")
    expected_model = models.updated if count > 5 else models.enrolled[count]
    assert expected_model is not None
    for n in (12, 25):
        probe = load_signature(folder / f"U4S{n}.TXT")
        p = v.prepare(probe)
        full = np.stack([distances(p, r) for r in tpl.refs], axis=1)
        expected = expected_model.score(score_vector(full, tpl.mutual))
        decision = v.verify(refs, probe)
        assert decision.score == pytest.approx(expected, abs=1e-12)
        assert decision.accepted == (expected >= v.threshold)


# Held-out figures on the slice (users 1-10, 2 draws; models learnt on 1-5, measured on 6-10,
# then the reverse), recorded when the models last changed, plus slack.  Rates are fractions.
USERS = list(range(1, 11))
SLACK = 0.02
BOUNDS = {
    # task: {(enroll, updates): (max EER, max FAR at 0, max FRR at 0)}
    2: {
        (3, False): (0.193, 0.173, 0.250),
        (3, True): (0.067, 0.047, 0.100),
        (5, True): (0.053, 0.033, 0.060),
    },
    1: {
        (3, False): (0.100, 0.193, 0.170),
        (3, True): (0.037, 0.030, 0.130),
        (5, True): (0.050, 0.027, 0.190),
    },
}


@pytest.mark.data
@pytest.mark.parametrize("task", [2, 1])
def test_held_out_rates_of_the_chosen_models_stay_within_recorded_bounds(
    svc: Path, task: int
) -> None:
    from authature.biometrics.evaluation import Protocol

    data = SignatureSet(svc / f"Task{task}", USERS)
    protocol = Protocol(draws=2)
    halves = (USERS[:5], USERS[5:])
    seen: dict[tuple[int, bool], list[tuple[float, float, float]]] = {}
    for train, test in (halves, halves[::-1]):
        models = learn_models(data, train, "slice", "", protocol=protocol)
        for enroll, updates in BOUNDS[task]:
            r = measure(data, models, test, enroll, updates, False, protocol=protocol)
            seen.setdefault((enroll, updates), []).append((r.eer_skilled, r.far_skilled, r.frr))
    for key, bound in BOUNDS[task].items():
        mean = np.mean(np.array(seen[key]), axis=0)
        for value, limit, name in zip(mean, bound, ("EER", "FAR@0", "FRR@0"), strict=True):
            assert value <= limit + SLACK, f"{key} {name} regressed: {value:.4f} > {limit}"
