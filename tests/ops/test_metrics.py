"""/healthz and the Prometheus /metrics: by route template, verification decisions, lockouts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.data import svc2004_path
from support.oauth_flow import new_identifier, register, sign_in
from support.server import run_server, settings_for
from support.signin import Page, authorize_url, verify

from ops.servers import cluster_env, running

REDIRECT = "http://127.0.0.1:9/callback"


def samples(http: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_healthz_reports_the_database(tmp_path: Path, database_url: str) -> None:
    with run_server(settings_for(tmp_path, database_url)) as server, server.http() as http:
        r = http.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "database": "ok"})


def test_requests_are_counted_by_route_template_never_by_raw_path(
    tmp_path: Path, database_url: str
) -> None:
    with run_server(settings_for(tmp_path, database_url)) as server, server.http() as http:
        client = register(server)
        secret_looking = "f" * 64
        for _ in range(3):
            http.get(f"/oauth/signatures/{secret_looking}", auth=client.basic)
        http.get("/oauth/token", headers={"Authorization": "Bearer nope"})
        http.get("/no/such/page")
        found = samples(http)
        text = http.get("/metrics").text
    assert secret_looking not in text
    name = "authature_http_requests_total"
    assert value(found, name, method="GET", route="/oauth/signatures/{token}", status="400") == 3
    assert value(found, name, method="GET", route="/oauth/token", status="400") == 1
    assert value(found, name, method="GET", route="unmatched", status="404") == 1
    buckets = "authature_http_request_duration_seconds_count"
    assert value(found, buckets, method="GET", route="/oauth/signatures/{token}") == 3


@pytest.mark.data
def test_verification_decisions_latency_and_lockouts_are_counted(
    tmp_path: Path, database_url: str
) -> None:
    settings = replace(settings_for(tmp_path, database_url), lockout_failures=2)
    outcomes = {"accepted": 0, "rejected": 0}
    locked = 0
    with run_server(settings) as server, server.http() as http:
        client = register(server)
        identifier = new_identifier()
        assert sign_in(http, client.client_id, identifier=identifier, writer=3).status_code == 302
        url = authorize_url(client.client_id, REDIRECT)
        # The writer's own signature, then other people's (which the verifier should refuse:
        # the second refusal locks the user). Counted from what the pages answered.
        for writer, sample in ((3, 7), (5, 1), (6, 1), (7, 1), (8, 1)):
            answer = verify(http, url, identifier, svc2004_path(writer, sample))
            if isinstance(answer, Page):
                outcomes["rejected"] += 1
            elif "code=" in answer.headers["location"]:
                outcomes["accepted"] += 1
            else:
                assert "error=access_denied" in answer.headers["location"]
                if answer.request.url.path.endswith("/signature"):
                    outcomes["rejected"] += 1
                    locked += 1
                break
        found = samples(http)
    assert locked == 1 and outcomes["rejected"] >= 2
    counted = "authature_signature_verifications_total"
    for outcome, count in outcomes.items():
        assert value(found, counted, outcome=outcome) == count
        timed = "authature_signature_verification_seconds_count"
        assert value(found, timed, outcome=outcome) == count
    assert value(found, "authature_signature_verification_seconds_sum", outcome="rejected") > 0
    assert value(found, "authature_lockouts_total") == 1


def test_metrics_add_up_across_the_workers_of_one_server(tmp_path: Path, database_url: str) -> None:
    """`authature serve --workers 2`: whichever worker answers /metrics reports them all."""
    env = cluster_env(tmp_path, database_url)
    with running(env, tmp_path, workers=2) as (server,):
        with server.http() as http:
            before = value(
                samples(http),
                "authature_http_requests_total",
                method="GET",
                route="/healthz",
                status="200",
            )
        for _ in range(40):  # a new connection each time, so both workers take some
            with server.http() as http:
                r = http.get("/healthz")
                assert r.status_code == 200
        with server.http() as http:
            after = value(
                samples(http),
                "authature_http_requests_total",
                method="GET",
                route="/healthz",
                status="200",
            )
        assert after - before == 40
