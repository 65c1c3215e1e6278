"""The operator CLI, run in-process with click's runner against a real SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from authature.cli import main


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AUTHATURE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AUTHATURE_DATABASE_URL", raising=False)
    return CliRunner()


def _create(run: CliRunner, *extra: str) -> dict[str, str]:
    result = run.invoke(
        main,
        [
            "clients",
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example/cb",
            "--redirect-uri",
            "myapp://cb",
            "--scopes",
            "capture,authenticate",
            "--json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    created: dict[str, str] = json.loads(result.stdout)  # stderr may say a database was made
    return created


def test_create_prints_id_and_secret_once_and_stores_only_a_digest(
    run: CliRunner, tmp_path: Path
) -> None:
    created = _create(run)
    assert set(created) == {"client_id", "client_secret"}
    assert len(created["client_secret"]) == 64
    shown = run.invoke(main, ["clients", "show", created["client_id"]])
    assert shown.exit_code == 0
    details = json.loads(shown.output)
    assert details["redirect_uris"] == ["https://shop.example/cb", "myapp://cb"]
    assert details["scopes"] == ["authenticate", "capture"]
    assert created["client_secret"] not in shown.output
    database = (tmp_path / "data" / "authature.db").read_bytes()
    assert created["client_secret"].encode() not in database


def test_list_disable_enable_and_rotate(run: CliRunner) -> None:
    created = _create(run)
    listed = run.invoke(main, ["clients", "list", "--json"])
    assert [c["client_id"] for c in json.loads(listed.output)] == [created["client_id"]]
    assert run.invoke(main, ["clients", "disable", created["client_id"]]).exit_code == 0
    assert json.loads(run.invoke(main, ["clients", "show", created["client_id"]]).output)[
        "disabled"
    ]
    assert run.invoke(main, ["clients", "enable", created["client_id"]]).exit_code == 0
    rotated = run.invoke(main, ["clients", "rotate-secret", created["client_id"], "--json"])
    new_secret = json.loads(rotated.output)["client_secret"]
    assert new_secret != created["client_secret"] and len(new_secret) == 64


def test_update_changes_name_and_redirect_uris(run: CliRunner) -> None:
    created = _create(run)
    result = run.invoke(
        main,
        [
            "clients",
            "update",
            created["client_id"],
            "--name",
            "New name",
            "--redirect-uri",
            "https://x.example/cb",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["redirect_uris"] == ["https://x.example/cb"]
    added = run.invoke(
        main, ["clients", "update", created["client_id"], "--add-redirect-uri", "app.shop:/cb"]
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["redirect_uris"] == ["https://x.example/cb", "app.shop:/cb"]


def test_logo_becomes_a_data_uri(run: CliRunner, tmp_path: Path) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    created = _create(run, "--logo", str(logo))
    details = json.loads(run.invoke(main, ["clients", "show", created["client_id"]]).output)
    assert details["has_logo"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--redirect-uri", "http://shop.example/cb", "--scopes", "capture"], "plain http"),
        (["--redirect-uri", "https://shop.example/cb#frag", "--scopes", "capture"], "fragment"),
        (
            ["--redirect-uri", "https://shop.example/cb", "--scopes", "capture,fly"],
            "Scopes must be",
        ),
        (["--redirect-uri", " https://shop.example/cb", "--scopes", "capture"], "white space"),
        (["--redirect-uri", "https://shop.example/c b", "--scopes", "capture"], "white space"),
        (
            ["--redirect-uri", "https://u:pw@shop.example/cb", "--scopes", "capture"],
            "user name or password",
        ),
        # Stored, they could never match what a client sends.
        (["--redirect-uri", "http://127.0.0.1:0/cb", "--scopes", "authenticate"], "port"),
        (["--redirect-uri", "http://[::1]:00/cb", "--scopes", "authenticate"], "port"),
        (["--redirect-uri", "https://shop.example:99999/cb", "--scopes", "capture"], "port"),
        (["--redirect-uri", "https://shop..example/cb", "--scopes", "capture"], "host name"),
        (["--redirect-uri", "https://-bad-.example/cb", "--scopes", "capture"], "host name"),
        (["--redirect-uri", "https://xn--zz.example/cb", "--scopes", "capture"], "host name"),
    ],
)
def test_bad_client_definitions_are_refused_with_a_reason(
    run: CliRunner, args: list[str], message: str
) -> None:
    result = run.invoke(main, ["clients", "create", "--name", "Bad", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert json.loads(run.invoke(main, ["clients", "list", "--json"]).stdout) == []


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ("capture", "cannot have the capture scope, because fetching the signature image"),
        ("authenticate,preapproval", "cannot have the preapproval scope, because capturing"),
        ("capture,preapproval", "cannot have the capture and preapproval scopes"),
    ],
)
def test_a_public_client_cannot_have_scopes_that_need_its_secret(
    run: CliRunner, scopes: str, message: str
) -> None:
    """The signature fetch (SPEC 3.4) and a payment capture (SPEC 3.6) authenticate the client:
    a public client could hold such tokens and never use them."""
    public = ["--public", "--redirect-uri", "myapp://cb"]
    refused = run.invoke(main, ["clients", "create", "--name", "App", *public, "--scopes", scopes])
    assert refused.exit_code != 0
    assert message in refused.output and "Traceback" not in refused.output
    assert json.loads(run.invoke(main, ["clients", "list", "--json"]).stdout) == []
    # What a public client can use: sign-in, OpenID Connect, a one-off payment.
    created = run.invoke(
        main,
        ["clients", "create", "--name", "App", *public, "--scopes", "authenticate,openid,payment"],
    )
    assert created.exit_code == 0, created.output
    client_id = created.stdout.split()[1]
    update = run.invoke(main, ["clients", "update", client_id, "--scopes", scopes])
    assert update.exit_code != 0 and message in update.output
    shown = json.loads(run.invoke(main, ["clients", "show", client_id]).output)
    assert shown["scopes"] == ["authenticate", "openid", "payment"]
    # A confidential client may have them all.
    assert _create(run, "--scopes", "capture,preapproval")["client_secret"]


def test_disabling_a_disabled_client_says_so_and_changes_nothing(run: CliRunner) -> None:
    created = _create(run)
    first = run.invoke(main, ["clients", "disable", created["client_id"]])
    assert first.exit_code == 0 and "Revoked for good" in first.output
    again = run.invoke(main, ["clients", "disable", created["client_id"]])
    assert again.exit_code == 0, again.output
    assert "already disabled" in again.output and "Revoked" not in again.output


def test_a_closed_pipe_ends_a_listing_quietly(run: CliRunner) -> None:
    # `authature clients list | head -1`: the reader stopped; not a data-folder problem.
    import os
    import subprocess
    import sys

    _create(run)  # `run` points AUTHATURE_DATA_DIR at this test's folder, for the child too
    with subprocess.Popen(
        [sys.executable, "-m", "authature.cli", "clients", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    ) as listing:
        assert listing.stdout is not None and listing.stderr is not None
        listing.stdout.close()  # the reader is gone before the child writes: EPIPE for it
        stderr = listing.stderr.read().decode()
        code = listing.wait(timeout=60)
    assert code == 0, stderr
    assert "Broken pipe" not in stderr and "Error" not in stderr, stderr


def test_unknown_client_and_user_say_so(run: CliRunner) -> None:
    _create(run)
    result = run.invoke(main, ["clients", "show", "nope"])
    assert result.exit_code != 0 and "No client has the id" in result.output
    result = run.invoke(main, ["users", "show", "nobody@example.com"])
    assert result.exit_code != 0 and "No user has the identifier" in result.output


def test_bad_configuration_is_a_clear_error(
    run: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHATURE_ENROLL_SAMPLES", "2")
    result = run.invoke(main, ["clients", "list"])
    assert result.exit_code != 0
    assert "AUTHATURE_ENROLL_SAMPLES must be between 3 and 10" in result.output


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AUTHATURE_VERIFY_THRESHOLD", "-inf", "between -20 and 20"),
        ("AUTHATURE_VERIFY_THRESHOLD", "nan", "between -20 and 20"),
        ("AUTHATURE_VERIFY_THRESHOLD", "strict", "must be a number"),
        ("AUTHATURE_RATE_LIMITS", "maybe", "1/true/on/yes or 0/false/off/no"),
        ("AUTHATURE_MAINTENANCE", "yes please", "1/true/on/yes or 0/false/off/no"),
        ("AUTHATURE_DATABASE_URL", "mysql://x/db", "must be sqlite:///PATH or postgresql"),
        ("AUTHATURE_METRICS_TOKEN", " ", "at least 16 printable characters"),
        ("AUTHATURE_METRICS_TOKEN", " metrics-reader-7f3a9c", "without surrounding spaces"),
    ],
)
def test_settings_out_of_range_or_unreadable_stop_the_command(
    run: CliRunner, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    result = run.invoke(main, ["clients", "list"])
    assert result.exit_code != 0
    assert name in result.output and message in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd"])
def test_redirect_uris_a_browser_would_run_are_refused(run: CliRunner, uri: str) -> None:
    result = run.invoke(
        main, ["clients", "create", "--name", "X", "--redirect-uri", uri, "--scopes", "capture"]
    )
    assert result.exit_code != 0
    assert "cannot be a redirect URI" in result.output


def test_commands_other_than_create_do_not_make_a_database_in_the_wrong_folder(
    run: CliRunner, tmp_path: Path
) -> None:
    result = run.invoke(main, ["users", "show", "someone@example.com"])
    assert result.exit_code == 1
    assert "There is no database at" in result.output and "AUTHATURE_DATA_DIR" in result.output
    assert not (tmp_path / "data").exists()
    created = run.invoke(main, ["clients", "list"])
    assert created.exit_code == 1 and not (tmp_path / "data").exists()
    _create(run)
    assert (tmp_path / "data" / "authature.db").exists()


def test_unreachable_database_and_unwritable_folder_are_one_sentence(
    run: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "AUTHATURE_DATABASE_URL", "postgresql+psycopg://ops:hunter2@127.0.0.1:1/authature"
    )
    result = run.invoke(main, ["clients", "list"])
    assert result.exit_code == 1
    assert "Cannot use the database postgresql+psycopg://ops:***@127.0.0.1:1/authature" in (
        result.output
    )
    assert "hunter2" not in result.output and "Traceback" not in result.output
    monkeypatch.delenv("AUTHATURE_DATABASE_URL")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("AUTHATURE_DATA_DIR", str(blocker / "data"))
    result = run.invoke(
        main,
        [
            "clients",
            "create",
            "--name",
            "A",
            "--redirect-uri",
            "https://a.example/cb",
            "--scopes",
            "capture",
        ],
    )
    assert result.exit_code == 1 and "Cannot use" in result.output, result.output
    assert "AUTHATURE_DATA_DIR" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "   "], "not blank"),
        (["--name", ""], "not blank"),
        (["--name", "x" * 201], "at most 200 characters"),
        (["--description", "d" * 1001], "at most 1000 characters"),
    ],
)
def test_update_checks_names_like_create(run: CliRunner, args: list[str], message: str) -> None:
    created = _create(run)
    result = run.invoke(main, ["clients", "update", created["client_id"], *args])
    assert result.exit_code == 1 and message in result.output, result.output
    shown = json.loads(run.invoke(main, ["clients", "show", created["client_id"]]).stdout)
    assert shown["name"] == "Shop" and shown["description"] == ""


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        ("https://*.example/cb", "wildcards are not supported"),
        ("https://shop.*/cb", "register each redirect URI"),
        ("https://ä.example/cb", "'https://xn--4ca.example/cb'"),
        ("https://Bücher.example:8443/cb", "'https://xn--bcher-kva.example:8443/cb'"),
    ],
)
def test_create_refuses_redirect_hosts_that_could_never_match(
    run: CliRunner, uri: str, said: str
) -> None:
    result = run.invoke(
        main,
        ["clients", "create", "--name", "Shop", "--redirect-uri", uri, "--scopes", "authenticate"],
    )
    assert result.exit_code != 0
    assert said in result.output, result.output
    listed = run.invoke(main, ["clients", "list", "--json"])
    assert json.loads(listed.output) == []


def test_create_accepts_the_ascii_form_of_an_international_host(run: CliRunner) -> None:
    result = run.invoke(
        main,
        [
            "clients",
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://xn--4ca.example/cb",
            "--scopes",
            "authenticate",
        ],
    )
    assert result.exit_code == 0, result.output
