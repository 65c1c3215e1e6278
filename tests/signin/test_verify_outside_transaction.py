"""The verifier runs between the sign-in step's two transactions, and the second one checks
that the user's stored samples are still the ones compared."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from support.data import svc2004_path
from support.server import LiveServer
from support.signin import authorize_url, enroll, verify

from authature.biometrics.capture import encode_capture
from authature.biometrics.stored import Sample, SampleCache
from authature.biometrics.svc2004 import load_signature
from authature.biometrics.verifier import Decision
from authature.store import models

REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.data


class _WriteWhileComparing(SampleCache):
    """Runs `write` in another thread during the first comparison, as a concurrent sign-in of
    the same user would; it must not have to wait for this step's transaction."""

    def __init__(self, base: SampleCache, write: Callable[[], object]) -> None:
        super().__init__(base.verifier)
        self.write = write
        self.calls = 0
        self.write_finished = False

    def decide(
        self,
        probe: Sample,
        references: Sequence[Sample],
        recent: Sequence[Sample],
        grown: bool | None = None,
    ) -> Decision:
        self.calls += 1
        if self.calls == 1:
            thread = threading.Thread(target=self.write, daemon=True)
            thread.start()
            thread.join(timeout=10)
            self.write_finished = not thread.is_alive()
        return super().decide(probe, references, recent, grown)


def test_a_sample_stored_while_comparing_is_seen_before_the_decision_is_written(
    live_server: LiveServer,
) -> None:
    services = live_server.services
    client = live_server.create_client([REDIRECT])
    identifier = "concurrent@example.com"
    url = authorize_url(client.client.client_id, REDIRECT)
    with live_server.http() as http:
        done = enroll(http, url, identifier, [svc2004_path(1, n) for n in (1, 2, 3)])
        assert done.status_code == 302
        probe = svc2004_path(1, 12)  # accepted against samples 1-3
        data = encode_capture(load_signature(probe))

        def store_the_same_signature() -> None:
            # Another sign-in of this user stores this very signature meanwhile.
            with services.uow() as repos:
                user = repos.users.by_identifier(identifier)
                assert user is not None

                def seal(pk: int) -> bytes:
                    return services.keys.seal(data, f"signature:{pk}".encode())

                repos.signatures.add(user.pk, "signed", seal, datetime.now(UTC))

        hooked = _WriteWhileComparing(services.flow.samples, store_the_same_signature)
        services.flow.samples = hooked
        verify(http, url, identifier, probe)
    assert hooked.write_finished, "the comparison ran inside a transaction that blocked writers"
    assert hooked.calls == 2  # compared again with the samples stored meanwhile
    with services.database.engine.connect() as conn:
        reasons = conn.execute(
            select(models.VerificationAttempt.reason).order_by(models.VerificationAttempt.pk)
        ).scalars()
        assert list(reasons)[-1] == "replay"  # not accepted as if nothing had happened
