"""Sign in / sign out. Only administrators may use the dashboard."""
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.auth.forms import SignInForm
from blueprints.auth.session_policy import end_dashboard_session, load_dashboard_user, start_dashboard_session
from blueprints.auth.sign_in import find_user_for_sign_in, sign_out_and_redirect
from blueprints.extensions import login_manager
from blueprints.rate_limits import sign_in_limits

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str):
    """Flask-Login: the signed-in user of this session, or None once deleted, signed out or timed out."""
    return load_dashboard_user(user_id)


def _safe_next(target: str | None) -> str:
    """Only a local path: never redirect to another host (an open redirect)."""
    if not target or urlsplit(target).netloc or urlsplit(target).scheme or not target.startswith("/") \
            or target.startswith("//") or "\\" in target:
        return url_for("dashboard.applications")
    return target


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits
def login():
    """Show the sign-in form; sign an administrator in."""
    if current_user.is_authenticated and current_user.is_admin:
        return redirect(url_for("dashboard.applications"))
    form = SignInForm()
    if form.validate_on_submit():
        user = find_user_for_sign_in(form, admin=True, wrong_role="This account may not use the dashboard.")
        if user is not None:
            start_dashboard_session(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
def logout():
    """Sign out (a POST with a CSRF token, so no other site can sign you out)."""
    return sign_out_and_redirect(end_dashboard_session, "auth.login")
