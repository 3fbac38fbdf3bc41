"""The authorization-code flow's state: pushed requests, pending browser transactions,
authorization codes and consents.

Every random reference handed out (a PAR `request_uri`, a transaction id, a code) is stored as
its SHA-256 digest only. Each one-time value is claimed with one conditional UPDATE or DELETE
whose row count decides, so two concurrent uses cannot both succeed, in one worker or many.
"""
from datetime import timedelta

from sqlalchemy import delete, or_, update

from models.database import db
from models.timeutil import UTCDateTime, utcnow
from models.tokens import IssuedToUser, find_by_digest, revoke_access_tokens, revoke_user_client_tokens

# Redeemed codes are kept this long past their expiry, so a replay is still recognised and
# can revoke what the first redemption issued (RFC 6749 §4.1.2).
CODE_REPLAY_MEMORY = timedelta(minutes=10)


class PushedRequest(db.Model):
    """RFC 9126: an authorization request pushed by an authenticated client, named by a request_uri."""

    __tablename__ = "pushed_requests"

    id = db.Column(db.Integer, primary_key=True)
    reference_digest = db.Column(db.String(64), nullable=False, unique=True)
    client_pk = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True)
    parameters = db.Column(db.JSON, nullable=False)
    signed = db.Column(db.Boolean, nullable=False, default=False)  # came as a request object (RFC 9101)
    notes = db.Column(db.JSON, nullable=False, default=list)      # for the consent page's details
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
    used_at = db.Column(UTCDateTime, nullable=True)


class PendingAuthorization(db.Model):
    """A validated authorization request waiting for the user to sign in and decide.

    Kept on the server (the browser holds only a random reference in its session), so pushed
    parameters never travel through the browser.
    """

    __tablename__ = "pending_authorizations"

    id = db.Column(db.Integer, primary_key=True)
    reference_digest = db.Column(db.String(64), nullable=False, unique=True)
    client_pk = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False,
                          index=True)  # counted per application (count_live)
    parameters = db.Column(db.JSON, nullable=False)
    notes = db.Column(db.JSON, nullable=False, default=list)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)

    client = db.relationship("Client")


class AuthorizationCode(IssuedToUser, db.Model):
    """RFC 6749 §4.1.2: one-time, short-lived, bound to client, user, redirect URI and PKCE challenge.

    Client, user, audience, scopes, lifetime and the access token issued come from IssuedToUser.
    """

    __tablename__ = "authorization_codes"

    id = db.Column(db.Integer, primary_key=True)
    code_digest = db.Column(db.String(64), nullable=False, unique=True)
    # As sent in the authorization request; None when it named none (RFC 6749 §4.1.3).
    redirect_uri = db.Column(db.Text, nullable=True)
    code_challenge = db.Column(db.String(128), nullable=True)
    code_challenge_method = db.Column(db.String(10), nullable=True)
    auth_time = db.Column(UTCDateTime, nullable=True)
    # Set by the one redemption that wins (with access_token_jti and access_token_expires_at);
    # a replay finds them and revokes what was issued.
    redeemed_at = db.Column(UTCDateTime, nullable=True)
    family_id = db.Column(db.String(32), nullable=True)

    user = db.relationship("User")

    # Authlib's AuthorizationCodeMixin
    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return " ".join(self.scopes)

    def get_auth_time(self):
        return int(self.auth_time.timestamp()) if self.auth_time else None

    def get_nonce(self):
        return None

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()


class Consent(db.Model):
    """What a user allowed an application: per API (audience), the scopes. Withdrawable."""

    __tablename__ = "consents"
    __table_args__ = (db.UniqueConstraint("user_pk", "client_pk"),)

    id = db.Column(db.Integer, primary_key=True)
    user_pk = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    client_pk = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True)
    scopes = db.Column(db.JSON, nullable=False, default=dict)  # {audience: [scope, ...]}
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    client = db.relationship("Client")

    def covers(self, audience: str, scopes) -> bool:
        """True when the user already allowed this API for the application, with at least these scopes.

        The API itself must have been consented to: a request with no scopes for an API the user
        never saw still needs their consent (an empty set is a subset of anything).
        """
        if audience not in self.scopes:
            return False
        return set(scopes) <= set(self.scopes[audience])


def count_live(model, client_pk: int) -> int:
    """How many unexpired pushed requests or pending transactions (`model`) an application has."""
    return db.session.execute(
        db.select(db.func.count()).select_from(model)
        .where(model.client_pk == client_pk, model.expires_at > utcnow())
    ).scalar_one()


# --- one-time claims -------------------------------------------------------------------------

def find_by_reference(model, value: str):
    """The row whose reference digest matches `value`, or None."""
    return find_by_digest(model.reference_digest, value)


def claim_pushed_request(pushed: PushedRequest, client_pk: int) -> bool:
    """RFC 9126 §4: a request_uri is used once, by its own client, before it expires."""
    now = utcnow()
    result = db.session.execute(
        update(PushedRequest)
        .where(PushedRequest.id == pushed.id, PushedRequest.client_pk == client_pk,
               PushedRequest.used_at.is_(None), PushedRequest.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim_pending_authorization(pending: PendingAuthorization) -> bool:
    """Finish a browser transaction once: the DELETE that removes the row is the claim."""
    result = db.session.execute(
        delete(PendingAuthorization).where(PendingAuthorization.id == pending.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def find_code(value: str) -> AuthorizationCode | None:
    return find_by_digest(AuthorizationCode.code_digest, value)


def claim_code(code: AuthorizationCode, family_id: str, access_token_jti: str, access_token_expires_at) -> bool:
    """Redeem the code if nobody did first; records what this redemption issues."""
    now = utcnow()
    result = db.session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code.id, AuthorizationCode.redeemed_at.is_(None),
               AuthorizationCode.expires_at > now)
        .values(redeemed_at=now, family_id=family_id, access_token_jti=access_token_jti,
                access_token_expires_at=access_token_expires_at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def revoke_what_user_gave_client(user_pk: int, client_pk: int) -> None:
    """Consent withdrawn: nothing the application got from this person keeps working (the caller commits).

    Codes not yet redeemed expire now, so they can no longer be redeemed; the access token each
    redeemed code issued is revoked (for an application without the refresh grant, that is all
    it holds); every refresh-token family is revoked with the access tokens issued along it.
    """
    now = utcnow()
    mine = (AuthorizationCode.user_pk == user_pk, AuthorizationCode.client_pk == client_pk)
    db.session.execute(
        update(AuthorizationCode).where(*mine, AuthorizationCode.redeemed_at.is_(None),
                                        AuthorizationCode.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session=False)
    )
    revoke_access_tokens(db.session.execute(
        db.select(AuthorizationCode.access_token_jti, AuthorizationCode.access_token_expires_at)
        .where(*mine, AuthorizationCode.access_token_jti.is_not(None))
    ).all())
    revoke_user_client_tokens(user_pk, client_pk)


def purge_expired_flow_state() -> int:
    """Delete what can no longer be used or recognised; returns how many rows went."""
    from models.tokens import RefreshToken, RevokedToken

    now = utcnow()
    deleted = 0
    for statement in (
        delete(PushedRequest).where(PushedRequest.expires_at <= now),
        delete(PendingAuthorization).where(PendingAuthorization.expires_at <= now),
        # A redeemed code stays while its access token lives, so withdrawing consent can revoke it.
        delete(AuthorizationCode).where(AuthorizationCode.expires_at <= now - CODE_REPLAY_MEMORY,
                                        or_(AuthorizationCode.access_token_expires_at.is_(None),
                                            AuthorizationCode.access_token_expires_at <= now)),
        delete(RefreshToken).where(RefreshToken.expires_at <= now),
        delete(RevokedToken).where(RevokedToken.expires_at <= now),
    ):
        deleted += db.session.execute(statement.execution_options(synchronize_session=False)).rowcount
    return deleted
