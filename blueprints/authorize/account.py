"""End-user sign-in and the account page, where a person sees and withdraws their consents.

Only users without the admin role sign in here; administrators use the dashboard
(blueprints/auth/). Withdrawing a consent also makes the application's unredeemed codes for
this person unusable and revokes every token it holds for them: refresh tokens, and the access
tokens issued with a code or a refresh.
"""
from flask import current_app, flash, redirect, render_template, request, url_for

from blueprints.auth.forms import EmptyForm
from blueprints.auth.sign_in import find_user_for_sign_in, sign_out_and_redirect
from blueprints.authorize.forms import EndUserSignInForm
from blueprints.authorize.session import current_end_user, is_own_transaction, sign_in_end_user, sign_out_end_user
from blueprints.authorize.views import bp
from blueprints.rate_limits import sign_in_limits
from blueprints.security_headers import allow_form_redirect_to
from models import Consent, PendingAuthorization, db
from models.apis import find_api
from models.audit import record_flow_event
from models.auth_event import CONSENT_WITHDRAWN, USER_LOGIN
from models.authorization import find_by_reference, revoke_what_user_gave_client

ADMIN_HERE = ("Administrator accounts sign in to the dashboard, not to applications. "
              "Use an end-user account here.")


@bp.route("/account/login", methods=["GET", "POST"])
@sign_in_limits
def login():
    """Sign an end user in; with `tx`, continue that authorization request afterwards."""
    reference = request.args.get("tx", "")
    pending = find_by_reference(PendingAuthorization, reference) if is_own_transaction(reference) else None
    form = EndUserSignInForm()
    if form.validate_on_submit():
        user = find_user_for_sign_in(form, admin=False, wrong_role=ADMIN_HERE)
        record_sign_in(pending, form, user)
        if user is not None:
            sign_in_end_user(user)
            if pending is not None:
                return redirect(url_for("authorize.resume", tx=reference))
            return redirect(url_for("authorize.account"))
    status = 400 if form.errors else 200
    if pending is not None:  # signing in may end at the application at once (consent already given)
        allow_form_redirect_to(pending.parameters.get("redirect_uri") or pending.client.get_default_redirect_uri())
    return render_template("oauth/login.html", form=form, client=pending.client if pending else None), status


def record_sign_in(pending, form, user) -> None:
    """Record a sign-in attempt, good or bad, on the log of the application it was for (if any)."""
    client = pending.client if pending is not None else None
    if user is not None:
        outcome, reason_code, reason = "success", "signed_in", "the end user signed in"
    else:
        outcome = "failure"
        reason_code = "wrong_role" if form.email.errors else "wrong_credentials"
        reason = ("an administrator account tried to sign in to an application" if form.email.errors
                  else "wrong email or password")
    record_flow_event(client, USER_LOGIN, outcome, reason_code, reason, endpoint="login",
                      actor=(form.email.data or "")[:254] or None, source_ip=request.remote_addr)


@bp.post("/account/logout")
def logout():
    """Sign the end user out (a POST with a CSRF token)."""
    return sign_out_and_redirect(sign_out_end_user, "authorize.login")


@bp.get("/account")
def account():
    """The applications this person has allowed, with what, and a Withdraw button for each."""
    user = current_end_user()
    if user is None:
        return redirect(url_for("authorize.login"))
    consents = db.session.execute(
        db.select(Consent).where(Consent.user_pk == user.id).order_by(Consent.updated_at.desc())
    ).scalars().all()
    return render_template("oauth/account.html", user=user, consents=[describe(c) for c in consents],
                           form=EmptyForm())


@bp.post("/account/consents/<int:consent_id>/withdraw")
def withdraw(consent_id):
    """Forget a consent and revoke the tokens the application holds for this person."""
    user = current_end_user()
    if user is None:
        return redirect(url_for("authorize.login"))
    consent = db.session.get(Consent, consent_id)
    if consent is None or consent.user_pk != user.id or not EmptyForm().validate_on_submit():
        flash("That consent does not exist (any more).", "error")
        return redirect(url_for("authorize.account"))
    client = consent.client
    revoke_what_user_gave_client(user.id, consent.client_pk)
    db.session.delete(consent)
    db.session.commit()
    record_flow_event(client, CONSENT_WITHDRAWN, "success", "consent_withdrawn",
                      "the end user withdrew consent; the tokens the application held for them were revoked",
                      endpoint="account", actor=user.email, source_ip=request.remote_addr)
    name = client.name
    flash(f"{name} no longer has your consent, and the tokens it held for you were revoked. "
          "It will ask again next time.", "success")
    return redirect(url_for("authorize.account"))


def describe(consent: Consent) -> dict:
    issuer = current_app.config["APPCREDS_ISSUER"]
    apis = []
    for audience, scopes in sorted(consent.scopes.items()):
        api = find_api(issuer, audience)
        apis.append({"name": api.name if api else audience, "audience": audience, "scopes": scopes})
    return {"id": consent.id, "client": consent.client, "apis": apis, "updated_at": consent.updated_at}
