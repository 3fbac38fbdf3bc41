"""The Credentials tab's page, its client secret (reveal, rotate) and its authentication method.

The secret is never in a page until an administrator asks for it with a POST (Reveal, or
Rotate, which shows the new one once); both are recorded in the application's log.
The tab's sections and their order are listed in credentials_tab.py; the routes of the
Private Key JWT and mTLS sections are in credential_sections.py, those of JAR keys and the
JAR/PAR policy in jar_par_section.py.
"""
import logging

from flask import abort, flash, render_template

from blueprints.auth.forms import EmptyForm
from blueprints.dashboard.common import bp, commit_or_refuse, load_application, record_action
from blueprints.dashboard.credentials_tab import back_to_credentials, render_credentials
from blueprints.dashboard.forms import ChangeAuthMethodForm
from models.applications import rotate_secret, set_auth_method
from models.auth_methods import SECRET_METHODS

log = logging.getLogger("appcreds")


@bp.get("/applications/<client_id>/credentials")
def credentials(client_id):
    """Client ID, masked secret, authentication method, then the key and certificate sections."""
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
    refusals = []
    rotated, secret = commit_or_refuse(lambda: rotate_secret(client), refusals)
    if not rotated:
        return render_credentials(client, status=400, reveal_error=refusals[0])
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
        return back_to_credentials(client)
    switched, new_secret = commit_or_refuse(lambda: set_auth_method(client, new),
                                            form.token_endpoint_auth_method.errors)
    if not switched:
        return render_credentials(client, status=400, method_form=form)
    record_action(client, "auth_method_changed", f"authentication method changed from {old} to {new}")
    flash(f"The application now authenticates with {new}; {old} is refused from now on.", "success")
    if new_secret:
        flash("A client secret was generated for it. Reveal it below when you need it.", "info")
    return back_to_credentials(client)
