"""Command-line interface, for scripts, demos and tests: `flask --app app <group> <command>`."""
import json
import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from models import User, db
from models.applications import (
    create_application,
    find_application,
    grant_api,
    rotate_secret,
    set_auth_method,
    update_application,
)
from models.auth_methods import APP_TYPES, AUTH_METHODS, GRANT_TYPES
from models.errors import ApplicationError
from models.signing_keys import rotate_key_file

users_cli = AppGroup("users", help="Dashboard administrators and end users.")
clients_cli = AppGroup("clients", help="Applications (OAuth clients).")
keys_cli = AppGroup("keys", help="The server's token-signing keys.")


def register_commands(app) -> None:
    app.cli.add_command(setup_command)
    for group in (users_cli, clients_cli, keys_cli):
        app.cli.add_command(group)
    from blueprints.credentials_cli import credentials_cli

    app.cli.add_command(credentials_cli)


def _load_application(client_id):
    client = find_application(client_id)
    if client is None:
        raise click.ClickException(f"no application has client id {client_id}")
    return client


def _commit_or_fail(action):
    """Run `action`, commit, or roll back and print the ApplicationError as a CLI error."""
    try:
        result = action()
        db.session.commit()
        return result
    except ApplicationError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None


@click.command("setup")
def setup_command():
    """First-run work, safe to repeat: instance secrets, migrations, first admin."""
    from flask_migrate import upgrade

    instance = Path(current_app.instance_path)
    click.echo(f"instance folder: {instance} (secret_key, encryption.key, signing-keys.json; mode 0600)")
    _create_private_sqlite_file()
    upgrade()
    if db.session.execute(db.select(User).where(User.is_admin)).first() is not None:
        click.echo("an administrator exists already; nothing else to do")
        return
    email = os.environ.get("APPCREDS_ADMIN_EMAIL", "admin@example.com")
    password = os.environ.get("APPCREDS_ADMIN_PASSWORD")
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(12)
    admin = User(email=User.normalize_email(email), is_admin=True)
    admin.set_password(password)
    db.session.add(admin)
    db.session.commit()
    click.echo(f"created administrator {admin.email}")
    if generated:
        click.echo(f"  password (shown once, store it now): {password}")


def _create_private_sqlite_file():
    """An SQLite database holds encrypted secrets: create it 0600 (its WAL files inherit the mode)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        path.chmod(0o600)


@users_cli.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--admin", is_flag=True, help="May sign in to the dashboard.")
def create_user(email, password, admin):
    """Create a user."""
    email = User.normalize_email(email)
    if "@" not in email:
        raise click.ClickException("that is not an email address")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    if db.session.execute(db.select(User).where(User.email == email)).first():
        raise click.ClickException(f"a user {email} exists already")
    user = User(email=email, is_admin=admin)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {'administrator' if admin else 'user'} {email}")


def _print_application(client, secret, as_json):
    if as_json:
        document = {"client_id": client.client_id}
        if secret is not None:
            document["client_secret"] = secret
        click.echo(json.dumps(document))
        return
    click.echo(f"client_id:     {client.client_id}")
    if secret is not None:
        click.echo(f"client_secret: {secret}")


@clients_cli.command("create")
@click.argument("name")
@click.option("--app-type", type=click.Choice(list(APP_TYPES)), required=True)
@click.option("--method", type=click.Choice(list(AUTH_METHODS)), default="client_secret_basic", show_default=True)
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(list(GRANT_TYPES)))
@click.option("--callback", "callbacks", multiple=True, help="An allowed callback URL (repeatable).")
@click.option("--grant", "grant_audience", help="Grant this API (its identifier) ...")
@click.option("--scope", help="... with these space-separated scopes.")
@click.option("--json", "as_json", is_flag=True, help="Print {client_id, client_secret} as JSON.")
def create_client(name, app_type, method, grant_types, callbacks, grant_audience, scope, as_json):
    """Create an application and print its client id and secret."""
    if scope and not grant_audience:
        raise click.ClickException("--scope needs --grant AUDIENCE")

    def action():
        client, secret = create_application(name, app_type, method, list(grant_types) or None, list(callbacks))
        if grant_audience:
            grant_api(client, grant_audience, (scope or "").split())
        return client, secret

    client, secret = _commit_or_fail(action)
    _print_application(client, secret, as_json)


@clients_cli.command("update")
@click.argument("client_id")
@click.option("--name")
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(list(GRANT_TYPES)))
@click.option("--callback", "callbacks", multiple=True, help="Replaces the callback URLs (repeatable).")
@click.option("--require-proof-of-possession", "require_pop", type=click.Choice(["on", "off"]),
              help="Only certificate-bound tokens (RFC 8705 §3); refuse token requests without a certificate.")
@click.option("--require-signed-requests", "require_jar", type=click.Choice(["on", "off"]),
              help="Only signed authorization requests (JAR, RFC 9101); needs a registered JAR key.")
@click.option("--require-par", "require_par", type=click.Choice(["on", "off"]),
              help="Only pushed authorization requests (PAR, RFC 9126).")
@click.option("--par-expiry", "par_expiry", type=int, help="Lifetime of a PAR request_uri, 10 to 600 seconds.")
def update_client(client_id, name, grant_types, callbacks, require_pop, require_jar, require_par, par_expiry):
    """Change an application's settings."""
    client = _load_application(client_id)

    def on_off(value):
        return None if value is None else value == "on"

    _commit_or_fail(lambda: update_application(
        client, name=name, grant_types=list(grant_types) or None, callback_urls=list(callbacks) or None,
        require_proof_of_possession=on_off(require_pop), require_signed_request_object=on_off(require_jar),
        require_pushed_authorization_requests=on_off(require_par), par_request_expiry=par_expiry))
    click.echo(f"updated {client.client_id}")


@clients_cli.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
def rotate_client_secret(client_id, as_json):
    """Replace the client secret; the old one stops working at once."""
    client = _load_application(client_id)
    secret = _commit_or_fail(lambda: rotate_secret(client))
    _print_application(client, secret, as_json)


@clients_cli.command("delete")
@click.argument("client_id")
def delete_client(client_id):
    """Delete an application and its credentials."""
    client = _load_application(client_id)
    db.session.delete(client)
    db.session.commit()
    click.echo(f"deleted {client_id}")


@clients_cli.command("grant")
@click.argument("client_id")
@click.argument("audience")
@click.option("--scope", default="", help="Space-separated scopes.")
def grant_client(client_id, audience, scope):
    """Allow the application tokens for an API with these scopes."""
    client = _load_application(client_id)
    _commit_or_fail(lambda: grant_api(client, audience, scope.split()))
    click.echo(f"granted {audience} ({scope or 'no scopes'}) to {client_id}")


@clients_cli.command("set-method")
@click.argument("client_id")
@click.argument("method", type=click.Choice(list(AUTH_METHODS)))
@click.option("--json", "as_json", is_flag=True)
def set_client_method(client_id, method, as_json):
    """Switch the application's authentication method."""
    client = _load_application(client_id)
    secret = _commit_or_fail(lambda: set_auth_method(client, method))
    if secret is not None:
        _print_application(client, secret, as_json)
    elif not as_json:
        click.echo(f"{client_id} now authenticates with {method}")


@keys_cli.command("rotate")
def rotate_signing_key():
    """next -> current -> previous, plus a new next key. Verifiers already have the new current."""
    new_current = rotate_key_file(Path(current_app.instance_path) / "signing-keys.json")
    click.echo(f"signing with {new_current['kid']}")
