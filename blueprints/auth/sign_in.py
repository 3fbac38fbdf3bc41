"""What both sign-in pages share, the dashboard's (blueprints/auth/) and the end user's
(blueprints/authorize/account.py): checking the credentials a form holds, and signing out."""
from flask import flash, redirect, url_for

from blueprints.auth.forms import EmptyForm
from models import User
from models.user import find_user_by_credentials


def find_user_for_sign_in(form, admin: bool, wrong_role: str) -> User | None:
    """The user whose email and password the form holds, if they are (`admin`) or are not an
    administrator; otherwise None, with the reason on the form's field."""
    user = find_user_by_credentials(form.email.data, form.password.data)
    if user is None:
        form.password.errors.append("Wrong email or password.")
        return None
    if user.is_admin != admin:
        form.email.errors.append(wrong_role)
        return None
    return user


def sign_out_and_redirect(sign_out, endpoint: str):
    """A sign-out button's POST: `sign_out()` only with a valid CSRF token (so no other site can
    sign anyone out), then on to `endpoint`."""
    if EmptyForm().validate_on_submit():
        sign_out()
        flash("Signed out.", "info")
    return redirect(url_for(endpoint))
