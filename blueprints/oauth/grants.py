"""Grant types. Authlib runs the flow; these subclasses add audiences and scopes per API,
bind tokens to the client certificate the edge forwarded (RFC 8705 §3, edge.py), and keep
codes and refresh tokens as digests, each redeemed by one conditional UPDATE."""
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidGrantError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import current_app
from flask import request as http_request

from blueprints.oauth.edge import binding_thumbprint, check_edge_problem_for_binding
from blueprints.oauth.errors import printable
from blueprints.oauth.housekeeping import purge_now_and_then
from blueprints.oauth.tokens import issue_access_token, sign_access_token, user_subject
from models import AuthorizationCode, db
from models.apis import find_api
from models.audit import record_flow_event
from models.auth_event import CODE_ISSUED
from models.auth_methods import CONFIDENTIAL_METHODS, REFRESH_TOKEN, USER_FLOW_METHODS
from models.authorization import claim_code, find_code
from models.timeutil import utcnow
from models.tokens import (
    add_refresh_token,
    claim_refresh_token,
    find_refresh_token,
    new_token_value,
    revoke_family,
    token_digest,
)

PROMPTS_SUPPORTED = ("login", "consent")  # the authorize views honour these (blueprints/authorize/views.py)


def certificate_confirmation(client) -> dict | None:
    """RFC 8705 §3: bind the token to the client certificate that came with the request, if any.

    An application that requires sender-constrained tokens gets none without a certificate,
    never a silently unbound one (Auth0: require_proof_of_possession).
    """
    check_edge_problem_for_binding()
    thumbprint = binding_thumbprint()
    if thumbprint is None:
        if client.require_proof_of_possession:
            raise InvalidRequestError("this application requires certificate-bound tokens: "
                                      "send the token request with its client certificate over mTLS")
        return None
    return {"x5t#S256": thumbprint}


def resolve_audience_and_scopes(client, requested_audience, requested_scope) -> tuple[str, list[str]]:
    """Check the requested API and scopes against the application's grants.

    No `scope` means every scope granted for that API (Auth0's behaviour for client credentials).
    """
    issuer = current_app.config["APPCREDS_ISSUER"]
    audience = requested_audience or current_app.config["APPCREDS_DEFAULT_AUDIENCE"]
    if not audience:
        raise InvalidRequestError("audience is required: name the API the token is for")
    if find_api(issuer, audience) is None:
        raise AccessDeniedError(f"no API has the identifier {printable(audience[:200])}")
    grant = client.grant_for(audience)
    if grant is None:
        raise AccessDeniedError("the application is not granted access to this API")
    requested = scope_to_list(requested_scope) if requested_scope else None
    if requested is None:
        return audience, list(grant.scopes)
    not_granted = [scope for scope in requested if scope not in grant.scopes]
    if not_granted:
        raise InvalidScopeError(
            f"scope {printable(not_granted[0][:100])} is not granted to this application for this API")
    return audience, requested


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 §4.4: an application gets a token for itself."""

    # RFC 6749 §4.4: only confidential clients may use client_credentials, so never "none".
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def validate_token_request(self):
        super().validate_token_request()  # authenticates the client; checks it may use this grant
        form = self.request.form
        self.audience, self.scopes = resolve_audience_and_scopes(
            self.request.client, form.get("audience"), form.get("scope")
        )
        self.confirmation = certificate_confirmation(self.request.client)

    def create_token_response(self):
        client = self.request.client
        # RFC 9068 §2.2: with no resource owner, `sub` identifies the client (Auth0: "<client_id>@clients").
        token = issue_access_token(client, self.audience, self.scopes, subject=f"{client.client_id}@clients",
                                   confirmation=self.confirmation)
        return 200, token, self.TOKEN_RESPONSE_HEADER


# --- a user's grants: authorization code (RFC 6749 §4.1) and refresh token (§6) ---------------

def _expiry(claims: dict) -> datetime:
    return datetime.fromtimestamp(claims["exp"], UTC)


def _refresh_token_expiry() -> datetime:
    return utcnow() + timedelta(seconds=int(current_app.config["APPCREDS_REFRESH_TOKEN_LIFETIME"]))


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 §4.1 with PKCE (pkce.py). Codes are stored as digests and redeemed atomically."""

    # Every method may redeem a code; a public client (none) relies on PKCE.
    TOKEN_ENDPOINT_AUTH_METHODS = USER_FLOW_METHODS

    # -- /authorize ------------------------------------------------------------------------

    def validate_requested_scope(self):
        """Scopes are per API: the request's audience must be granted to the application (Auth0's `audience`).

        Also where `prompt` is checked: Authlib sends errors raised here to the verified redirect URI.
        """
        request = self.request
        request.audience, request.scopes = resolve_audience_and_scopes(
            request.client, request.payload.data.get("audience"), request.payload.scope)
        check_prompt(request.payload.data.get("prompt"))

    def generate_authorization_code(self):
        return new_token_value()

    def save_authorization_code(self, code, request):
        lifetime = int(current_app.config["APPCREDS_AUTHORIZATION_CODE_LIFETIME"])
        data = request.payload.data
        db.session.add(AuthorizationCode(
            code_digest=token_digest(code), client_pk=request.client.id, user_pk=request.user.id,
            redirect_uri=request.payload.redirect_uri, audience=request.audience, scopes=list(request.scopes),
            code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"),
            auth_time=getattr(request, "auth_time", None), created_at=utcnow(),
            # RFC 6749 §4.1.2: "The authorization code MUST expire shortly after it is issued".
            expires_at=utcnow() + timedelta(seconds=lifetime),
        ))
        db.session.commit()
        # Its redemption is the token_request record with grant_type authorization_code (server.py).
        record_flow_event(request.client, CODE_ISSUED, "success", "code_issued",
                          f"an authorization code for {request.audience} with scope {' '.join(request.scopes)}, "
                          f"valid {lifetime} s", actor=request.user.email, source_ip=http_request.remote_addr)

    # -- the token endpoint ----------------------------------------------------------------

    def query_authorization_code(self, code, client):
        authorization_code = find_code(code)
        # RFC 6749 §4.1.3: the code must have been issued to the authenticated client.
        if authorization_code is None or authorization_code.client_pk != client.id:
            return None
        if authorization_code.redeemed_at is not None:
            # RFC 6749 §4.1.2: a code used twice is refused, and what it issued is revoked.
            revoke_what_code_issued(authorization_code)
            raise InvalidGrantError("the authorization code was already used; the tokens it issued are revoked")
        if authorization_code.is_expired():
            raise InvalidGrantError("the authorization code has expired")
        return authorization_code

    def authenticate_user(self, authorization_code):
        return authorization_code.user

    def create_token_response(self):
        client, code = self.request.client, self.request.authorization_code
        user = code.user
        confirmation = certificate_confirmation(client)
        response, claims = sign_access_token(client, code.audience, code.scopes, user_subject(user), confirmation)
        family_id = secrets.token_hex(16)
        # The conditional UPDATE decides: of two concurrent redemptions, exactly one gets here.
        if not claim_code(code, family_id, claims["jti"], _expiry(claims)):
            db.session.rollback()
            revoke_what_code_issued(code)
            raise InvalidGrantError("the authorization code was already used; the tokens it issued are revoked")
        if client.check_grant_type(REFRESH_TOKEN):
            response["refresh_token"] = add_refresh_token(
                client, user, code.audience, code.scopes, family_id, _refresh_token_expiry(),
                certificate_thumbprint=(confirmation or {}).get("x5t#S256"),
                access_token_jti=claims["jti"], access_token_expires_at=_expiry(claims))
        db.session.commit()
        purge_now_and_then()
        return 200, response, self.TOKEN_RESPONSE_HEADER


def check_prompt(prompt) -> None:
    """`prompt` (OpenID Connect Core §3.1.2.1) is honoured for login and consent and refused
    otherwise, never ignored: a client asking for none or select_account learns at once."""
    unsupported = [value for value in (prompt or "").split() if value not in PROMPTS_SUPPORTED]
    if unsupported:
        raise InvalidRequestError(f"prompt {printable(unsupported[0][:40])} is not supported; "
                                  f"use {' or '.join(PROMPTS_SUPPORTED)}")


def prompts(parameters: dict) -> set[str]:
    """The prompt values of a validated authorization request."""
    prompt = parameters.get("prompt")
    return set(prompt.split()) if isinstance(prompt, str) else set()


def revoke_what_code_issued(code) -> None:
    """Revoke the refresh-token family and access token of a code's first redemption; commits."""
    db.session.refresh(code)
    if code.family_id:
        revoke_family(code.family_id, [(code.access_token_jti, code.access_token_expires_at)])
        db.session.commit()


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """RFC 6749 §6 with rotation: each refresh token is used once; reuse revokes its family."""

    TOKEN_ENDPOINT_AUTH_METHODS = USER_FLOW_METHODS

    def validate_token_request(self):
        client = self._validate_request_client()
        self.request.client = client
        value = self.request.form.get("refresh_token")
        if not value:
            raise InvalidRequestError("refresh_token is required")
        token = find_refresh_token(value)
        if token is None or token.client_pk != client.id or token.revoked_at is not None:
            raise InvalidGrantError("the refresh token is invalid or revoked")
        if token.used_at is not None:
            # OAuth 2.0 Security BCP §4.14.2: a rotated token came back, so one of two holders is
            # an attacker; revoke the whole family.
            revoke_family(token.family_id)
            db.session.commit()
            raise InvalidGrantError("the refresh token was already used; every token of its family is revoked")
        if token.expires_at <= utcnow():
            raise InvalidGrantError("the refresh token has expired")
        check_refresh_token_binding(token)
        self.scopes = self._granted_scopes(client, token)
        self.request.refresh_token = token

    def _granted_scopes(self, client, token) -> list[str]:
        requested = scope_to_list(self.request.payload.scope) if self.request.payload.scope else None
        # RFC 6749 §6: the requested scope must not include any scope not originally granted.
        if requested is not None and not set(requested) <= set(token.scopes):
            raise InvalidScopeError("the requested scope exceeds the scope of the refresh token")
        grant = client.grant_for(token.audience)
        if grant is None:
            raise InvalidGrantError("the application is no longer granted this API")
        return [scope for scope in (requested or token.scopes) if scope in grant.scopes]

    def create_token_response(self):
        client, old = self.request.client, self.request.refresh_token
        user = old.user
        confirmation = certificate_confirmation(client)
        response, claims = sign_access_token(client, old.audience, self.scopes, user_subject(user), confirmation)
        if not claim_refresh_token(old):
            db.session.rollback()  # a concurrent request used it first: that is reuse too
            revoke_family(old.family_id)
            db.session.commit()
            raise InvalidGrantError("the refresh token was already used; every token of its family is revoked")
        # RFC 6749 §6: the new refresh token keeps the original scope (and binding, and family lifetime).
        response["refresh_token"] = add_refresh_token(
            client, user, old.audience, old.scopes, old.family_id, old.expires_at,
            certificate_thumbprint=old.certificate_thumbprint,
            access_token_jti=claims["jti"], access_token_expires_at=_expiry(claims))
        db.session.commit()
        return 200, response, self.TOKEN_RESPONSE_HEADER


def check_refresh_token_binding(token) -> None:
    """RFC 8705 §3 (issue 4): a bound refresh token is redeemed only with its certificate."""
    if token.certificate_thumbprint is None:
        return
    check_edge_problem_for_binding()
    presented = binding_thumbprint()
    if presented is None or not hmac.compare_digest(presented, token.certificate_thumbprint):
        raise InvalidGrantError("the refresh token is bound to a client certificate; present that certificate")

