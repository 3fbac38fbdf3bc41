"""Dashboard pages: the application list, create, settings, delete, API access, and Endpoints.

The Credentials tab (client secret, method switch, keys and certificates) is in credentials.py
and the modules it names. Every page is for administrators only (common.require_admin); every
change is a POST form with a CSRF token; bad input is a field error with status 400 and nothing written.
"""
from flask import current_app, flash, redirect, render_template, request, url_for

from blueprints.dashboard.common import bp, commit_or_refuse, load_application, record_action
from blueprints.dashboard.forms import (
    DEFAULT_AUTH_METHODS,
    CreateApplicationForm,
    DeleteApplicationForm,
    EditApplicationForm,
    api_grants_form,
)
from models import Client, db
from models.apis import builtin_apis
from models.applications import (
    create_application,
    default_grant_types,
    grant_api,
    revoke_api_grant,
    update_application,
)
from models.state import app_state


@bp.get("/")
def applications():
    """List every application."""
    clients = db.session.execute(db.select(Client).order_by(Client.name, Client.id)).scalars().all()
    return render_template("dashboard/applications.html", clients=clients)


@bp.route("/applications/new", methods=["GET", "POST"])
def create():
    """Create an application, then go to its Credentials tab (the secret stays hidden until revealed)."""
    form = CreateApplicationForm()
    if request.method == "GET":  # defaults follow the type; static/app.js keeps them so when the type changes
        form.app_type.data = form.app_type.data or next(iter(DEFAULT_AUTH_METHODS))
        form.grant_types.data = default_grant_types(form.app_type.data)
        form.token_endpoint_auth_method.data = DEFAULT_AUTH_METHODS[form.app_type.data]
    if form.validate_on_submit():
        created, client_and_secret = commit_or_refuse(lambda: create_application(
            form.name.data, form.app_type.data, form.token_endpoint_auth_method.data,
            grant_types=form.grant_types.data, callback_urls=form.callback_url_list,
            description=form.description.data or "",
        ), form.form_errors)
        if created:
            client, _secret = client_and_secret
            flash(f"Application “{client.name}” created. Its secret stays hidden until you reveal it."
                  if client.has_secret else f"Application “{client.name}” created.", "success")
            return redirect(url_for("dashboard.credentials", client_id=client.client_id))
    defaults = {app_type: {"grant_types": default_grant_types(app_type), "method": DEFAULT_AUTH_METHODS[app_type]}
                for app_type in DEFAULT_AUTH_METHODS}
    return render_template("dashboard/create.html", form=form, defaults=defaults), 400 if form.errors else 200


@bp.get("/applications/<client_id>")
def application(client_id):
    """The application page opens on its Settings tab."""
    load_application(client_id)
    return redirect(url_for("dashboard.settings", client_id=client_id))


@bp.route("/applications/<client_id>/settings", methods=["GET", "POST"])
def settings(client_id):
    """Edit name, description, type, callback URLs, grant types and whether PKCE is required."""
    client = load_application(client_id)
    form = EditApplicationForm(current_method=client.token_endpoint_auth_method)
    if request.method == "GET":
        form.name.data, form.description.data = client.name, client.description
        form.app_type.data, form.grant_types.data = client.app_type, list(client.grant_types)
        form.callback_urls.data = "\n".join(client.callback_urls)
        form.require_pkce.data = client.require_pkce
    if form.validate_on_submit():
        pkce_before = client.require_pkce
        saved, _ = commit_or_refuse(lambda: update_application(
            client, name=form.name.data, app_type=form.app_type.data, description=form.description.data or "",
            grant_types=form.grant_types.data, callback_urls=form.callback_url_list,
            require_pkce=form.require_pkce.data), form.form_errors)
        if saved:
            if client.require_pkce != pkce_before:
                record_action(client, "settings_changed", "require PKCE changed from {} to {}".format(
                    *("on" if value else "off" for value in (pkce_before, client.require_pkce))))
            flash("Settings saved.", "success")
            return redirect(url_for("dashboard.settings", client_id=client_id))
    status = 400 if form.errors else 200
    return render_template("dashboard/settings.html", client=client, form=form, active_tab="settings"), status


@bp.route("/applications/<client_id>/delete", methods=["GET", "POST"])
def delete(client_id):
    """Confirm, then delete the application with its grants and credentials (its log rows stay)."""
    client = load_application(client_id)
    form = DeleteApplicationForm(expected_name=client.name)
    if form.validate_on_submit():
        name = client.name
        # Recorded first: the row keeps the client id, and loses only its link to the deleted application.
        record_action(client, "application_deleted", f"application {name!r} deleted")
        db.session.delete(client)
        db.session.commit()
        flash(f"Application “{name}” deleted. Tokens it already holds stay valid until they expire.", "success")
        return redirect(url_for("dashboard.applications"))
    return render_template("dashboard/delete.html", client=client, form=form), 400 if form.errors else 200


@bp.route("/applications/<client_id>/apis", methods=["GET", "POST"])
def apis(client_id):
    """Which APIs the application may get tokens for, and with which scopes."""
    client = load_application(client_id)
    api_list = builtin_apis(current_app.config["APPCREDS_ISSUER"])
    form = api_grants_form(api_list, client)
    if form.validate_on_submit():
        saved, changes = commit_or_refuse(lambda: apply_api_grants(client, api_list, form), form.form_errors)
        if saved:
            if changes:
                record_action(client, "api_grants_changed", "; ".join(changes))
            flash("API access saved." if changes else "Nothing changed: the boxes ticked are what was already saved.",
                  "success" if changes else "info")
            return redirect(url_for("dashboard.apis", client_id=client_id))
    rows = [(api, form[f"api_{i}"], form[f"scopes_{i}"]) for i, api in enumerate(api_list)]
    status = 400 if form.errors else 200
    return render_template("dashboard/apis.html", client=client, form=form, rows=rows, active_tab="apis"), status


def apply_api_grants(client, api_list, form) -> list[str]:
    """Grant or revoke each API as the form says; returns a sentence per change, for the log."""
    changes = []
    for index, api in enumerate(api_list):
        granted, scopes = form[f"api_{index}"].data, form[f"scopes_{index}"].data or []
        existing = client.grant_for(api.identifier)
        if granted and (existing is None or list(existing.scopes) != list(scopes)):
            grant_api(client, api.identifier, scopes)
            changes.append(f"granted {api.identifier} with scopes {' '.join(scopes) or '(none)'}")
        elif not granted and existing is not None:
            revoke_api_grant(client, api.identifier)
            changes.append(f"revoked {api.identifier}")
    return changes


@bp.get("/endpoints")
def endpoints():
    """The server's own addresses (as its RFC 8414 metadata publishes them) and its token-signing keys."""
    config = current_app.config
    base = config["APPCREDS_ISSUER"].rstrip("/")
    addresses = [
        ("Issuer", "issuer", config["APPCREDS_ISSUER"]),
        ("Authorization endpoint", "authorize", base + url_for("authorize.authorize")),
        ("Token endpoint", "token", base + url_for("oauth.token")),
        ("Pushed authorization requests (PAR)", "par", base + url_for("oauth.par")),
        ("Revocation endpoint", "revoke", base + url_for("oauth.revoke")),
        ("Introspection endpoint", "introspect", base + url_for("oauth.introspect")),
        ("JSON Web Key Set (JWKS)", "jwks", base + url_for("oauth.jwks")),
        ("Discovery document (RFC 8414)", "discovery", base + url_for("oauth.oauth_metadata")),
        ("Discovery document (OpenID Connect path)", "openid-discovery", base + url_for("oauth.openid_configuration")),
    ]
    mtls_base = (config.get("APPCREDS_MTLS_BASE_URL") or "").rstrip("/")
    mtls_aliases = [
        (label, slug, mtls_base + url_for(endpoint)) for label, slug, endpoint in (
            ("Token endpoint", "mtls-token", "oauth.token"),
            ("Revocation endpoint", "mtls-revoke", "oauth.revoke"),
            ("Introspection endpoint", "mtls-introspect", "oauth.introspect"),
            ("Pushed authorization requests (PAR)", "mtls-par", "oauth.par"))
    ] if config.get("APPCREDS_EDGE_SECRET") and mtls_base else []
    return render_template("dashboard/endpoints.html", addresses=addresses, mtls_aliases=mtls_aliases,
                           mtls_enabled=bool(config.get("APPCREDS_EDGE_SECRET")),
                           signing_keys=app_state().signing_keys.summaries())
