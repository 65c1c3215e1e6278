"""`authature`: operator commands. Thin: each calls the same services the web layer uses."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from authature.admin import AdminError, ClientAdmin, UserAdmin, read_logo
from authature.config import ConfigError, Settings
from authature.oauth.ports import ClientRecord, UserRecord
from authature.security.keys import load_keys
from authature.store.db import create_database, upgrade
from authature.store.repositories import SqlUnitOfWork


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _admin(*, may_create: bool = False) -> tuple[ClientAdmin, UserAdmin]:
    """The services on the configured database.

    Only `clients create` may start a new SQLite database: any other command run from the
    wrong folder (AUTHATURE_DATA_DIR defaults to ./data) would otherwise make an empty one and
    answer "no such user" about a database that exists elsewhere.
    """
    settings = _settings()
    sqlite_file = _sqlite_file(settings.database_url)
    if sqlite_file is not None and not sqlite_file.exists():
        if not may_create:
            raise click.ClickException(
                f"There is no database at {sqlite_file}. Run the command from the folder the "
                "server runs in, or set AUTHATURE_DATA_DIR (or AUTHATURE_DATABASE_URL) to it."
            )
        click.echo(f"Creating a new database at {sqlite_file}.", err=True)
    database = create_database(settings.database_url)
    context = click.get_current_context(silent=True)
    if context is not None:  # close the pool when the command ends (no connection left open)
        context.call_on_close(database.engine.dispose)
    upgrade(database)
    uow = SqlUnitOfWork(database)
    return ClientAdmin(uow, load_keys(settings)), UserAdmin(uow)


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def _client_dict(client: ClientRecord) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "description": client.description,
        "redirect_uris": list(client.redirect_uris),
        "scopes": sorted(client.scopes),
        "public": client.is_public,
        "disabled": client.disabled,
        "has_logo": client.logo_data_uri is not None,
        "created_at": client.created_at.isoformat(timespec="seconds"),
    }


def _user_dict(user: UserRecord) -> dict[str, Any]:
    return {
        "identifier": user.identifier,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "mobile": user.mobile,
        "locked_until": user.locked_until.isoformat(timespec="seconds")
        if user.locked_until
        else None,
        "created_at": user.created_at.isoformat(timespec="seconds"),
    }


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


class _AdminErrors(click.Group):
    """Operators get one sentence, not a traceback, for what they can fix themselves."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError

        try:
            return super().invoke(ctx)
        except (AdminError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from exc
        except DBAPIError as exc:
            raise click.ClickException(_database_problem(exc)) from exc
        except BrokenPipeError:
            # `authature clients list | head`: the reader has what it wanted; not an error.
            # Python's documented way: point stdout at devnull so the exit flush stays quiet.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            raise click.ClickException(
                f"Cannot use{where}: {exc.strerror or exc}. Check AUTHATURE_DATA_DIR and the "
                "paths given, and that this user may write there."
            ) from exc


def _database_problem(exc: Exception) -> str:
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(_settings().database_url).render_as_string(hide_password=True)
    except Exception:  # the URL was valid when the engine was made; be safe anyway
        shown = "AUTHATURE_DATABASE_URL"
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()
    return (
        f"Cannot use the database {shown}: {reason[0] if reason else type(exc).__name__}. "
        "Check that it is running and AUTHATURE_DATABASE_URL is right."
    )


@click.group(cls=_AdminErrors)
@click.version_option(package_name="authature")
def main() -> None:
    """Authature: sign in with your handwritten signature (OAuth 2.0 server).

    Configuration comes from AUTHATURE_* environment variables; see the README.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=click.IntRange(1, 65535), show_default=True)
@click.option("--workers", default=1, type=click.IntRange(1, 64), show_default=True)
def serve(host: str, port: int, workers: int) -> None:
    """Run the server (migrations are applied on start)."""
    _run(host, port, workers, demo=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=click.IntRange(1, 65535), show_default=True)
def demo(host: str, port: int) -> None:
    """Run the server with a demo client and a demo shop at /demo/."""
    from authature.web.demo import ensure_demo_client

    settings = _settings()
    base = f"http://{host}:{port}"
    ensure_demo_client(settings, base)
    click.echo(f"Demo shop: {base}/demo/  (sign in there with your signature)")
    _run(host, port, 1, demo=True)


def _run(host: str, port: int, workers: int, *, demo: bool) -> None:
    import os

    import uvicorn

    from authature.web.access_log import log_config

    settings = _settings()
    upgrade(create_database(settings.database_url))  # once, before any worker starts
    load_keys(settings)
    if workers > 1 and settings.metrics:
        _share_metrics_between_workers()
    os.environ.setdefault("AUTHATURE_ISSUER", f"http://{host}:{port}")
    os.environ["AUTHATURE_DEMO"] = "1" if demo else ""
    uvicorn.run(
        "authature.web.asgi:app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=settings.trust_proxy_headers,
        log_level="info",
        log_config=log_config(),
    )


def _share_metrics_between_workers() -> None:
    """prometheus-client's multiprocess mode: each worker writes its values into one folder and
    /metrics adds them up. The folder must start empty; a temporary one is removed at exit."""
    import atexit
    import os
    import shutil
    import tempfile

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
        return
    folder = tempfile.mkdtemp(prefix="authature-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


@main.group()
def clients() -> None:
    """Create, list, update and disable client applications."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--scopes", required=True, help="comma separated: capture,authenticate,...")
@click.option("--description", default="")
@click.option("--logo", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--public", is_flag=True, help="no secret (native or browser app); PKCE required")
@click.option("--json", "as_json", is_flag=True, help="print {client_id, client_secret} as JSON")
def clients_create(
    name: str,
    redirect_uris: tuple[str, ...],
    scopes: str,
    description: str,
    logo: Path | None,
    public: bool,
    as_json: bool,
) -> None:
    """Register a client. The secret is shown only now: store it safely."""
    admin, _ = _admin(may_create=True)
    logo_uri = read_logo(logo) if logo else None
    new = admin.create(name, redirect_uris, [scopes], description, logo_uri, public)
    if as_json:
        _echo_json({"client_id": new.client.client_id, "client_secret": new.client_secret})
        return
    click.echo(f"client_id:     {new.client.client_id}")
    if new.client_secret:
        click.echo(f"client_secret: {new.client_secret}")
        click.echo("The secret is shown only this once.", err=True)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
def clients_list(as_json: bool) -> None:
    """List every client with its state and scopes."""
    admin, _ = _admin()
    items = [_client_dict(c) for c in admin.list()]
    if as_json:
        _echo_json(items)
        return
    if not items:
        click.echo("No clients yet; register one with `authature clients create`.", err=True)
    for c in items:
        state = "disabled" if c["disabled"] else "active"
        click.echo(f"{c['client_id']}  {state:8}  {c['name']}  [{','.join(c['scopes'])}]")


@clients.command("show")
@click.argument("client_id")
def clients_show(client_id: str) -> None:
    """Show one client (never its secret, which is not stored)."""
    admin, _ = _admin()
    _echo_json(_client_dict(admin.get(client_id)))


@clients.command("update")
@click.argument("client_id")
@click.option("--name")
@click.option("--description")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help="Repeat for each URI; the list given replaces the registered one.",
)
@click.option("--add-redirect-uri", "added_uris", multiple=True, help="Keep the list, add this.")
@click.option("--scopes", help="Comma-separated; replaces the allowed scopes.")
@click.option("--logo", type=click.Path(path_type=Path, dir_okay=False))
def clients_update(
    client_id: str,
    name: str | None,
    description: str | None,
    redirect_uris: tuple[str, ...],
    added_uris: tuple[str, ...],
    scopes: str | None,
    logo: Path | None,
) -> None:
    """Change a client's name, description, redirect URIs, scopes or logo."""
    admin, _ = _admin()
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    if redirect_uris or added_uris:
        kept = list(redirect_uris) or admin.get(client_id).redirect_uris
        changes["redirect_uris"] = [*kept, *added_uris]
    if scopes is not None:
        changes["scopes"] = [scopes]  # an empty value is refused with the list to choose from
    if logo:
        changes["logo_data_uri"] = read_logo(logo)
    _echo_json(_client_dict(admin.update(client_id, **changes)))


@clients.command("disable")
@click.argument("client_id")
def clients_disable(client_id: str) -> None:
    """Disable a client: its authorizations are refused, and its live tokens, unused codes,
    sign-ins in progress and uncaptured payment authorizations are ended for good (enabling it
    again does not bring them back)."""
    admin, _ = _admin()
    if admin.get(client_id).disabled:
        click.echo(f"Client {client_id} was already disabled; nothing changed.")
        return
    _, ended = admin.disable(client_id)
    click.echo(
        f"Client {client_id} is disabled. Revoked for good: {ended.tokens} live token(s), "
        f"{ended.codes} unused code(s), {ended.signins} sign-in(s) in progress and "
        f"{ended.payment_authorizations} uncaptured payment authorization(s) (expired); "
        "`clients enable` will not bring them back."
    )


@clients.command("enable")
@click.argument("client_id")
def clients_enable(client_id: str) -> None:
    """Enable a disabled client again; its users sign in anew (tokens from before stay revoked)."""
    admin, _ = _admin()
    admin.disable(client_id, disabled=False)
    click.echo(f"Client {client_id} is enabled; its users sign in again to get new tokens.")


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
def clients_rotate(client_id: str, as_json: bool) -> None:
    """Replace the client secret; the old one stops working at once."""
    admin, _ = _admin()
    new = admin.rotate_secret(client_id)
    if as_json:
        _echo_json({"client_id": client_id, "client_secret": new.client_secret})
    else:
        click.echo(f"client_secret: {new.client_secret}")


@main.group()
def users() -> None:
    """Look up, lock and unlock users."""


@users.command("show")
@click.argument("identifier")
def users_show(identifier: str) -> None:
    """Show a user (never their signatures)."""
    _, users_admin = _admin()
    _echo_json(_user_dict(users_admin.get(identifier)))


@users.command("lock")
@click.argument("identifier")
@click.option(
    "--minutes",
    type=click.IntRange(1, 10**7),
    default=60 * 24 * 365 * 10,
    help="How long; without it ten years, in effect until `users unlock`.",
)
def users_lock(identifier: str, minutes: int) -> None:
    """Lock a user: their sign-ins are refused with access_denied until the time runs out
    (default: until unlocked)."""
    _, users_admin = _admin()
    user = users_admin.lock(identifier, datetime.now(UTC) + timedelta(minutes=minutes))
    _echo_json(_user_dict(user))


@users.command("unlock")
@click.argument("identifier")
def users_unlock(identifier: str) -> None:
    """Unlock a user locked by refused signatures or by an operator."""
    _, users_admin = _admin()
    _echo_json(_user_dict(users_admin.lock(identifier, None)))


def _register_eval() -> None:
    try:
        from authature.eval_cli import eval_command
    except ImportError:  # the evaluation needs the [eval] extra (matplotlib)
        return
    main.add_command(eval_command, "eval")


_register_eval()

if __name__ == "__main__":
    sys.exit(main())
