"""Operations on applications, shared by the dashboard, the CLI and the Management API.

Each function validates everything first and raises ApplicationError with a message meant
for a person; it changes nothing when it raises. Callers commit.
"""
from urllib.parse import urlsplit

from flask import current_app

from models import Client, ClientGrant, db
from models.apis import builtin_apis, find_api
from models.auth_methods import (
    APP_TYPES,
    AUTH_METHODS,
    CLIENT_CREDENTIALS,
    CLIENT_SECRET_BASIC,
    CREATE_METHODS,
    DEFAULT_GRANT_TYPES,
    GRANT_TYPES,
    JAR,
    MACHINE_TO_MACHINE,
    NONE,
    SECRET_METHODS,
    USES,
)
from models.client import generate_client_id
from models.client_secrets import issue_client_secret
from models.credential_registry import active_credentials
from models.errors import ApplicationError


def create_application(name, app_type, method=CLIENT_SECRET_BASIC, grant_types=None, callback_urls=None,
                       description="") -> tuple[Client, str | None]:
    """Create an application; returns it and its new secret (None for a public client)."""
    # A placeholder method until set_auth_method below checks and sets the real one.
    client = Client(client_id=generate_client_id(), token_endpoint_auth_method=CLIENT_SECRET_BASIC,
                    grant_types=[], callback_urls=[], credentials=[], grants=[])
    update_application(client, name=name, app_type=app_type, description=description,
                       grant_types=grant_types if grant_types is not None else default_grant_types(app_type, method),
                       callback_urls=callback_urls or [])
    if method not in CREATE_METHODS:
        raise ApplicationError(f"a new application starts with a client secret or none; register "
                               f"credentials, then switch to {method}")
    secret = set_auth_method(client, method)
    db.session.add(client)
    return client, secret


def update_application(client, name=None, app_type=None, description=None, grant_types=None, callback_urls=None,
                       require_proof_of_possession=None, require_signed_request_object=None,
                       require_pushed_authorization_requests=None, par_request_expiry=None, require_pkce=None):
    """Change the given settings; None leaves a setting as it is."""
    if name is not None:
        name = name.strip()
        if not 1 <= len(name) <= 128:
            raise ApplicationError("the name must have 1 to 128 characters")
        client.name = name
    if app_type is not None:
        if app_type not in APP_TYPES:
            raise ApplicationError(f"the application type must be one of {', '.join(APP_TYPES)}")
        check_method_fits_app_type(app_type, client.token_endpoint_auth_method)
        client.app_type = app_type
    if description is not None:
        if len(description) > 2000:
            raise ApplicationError("the description may have at most 2000 characters")
        client.description = description
    if grant_types is not None:
        unknown = [g for g in grant_types if g not in GRANT_TYPES]
        if unknown:
            raise ApplicationError(f"unsupported grant type {unknown[0]}; supported: {', '.join(GRANT_TYPES)}")
        check_grant_types_fit_method(grant_types, client.token_endpoint_auth_method)
        client.grant_types = list(dict.fromkeys(grant_types))
    if callback_urls is not None:
        for url in callback_urls:
            check_callback_url(url)
        client.callback_urls = list(dict.fromkeys(callback_urls))
    if require_proof_of_possession is not None:
        client.require_proof_of_possession = bool(require_proof_of_possession)
    if require_pkce is not None:
        # RFC 9700 §2.1.1: opting out leaves a confidential client open to authorization-code
        # injection; a public client (none) needs PKCE whatever this says (blueprints/oauth/pkce.py).
        client.require_pkce = bool(require_pkce)
    update_authorization_request_policy(client, require_signed_request_object,
                                        require_pushed_authorization_requests, par_request_expiry)


# Auth0's par_request_expiry range, in seconds.
PAR_EXPIRY_RANGE = (10, 600)


def update_authorization_request_policy(client, require_signed_request_object=None,
                                        require_pushed_authorization_requests=None, par_request_expiry=None):
    """JAR and PAR settings (RFC 9101 §10.5, RFC 9126 §6); None leaves a setting as it is."""
    if par_request_expiry is not None:
        low, high = PAR_EXPIRY_RANGE
        if isinstance(par_request_expiry, bool) or not isinstance(par_request_expiry, int) \
                or not low <= par_request_expiry <= high:
            raise ApplicationError(f"the PAR request expiry must be {low} to {high} seconds")
    if require_signed_request_object and not active_credentials(client, JAR):
        raise ApplicationError("register a key for signed authorization requests (JAR) before requiring them")
    if require_signed_request_object is not None:
        client.require_signed_request_object = bool(require_signed_request_object)
    if require_pushed_authorization_requests is not None:
        client.require_pushed_authorization_requests = bool(require_pushed_authorization_requests)
    if par_request_expiry is not None:
        client.par_request_expiry = par_request_expiry


def check_callback_url(url: str) -> None:
    """RFC 6749 §3.1.2: absolute, no fragment; https unless it is a loopback address (RFC 8252 §7.3)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ApplicationError(f"callback URL {url!r} is not an absolute URL")
    if parts.fragment:
        raise ApplicationError(f"callback URL {url!r} must not contain a fragment")
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ApplicationError(f"callback URL {url!r} must use https (http only for localhost)")


def check_grant_types_fit_method(grant_types, method: str) -> None:
    """RFC 6749 §4.4: the client credentials grant is for confidential clients only; the token
    endpoint refuses it to a public client (`none`), so that combination is refused here too."""
    if method == NONE and CLIENT_CREDENTIALS in (grant_types or ()):
        raise ApplicationError("a public application (none) cannot use the client credentials grant: it has no "
                               "credential to prove who it is. Untick client credentials, or choose a method "
                               "with a secret or a key")


def check_method_fits_app_type(app_type: str, method: str) -> None:
    """RFC 6749 §4.4: client credentials is for confidential clients only, so a machine-to-machine
    application must authenticate; it can never be a public client (`none`)."""
    if app_type == MACHINE_TO_MACHINE and method == NONE:
        raise ApplicationError("a machine-to-machine application must authenticate; it cannot be public (none)")


def set_auth_method(client, method: str) -> str | None:
    """Switch the application's one authentication method; returns a new secret if one was made."""
    if method not in AUTH_METHODS:
        raise ApplicationError(f"unknown authentication method {method}")
    check_method_fits_app_type(client.app_type, method)
    check_grant_types_fit_method(client.grant_types, method)
    if method in USES and not active_credentials(client, method):
        raise ApplicationError(f"register a credential for {method} before switching to it")
    new_secret = None
    if is_secret_issued_by_switch(client, method):
        new_secret = issue_client_secret(client)
    if method not in SECRET_METHODS:
        # A secret no method accepts is only a liability: drop it, so switching back later
        # makes a fresh one instead of silently reviving the old.
        client.secret_ciphertext = client.secret_digest = None
    client.token_endpoint_auth_method = method
    return new_secret


def is_secret_dropped_by_switch(client, method: str) -> bool:
    """Whether set_auth_method(client, method) would delete the application's client secret."""
    return client.has_secret and method not in SECRET_METHODS


def is_secret_issued_by_switch(client, method: str) -> bool:
    """Whether set_auth_method(client, method) would issue a new client secret."""
    return method in SECRET_METHODS and not client.has_secret


def rotate_secret(client) -> str:
    """A new secret; the old one stops working the moment this commits (Auth0: no grace period)."""
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise ApplicationError("only an application that authenticates with a client secret has one to rotate")
    return issue_client_secret(client)


def grant_api(client, audience: str, scopes: list[str]) -> ClientGrant:
    """Allow the application tokens for an API, with these scopes (replaces an earlier grant)."""
    issuer = current_app.config["APPCREDS_ISSUER"]
    api = find_api(issuer, audience)
    if api is None:
        # Name the APIs: a wrong port or host in the audience (another issuer) shows at a glance.
        known = ", ".join(known_api.identifier for known_api in builtin_apis(issuer))
        raise ApplicationError(f"no API has the identifier {audience}; the APIs are {known}")
    unknown = [s for s in scopes if s not in api.scopes]
    if unknown:
        raise ApplicationError(f"{api.name} has no scope {unknown[0]}")
    grant = client.grant_for(audience)
    if grant is None:
        grant = ClientGrant(audience=audience)
        client.grants.append(grant)
    grant.scopes = list(dict.fromkeys(scopes))
    return grant


def revoke_api_grant(client, audience: str) -> None:
    grant = client.grant_for(audience)
    if grant is None:
        raise ApplicationError("the application has no grant for this API")
    client.grants.remove(grant)


def default_grant_types(app_type: str, method: str | None = None) -> list[str]:
    """What a new application of this type can do when nobody says otherwise (Auth0's defaults);
    a public client (`none`) never gets client credentials (check_grant_types_fit_method)."""
    defaults = DEFAULT_GRANT_TYPES.get(app_type, (CLIENT_CREDENTIALS,))
    return [grant for grant in defaults if not (method == NONE and grant == CLIENT_CREDENTIALS)]


def find_application(client_id: str) -> Client | None:
    return db.session.execute(db.select(Client).where(Client.client_id == client_id)).scalar_one_or_none()


def lock_application(client_id: str) -> Client | None:
    """The application, loaded for a change no concurrent change can interleave with.

    The first statement of the transaction bumps its version: that takes the row's write lock
    (PostgreSQL) or the database's (SQLite) until commit, so a second writer waits, then reads
    the first one's result. Two concurrent changes end as one after the other, never a mixture.
    """
    db.session.rollback()  # a transaction that has read before cannot upgrade safely (SQLite WAL)
    clients = Client.__table__
    claimed = db.session.execute(db.update(clients).where(clients.c.client_id == client_id)
                                 .values(version=clients.c.version + 1))
    if claimed.rowcount == 0:
        return None
    return find_application(client_id)
