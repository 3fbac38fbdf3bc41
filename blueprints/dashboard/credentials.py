"""The Credentials tab's page, its client secret (reveal, rotate) and its authentication method.

The secret is never in a page until an administrator asks for it with a POST (Reveal, or
Rotate); both are recorded in the application's log. Both answer with a redirect to the tab
(post/redirect/get), which shows the secret once: the POST leaves a one-time mark in the session
(the client id, never the secret), and the next GET of the tab takes it. Reloading or going back
re-sends nothing and shows the secret masked again.
The tab's sections and their order are listed in credentials_tab.py; the routes of the
Private Key JWT and mTLS sections are in credential_sections.py, those of JAR keys and the
JAR/PAR policy in jar_par_section.py.
"""
import logging

from flask import abort, flash, redirect, render_template, request, session, url_for

from blueprints.auth.forms import EmptyForm
from blueprints.dashboard.common import bp, commit_or_refuse, load_application, record_action
from blueprints.dashboard.credentials_tab import back_to_credentials, render_credentials
from blueprints.dashboard.forms import ChangeAuthMethodForm, sentence
from models import db
from models.applications import is_secret_dropped_by_switch, rotate_secret, set_auth_method
from models.auth_methods import AUTH_METHODS, SECRET_METHODS
from models.client_secrets import reveal_client_secret
from models.errors import ApplicationError

log = logging.getLogger("appcreds")


# The session key of the one-time mark a Reveal or Rotate leaves for the next GET of the tab.
SHOW_SECRET_ONCE = "dashboard_show_secret_once"
ROTATED_NOTICE = "This is the new secret. The old one stopped working just now: update your application."


@bp.get("/applications/<client_id>/credentials")
def credentials(client_id):
    """Client ID, masked secret (shown once after Reveal or Rotate), method, then the key and certificate sections."""
    client = load_application(client_id)
    mark = session.get(SHOW_SECRET_ONCE)
    if not mark or mark.get("client_id") != client.client_id:
        return render_credentials(client)
    session.pop(SHOW_SECRET_ONCE)
    if client.token_endpoint_auth_method not in SECRET_METHODS or not client.has_secret:
        return render_credentials(client)  # switched away in between: nothing to show
    try:
        secret = reveal_client_secret(client)
    except RuntimeError:
        return undecryptable(client)
    return render_credentials(client, revealed_secret=secret,
                              reveal_notice=ROTATED_NOTICE if mark.get("rotated") else None)


def show_secret_once(client, rotated: bool = False):
    """Redirect (303) to the tab, which shows the secret on that one GET; the session holds no secret."""
    session[SHOW_SECRET_ONCE] = {"client_id": client.client_id, "rotated": rotated}
    return redirect(url_for("dashboard.credentials", client_id=client.client_id) + "#secret-heading", code=303)


def undecryptable(client):
    """The stored secret cannot be decrypted: say why and what to do (409)."""
    log.exception("cannot decrypt the secret of %s", client.client_id)
    return render_credentials(client, status=409, reveal_error=(
        "The stored secret cannot be decrypted with this server's encryption key (was "
        "instance/encryption.key replaced?). Rotate the secret to issue a new one."))


@bp.route("/applications/<client_id>/credentials/reveal", methods=["GET", "POST"])
def reveal_secret(client_id):
    """Record who asked, then show the secret once on the tab; a GET (a bookmark, a reload) just opens the tab."""
    client = load_application(client_id)
    if request.method == "GET":
        return redirect(url_for("dashboard.credentials", client_id=client.client_id))
    if not EmptyForm().validate_on_submit():  # CSRFProtect has checked the token already; belt and braces
        abort(400)
    if client.token_endpoint_auth_method not in SECRET_METHODS or not client.has_secret:
        return render_credentials(client, status=400, reveal_error="This application has no client secret to reveal.")
    try:
        reveal_client_secret(client)  # refuse here, before recording, when it cannot be decrypted
    except RuntimeError:
        return undecryptable(client)
    record_action(client, "secret_revealed", "client secret revealed in the dashboard")
    return show_secret_once(client)


@bp.route("/applications/<client_id>/credentials/rotate", methods=["GET", "POST"])
def rotate(client_id):
    """Confirm, then replace the secret; the old one stops working at once. The new one is shown once."""
    client = load_application(client_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("dashboard/rotate.html", client=client, active_tab="credentials",
                               uses_secret=client.token_endpoint_auth_method in SECRET_METHODS)
    refusals = []
    rotated, _secret = commit_or_refuse(lambda: rotate_secret(client), refusals)
    if not rotated:
        return render_credentials(client, status=400, reveal_error=refusals[0])
    record_action(client, "secret_rotated", "client secret rotated; the old secret no longer works")
    return show_secret_once(client, rotated=True)


@bp.post("/applications/<client_id>/credentials/method")
def change_method(client_id):
    """Switch the application's one authentication method.

    A switch that deletes the client secret first shows what it will do and asks to confirm
    (dashboard/change_method.html); afterwards a flash says what happened. A refusal is an error
    on the field, and the selector shows the method still in force.
    """
    client = load_application(client_id)
    form = ChangeAuthMethodForm()
    if not form.validate_on_submit():
        return refuse_switch(client, form)
    old, new = client.token_endpoint_auth_method, form.token_endpoint_auth_method.data
    if new == old:
        flash(f"The application already uses {new}. Nothing changed.", "info")
        return back_to_credentials(client)
    drops_secret = is_secret_dropped_by_switch(client, new)
    if drops_secret and form.confirmed.data != "yes":
        return confirm_switch(client, form, old, new)
    switched, new_secret = commit_or_refuse(lambda: set_auth_method(client, new),
                                            form.token_endpoint_auth_method.errors)
    if not switched:
        return refuse_switch(client, form)
    record_action(client, "auth_method_changed", f"authentication method changed from {old} to {new}")
    flash(f"The application now authenticates with {new}; {old} is refused from now on.", "success")
    if drops_secret:
        flash("Its client secret was deleted. Switching back to a client secret method issues a new one.", "info")
    if new_secret:
        flash("A new client secret was generated for it. Reveal it below when you need it.", "info")
    return back_to_credentials(client, "method-heading")


def confirm_switch(client, form, old: str, new: str):
    """Ask before a switch that deletes the secret; a refusal shows first, not after the confirm."""
    try:
        set_auth_method(client, new)  # a dry run, undone below: nothing is written until confirmed
    except ApplicationError as error:
        form.token_endpoint_auth_method.errors.append(sentence(error))
        db.session.rollback()
        return refuse_switch(client, form)
    db.session.rollback()
    return render_template("dashboard/change_method.html", client=client, active_tab="credentials",
                           form=form, old=old, new=new)


def refuse_switch(client, form):
    """The tab with the refusal on the method field, and the selector set to the method still in force."""
    field = form.token_endpoint_auth_method
    refused = field.data
    field.data = client.token_endpoint_auth_method
    form.confirmed.data = ""  # the next switch asks again
    if refused in AUTH_METHODS and refused != client.token_endpoint_auth_method:
        field.errors.append(f"The application still uses {client.token_endpoint_auth_method}.")
    return render_credentials(client, status=400, method_form=form)
