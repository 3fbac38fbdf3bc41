"""Dashboard pages: the application list, create, settings, delete, API access and logs.

The Credentials tab (client secret, method switch, keys and certificates) is in credentials.py
and the modules it names. Every page is for administrators only (common.require_admin); every
change is a POST form with a CSRF token; bad input is a field error with status 400 and nothing written.
"""
from flask import current_app, flash, redirect, render_template, request, url_for

from blueprints.dashboard.common import bp, commit_or_refuse, load_application, record_action
from blueprints.dashboard.forms import (
    CreateApplicationForm,
    DeleteApplicationForm,
    EditApplicationForm,
    api_grants_form,
)
from models import AuthEvent, Client, db
from models.apis import builtin_apis
from models.applications import create_application, grant_api, revoke_api_grant, update_application
from models.auth_methods import CLIENT_CREDENTIALS
from models.state import app_state

LOG_PAGE_SIZE = 50
MAX_LOG_PAGE = 100_000  # past this the SQL offset would overflow long before any log is that long


@bp.get("/")
def applications():
    """List every application."""
    clients = db.session.execute(db.select(Client).order_by(Client.name, Client.id)).scalars().all()
    return render_template("dashboard/applications.html", clients=clients)


@bp.route("/applications/new", methods=["GET", "POST"])
def create():
    """Create an application, then go to its Credentials tab (the secret stays hidden until revealed)."""
    form = CreateApplicationForm()
    if request.method == "GET":
        form.grant_types.data = [CLIENT_CREDENTIALS]
    if form.validate_on_submit():
        created, client_and_secret = commit_or_refuse(lambda: create_application(
            form.name.data, form.app_type.data, form.token_endpoint_auth_method.data,
            grant_types=form.grant_types.data, callback_urls=form.callback_url_list,
            description=form.description.data or "",
        ), form.form_errors)
        if created:
            client, _secret = client_and_secret
            flash(f"Application {client.name!r} created.", "success")
            return redirect(url_for("dashboard.credentials", client_id=client.client_id))
    return render_template("dashboard/create.html", form=form), 400 if form.errors else 200


@bp.get("/applications/<client_id>")
def application(client_id):
    """The application page opens on its Settings tab."""
    load_application(client_id)
    return redirect(url_for("dashboard.settings", client_id=client_id))


@bp.route("/applications/<client_id>/settings", methods=["GET", "POST"])
def settings(client_id):
    """Edit name, description, type, callback URLs and grant types."""
    client = load_application(client_id)
    form = EditApplicationForm(current_method=client.token_endpoint_auth_method)
    if request.method == "GET":
        form.name.data, form.description.data = client.name, client.description
        form.app_type.data, form.grant_types.data = client.app_type, list(client.grant_types)
        form.callback_urls.data = "\n".join(client.callback_urls)
    if form.validate_on_submit():
        saved, _ = commit_or_refuse(lambda: update_application(
            client, name=form.name.data, app_type=form.app_type.data, description=form.description.data or "",
            grant_types=form.grant_types.data, callback_urls=form.callback_url_list), form.form_errors)
        if saved:
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
        flash(f"Application {name!r} deleted. Tokens it already holds stay valid until they expire.", "success")
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
            flash("API access saved." if changes else "Nothing changed.", "success")
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


@bp.get("/applications/<client_id>/logs")
def logs(client_id):
    """This application's authentication attempts and credential actions, newest first."""
    client = load_application(client_id)
    # Events are buffered per process; write ours now so the page shows the latest attempts.
    app_state().events.flush()
    page = max(1, min(request.args.get("page", 1, type=int), MAX_LOG_PAGE))
    query = (db.select(AuthEvent).where(AuthEvent.client_pk == client.id)
             .order_by(AuthEvent.created_at.desc(), AuthEvent.id.desc()))
    pagination = db.paginate(query, page=page, per_page=LOG_PAGE_SIZE, error_out=False)
    return render_template("dashboard/logs.html", client=client, pagination=pagination, active_tab="logs")

