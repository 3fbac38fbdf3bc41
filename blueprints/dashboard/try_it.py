"""The Credentials tab's "Try it" section: ready-to-run commands for the application's current method.

The snippets themselves are templates, one per method family, in templates/dashboard/credentials/try_it/;
this module gives them their values: the client id, this server's addresses (built from
APPCREDS_ISSUER as the Endpoints page builds them), the API to ask a token for, and the file names
of the application's key or certificate as `flask --app app keys generate` writes them.
It never reads the client secret: a snippet holds it only when the Reveal or Rotate response passes
`revealed_secret` to the tab (credentials.py); otherwise it holds a placeholder.
"""
import re
import shlex
from dataclasses import dataclass

from flask import current_app, url_for

from models.apis import find_api
from models.auth_methods import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    JAR,
    MTLS_METHODS,
    NONE,
    PRIVATE_KEY_JWT,
    SECRET_METHODS,
)
from models.credential_registry import active_credentials

# The names `keys generate` accepts (blueprints/cli/key_pairs.py SAFE_NAME; a door imports no other door,
# tests/dashboard/test_try_it.py checks the two agree). A credential named so came from NAME.pub.pem or NAME.crt.
KEY_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
UPLOADED_FILE_SUFFIX = re.compile(r"\.(pub\.pem|pem|crt)$")
# Without such a name: the private key files a snippet reads (two uses never share a key pair), and NAME.crt.
DEFAULT_KEY_FILES = {PRIVATE_KEY_JWT: "private.key", JAR: "jar-private.key"}
DEFAULT_CERTIFICATE_NAME = "client"
ASSERTION_LIFETIME = 60  # seconds: short, to limit replay (RFC 7523 §3), and within the server's maximum
REQUEST_OBJECT_LIFETIME = 300  # seconds; request_objects.py accepts at most 60 minutes
# The snippet templates, by the method they try (the authorization-code one is chosen separately).
METHOD_SNIPPETS = {
    **{method: "dashboard/credentials/try_it/client_secret.html" for method in SECRET_METHODS},
    PRIVATE_KEY_JWT: "dashboard/credentials/try_it/private_key_jwt.html",
    **{method: "dashboard/credentials/try_it/mtls.html" for method in MTLS_METHODS},
}
AUTHORIZE_SNIPPET = "dashboard/credentials/try_it/authorize.html"
# The pages of the guide (when it is installed), by method.
GUIDE_PAGES = {**{method: "client-secret" for method in SECRET_METHODS}, PRIVATE_KEY_JWT: "private-key-jwt",
               **{method: "mtls" for method in MTLS_METHODS}, NONE: "jar-par"}


@dataclass(frozen=True)
class SigningKey:
    """A registered key as a snippet uses it: its kid and alg, and the private key file to sign with."""

    kid: str
    alg: str
    private_key_file: str


@dataclass(frozen=True)
class TryIt:
    client_id: str
    issuer: str
    token_url: str
    authorize_url: str
    par_url: str
    edge_token_url: str | None      # the token endpoint at the mTLS edge, when the dashboard knows its address
    edge_par_url: str | None
    audience: str | None            # an API the application is granted, or None: every token request is refused
    scope: str                      # that API's granted scopes, for the authorization request
    redirect_uri: str | None
    client_credentials_allowed: bool
    authorization_code_allowed: bool
    signing_key: SigningKey | None  # Private Key JWT: the newest current key
    jar_key: SigningKey | None      # signed authorization requests: the newest current JAR key
    certificate_name: str           # mTLS: NAME of NAME.crt and NAME.key
    uses_jar: bool
    uses_par: bool
    assertion_lifetime: int
    request_object_lifetime: int
    mtls_enabled: bool


def try_it_context(client) -> dict:
    """The snippets for the application's current method, and the values they are filled with."""
    config = current_app.config
    issuer = config["APPCREDS_ISSUER"]
    method = client.token_endpoint_auth_method
    jar_key = newest_signing_key(client, JAR)
    uses_jar = jar_key is not None or client.require_signed_request_object
    uses_par = client.require_pushed_authorization_requests or uses_jar  # a signed request is pushed: a short URL
    snippets = [METHOD_SNIPPETS[method]] if method in METHOD_SNIPPETS else []
    if method == NONE or uses_jar or uses_par:
        snippets.append(AUTHORIZE_SNIPPET)
    audience, scopes = granted_api(client, issuer)
    mtls_base = (config.get("APPCREDS_MTLS_BASE_URL") or "").rstrip("/")
    try_it = TryIt(
        client_id=client.client_id,
        issuer=issuer,
        token_url=issuer_url(issuer, "oauth.token"),
        authorize_url=issuer_url(issuer, "authorize.authorize"),
        par_url=issuer_url(issuer, "oauth.par"),
        edge_token_url=mtls_base + url_for("oauth.token") if mtls_base else None,
        edge_par_url=mtls_base + url_for("oauth.par") if mtls_base else None,
        audience=audience,
        scope=" ".join(scopes),
        redirect_uri=client.callback_urls[0] if client.callback_urls else None,
        client_credentials_allowed=CLIENT_CREDENTIALS in client.grant_types,
        authorization_code_allowed=AUTHORIZATION_CODE in client.grant_types,
        signing_key=newest_signing_key(client, PRIVATE_KEY_JWT),
        jar_key=jar_key,
        certificate_name=certificate_name(client, method),
        uses_jar=uses_jar,
        uses_par=uses_par,
        assertion_lifetime=min(ASSERTION_LIFETIME, int(config["APPCREDS_ASSERTION_MAX_LIFETIME"])),
        request_object_lifetime=REQUEST_OBJECT_LIFETIME,
        mtls_enabled=bool(config.get("APPCREDS_EDGE_SECRET")),
    )
    guide = "dashboard.guide" in current_app.view_functions and method in GUIDE_PAGES
    return {"try_it": try_it, "try_it_snippets": snippets, "shell_quote": shlex.quote,
            "try_it_guide_url": url_for("dashboard.guide", page=GUIDE_PAGES[method]) if guide else None}


def issuer_url(issuer: str, endpoint: str) -> str:
    """An endpoint's public address: the issuer, then the route, as the Endpoints page (views.endpoints) builds it."""
    return issuer.rstrip("/") + url_for(endpoint)


def granted_api(client, issuer: str) -> tuple[str | None, list[str]]:
    """The API to ask a token for (the default audience when granted, else the first granted) and its scopes."""
    grants = [grant for grant in client.grants if find_api(issuer, grant.audience) is not None]
    default = current_app.config.get("APPCREDS_DEFAULT_AUDIENCE")
    chosen = next((grant for grant in grants if grant.audience == default), grants[0] if grants else None)
    return (chosen.audience, list(chosen.scopes)) if chosen else (None, [])


def newest_signing_key(client, use: str) -> SigningKey | None:
    """The newest current key for `use` (during a rotation, the one to move to), or None."""
    keys = active_credentials(client, use)
    if not keys:
        return None
    key = max(keys, key=lambda credential: credential.created_at)
    return SigningKey(key.kid, key.alg, key_file_name(key.name, ".key", DEFAULT_KEY_FILES[use]))


def certificate_name(client, method: str) -> str:
    """NAME of the NAME.crt and NAME.key an mTLS snippet presents: the newest current credential's name
    when `keys generate` could have written it, else "client"."""
    credentials = active_credentials(client, method) if method in MTLS_METHODS else []
    if not credentials:
        return DEFAULT_CERTIFICATE_NAME
    newest = max(credentials, key=lambda credential: credential.created_at)
    return key_file_name(newest.name, "", DEFAULT_CERTIFICATE_NAME)


def key_file_name(credential_name: str, suffix: str, default: str) -> str:
    """NAME + suffix when the credential is named NAME (or after the file NAME.pub.pem or NAME.crt) and
    `keys generate` accepts NAME, else `default`."""
    name = UPLOADED_FILE_SUFFIX.sub("", credential_name or "")
    return name + suffix if KEY_FILE_NAME.fullmatch(name) else default
