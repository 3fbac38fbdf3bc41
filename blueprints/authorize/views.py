"""GET /authorize (RFC 6749 §4.1.1) and the pages a person goes through: sign-in, consent.

1. /authorize resolves the request (plain, signed request object or pushed request) and lets
   Authlib's grant validate it (blueprints/oauth/request_resolution.py). Errors go back to
   the client's redirect URI only once the client and that URI are verified; before that they
   are shown on a page (RFC 6749 §4.1.2.1).
2. The validated request is kept on the server as a pending transaction; the browser gets a
   reference in its session and moves on to /authorize/continue.
3. There the end user signs in (account.py) and, unless they already consented to these
   scopes for this application, sees the consent page; their decision issues a code or sends
   access_denied (RFC 6749 §4.1.2). Every step re-validates the stored request.
"""
import secrets
from datetime import UTC, datetime, timedelta

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import AccessDeniedError, OAuth2Error
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from blueprints.authorize.forms import ConsentForm
from blueprints.authorize.session import (
    current_end_user,
    end_user_auth_time,
    forget_transaction,
    is_own_transaction,
    remember_transaction,
)
from blueprints.oauth.grants import prompts
from blueprints.oauth.housekeeping import purge_now_and_then
from blueprints.oauth.request_resolution import check_room_for, resolve_authorization_request, validate_parameters
from blueprints.rate_limits import authorize_limits
from blueprints.security_headers import allow_form_redirect_to
from models import Consent, PendingAuthorization, db
from models.apis import find_api
from models.audit import record_flow_event
from models.auth_event import CONSENT_DENIED, CONSENT_GIVEN
from models.authorization import claim_pending_authorization, find_by_reference
from models.timeutil import utcnow
from models.tokens import token_digest

bp = Blueprint("authorize", __name__)

TRANSACTION_LIFETIME = timedelta(minutes=10)  # time to sign in and decide
VIA_NOTES = {
    "query": "The request came as plain URL parameters.",
    "request object": "The request came as a signed request object (JAR, RFC 9101), verified with the "
                      "application's registered key.",
    "pushed request": "The application pushed this request to the server first (PAR, RFC 9126); the URL "
                      "carried only a one-time reference to it.",
}


@bp.context_processor
def end_user_context():
    return {"end_user": current_end_user()}


@bp.app_template_global()
def is_end_user_page() -> bool:
    """True on the pages for people signing in to applications (/authorize..., /account...): the
    app-wide error page (templates/errors/error.html) then offers their way back, never the dashboard."""
    path = request.path
    return any(path == prefix or path.startswith(prefix + "/")
               for prefix in (url_for("authorize.authorize"), url_for("authorize.account")))


@bp.errorhandler(CSRFError)
def csrf_error(error):
    return render_error("invalid_request", "The form expired or did not come from this site. Go back to the "
                        "application and start again.", 400)


@bp.get("/authorize")
@authorize_limits
def authorize():
    """RFC 6749 §4.1.1: validate the authorization request, then hand it to the sign-in and consent steps."""
    try:
        resolved = resolve_authorization_request(request.args)
        grant = validate_parameters(resolved.client, resolved.parameters)
    except InsecureTransportError:
        return render_error("invalid_request", "The authorization endpoint requires https.", 400)
    except OAuth2Error as error:
        return error_response(error)
    try:
        check_room_for(PendingAuthorization, resolved.client)
    except OAuth2Error as error:  # the client and redirect URI are verified: tell the application
        error.redirect_uri, error.state = grant.redirect_uri, grant.request.payload.state
        return error_response(error)
    reference = secrets.token_urlsafe(32)
    db.session.add(PendingAuthorization(
        reference_digest=token_digest(reference), client_pk=resolved.client.id,
        parameters={**resolved.parameters, "client_id": resolved.client.client_id},
        notes=[VIA_NOTES[resolved.via], *resolved.notes],
        created_at=utcnow(), expires_at=utcnow() + TRANSACTION_LIFETIME))
    db.session.commit()
    purge_now_and_then()  # pending requests nobody finished, expired codes and request_uris
    remember_transaction(reference)
    # A redirect, so reloading the next page never replays a one-time request_uri.
    return redirect(url_for("authorize.resume", tx=reference))


@bp.get("/authorize/continue")
def resume():
    """Sign in first; then issue a code if the user already consented, else show the consent page."""
    reference = request.args.get("tx", "")
    pending, user, grant = continue_transaction(reference)
    asked = prompts(pending.parameters)
    # OpenID Connect Core §3.1.2.1 prompt=login: a sign-in made before this request does not count.
    if "login" in asked and (end_user_auth_time() or 0) < int(pending.created_at.timestamp()):
        return redirect(url_for("authorize.login", tx=reference))
    consent = find_consent(user, pending.client)
    # prompt=consent: ask again even when the user already allowed all of this.
    if "consent" not in asked and consent is not None and consent.covers(grant.request.audience, grant.request.scopes):
        return finish(pending, reference, grant, user, allowed=True, on_consent_page=False)
    return render_consent(pending, grant, user, ConsentForm(formdata=None, tx=reference))


@bp.post("/authorize/consent")
def consent():
    """The user's decision, from the consent form (CSRF-protected)."""
    form = ConsentForm()
    reference = form.tx.data or ""
    pending, user, grant = continue_transaction(reference)
    if not form.validate_on_submit():
        return render_consent(pending, grant, user, form, status=400)
    return finish(pending, reference, grant, user, allowed=bool(form.allow.data))


# --- steps ---------------------------------------------------------------------------------------

def load_transaction(reference: str) -> PendingAuthorization:
    """The pending request this browser started, or an error page."""
    pending = find_by_reference(PendingAuthorization, reference) if is_own_transaction(reference) else None
    if pending is None or pending.expires_at <= utcnow():
        abort(render_error("invalid_request", "This sign-in request has expired or was already used. Go back "
                           "to the application and start again.", 400))
    return pending


def continue_transaction(reference: str):
    """The pending request, its signed-in user and the grant, validated again; or, by abort,
    the sign-in page (nobody is signed in) or the error (the request is no longer valid)."""
    pending = load_transaction(reference)
    user = current_end_user()
    if user is None:
        abort(redirect(url_for("authorize.login", tx=reference)))
    try:
        grant = validate_parameters(pending.client, pending.parameters, end_user=user)
    except OAuth2Error as error:
        abort(error_response(error))
    return pending, user, grant


def find_consent(user, client) -> Consent | None:
    return db.session.execute(
        db.select(Consent).where(Consent.user_pk == user.id, Consent.client_pk == client.id)
    ).scalar_one_or_none()


def finish(pending, reference, grant, user, allowed: bool, on_consent_page: bool = True):
    """Issue the code (or access_denied) once: claiming the transaction is the first write.

    `on_consent_page`: the user decided just now (recorded as consent given or denied), rather
    than a consent given earlier covering this request.
    """
    client = pending.client  # loaded now: the claim below removes the pending request
    if not claim_pending_authorization(pending):
        db.session.rollback()
        return render_error("invalid_request", "This sign-in request was already completed.", 400)
    forget_transaction(reference)
    if not allowed:
        db.session.commit()
        record_flow_event(client, CONSENT_DENIED, "failure", "access_denied", "the end user denied the request",
                          actor=user.email, source_ip=request.remote_addr)
        # RFC 6749 §4.1.2.1: the resource owner denied the request.
        return error_response(AccessDeniedError(description="the user denied the request",
                                                redirect_uri=grant.redirect_uri,
                                                state=grant.request.payload.state))
    remember_consent(user, client, grant.request.audience, grant.request.scopes)
    grant.request.auth_time = _auth_time()
    status, _body, headers = grant.create_authorization_response(grant.redirect_uri, user)  # commits
    if on_consent_page:
        record_flow_event(client, CONSENT_GIVEN, "success", "consent_given",
                          f"the end user allowed {' '.join(grant.request.scopes) or 'no scopes'} "
                          f"for {grant.request.audience}", actor=user.email, source_ip=request.remote_addr)
    location = dict(headers)["Location"]
    return redirect(add_params_to_uri(location, [("iss", current_app.config["APPCREDS_ISSUER"])]), status)


def remember_consent(user, client, audience: str, scopes) -> None:
    consent = find_consent(user, client)
    if consent is None:
        consent = Consent(user_pk=user.id, client_pk=client.id, scopes={}, created_at=utcnow())
        db.session.add(consent)
    granted = dict(consent.scopes)
    granted[audience] = sorted(set(granted.get(audience, [])) | set(scopes))
    consent.scopes = granted
    consent.updated_at = utcnow()


def render_consent(pending, grant, user, form, status=200):
    issuer = current_app.config["APPCREDS_ISSUER"]
    api = find_api(issuer, grant.request.audience)
    scopes = [(scope, api.scopes.get(scope, "") if api else "") for scope in grant.request.scopes]
    allow_form_redirect_to(grant.redirect_uri)  # the decision's POST ends at the application
    return render_template(
        "oauth/consent.html", client=pending.client, user=user, api=api, audience=grant.request.audience,
        scopes=scopes, form=form, redirect_uri=grant.redirect_uri, notes=pending.notes,
    ), status


def error_response(error: OAuth2Error):
    """RFC 6749 §4.1.2.1: redirect to a verified redirect URI with error and state, else a page."""
    if error.redirect_uri:
        params = [("error", error.error)]
        if error.description:
            params.append(("error_description", error.description))
        if error.state:
            params.append(("state", error.state))
        params.append(("iss", current_app.config["APPCREDS_ISSUER"]))  # RFC 9207
        return redirect(add_params_to_uri(error.redirect_uri, params), 302)
    return render_error(error.error, error.description, error.status_code or 400)


def render_error(error: str, description: str | None, status: int):
    """The error page: the RFC 6749 error code and its description, never a stack trace."""
    return make_response(render_template("oauth/error.html", error=error, description=as_sentence(description)),
                         status)


# Parameter names without an underscore, which would otherwise look like ordinary words.
PARAMETER_NAMES = ("state", "scope", "prompt", "audience", "nonce", "request")


def as_sentence(description: str | None) -> str | None:
    """A description written for error_description ("no application has this client_id", RFC style)
    as a sentence for the page, like the page's own ("This sign-in request has expired."): a capital
    first letter, unless it starts with a parameter name or an address, and a full stop."""
    text = (description or "").strip()
    if not text:
        return None
    first = text.split()[0]
    if first not in PARAMETER_NAMES and not any(mark in first for mark in ("_", "/", ":", "'", '"')):
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _auth_time():
    moment = end_user_auth_time()
    return datetime.fromtimestamp(moment, UTC) if moment else None
