"""The authorization server: Authlib's AuthorizationServer, wired to AppCreds.

- client authentication goes through our front door (client_auth/__init__.py), which runs
  the checks registered here with `register_client_auth_method`;
- token requests may have a form or a JSON body (Auth0 accepts JSON), read from the body only;
- Authlib's defaults we do not want are replaced: the grants sign their own access tokens
  (tokens.py) instead of Authlib's bearer-token generator with 10-day lifetimes, and no access
  token is stored (codes and refresh tokens are stored by the grants, as digests);
- the server keeps its own record of the methods and grants it registered, for discovery
  (metadata.py), instead of reading Authlib's private registries.

`authorization` is one server per process, built and registered here at import, like the
other unbound extensions (Flask's "Application Factories" pattern). That is safe because what
it registers is code, never configuration: the grants, endpoints and client-authentication
checks are the same for every app. `init_authorization_server` binds it to each app.
"""
import os

from authlib.common.security import is_secure_transport
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from flask import request as http_request
from werkzeug.datastructures import MultiDict

from blueprints.oauth.client_auth import authenticate, named_client, private_key_jwt, query_client, register_methods
from blueprints.oauth.grants import AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant
from blueprints.oauth.introspection import IntrospectionEndpoint
from blueprints.oauth.pkce import S256CodeChallenge
from blueprints.oauth.revocation import RevocationEndpoint
from models.auth_event import TOKEN_REQUEST
from models.state import app_state


def json_body(flask_request):
    """The request's JSON body, or None when it is not JSON, does not parse, or nests too deeply.

    Python's parser raises RecursionError, not ValueError, on deep nesting (`"[" * 50000`), and
    Flask's silent mode catches only ValueError.
    """
    if flask_request.mimetype != "application/json":
        return None
    try:
        return flask_request.get_json(silent=True)
    except RecursionError:
        return None


def body_parameters(flask_request) -> MultiDict:
    """The request body's parameters: form-urlencoded, or a JSON object of strings."""
    if flask_request.mimetype == "application/json":
        document = json_body(flask_request)
        if isinstance(document, dict):
            return MultiDict({k: v for k, v in document.items() if isinstance(v, str)})
        return MultiDict()
    return flask_request.form


class BodyPayload(OAuth2Payload):
    def __init__(self, form: MultiDict):
        self._form = form

    @property
    def data(self):
        return self._form

    @property
    def datalist(self):
        return {key: self._form.getlist(key) for key in self._form}


# RFC 6749 §3.2 and §10: the token endpoint requires TLS (or a loopback host, as Authlib allows).
# Authlib decides by parsing the URI and, for http, the host as an IP address; the answer depends
# only on the scheme and the host, so each process keeps it for the few origins it is reached at.
_transport_is_secure: dict[tuple[str, str], bool] = {}
MAX_REMEMBERED_ORIGINS = 64  # the Host header is the client's to choose: past this, decide each time


def is_secure_origin(scheme: str, host: str) -> bool:
    """Authlib's `is_secure_transport` for scheme://host, decided once per origin."""
    if os.getenv("AUTHLIB_INSECURE_TRANSPORT"):  # Authlib's switch for local development
        return True
    secure = _transport_is_secure.get((scheme, host))
    if secure is None:
        secure = is_secure_transport(f"{scheme}://{host}/")
        if len(_transport_is_secure) < MAX_REMEMBERED_ORIGINS:
            _transport_is_secure[(scheme, host)] = secure
    return secure


class ProtocolRequest(FlaskOAuth2Request):
    """An OAuth2Request whose parameters come from the body only (RFC 6749 §3.2, §4.4.2)."""

    def __init__(self, flask_request):
        # OAuth2Request.__init__'s work, done per token request more cheaply: the transport check
        # once per origin (above), the URI from scheme, host and path (not `request.url`, whose IRI
        # decoding of the query string Authlib never needs), and the headers kept as they are
        # (Authlib's `headers or {}` counts them, walking the whole WSGI environ).
        # tests/oauth/test_protocol_request.py checks it sets every attribute OAuth2Request sets.
        if not is_secure_origin(flask_request.scheme, flask_request.host):
            raise InsecureTransportError()
        self.method = flask_request.method
        self.uri = f"{flask_request.scheme}://{flask_request.host}{flask_request.path}"
        self.headers = flask_request.headers
        self._body = None
        self.client = self.auth_method = self.user = None
        self.authorization_code = self.refresh_token = self.credential = self._scope = None
        self._request = flask_request
        self._form = body_parameters(flask_request)
        self.payload = BodyPayload(self._form)

    @property
    def form(self):
        return self._form


class AppCredsAuthorizationServer(AuthorizationServer):
    def __init__(self):
        super().__init__(query_client=query_client, save_token=_no_token_storage)
        self.client_auth_methods: list[str] = []  # registered with register_client_auth_method
        self.token_grants: list[type] = []        # grant classes the token endpoint dispatches to

    def register_client_auth_method(self, method, func):
        super().register_client_auth_method(method, func)
        self.client_auth_methods.append(method)

    def register_grant(self, grant_cls, extensions=None):
        super().register_grant(grant_cls, extensions)
        if hasattr(grant_cls, "check_token_endpoint"):  # Authlib's own test for a token grant
            self.token_grants.append(grant_cls)

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):  # /authorize and PAR pass the parameters they resolved
            return request
        # The request itself, not Flask's proxy to it: each later read skips the proxy's look-up.
        return ProtocolRequest(http_request._get_current_object())

    def authenticate_client(self, request, methods, endpoint="token"):
        parent = super()
        return authenticate(
            request, methods, endpoint, lambda method: parent.authenticate_client(request, [method], endpoint)
        )

    def create_token_response(self, request=None):
        """Authlib's token endpoint, plus one record of the request's outcome (`record_token_request`)."""
        request = self.create_oauth2_request(request)
        try:
            grant = self.get_token_grant(request)
            grant.validate_token_request()
            status, body, headers = grant.create_token_response()
        except OAuth2Error as error:
            record_token_request(request, error=error)
            return self.handle_error_response(request, error)
        record_token_request(request, grant=grant, body=body)
        return self.handle_response(status, body, headers)

    def supported_token_endpoint_auth_methods(self) -> list[str]:
        """Methods some token grant accepts and a check verifies, for discovery (RFC 8414 §2)."""
        offered = [m for grant in self.token_grants for m in grant.TOKEN_ENDPOINT_AUTH_METHODS]
        return [m for m in dict.fromkeys(offered) if m in self.client_auth_methods]

    def supported_grant_types(self) -> list[str]:
        return [grant.GRANT_TYPE for grant in self.token_grants]


def record_token_request(request, error: OAuth2Error | None = None, grant=None, body=None) -> None:
    """Record a token request as a whole: `issued`, or refused with its RFC 6749 §5.2 error code.

    It sits beside the client-authentication record, which says only who the client proved to
    be: a refusal after that (no audience, an API not granted, a scope, a reused refresh token)
    is told here, with the private reason of a LoggedOAuth2Error. The Management API types this
    record seccft/feccft and the like (documents.py log_type). One append to the event buffer, and
    a log line only for a refusal.
    """
    attempt = getattr(request, "client_auth_attempt", None)
    if attempt is None:  # refused before client authentication ran (an unsupported grant_type)
        client_id, client = named_client()
        attempt = {"client_id_sent": client_id, "client": client, "method": None}
    client, sent = attempt.get("client"), attempt.get("client_id_sent")
    grant_type = request.form.get("grant_type")
    if error is None:
        outcome, reason_code, reason = "success", "issued", issued_reason(grant, body)
    else:
        outcome, reason_code = "failure", error.error
        reason = getattr(error, "reason", None) or error.description or error.error.replace("_", " ")
    # A token issued gets no log line (the event log holds it; its client authentication logs at DEBUG):
    # only a refusal gets its own line.
    app_state().events.record(
        log_line=error is not None, event_type=TOKEN_REQUEST, client_id_sent=sent[:128] if sent else None,
        client_pk=client.id if client is not None else None, endpoint="token", method=attempt.get("method"),
        grant_type=grant_type[:40] if grant_type else None, outcome=outcome, reason_code=reason_code,
        reason=reason, source_ip=http_request.remote_addr,
    )


def issued_reason(grant, body: dict) -> str:
    """What a successful token request issued, for which API and scopes."""
    request = grant.request
    source = getattr(request, "refresh_token", None) or getattr(request, "authorization_code", None)
    audience = getattr(grant, "audience", None) or getattr(source, "audience", None)
    issued = "an access token and a refresh token" if "refresh_token" in body else "an access token"
    redeemed = {"authorization_code": "authorization code redeemed: ",
                "refresh_token": "refresh token rotated: "}.get(grant.GRANT_TYPE, "")
    return f"{redeemed}issued {issued} for {audience} with scope {body.get('scope') or '(none)'}"


def _no_token_storage(token, request):
    """Access tokens are self-contained JWTs: nothing to store per token."""


authorization = AppCredsAuthorizationServer()
authorization.register_grant(ClientCredentialsGrant)  # first: the hot path finds it at once
authorization.register_grant(AuthorizationCodeGrant, [S256CodeChallenge()])
authorization.register_grant(RefreshTokenGrant)
authorization.register_endpoint(RevocationEndpoint)
authorization.register_endpoint(IntrospectionEndpoint)
register_methods(authorization)


def init_authorization_server(app) -> None:
    """Bind the server to `app`. Authlib reads only its own OAUTH2_* settings here, which AppCreds
    leaves unset, so every app in the process configures the shared server the same way."""
    authorization.init_app(app)
    private_key_jwt.log_configuration_warnings(app)
