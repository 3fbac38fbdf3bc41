"""Refresh tokens (RFC 6749 §6, rotated) and revoked access tokens (RFC 7009).

Access tokens are self-contained JWTs: nothing is stored when one is issued. Only a revoked
one leaves a trace, its `jti`, kept until the token would have expired anyway; the demo API
and introspection look it up, so a revocation takes effect at once in every worker.

Refresh tokens are random values stored as SHA-256 digests, never in plaintext. Each use
rotates: the old token is claimed with one conditional UPDATE (the row count decides, so two
concurrent uses cannot both win) and a new one joins the same family. Presenting a token
that was already used revokes the whole family (OAuth 2.0 Security BCP §4.14.2).
"""
import hashlib
import secrets
from datetime import datetime

from sqlalchemy import insert, update

from models.database import db
from models.timeutil import UTCDateTime, utcnow


def token_digest(value: str) -> str:
    """SHA-256 of a random token or code, hex: what is stored and looked up instead of the value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_token_value() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def find_by_digest(digest_column, value: str):
    """The row whose `digest_column` holds the digest of `value`, or None (at once for anything
    that cannot be a value we handed out)."""
    if not isinstance(value, str) or not value or len(value) > 512:
        return None
    model = digest_column.class_
    return db.session.execute(db.select(model).where(digest_column == token_digest(value))).scalar_one_or_none()


class IssuedToUser:
    """The columns an authorization code and a refresh token share: which application a person
    granted which API and scopes, until when, and the access token issued with it (so it can be
    revoked with it)."""

    client_pk = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True)
    user_pk = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    audience = db.Column(db.String(255), nullable=False)
    scopes = db.Column(db.JSON, nullable=False, default=list)
    access_token_jti = db.Column(db.String(64), nullable=True)
    access_token_expires_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)


class RefreshToken(IssuedToUser, db.Model):
    __tablename__ = "refresh_tokens"

    id = db.Column(db.Integer, primary_key=True)
    token_digest = db.Column(db.String(64), nullable=False, unique=True)
    # Every token rotated from one authorization code shares its family; the access tokens
    # issued along the way are revoked with it.
    family_id = db.Column(db.String(32), nullable=False, index=True)
    # RFC 8705 §3: a token issued over mTLS may be redeemed only with the same certificate.
    certificate_thumbprint = db.Column(db.String(64), nullable=True)
    used_at = db.Column(UTCDateTime, nullable=True)
    revoked_at = db.Column(UTCDateTime, nullable=True)

    client = db.relationship("Client")
    user = db.relationship("User")

    def is_active(self, now: datetime | None = None) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > (now or utcnow())


class RevokedToken(db.Model):
    """The `jti` of a revoked access token, until its `exp`."""

    __tablename__ = "revoked_tokens"

    jti = db.Column(db.String(64), primary_key=True)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
    revoked_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


def find_refresh_token(value: str) -> RefreshToken | None:
    return find_by_digest(RefreshToken.token_digest, value)


def add_refresh_token(client, user, audience, scopes, family_id, expires_at, certificate_thumbprint=None,
                      access_token_jti=None, access_token_expires_at=None) -> str:
    """Add a refresh token to the session (the caller commits); returns its value, shown once."""
    value = new_token_value()
    db.session.add(RefreshToken(
        token_digest=token_digest(value), family_id=family_id, client_pk=client.id, user_pk=user.id,
        audience=audience, scopes=list(scopes), certificate_thumbprint=certificate_thumbprint,
        access_token_jti=access_token_jti, access_token_expires_at=access_token_expires_at,
        created_at=utcnow(), expires_at=expires_at,
    ))
    return value


def claim_refresh_token(token: RefreshToken) -> bool:
    """Mark the token used, if nobody did first: True for exactly one caller, ever."""
    now = utcnow()
    result = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None),
               RefreshToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def revoke_family(family_id: str, extra_access_tokens=()) -> int:
    """Revoke every refresh token of the family and the access tokens issued with them (the caller commits).

    `extra_access_tokens`: more (jti, expires_at) pairs, e.g. the one issued with the code.
    Returns how many refresh tokens were still unrevoked.
    """
    now = utcnow()
    rows = db.session.execute(
        db.select(RefreshToken.access_token_jti, RefreshToken.access_token_expires_at)
        .where(RefreshToken.family_id == family_id)
    ).all()
    revoked = db.session.execute(
        update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False)
    ).rowcount
    revoke_access_tokens([*rows, *extra_access_tokens])
    return revoked


def revoke_access_tokens(pairs) -> None:
    """Record (jti, expires_at) pairs as revoked, skipping expired ones and ones already recorded."""
    now = utcnow()
    wanted = {jti: expires_at for jti, expires_at in pairs if jti and expires_at and expires_at > now}
    if not wanted:
        return
    known = set(db.session.execute(
        db.select(RevokedToken.jti).where(RevokedToken.jti.in_(list(wanted)))
    ).scalars())
    rows = [{"jti": jti, "expires_at": exp, "revoked_at": now} for jti, exp in wanted.items() if jti not in known]
    if rows:
        db.session.execute(_insert_ignoring_duplicates(RevokedToken.__table__, rows))


def is_access_token_revoked(jti) -> bool:
    return isinstance(jti, str) and db.session.get(RevokedToken, jti) is not None


def revoke_user_client_tokens(user_pk: int, client_pk: int) -> int:
    """Revoke every refresh-token family a user gave an application (consent withdrawn)."""
    families = db.session.execute(
        db.select(RefreshToken.family_id).where(RefreshToken.user_pk == user_pk, RefreshToken.client_pk == client_pk,
                                                RefreshToken.revoked_at.is_(None)).distinct()
    ).scalars().all()
    return sum(revoke_family(family) for family in families)


def _insert_ignoring_duplicates(table, rows):
    """INSERT ... ON CONFLICT DO NOTHING: a concurrent revocation of the same jti is not an error."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        return insert(table).values(rows)
    return dialect_insert(table).values(rows).on_conflict_do_nothing()
