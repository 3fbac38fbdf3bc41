"""Sign in / sign out. Only administrators may use the dashboard."""
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from blueprints.auth import bp
from blueprints.auth.forms import EmptyForm, SignInForm
from models.user import find_user_by_credentials


def _safe_next(target: str | None) -> str:
    """Only a local path: never redirect to another host (an open redirect)."""
    if not target or urlsplit(target).netloc or urlsplit(target).scheme or not target.startswith("/") \
            or target.startswith("//") or "\\" in target:
        return url_for("dashboard.applications")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign an administrator in."""
    if current_user.is_authenticated and current_user.is_admin:
        return redirect(url_for("dashboard.applications"))
    form = SignInForm()
    if form.validate_on_submit():
        user = find_user_by_credentials(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("Wrong email or password.")
        elif not user.is_admin:
            form.email.errors.append("This account may not use the dashboard.")
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
def logout():
    """Sign out (a POST with a CSRF token, so no other site can sign you out)."""
    if EmptyForm().validate_on_submit():
        logout_user()
        flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
