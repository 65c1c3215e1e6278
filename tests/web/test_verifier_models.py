"""The server's verifier chooses its model as `authature eval` measured it (issue 3).

The running server's flow scores with a Verifier told the configured enrollment count, so a
template larger than it (grown by template updates) is scored with the updated-set model.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from support.server import run_server, settings_for

from authature.biometrics.verifier import load_models


def test_the_servers_verifier_follows_the_enrollment_setting(
    tmp_path: Path, database_url: str
) -> None:
    pressure = load_models("pressure")
    assert pressure.updated is not None
    for enroll in (3, 5):
        settings = replace(
            settings_for(tmp_path / str(enroll), database_url), enroll_samples=enroll
        )
        with run_server(settings) as server:
            verifier = server.services.flow.verifier
            assert verifier is server.services.verifier
            for n in range(3, 11):
                model = verifier.model_for(True, n)
                expected = pressure.updated if n > enroll else pressure.enrolled[n]
                assert np.array_equal(model.weights, expected.weights), (enroll, n)
                assert model.bias == expected.bias
