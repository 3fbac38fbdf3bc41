"""`flask --app app clients ...`: applications, their secret, authentication method and API grants.

Every rule is the domain's (models/applications.py); a refusal prints its sentence and exits
non-zero with nothing stored. Each change is committed, then recorded in the application's event
log under the dashboard's event type for it (common.record).
"""
import json

import click
from flask.cli import AppGroup

from blueprints.cli.common import commit_or_fail, load_application, record
from models import db
from models.applications import create_application, grant_api, rotate_secret, set_auth_method, update_application
from models.auth_methods import APP_TYPES, AUTH_METHODS, CLIENT_SECRET_BASIC, GRANT_TYPES

clients_cli = AppGroup("clients", help="Applications (OAuth clients).")

# What `clients update` can change, grouped by the event the dashboard records for each group,
# with the words the log uses for each setting.
SETTING_EVENTS = {
    "settings_changed": {"name": "name", "grant_types": "grant types", "callback_urls": "callback URLs",
                         "require_pkce": "require PKCE"},
    "proof_of_possession_changed": {"require_proof_of_possession": "require certificate-bound tokens"},
    "request_policy_changed": {"require_signed_request_object": "require signed requests",
                               "require_pushed_authorization_requests": "require PAR",
                               "par_request_expiry": "PAR expiry"},
}


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


def _granted(audience, scopes) -> str:
    """The log's sentence for a grant, as the dashboard's API tab writes it."""
    return f"granted {audience} with scopes {' '.join(scopes) or '(none)'}"


@clients_cli.command("create")
@click.argument("name")
@click.option("--app-type", type=click.Choice(list(APP_TYPES)), required=True)
@click.option("--method", type=click.Choice(list(AUTH_METHODS)), default=CLIENT_SECRET_BASIC, show_default=True)
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(list(GRANT_TYPES)))
@click.option("--callback", "callbacks", multiple=True, help="An allowed callback URL (repeatable).")
@click.option("--grant", "grant_audience", help="Grant this API (its identifier) ...")
@click.option("--scope", help="... with these space-separated scopes.")
@click.option("--json", "as_json", is_flag=True, help="Print {client_id, client_secret} as JSON.")
def create_client(name, app_type, method, grant_types, callbacks, grant_audience, scope, as_json):
    """Create an application and print its client id and secret."""
    if scope and not grant_audience:
        raise click.ClickException("--scope needs --grant AUDIENCE")
    scopes = (scope or "").split()

    def action():
        client, secret = create_application(name, app_type, method, list(grant_types) or None, list(callbacks))
        if grant_audience:
            grant_api(client, grant_audience, scopes)
        return client, secret

    client, secret = commit_or_fail(action)
    record(client, "application_created", f"application {client.name!r} created ({app_type}, {method})")
    if grant_audience:
        record(client, "api_grants_changed", _granted(grant_audience, scopes))
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
@click.option("--require-pkce", "require_pkce", type=click.Choice(["on", "off"]),
              help="Require an S256 code_challenge (PKCE, RFC 7636) from this confidential application; off "
                   "leaves it open to authorization-code injection (RFC 9700 §2.1.1). Public ones always need it.")
def update_client(client_id, name, grant_types, callbacks, require_pop, require_jar, require_par, par_expiry,
                  require_pkce):
    """Change an application's settings."""
    client = load_application(client_id)
    before = _settings(client)

    def on_off(value):
        return None if value is None else value == "on"

    commit_or_fail(lambda: update_application(
        client, name=name, grant_types=list(grant_types) or None, callback_urls=list(callbacks) or None,
        require_proof_of_possession=on_off(require_pop), require_signed_request_object=on_off(require_jar),
        require_pushed_authorization_requests=on_off(require_par), par_request_expiry=par_expiry,
        require_pkce=on_off(require_pkce)))
    after = _settings(client)
    for event_type, labels in SETTING_EVENTS.items():
        changes = [f"{label} changed from {before[field]} to {after[field]}"
                   for field, label in labels.items() if before[field] != after[field]]
        if changes:
            record(client, event_type, "; ".join(changes))
    click.echo(f"updated {client.client_id}")


def _settings(client) -> dict:
    """Each setting `clients update` can change, as the log words its value."""
    def shown(value):
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, list):
            return " ".join(value) or "(none)"
        return f"{value} s" if isinstance(value, int) else repr(value)

    return {field: shown(getattr(client, field)) for labels in SETTING_EVENTS.values() for field in labels}


@clients_cli.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
def rotate_client_secret(client_id, as_json):
    """Replace the client secret; the old one stops working at once."""
    client = load_application(client_id)
    secret = commit_or_fail(lambda: rotate_secret(client))
    record(client, "secret_rotated", "client secret rotated; the old secret no longer works")
    _print_application(client, secret, as_json)


@clients_cli.command("delete")
@click.argument("client_id")
def delete_client(client_id):
    """Delete an application and its credentials."""
    client = load_application(client_id)
    # Recorded first, as the dashboard does: the row keeps the client id and loses only its link.
    record(client, "application_deleted", f"application {client.name!r} deleted")
    db.session.delete(client)
    db.session.commit()
    click.echo(f"deleted {client_id}")


@clients_cli.command("grant")
@click.argument("client_id")
@click.argument("audience")
@click.option("--scope", default="", help="Space-separated scopes.")
def grant_client(client_id, audience, scope):
    """Allow the application tokens for an API with these scopes."""
    client = load_application(client_id)
    commit_or_fail(lambda: grant_api(client, audience, scope.split()))
    record(client, "api_grants_changed", _granted(audience, scope.split()))
    click.echo(f"granted {audience} ({scope or 'no scopes'}) to {client_id}")


@clients_cli.command("set-method")
@click.argument("client_id")
@click.argument("method", type=click.Choice(list(AUTH_METHODS)))
@click.option("--json", "as_json", is_flag=True)
def set_client_method(client_id, method, as_json):
    """Switch the application's authentication method."""
    client = load_application(client_id)
    old = client.token_endpoint_auth_method
    secret = commit_or_fail(lambda: set_auth_method(client, method))
    if method != old:
        record(client, "auth_method_changed", f"authentication method changed from {old} to {method}")
    if secret is not None:
        _print_application(client, secret, as_json)
    elif not as_json:
        click.echo(f"{client_id} now authenticates with {method}")
