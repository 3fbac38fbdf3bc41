"""The Credentials tab: client ID, client secret (reveal, rotate) and the authentication method.

The secret is never in a page until an administrator asks for it with a POST (Reveal, or
Rotate, which shows the new one once); both are recorded in the application's log.

Later features add sections to this tab (Private Key JWT keys, mTLS certificates) without
editing it: call `register_credential_section("dashboard/credentials/_keys.html", context)`
from your own module, where `context(client)` returns the variables your template needs, and
render the tab from your own POST views with `render_credentials(client, status=400, **extra)`.
Log your actions with `views.record_action(client, event_type, reason)` (see its note on batches).
"""
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, flash, make_response, redirect, render_template, url_for

from blueprints.auth.forms import EmptyForm
from blueprints.dashboard import bp
from blueprints.dashboard.forms import ChangeAuthMethodForm, sentence
from blueprints.dashboard.views import load_application, record_action
from models import db
from models.applications import rotate_secret, set_auth_method
from models.auth_methods import SECRET_METHODS
from models.errors import ApplicationError

log = logging.getLogger("appcreds")


@dataclass(frozen=True)
class CredentialSection:
    """A block of the Credentials tab: a template, and a function giving its variables for a client."""

    template: str
    context: Callable | None = None


CREDENTIAL_SECTIONS: list[CredentialSection] = []


def register_credential_section(template: str, context: Callable | None = None) -> None:
    """Add a section (e.g. Private Key JWT keys) below the method switch; registering twice is a no-op."""
    section = CredentialSection(template, context)
    if section not in CREDENTIAL_SECTIONS:
        CREDENTIAL_SECTIONS.append(section)


def render_credentials(client, status: int = 200, method_form=None, **extra):
    """The Credentials tab for `client`; `extra` reaches every section's template."""
    if method_form is None:
        # formdata=None: on another form's POST (reveal, rotate) show the stored method, not that form's data.
        method_form = ChangeAuthMethodForm(formdata=None, token_endpoint_auth_method=client.token_endpoint_auth_method)
    context = {"client": client, "active_tab": "credentials", "method_form": method_form,
               "uses_secret": client.token_endpoint_auth_method in SECRET_METHODS,
               "revealed_secret": None, "reveal_notice": None, "reveal_error": None,
               "credential_sections": [section.template for section in CREDENTIAL_SECTIONS]}
    for section in CREDENTIAL_SECTIONS:
        if section.context is not None:
            context.update(section.context(client))
    context.update(extra)
    response = make_response(render_template("dashboard/credentials.html", **context), status)
    if context["revealed_secret"]:
        response.headers["Cache-Control"] = "no-store"  # keep the secret out of caches and history
    return response


@bp.get("/applications/<client_id>/credentials")
def credentials(client_id):
    """Client ID, masked secret, authentication method (and the sections later features add)."""
    return render_credentials(load_application(client_id))


@bp.post("/applications/<client_id>/credentials/reveal")
def reveal_secret(client_id):
    """Show the secret on this one response, and record who asked."""
    client = load_application(client_id)
    if not EmptyForm().validate_on_submit():  # CSRFProtect has checked the token already; belt and braces
        abort(400)
    if client.token_endpoint_auth_method not in SECRET_METHODS or not client.has_secret:
        return render_credentials(client, status=400, reveal_error="This application has no client secret to reveal.")
    try:
        secret = client.reveal_secret()
    except RuntimeError:
        log.exception("cannot decrypt the secret of %s", client.client_id)
        return render_credentials(client, status=409, reveal_error=(
            "The stored secret cannot be decrypted with this server's encryption key (was "
            "instance/encryption.key replaced?). Rotate the secret to issue a new one."))
    record_action(client, "secret_revealed", "client secret revealed in the dashboard")
    return render_credentials(client, revealed_secret=secret)


@bp.route("/applications/<client_id>/credentials/rotate", methods=["GET", "POST"])
def rotate(client_id):
    """Confirm, then replace the secret; the old one stops working at once. The new one is shown once."""
    client = load_application(client_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("dashboard/rotate.html", client=client, active_tab="credentials",
                               uses_secret=client.token_endpoint_auth_method in SECRET_METHODS)
    try:
        secret = rotate_secret(client)
        db.session.commit()
    except ApplicationError as error:
        db.session.rollback()
        return render_credentials(client, status=400, reveal_error=sentence(error))
    # Recorded after the commit: the event log writes on its own connection (SQLite: one writer).
    record_action(client, "secret_rotated", "client secret rotated; the old secret no longer works")
    return render_credentials(client, revealed_secret=secret, reveal_notice=(
        "This is the new secret. The old one stopped working just now: update your application."))


@bp.post("/applications/<client_id>/credentials/method")
def change_method(client_id):
    """Switch the application's one authentication method; a refusal is an error on the field."""
    client = load_application(client_id)
    form = ChangeAuthMethodForm()
    if not form.validate_on_submit():
        return render_credentials(client, status=400, method_form=form)
    old, new = client.token_endpoint_auth_method, form.token_endpoint_auth_method.data
    if new == old:
        flash(f"The application already uses {new}.", "info")
        return redirect(url_for("dashboard.credentials", client_id=client_id))
    try:
        new_secret = set_auth_method(client, new)
        db.session.commit()
    except ApplicationError as error:
        db.session.rollback()
        form.token_endpoint_auth_method.errors = [sentence(error)]
        return render_credentials(client, status=400, method_form=form)
    record_action(client, "auth_method_changed", f"authentication method changed from {old} to {new}")
    flash(f"The application now authenticates with {new}; {old} is refused from now on.", "success")
    if new_secret:
        flash("A client secret was generated for it. Reveal it below when you need it.", "info")
    return redirect(url_for("dashboard.credentials", client_id=client_id))


# The Private Key JWT and mTLS sections register themselves here, below the method switch.
from blueprints.dashboard import credential_sections  # noqa: E402,F401
