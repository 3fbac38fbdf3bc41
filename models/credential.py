"""The `credentials` table: an application's registered *public* material (models/credential_registry.py
registers, changes and deletes it). Uses and types are named in models/auth_methods.py.

One table serves every credential use, with Auth0's field names:
- `public_key` for Private Key JWT (RFC 7523) and for signed authorization requests (JAR, RFC 9101);
- `x509_cert` for self_signed_tls_client_auth (RFC 8705 §2.2), matched by certificate thumbprint;
- `cert_subject_dn` for tls_client_auth (RFC 8705 §2.1), matched by subject DN.

Private keys are never stored: the upload policy (models/credential_uploads.py) refuses them
before anything is written, whichever door the upload came through.
"""
import secrets

from models.database import db
from models.timeutil import UTCDateTime, utcnow


def generate_credential_id() -> str:
    return "cred_" + secrets.token_urlsafe(16)


class Credential(db.Model):
    __tablename__ = "credentials"

    id = db.Column(db.String(40), primary_key=True, default=generate_credential_id)
    client_pk = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True)
    # What the credential is for (models/auth_methods.py USES); None while registered but referenced by
    # no use yet (Auth0: created through the Management API, "not yet enabled"): it verifies nothing.
    usage = db.Column(db.String(40), nullable=True)
    credential_type = db.Column(db.String(20), nullable=False)
    name = db.Column(db.String(128), nullable=False, default="")
    kid = db.Column(db.String(64), nullable=True)
    alg = db.Column(db.String(16), nullable=True)
    pem = db.Column(db.Text, nullable=True)
    subject_dn = db.Column(db.String(1024), nullable=True)
    # cert_subject_dn only: the issuing CA's DN the certificate must also have (RFC 8705 §2.1), or
    # None for a certificate from any trusted CA.
    issuer_dn = db.Column(db.String(1024), nullable=True)
    # SHA-256 of the DER certificate, base64url (the RFC 8705 x5t#S256 value), for x509_cert.
    thumbprint_sha256 = db.Column(db.String(64), nullable=True)
    # RFC 7638 JWK thumbprint of the public key. Unique across the server: a key pair is never
    # registered twice, for another use or another application.
    key_thumbprint = db.Column(db.String(64), nullable=True, unique=True)
    expires_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    client = db.relationship("Client", back_populates="credentials")

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    def __repr__(self):
        return f"<Credential {self.id} {self.usage} kid={self.kid}>"


class UsedAssertion(db.Model):
    """RFC 7523 §3 item 7 / RFC 7521 §4.2: a client assertion's `jti` is accepted once.

    The unique constraint makes "first one wins" atomic across workers and servers that share
    the database. Rows are kept until the assertion could no longer be valid anyway.
    """

    __tablename__ = "used_assertions"
    __table_args__ = (db.UniqueConstraint("client_pk", "jti"),)

    id = db.Column(db.Integer, primary_key=True)
    client_pk = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False)
    jti = db.Column(db.String(64), nullable=False)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
