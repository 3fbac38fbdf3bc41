"""Applications (OAuth clients) and the APIs they are granted.

An application has exactly one authentication method at a time (RFC 7591 §2
`token_endpoint_auth_method`, as Auth0 does it) and at most one client secret.
The secret is kept twice: Fernet ciphertext so an admin can reveal it, and a keyed
digest so the token endpoint verifies it without decrypting anything.
"""
import secrets
import string
from itertools import chain

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from models.auth_methods import CLIENT_CREDENTIALS, CLIENT_SECRET_BASIC, MACHINE_TO_MACHINE
from models.credential import Credential
from models.database import db
from models.timeutil import UTCDateTime, utcnow

_CLIENT_ID_ALPHABET = string.ascii_letters + string.digits


def generate_client_id() -> str:
    """32 random alphanumerics (about 190 bits), the shape of an Auth0 client id."""
    return "".join(secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(32))


def generate_client_secret() -> str:
    """64 URL-safe characters from `secrets`: 384 bits, well over the 256 we promise."""
    return secrets.token_urlsafe(48)


class Client(ClientMixin, db.Model):
    __tablename__ = "clients"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), nullable=False, unique=True)
    name = db.Column(db.String(128), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    app_type = db.Column(db.String(32), nullable=False, default=MACHINE_TO_MACHINE)
    token_endpoint_auth_method = db.Column(db.String(40), nullable=False, default=CLIENT_SECRET_BASIC)
    grant_types = db.Column(db.JSON, nullable=False, default=lambda: [CLIENT_CREDENTIALS])
    callback_urls = db.Column(db.JSON, nullable=False, default=list)
    secret_ciphertext = db.Column(db.Text, nullable=True)
    secret_digest = db.Column(db.String(64), nullable=True)
    secret_rotated_at = db.Column(UTCDateTime, nullable=True)
    require_proof_of_possession = db.Column(db.Boolean, nullable=False, default=False)
    # Incremented in the same transaction as every change to the application, its API grants or
    # its credentials (count_application_changes below): workers compare it to the snapshot they
    # hold (models/client_snapshots.py).
    version = db.Column(db.Integer, nullable=False, default=1, server_default="1")
    # RFC 9101 §10.5 client metadata (Auth0: signed_request_object.required): only signed requests.
    require_signed_request_object = db.Column(db.Boolean, nullable=False, default=False)
    # RFC 9126 §6 client metadata: authorization requests only through /oauth/par.
    require_pushed_authorization_requests = db.Column(db.Boolean, nullable=False, default=False)
    par_request_expiry = db.Column(db.Integer, nullable=False, default=60)  # seconds, Auth0's name
    # RFC 9700 §2.1.1: every code flow carries an S256 PKCE challenge unless an administrator opts
    # a confidential client out (a public client always needs one: blueprints/oauth/pkce.py).
    require_pkce = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    grants = db.relationship(
        "ClientGrant", back_populates="client", cascade="all, delete-orphan", order_by="ClientGrant.audience"
    )
    credentials = db.relationship(
        "Credential", back_populates="client", cascade="all, delete-orphan", order_by="Credential.created_at"
    )

    # --- the secret (issued, revealed and checked by models/client_secrets.py) ----------------

    @property
    def has_secret(self) -> bool:
        return self.secret_digest is not None

    # --- Authlib's ClientMixin --------------------------------------------------------------

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        # RFC 6749 §3.1.2.3: without redirect_uri only a single registered URI can be meant.
        return self.callback_urls[0] if len(self.callback_urls) == 1 else None

    def get_allowed_scope(self, scope):
        # Scopes are per API (audience); the grant classes check them against ClientGrant.
        return scope

    def check_redirect_uri(self, redirect_uri):
        # Exact string match, RFC 6749 §3.1.2.3 and OAuth 2.0 Security BCP §4.1.3.
        return redirect_uri in self.callback_urls

    # check_client_secret: not used; our client_secret.py checks with models.client_secrets.

    def check_endpoint_auth_method(self, method, endpoint):
        # Unlike Authlib's mixin, the application's one method applies at every endpoint.
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type):
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types

    # --- convenience ------------------------------------------------------------------------

    def grant_for(self, audience: str):
        return next((g for g in self.grants if g.audience == audience), None)

    def __repr__(self):
        return f"<Client {self.client_id} {self.name!r}>"


class ClientGrant(db.Model):
    """An application may get tokens for this API (audience), with at most these scopes."""

    __tablename__ = "client_grants"
    __table_args__ = (db.UniqueConstraint("client_pk", "audience"),)

    id = db.Column(db.Integer, primary_key=True)
    client_pk = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True)
    audience = db.Column(db.String(255), nullable=False)
    scopes = db.Column(db.JSON, nullable=False, default=list)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    client = db.relationship("Client", back_populates="grants")


@event.listens_for(Session, "after_flush")
def count_application_changes(session, flush_context) -> None:
    """Bump `Client.version` for every application whose row, grants or credentials this flush wrote."""
    changed = {obj.id if isinstance(obj, Client) else obj.client_pk
               for obj in chain(session.new, session.dirty, session.deleted)
               if isinstance(obj, Client | ClientGrant | Credential)}
    changed.discard(None)
    if changed:
        clients = Client.__table__
        session.connection().execute(
            update(clients).where(clients.c.id.in_(changed)).values(version=clients.c.version + 1))
