"""Derived data of stored signatures, kept per row so a verification need not rebuild it.

A verification used to decrypt and decode every reference and the user's 20 most recent signed
samples, prepare their features, and compute the DTW distances among all references, on every
sign-in: most of the sign-in's CPU time. A stored row never changes (its sealed blob is bound
to its primary key), so what is derived from it can be kept by row id:

- `Sample`: the features the DTW compares and a compact replay print (the normalised resampled
  shape `Verifier.is_replay` compares); no raw samples, and no repr that shows any;
- the reference pair distances, so a reference set that gained one sample costs the new
  sample's distances to the others, not all of them again.

`SampleCache.decide` gives exactly the decision `Verifier.verify` plus the recent-sample replay
check give (`tests/signin/test_derived_samples.py` compares them on SVC2004). This module only
uses the verifier's public functions.
Imports nothing of Authature outside `biometrics`.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from .capture import Capture, FloatArray
from .features import CHANNELS
from .verifier import (
    Decision,
    Prepared,
    ReplayPrint,
    Template,
    Verifier,
    channel_distance,
    copies_a_reference,
    is_replay_of,
    prepare,
    replay_print,
)

__all__ = ["Sample", "SampleCache"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


@dataclass(frozen=True, repr=False)
class Sample:
    """One stored signature's derived data, named by its row id."""

    key: Hashable
    #: None when loaded for the replay rule only (`SampleCache.get(..., features=False)`).
    features: Prepared | None
    print: ReplayPrint
    #: A probe's distances to the references `SampleCache.decide` compared it with, by their
    #: keys (NaN where cut short), so that once stored as a reference its pair distances to
    #: them need not be computed again (`SampleCache.adopt`).
    compared: dict[Hashable, FloatArray] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return f"Sample(key={self.key!r})"

    @property
    def prepared(self) -> Prepared:
        if self.features is None:
            raise ValueError("This sample was loaded for the replay rule only.")
        return self.features


def sample(key: Hashable, c: Capture) -> Sample:
    return Sample(key, prepare(c), replay_print(c))


class _Lru(Generic[_K, _V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[_K, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _K) -> _V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: _K, value: _V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class SampleCache:
    """Samples by row id and reference pair distances, for one process (thread-safe).

    A derived cache only: the database stays the source of truth, and a row not seen before is
    loaded (decrypted and decoded) by the caller's `load`.
    """

    def __init__(self, verifier: Verifier, samples: int = 4096, pairs: int = 32768) -> None:
        self.verifier = verifier
        self._samples: _Lru[Hashable, Sample] = _Lru(samples)
        self._pairs: _Lru[tuple[Hashable, Hashable], FloatArray] = _Lru(pairs)
        # Whole reference sets too: a user's set changes only when a sample joins it, and a
        # kept Template keeps what it derived on first use (`Template.mutual_at`, for probes
        # without pressure against pen references), instead of deriving it on every sign-in.
        self._templates: _Lru[tuple[Hashable, ...], Template] = _Lru(max(1, pairs // 32))

    def get(self, key: Hashable, load: Callable[[], Capture], *, features: bool = True) -> Sample:
        """`features=False`: only the replay print is needed (a recent signed sample), so a
        row not seen before costs no feature computation."""
        hit = self._samples.get(key)
        if hit is None or (features and hit.features is None):
            c = load()
            hit = sample(key, c) if features else Sample(key, None, replay_print(c))
            self._samples.put(key, hit)
        return hit

    def put(self, value: Sample) -> None:
        self._samples.put(value.key, value)

    def adopt(self, value: Sample) -> None:
        """`put` for a probe stored as a reference: its distances to the references it was
        compared with become their pair distances (DTW is symmetric), in both orders."""
        self.put(value)
        for other, d in value.compared.items():
            self._pairs.put((other, value.key), d)
            self._pairs.put((value.key, other), d)

    def template(self, refs: Sequence[Sample]) -> Template:
        """As `Verifier.template` builds it, reusing the pair distances already known."""
        key = tuple(r.key for r in refs)
        known = self._templates.get(key)
        if known is not None:
            return known
        k = len(refs)
        mutual = np.zeros((len(CHANNELS), k, k))
        for i in range(k):
            for j in range(i + 1, k):
                pair = (refs[i].key, refs[j].key)
                d = self._pairs.get(pair)
                if d is None or np.isnan(d).any():
                    d = np.array(
                        [
                            channel_distance(refs[i].prepared, refs[j].prepared, c)
                            if d is None or math.isnan(d[c])
                            else d[c]
                            for c in range(len(CHANNELS))
                        ]
                    )
                    self._pairs.put(pair, d)
                mutual[:, i, j] = mutual[:, j, i] = d
        built = Template(tuple(r.prepared for r in refs), mutual)
        self._templates.put(key, built)
        return built

    def decide(
        self,
        probe: Sample,
        references: Sequence[Sample],
        recent: Sequence[Sample],
        grown: bool | None = None,
    ) -> Decision:
        """Refused as a replay of a reference or an earlier sample, else `Verifier.verify`.

        ``grown``: whether template updates added any of ``references`` (the store knows; the
        model is chosen by it, `ModelSet.choose`)."""
        if not references:
            raise ValueError("decide() needs at least one reference")
        threshold = self.verifier.threshold
        # Before the DTW: a copy is a copy whatever it would score, and the audit says so.
        if is_replay_of(probe.print, [r.print for r in (*references, *recent)]):
            return Decision(False, -math.inf, threshold, "replay")
        template = self.template(references)
        score, compared = self.verifier.score_and_distances(template, probe.prepared, grown)
        for i, r in enumerate(references):
            probe.compared[r.key] = compared[:, i]
        if copies_a_reference(template, probe.prepared, compared):
            return Decision(False, -math.inf, threshold, "replay")
        if score < threshold:
            return Decision(False, score, threshold, "rejected")
        return Decision(True, score, threshold, "accepted")
