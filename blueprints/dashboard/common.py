"""What every dashboard page shares: the blueprint, its admin guard and CSRF page, and the helpers
each route uses to load an application, commit a change (or show why not) and record it.

The route modules (views.py, credentials.py, credential_sections.py, jar_par_section.py) import
these helpers, credentials_tab.py and the forms, never each other: the package has no import cycle.
"""
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError

from blueprints.dashboard.forms import sentence
from models import Client, db
from models.applications import find_application
from models.audit import record_change
from models.auth_event import DASHBOARD
from models.auth_methods import APP_TYPES
from models.errors import ApplicationError

bp = Blueprint("dashboard", __name__)

# A credential add refused at the commit: a twin of the key committed between the registry's check and ours.
DUPLICATE_KEY = "This public key is already registered."


@bp.before_request
def require_admin():
    """Anonymous visitors go to sign-in (with a local `next`); signed-in non-admins get 403."""
    if not current_user.is_authenticated:
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=target))
    if not current_user.is_admin:
        abort(403, description="The dashboard is for administrators only.")
    return None


@bp.errorhandler(CSRFError)
def csrf_error(error):
    """A form without a valid CSRF token: explain, change nothing."""
    return render_template("dashboard/csrf_error.html", reason=error.description), 400


@bp.app_template_filter("utc")
def format_utc(moment) -> str:
    """A timestamp as the dashboard shows it: always UTC, to the second."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


@bp.app_context_processor
def dashboard_labels():
    """Display names every dashboard template may use."""
    return {"APP_TYPES": APP_TYPES}


@bp.context_processor
def issuer_mismatch():
    """`issuer_mismatch`: the issuer when this page was reached at another scheme, host or port, else None.

    Audiences, assertion `aud` values and the Endpoints page all derive from the issuer, so a server
    run on another port than its issuer names (make run PORT=5077 with an old APPCREDS_ISSUER) shows
    addresses that do not work; say so on every dashboard page.
    """
    issuer = current_app.config["APPCREDS_ISSUER"]
    here, named = urlsplit(request.host_url), urlsplit(issuer)
    same = (here.scheme, here.netloc.lower()) == (named.scheme, named.netloc.lower())
    return {"issuer_mismatch": None if same else {"issuer": issuer, "here": request.host_url}}


def load_application(client_id: str) -> Client:
    """The application with this client id; 404 when there is none."""
    client = find_application(client_id)
    if client is None:
        abort(404, description="No application has this client ID. It may have been deleted.")
    return client


def commit_or_refuse(change: Callable, errors: list, duplicate: str | None = None) -> tuple[bool, object]:
    """Run `change()` and commit; returns (True, its result).

    A refusal from the domain layer (ApplicationError) rolls back, puts its sentence on `errors`
    (a field's or the form's error list) and returns (False, None): nothing is written. `duplicate`
    is the sentence for a unique constraint that fails at the commit (a twin written between the
    domain's check and ours); without it that IntegrityError propagates.
    """
    try:
        result = change()
        db.session.commit()
    except ApplicationError as error:
        db.session.rollback()
        errors.append(sentence(error))
        return False, None
    except IntegrityError:
        db.session.rollback()
        if duplicate is None:
            raise
        errors.append(duplicate)
        return False, None
    return True, result


def record_action(client, event_type: str, reason: str) -> None:
    """Record a dashboard change on `client` in its event log, with who did it and from where.

    Routes call it after their commit: the event log writes on its own connection (SQLite has one
    writer). Deleting an application is the exception (see views.delete).
    """
    record_change(client, event_type, reason, door=DASHBOARD, actor=current_user.email,
                  source_ip=request.remote_addr)
