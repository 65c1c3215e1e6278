"""Reference sets as the server has them: learning and measuring a model per set (issue 3).

The server scores a probe against 3–10 references: the writer enrolls ``AUTHATURE_ENROLL_SAMPLES``
(3–10, default 5), and every accepted probe scoring at least threshold +
:data:`~.verifier.TEMPLATE_UPDATE_MARGIN` joins them (at most 10, oldest out), so the set grows
and comes to span sessions.  A model learnt on 5 first-session references puts the threshold in
the wrong place for the others (:class:`~.verifier.ModelSet`).  Here, on SVC2004:

* :func:`learn_models` learns the models the server chooses between: one per enrolled count
  n = 3..10 (the ``authature eval`` protocol with n references), and one for sets grown by
  updates, learnt on the states of replayed update schedules (:func:`replay`).
* :func:`measure` replays the schedule on other writers with those models, as the server would
  choose them, and gives the held-out rates.

A replayed run, per writer and reference draw (the seeds of ``authature eval``):

1. enrollment: ``enroll`` signatures drawn from S1–S10 by the draw's own generator (with 5 they
   are the SVC2004 protocol's references);
2. sign-ins: the later-session genuine S11–S15 in order and, in an attacked run, the skilled
   forgeries S21–S25 interleaved with them (one before each genuine sign-in); each probe scoring
   at least threshold + margin with the model the server would choose joins the references;
3. tests: genuine S16–S20 against skilled S26–S40, and one genuine signature of each of up to
   20 other writers (random forgeries).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .capture import FloatArray
from .evaluation import Key, Protocol, Scores, SignatureSet, eer, rates_at, train_model
from .evaluation import trial_vectors as _trial_vectors
from .features import CHANNELS
from .verifier import (
    DEFAULT_THRESHOLD,
    TEMPLATE_UPDATE_MARGIN,
    VECTOR_NAMES,
    Model,
    ModelSet,
    score_vector,
)

__all__ = [
    "ENROLLED_COUNTS",
    "MAX_REFERENCES",
    "REPLAYED_ENROLLMENTS",
    "Rates",
    "Run",
    "learn_models",
    "measure",
    "replay",
    "set_vector",
]

#: The server's default AUTHATURE_MAX_REFERENCES: the set never grows past it (oldest out).
MAX_REFERENCES = 10
#: Enrolled-set models are learnt for these counts (AUTHATURE_ENROLL_SAMPLES allows 3–10).
ENROLLED_COUNTS = range(3, 11)
#: Enrollment sizes whose update schedules the updated-set model is learnt on and measured with.
REPLAYED_ENROLLMENTS = (3, 5)
SIGN_INS = range(11, 16)
ATTACKS = range(21, 26)
GENUINE_TESTS = range(16, 21)
SKILLED_TESTS = range(26, 41)

#: (references, enroll_samples) -> the model the server would score with.
Chooser = Callable[[int, int], Model]


def set_vector(data: SignatureSet, refs: Sequence[Key], probe: Key) -> FloatArray:
    """The score vector of ``probe`` against ``refs`` (memoised DTW distances)."""
    k = len(refs)
    mutual = np.zeros((len(CHANNELS), k, k))
    for i in range(k):
        for j in range(i + 1, k):
            mutual[:, i, j] = mutual[:, j, i] = data.distance(refs[i], refs[j])
    d = np.stack([data.distance(probe, r) for r in refs], axis=1)
    return score_vector(d, mutual)


@dataclass(frozen=True)
class Run:
    """One replayed writer and draw: the reference set after each change, what joined it."""

    user: int
    enroll: int
    states: list[list[Key]]  # the enrollment, then the set after each update
    added_genuine: int
    added_forged: int
    randoms: list[Key]


def replay(
    data: SignatureSet,
    user: int,
    draw: int,
    enroll: int,
    attacked: bool,
    choose: Chooser,
    margin: float = TEMPLATE_UPDATE_MARGIN,
    threshold: float = DEFAULT_THRESHOLD,
    protocol: Protocol | None = None,
) -> Run:
    """Enroll, sign in and update as the server does (module docstring)."""
    protocol = protocol or Protocol()
    rng = np.random.default_rng([protocol.seed, user, draw])
    pool = data.samples(user, protocol.reference_samples)
    refs: list[Key] = [(user, int(n)) for n in sorted(rng.choice(pool, enroll, False))]
    others = [u for u in data.users if u != user]
    chosen = sorted(
        int(u) for u in rng.choice(others, min(protocol.random_users, len(others)), False)
    )
    randoms = [(o, int(rng.choice(data.samples(o, range(1, 21))))) for o in chosen]
    sign_ins: list[tuple[Key, bool]] = []
    for attack, genuine in zip(ATTACKS, SIGN_INS, strict=True):
        if attacked:
            sign_ins.append(((user, attack), False))
        sign_ins.append(((user, genuine), True))
    states = [list(refs)]
    added_genuine = added_forged = 0
    for key, is_genuine in sign_ins:
        if key not in data.files:
            continue
        score = choose(len(refs), enroll).score(set_vector(data, refs, key))
        if score >= threshold + margin:
            refs = (refs + [key])[-MAX_REFERENCES:]
            states.append(list(refs))
            added_genuine += is_genuine
            added_forged += not is_genuine
    return Run(user, enroll, states, added_genuine, added_forged, randoms)


def _runs(
    data: SignatureSet,
    users: Sequence[int],
    choose: Chooser,
    enrolls: Sequence[int],
    attacked: Sequence[bool],
    margin: float,
    protocol: Protocol,
) -> Iterator[Run]:
    for user in users:
        if len(data.samples(user, protocol.reference_samples)) < max(enrolls):
            continue
        for draw in range(protocol.draws):
            for enroll in enrolls:
                for attack in attacked:
                    yield replay(
                        data, user, draw, enroll, attack, choose, margin, protocol=protocol
                    )


def _tests(data: SignatureSet, run: Run) -> list[tuple[Key, str]]:
    probes = [((run.user, n), "genuine") for n in GENUINE_TESTS]
    probes += [((run.user, n), "skilled") for n in SKILLED_TESTS]
    probes = [(k, kind) for k, kind in probes if k in data.files]
    return probes + [(k, "random") for k in run.randoms]


def _updated_trials(data: SignatureSet, runs: Sequence[Run]) -> Scores:
    """The test probes against every state a run reached through updates (not its enrollment)."""
    rows: list[FloatArray] = []
    kinds: list[str] = []
    owners: list[int] = []
    for run in runs:
        for refs in run.states[1:]:
            for key, kind in _tests(data, run):
                rows.append(set_vector(data, refs, key))
                kinds.append(kind)
                owners.append(run.user)
    return Scores(
        np.array(rows).reshape(-1, len(VECTOR_NAMES)),
        np.array(kinds, dtype=np.str_),
        np.array(owners, dtype=np.int64),
        np.ones(len(kinds), dtype=bool),
    )


def learn_models(
    data: SignatureSet,
    users: Sequence[int],
    name: str,
    trained_on: str,
    protocol: Protocol | None = None,
    progress: Callable[[str], None] | None = None,
) -> ModelSet:
    """The models the server chooses between, learnt on ``users`` of ``data``.

    * ``enrolled[n]``, n = 3..10: :func:`~.evaluation.train_model` on the ``authature eval``
      protocol with n references (so ``enrolled[5]`` is the SVC2004-protocol model);
    * ``updated``: :func:`~.evaluation.train_model` on the test probes against every state
      reached by an update in replayed runs (enroll 3 and 5, plain and attacked), the updates
      decided by the enrolled-set models with the server's rule.  One model for every size:
      one per size (on the final states or all of them) measured worse, held out.
    """
    protocol = protocol or Protocol()
    enrolled: dict[int, Model] = {}
    for n in ENROLLED_COUNTS:
        if progress:
            progress(f"{name}: {n} enrolled references")
        trials = _trial_vectors(data, users, Protocol(references=n, draws=protocol.draws))
        trials = trials.subset(np.isin(trials.user, list(users)))
        enrolled[n] = train_model(trials, f"{name}/enrolled/{n}", trained_on)
    first = ModelSet(enrolled)
    if progress:
        progress(f"{name}: replayed updates")
    runs = list(
        _runs(
            data,
            users,
            first.choose,
            REPLAYED_ENROLLMENTS,
            (False, True),
            TEMPLATE_UPDATE_MARGIN,
            protocol,
        )
    )
    grown = _updated_trials(data, runs)
    if not (grown.kind == "genuine").any() or not (grown.kind == "skilled").any():
        return first
    return ModelSet(enrolled, train_model(grown, f"{name}/updated", trained_on))


@dataclass(frozen=True)
class Rates:
    """Held-out rates of one condition (fractions), and what joined the references per run."""

    eer_skilled: float
    far_skilled: float
    frr: float
    far_random: float
    added_genuine: float
    added_forged: float
    references: float  # mean reference count at test time

    def as_dict(self) -> dict[str, Any]:
        return {k: float(v) for k, v in self.__dict__.items()}


def measure(
    data: SignatureSet,
    models: ModelSet,
    users: Sequence[int],
    enroll: int,
    updates: bool,
    attacked: bool,
    threshold: float = DEFAULT_THRESHOLD,
    margin: float = TEMPLATE_UPDATE_MARGIN,
    protocol: Protocol | None = None,
) -> Rates:
    """Replay runs of ``users`` and score their tests with the model the server chooses
    (enrollment count ``enroll``; no updates when ``updates`` is false)."""
    protocol = protocol or Protocol()
    runs = list(
        _runs(
            data,
            users,
            models.choose,
            (enroll,),
            (attacked,),
            margin if updates else math.inf,
            protocol,
        )
    )
    g: list[float] = []
    sk: list[float] = []
    rd: list[float] = []
    counts: list[int] = []
    for run in runs:
        refs = run.states[-1]
        model = models.choose(len(refs), enroll)
        counts.append(len(refs))
        for key, kind in _tests(data, run):
            s = model.score(set_vector(data, refs, key))
            {"genuine": g, "skilled": sk, "random": rd}[kind].append(s)
    ga, ska, rda = np.array(g), np.array(sk), np.array(rd)
    far, frr = rates_at(ga, ska, threshold)
    far_r, _ = rates_at(ga, rda, threshold)
    n = max(len(runs), 1)
    return Rates(
        eer(ga, ska)[0],
        far,
        frr,
        far_r,
        sum(r.added_genuine for r in runs) / n,
        sum(r.added_forged for r in runs) / n,
        float(np.mean(counts)) if counts else math.nan,
    )
