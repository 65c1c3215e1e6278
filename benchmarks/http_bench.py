"""HTTP speed of Authature, as ratios to a bare Starlette endpoint measured in the same run.

    .venv/bin/python benchmarks/http_bench.py [--databases sqlite,postgres] [--workers 2]
        [--duration 10] [--million] [--scenarios bare,verify,exchange,fetch,signin]
        [--profile-signin stacks.txt]

For each database the script starts Authature exactly as production does (`authature serve
--workers N`, a subprocess with its own environment) and `benchmarks/http_bare.py` under the same
uvicorn settings and worker count, then drives both with `wrk` on loopback:

- bare Starlette: `GET /` answering `{"status": "ok"}`;
- token verification: `GET /oauth/token?client_id&scope` with a bearer token (SPEC 3.3);
- code exchange: `POST /oauth/token` (SPEC 3.2), each request with its own code;
- signature fetch: `GET /oauth/signatures/<token>` (SPEC 3.4, renders the SVG);
- full sign-in: authorize, page, identify, page, signature POST (verified against the user's
  references), code, exchange: one connection per wrk thread, each thread one browser;
- with `--million`: verification latency, one request at a time (-t1 -c1), with 1 thousand
  and then 1 million stored tokens, picked at random among 1000 valid ones.

Benchmark shortcuts (documented, not the server's code paths): users are enrolled by calling the
sign-in flow in-process before the server starts; the codes for the exchange are inserted
directly into the store in bulk (60,000 by default, one user, valid for ten minutes); the million
tokens are bulk-inserted digests (COPY on PostgreSQL). Each sign-in replays a real SVC2004 genuine
signature of the user (samples the enrollment did not use); each further round through the
list modulates the height by a sine wave of its own period (5 % of the height), so that the
replay rule's print test, which refuses slowed or scaled copies of any stored sample, does not
refuse it. Its DTW test still refuses a round of a sample whose earlier round joined the
references through a template update (such rounds are copies of it): about a third of the
signature POSTs of a 5 s SQLite run (337 of about 1,000 on 4 December). A refused signature
counts as a request, not as a sign-in, and starts the next one.

Rate limits stay on, raised to 10^9 per minute (so their database counting is measured too),
and lockout needs 100 refusals (the verifier refuses about one genuine signature in ten).

PostgreSQL is a throwaway server (tests/support/postgres.py) with fsync and synchronous_commit
ON, as in production, on the same machine. Figures are printed as a Markdown table (and JSON
with --json), with the server's CPU time per request (per sign-in for the sign-in run): the user
and system time of the server process and its workers (not wrk's, nor PostgreSQL's) divided by
the requests answered, which depends much less on other load on the machine than req/s. On 2 cores wrk, the server and PostgreSQL share the CPU: compare ratios within a
run, and expect run-to-run noise of 10-30 % on a shared machine.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from authature.admin import ClientAdmin  # noqa: E402
from authature.biometrics.svc2004 import signature_data_root, to_payload  # noqa: E402
from authature.config import Settings  # noqa: E402
from authature.store import models  # noqa: E402
from authature.web.services import Services, build_services  # noqa: E402
from benchmarks.http_lua import write_scripts  # noqa: E402

REDIRECT = "http://127.0.0.1:9/callback"
SVC_USERS = range(1, 31)  # the 30 writers of the SVC2004 training set
ENROLL_FIRST = (1, 2, 3, 4, 5, 6)  # tried in order until the enrollment completes


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- processes -----------------------------------------------------------------------------------


@dataclass
class Process:
    url: str
    popen: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


@contextmanager
def serve(
    command: list[str], port: int, env: dict[str, str], health: str, log: Path
) -> Iterator[Process]:
    with log.open("ab") as out:
        popen = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    process = Process(f"http://127.0.0.1:{port}", popen)
    try:
        deadline = time.monotonic() + 90
        while True:
            if popen.poll() is not None:
                raise RuntimeError(f"{command[:4]} exited:\n{log.read_text()[-3000:]}")
            with suppress(httpx.HTTPError):
                if httpx.get(process.url + health, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[:4]} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        time.sleep(1.0)  # let every worker finish starting
        yield process
    finally:
        process.stop()


def authature_command(port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "authature.cli", "serve", "--host", "127.0.0.1"] + [
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def bare_command(port: int, workers: int) -> list[str]:
    """The same uvicorn settings `authature serve` uses (see authature/cli.py)."""
    code = (
        "import uvicorn; uvicorn.run('benchmarks.http_bare:app', factory=True, "
        f"host='127.0.0.1', port={port}, workers={workers}, log_level='info', "
        "proxy_headers=False)"
    )
    return [sys.executable, "-c", code]


# -- wrk -----------------------------------------------------------------------------------------


_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU time of a process and all its descendants (from /proc), so that a
    figure per request does not depend on what else runs on the machine."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICKS
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(times.get(pid, 0.0) for pid in tree)


@dataclass
class Run:
    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    logins_per_s: float | None = None
    refused: int | None = None
    cpu_ms: float | None = None  # server CPU per request (per sign-in for the sign-in run)
    cpu_per_request_ms: float | None = None  # per request, also for the sign-in run
    raw: dict[str, Any] = field(default_factory=dict)


def wrk(
    name: str,
    url: str,
    script: Path,
    args: list[str],
    *,
    duration: int,
    threads: int,
    connections: int,
    server: int | None = None,
) -> Run:
    """`server`: the server's process id, whose CPU time (with its workers') is measured."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s"]
    command += ["-s", str(script), url, "--", *args]
    cpu_before = tree_cpu_seconds(server) if server else 0.0
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    cpu = tree_cpu_seconds(server) - cpu_before if server else None
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    run = Run(
        name,
        raw["requests"] / seconds,
        raw["p50_us"] / 1000,
        raw["p99_us"] / 1000,
        raw["socket_errors"] + raw["http_errors"],
        raw=raw,
    )
    if "logins" in raw and name == "full sign-in":
        run.logins_per_s = raw["logins"] / seconds
        run.refused = raw["refused"]
    units = raw["logins"] if run.logins_per_s is not None else raw["requests"]
    if cpu is not None and units:
        run.cpu_ms = 1000 * cpu / units
        run.cpu_per_request_ms = 1000 * cpu / raw["requests"]
    print(
        f"  {name:<28} {run.requests_per_s:9.0f} req/s  p50 {run.p50_ms:7.2f} ms  "
        f"p99 {run.p99_ms:7.2f} ms  errors {run.errors}"
        + (f"  server CPU {run.cpu_ms:.3f} ms" if run.cpu_ms is not None else "")
        + (
            f"  logins/s {run.logins_per_s:.0f} refused {run.refused}"
            f"  server CPU per request {run.cpu_per_request_ms:.3f} ms"
            if run.logins_per_s is not None
            else ""
        ),
        flush=True,
    )
    return run


# -- the deployment --------------------------------------------------------------------------


@dataclass
class Deployment:
    kind: str
    folder: Path
    env: dict[str, str]
    settings: Settings
    services: Services
    client_id: str = ""
    secret: str = ""
    users: dict[str, int] = field(default_factory=dict)  # identifier -> SVC2004 writer
    used: dict[str, set[int]] = field(default_factory=dict)  # samples spent on enrollment
    token: str = ""

    @property
    def basic(self) -> str:
        pair = f"{self.client_id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(pair).decode()


def deployment_env(folder: Path, database_url: str, kind: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHATURE_")}
    if kind.endswith("-inline"):
        env["AUTHATURE_DATABASE_CALLS"] = "inline"
    env.update(
        AUTHATURE_DATA_DIR=str(folder / "data"),
        AUTHATURE_DATABASE_URL=database_url,
        AUTHATURE_SECRET_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        AUTHATURE_ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        AUTHATURE_LOCKOUT_FAILURES="100",
        AUTHATURE_RATE_LIMIT_PER_CLIENT="1000000000",
        AUTHATURE_RATE_LIMIT_TOKEN_PER_IP="1000000000",
        AUTHATURE_RATE_LIMIT_SIGNATURE_PER_IP="1000000000",
        AUTHATURE_RATE_LIMIT_VERIFY_PER_IP="1000000000",
        AUTHATURE_RATE_LIMIT_VERIFY_PER_IDENTIFIER="1000000000",
        PYTHONPATH=str(REPO),
    )
    return env


def signature_folder() -> Path:
    return signature_data_root(REPO.parent / "shared" / "data") / "svc2004" / "Task2"


#: Amplitude of each round's deformation, as a share of the drawing's height: enough to put
#: every round beyond the replay rule's distance from the others (0.027 at least on SVC2004
#: Task 2 users 1-10; 0.039 between two rounds) while the verifier still accepts 94 % of them
#: (96 % undeformed).
WAVE = 0.05


def capture(writer: int, sample: int, round_: int = 0) -> str:
    """The sample as the page would post it; from round 1 on, with its height modulated by a
    sine wave of `round_` periods over the signature's duration, so that no round is a replay
    of another (a uniformly slowed copy now is)."""
    payload: dict[str, Any] = to_payload(signature_folder() / f"U{writer}S{sample}.TXT")
    if round_:
        strokes = payload["strokes"]
        ys = [y for s in strokes for _, y, _, _ in s]
        end = max(t for s in strokes for _, _, t, _ in s) or 1.0
        lift = WAVE * (max(ys) - min(ys))  # to_payload leaves a margin wider than this
        payload["strokes"] = [
            [
                [x, round(y + lift * math.sin(2 * math.pi * round_ * t / end), 2), t, p]
                for x, y, t, p in s
            ]
            for s in strokes
        ]
    return json.dumps(payload, separators=(",", ":"))


def enroll_in_process(d: Deployment, writer: int) -> tuple[str, str]:
    """Benchmark shortcut: the sign-in flow called directly; returns (identifier, code)."""
    services = d.services
    identifier = f"writer{writer}-{secrets.token_hex(3)}@bench.example"
    request = services.oauth.parse_authorization(
        [
            ("client_id", d.client_id),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("state", "bench"),
            ("scope", "authenticate capture"),
        ]
    )
    handle = services.flow.begin(request)
    flow = services.flow
    flow.identify(handle, flow.page(handle).nonce, identifier)
    used = set()
    for i, sample in enumerate(ENROLL_FIRST):
        used.add(sample)
        names = ("Bench", f"Writer{writer}") if i == 0 else (None, None)
        outcome = flow.submit_signature(
            handle, flow.page(handle).nonce, capture(writer, sample), *names
        )
        if outcome.redirect_to:
            code = urllib.parse.parse_qs(urllib.parse.urlsplit(outcome.redirect_to).query)
            d.users[identifier] = writer
            d.used[identifier] = used
            return identifier, code["code"][0]
    raise RuntimeError(f"writer {writer} could not enroll")


def prepare(kind: str, folder: Path, database_url: str) -> Deployment:
    env = deployment_env(folder, database_url, kind)
    settings = Settings.from_env(env)
    services = build_services(settings)
    d = Deployment(kind, folder, env, settings, services)
    new = ClientAdmin(services.uow, services.keys).create(
        "Bench Shop", [REDIRECT], ["capture,authenticate"], "benchmarks"
    )
    assert new.client_secret
    d.client_id, d.secret = new.client.client_id, new.client_secret
    started = time.monotonic()
    code = ""
    for writer in SVC_USERS:
        _, code = enroll_in_process(d, writer)
    print(f"  enrolled {len(d.users)} users in {time.monotonic() - started:.0f} s", flush=True)
    answer = services.oauth.token(
        d.basic, {"client_id": d.client_id, "redirect_uri": REDIRECT, "code": code}
    )
    d.token = answer.body["access_token"]["token"]
    return d


def issue_codes(d: Deployment, count: int) -> list[str]:
    """Benchmark shortcut: `count` fresh codes of one user, inserted in bulk."""
    services = d.services
    now = datetime.now(UTC)
    with services.uow() as repos:
        client = repos.clients.by_client_id(d.client_id)
        assert client is not None
        user = repos.users.by_identifier(next(iter(d.users)))
        assert user is not None
        signature = repos.signatures.recent_signed(user.pk, 1)[0]
    codes = [secrets.token_hex(16) for _ in range(count)]
    rows = [
        {
            "code_digest": services.keys.digest(c, "code"),
            "client_pk": client.pk,
            "user_pk": user.pk,
            "redirect_uri": REDIRECT,
            "scopes": ["authenticate", "capture"],
            "state": "bench",
            "device_uid": None,
            "code_challenge": None,
            "code_challenge_method": None,
            "nonce": None,
            "signature_pk": signature.pk,
            "auth_time": now,
            "expires_at": now + timedelta(seconds=590),
            "used_at": None,
        }
        for c in codes
    ]
    from sqlalchemy import insert

    with services.database.transaction() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(models.AuthorizationCode), rows[start : start + 5000])
    return codes


def insert_tokens(d: Deployment, count: int, known: int) -> list[str]:
    """Benchmark shortcut: `count` access tokens of one user as bulk-inserted digests; returns
    the raw values of the first `known` (the others are random digests nobody holds)."""
    services = d.services
    now = datetime.now(UTC)
    with services.uow() as repos:
        client = repos.clients.by_client_id(d.client_id)
        user = repos.users.by_identifier(next(iter(d.users)))
        assert client is not None and user is not None
    raw = [secrets.token_hex(32) for _ in range(known)]
    digests = [services.keys.digest(t, "access_token") for t in raw]
    family = secrets.token_hex(16)
    rows = (
        (
            digests[i] if i < known else secrets.token_hex(32),
            client.pk,
            user.pk,
            family,
        )
        for i in range(count)
    )
    started = time.monotonic()
    if services.database.engine.dialect.name == "postgresql":
        import psycopg  # only the PostgreSQL runs need the driver

        raw_connection = services.database.engine.raw_connection()
        try:
            # SQLAlchemy types the DB-API cursor loosely (any attribute is Any); COPY is
            # psycopg's own API, so take the psycopg connection to have it typed.
            driver = raw_connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            columns = "token_digest, client_pk, user_pk, family, scopes, created_at, expires_at"
            copy_sql = f"COPY access_tokens ({columns}) FROM STDIN"
            with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
                scopes = '["authenticate", "capture"]'
                for row in rows:
                    copy.write_row((*row, scopes, now, now + timedelta(days=1)))
            raw_connection.commit()
        finally:
            raw_connection.close()
    else:
        from sqlalchemy import insert

        table = models.AccessToken
        extra = {
            "scopes": ["authenticate", "capture"],
            "created_at": now,
            "expires_at": now + timedelta(days=1),
        }
        keys = ("token_digest", "client_pk", "user_pk", "family")
        with services.database.transaction() as session:
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append(dict(zip(keys, row, strict=True)) | extra)
                if len(batch) == 20_000:
                    session.execute(insert(table), batch)
                    batch = []
            if batch:
                session.execute(insert(table), batch)
    print(f"  inserted {count} tokens in {time.monotonic() - started:.0f} s", flush=True)
    return raw


def login_lines(d: Deployment, rounds: int) -> list[str]:
    """identifier<TAB>urlencoded capture, for the sign-in loop: every unused genuine sample of
    every user, `rounds` times, each round deformed its own way (so it is not a replay)."""
    lines = []
    for r in range(rounds):
        for sample in range(1, 21):
            for identifier, writer in d.users.items():
                if sample in d.used[identifier]:
                    continue
                text = capture(writer, sample, round_=r)
                lines.append(f"{urllib.parse.quote(identifier)}\t{urllib.parse.quote(text)}")
    return lines


# -- the runs ------------------------------------------------------------------------------------


def profile(pid: int, output: Path | None, seconds: int) -> subprocess.Popen[bytes] | None:
    """With --profile-signin: py-spy (when installed) samples the server and its workers while
    they hold the GIL during the sign-in run, as collapsed stacks (a stack, then its count)."""
    if output is None:
        return None
    spy = Path(sys.executable).parent / "py-spy"
    command = [str(spy), "record", "--subprocesses", "--gil", "--pid", str(pid), "--format", "raw"]
    command += ["--output", str(output), "--duration", str(seconds), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


def measure(d: Deployment, args: argparse.Namespace, scripts: dict[str, Path]) -> list[Run]:
    runs: list[Run] = []
    w = {"duration": args.duration, "threads": args.threads, "connections": args.connections}
    want = set(args.scenarios.split(","))
    port = free_port()
    bare_log = d.folder / "bare.log"
    if "bare" in want:
        with serve(bare_command(port, args.workers), port, d.env, "/", bare_log) as bare:
            runs.append(
                wrk(
                    "bare Starlette",
                    bare.url + "/",
                    scripts["get"],
                    ["-"],
                    **w,
                    server=bare.popen.pid,
                )
            )

    port = free_port()
    command = authature_command(port, args.workers)
    with serve(command, port, d.env, "/healthz", d.folder / "authature.log") as server:
        w["server"] = server.popen.pid
        query = urllib.parse.urlencode({"client_id": d.client_id, "scope": "authenticate"})
        if "verify" in want:
            runs.append(
                wrk(
                    "token verification",
                    f"{server.url}/oauth/token?{query}",
                    scripts["get"],
                    [f"Bearer {d.token}"],
                    **w,
                )
            )
        prefix = urllib.parse.urlencode({"client_id": d.client_id, "redirect_uri": REDIRECT})
        if "exchange" in want:
            codes = issue_codes(d, args.codes)
            bodies = d.folder / "codes.txt"
            bodies.write_text("".join(f"{prefix}&code={c}\n" for c in codes))
            exchange = wrk(
                "code exchange",
                server.url,
                scripts["exchange"],
                [str(bodies), str(args.threads), d.basic],
                **w,
            )
            if exchange.raw["requests"] >= len(codes):
                print("  (ran out of codes: raise --codes)")
            runs.append(exchange)
        if "fetch" in want:
            runs.append(
                wrk(
                    "signature fetch",
                    f"{server.url}/oauth/signatures/{d.token}",
                    scripts["get"],
                    [d.basic],
                    **w,
                )
            )
        logins = d.folder / "logins.txt"
        logins.write_text("\n".join(login_lines(d, rounds=args.login_rounds)) + "\n")
        authorize = "/oauth/authorize?" + urllib.parse.urlencode(
            {
                "client_id": d.client_id,
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "state": "bench",
                "scope": "authenticate capture",
            }
        )
        if "signin" in want:
            spy = profile(server.popen.pid, args.profile_signin, args.duration)
            runs.append(
                wrk(
                    "full sign-in",
                    server.url,
                    scripts["login"],
                    [str(logins), str(args.login_threads), authorize, d.basic, prefix + "&code="],
                    duration=args.duration,
                    threads=args.login_threads,
                    connections=args.login_threads,
                    server=server.popen.pid,
                )
            )
            if spy is not None:
                spy.wait()
        if args.million:
            runs += token_scaling(d, server, args, scripts)
    return runs


def token_scaling(
    d: Deployment, server: Process, args: argparse.Namespace, scripts: dict[str, Path]
) -> list[Run]:
    """Latency of one request at a time (-t1 -c1), so p50 is the service time, not queueing."""
    url = server.url
    w = {"duration": args.duration, "threads": 1, "connections": 1, "server": server.popen.pid}
    query = "/oauth/token?" + urllib.parse.urlencode(
        {"client_id": d.client_id, "scope": "authenticate"}
    )
    known = insert_tokens(d, 1000, 1000)
    tokens = d.folder / "tokens.txt"
    tokens.write_text("\n".join(known) + "\n")
    small = wrk("verification, 1k tokens", url, scripts["random_token"], [str(tokens), query], **w)
    insert_tokens(d, 999_000, 0)
    if d.services.database.engine.dialect.name == "postgresql":
        with d.services.database.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE access_tokens")
    big = wrk("verification, 1M tokens", url, scripts["random_token"], [str(tokens), query], **w)
    return [small, big]


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind.startswith("sqlite"):
        yield f"sqlite:///{folder / 'data' / 'authature.db'}"
        return
    from support.postgres import start_postgres

    server = start_postgres(durable=True)
    try:
        with server.admin() as conn:
            conn.execute("CREATE DATABASE bench")
        yield server.url("bench")
    finally:
        server.destroy()


def report(results: dict[str, list[Run]], args: argparse.Namespace) -> None:
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s on loopback; "
        f"authature serve --workers {args.workers}; {os.cpu_count()} CPUs"
    )
    print()
    print(
        "| database | scenario | req/s | p50 ms | p99 ms | ratio to bare | errors | server CPU ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind, runs in results.items():
        bare = next((r.requests_per_s for r in runs if r.name == "bare Starlette"), None)
        for r in runs:
            rate = f"{r.requests_per_s:,.0f}"
            if r.logins_per_s is not None:
                rate += f" ({r.logins_per_s:,.0f} sign-ins/s, {r.refused} refused)"
            ratio = f"{(r.logins_per_s or r.requests_per_s) / bare:.3f}" if bare else ""
            cpu = f"{r.cpu_ms:.3f}" if r.cpu_ms is not None else ""
            if r.logins_per_s is not None and r.cpu_per_request_ms is not None:
                cpu += f" ({r.cpu_per_request_ms:.3f} per request)"
            print(
                f"| {kind} | {r.name} | {rate} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
                f"{ratio} | {r.errors} | {cpu} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases",
        default="sqlite,postgres",
        help="comma separated: sqlite, postgres, postgres-inline (AUTHATURE_DATABASE_CALLS=inline)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--login-threads", type=int, default=8)
    parser.add_argument("--login-rounds", type=int, default=4)
    parser.add_argument("--codes", type=int, default=60_000)
    parser.add_argument("--million", action="store_true", help="1k vs 1M stored tokens")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--scenarios",
        default="bare,verify,exchange,fetch,signin",
        help="comma separated: bare, verify, exchange, fetch, signin (all by default)",
    )
    parser.add_argument(
        "--profile-signin", type=Path, help="py-spy's collapsed stacks of the sign-in run"
    )
    args = parser.parse_args()
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="authature-bench-") as tmp:
        scripts = write_scripts(Path(tmp) / "lua")
        for kind in args.databases.split(","):
            folder = Path(tmp) / kind
            (folder / "data").mkdir(parents=True)
            print(f"== {kind}", flush=True)
            with database(kind, folder) as url:
                d = prepare(kind, folder, url)
                try:
                    results[kind] = measure(d, args, scripts)
                finally:
                    d.services.database.engine.dispose()
    report(results, args)
    if args.json:
        args.json.write_text(
            json.dumps({k: [r.__dict__ for r in v] for k, v in results.items()}, indent=2)
        )


if __name__ == "__main__":
    main()
